"""The console over a real stack: its own Mosquitto, the simulated demo home, the dialogue
runtime writing tickets and publishing live conversations into a store on disk, and the console
served by uvicorn on a free loopback port."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from console_helpers import PASSWORDS, ConsoleStack, free_port

from tests.waiting import COMMAND_TIMEOUT_S, until


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ConsoleStack]:
    import uvicorn

    from device_bridge.broker import MosquittoBroker
    from voicebot.config import Settings
    from voicebot.console.app import create_app
    from voicebot.console.auth import hash_password
    from voicebot.console.server import build_console
    from voicebot.demo import demo_home
    from voicebot.runtime import build_runtime
    from voicebot.store import Customer

    folder = tmp_path_factory.mktemp("console")
    store_path = folder / "voicebot.sqlite3"
    settings = Settings(data_dir=folder / "data")
    settings.extra["dialogue"] = {"command_timeout_s": COMMAND_TIMEOUT_S, "callback_windows": [{"days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
                                                        "start": "00:00", "end": "24:00"}]}
    with MosquittoBroker() as broker:
        rt = build_runtime(settings, broker=broker.url, home=demo_home(), simulate=True, store_path=store_path,
                           models=False)
        rt.store.save_customer(Customer("c-1", "Dana Reyes", ["+4930123456"], None, "Kitchen", "en"))
        running = build_console(settings, store_path, broker.url)
        db = running.console.db
        db.add_agent("alice", "supervisor", hash_password(PASSWORDS["alice"]))
        db.add_agent("bob", "agent", hash_password(PASSWORDS["bob"]))
        port = free_port()
        server = uvicorn.Server(uvicorn.Config(create_app(running.console), host="127.0.0.1", port=port,
                                               log_level="warning", timeout_graceful_shutdown=1, lifespan="on"))
        thread = threading.Thread(target=server.run, name="console-server", daemon=True)
        thread.start()
        assert until(lambda: server.started, timeout=20), "the console did not start"
        try:
            yield ConsoleStack(f"http://127.0.0.1:{port}", rt, running, store_path)
        finally:
            server.should_exit = True
            thread.join(timeout=10)
            running.close()
            rt.close()


CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """Debian's headless Chromium through chromium-driver (Selenium), one for the module."""
    import shutil

    if not (shutil.which(CHROMIUM) and shutil.which(CHROMEDRIVER)):
        pytest.fail("the browser tests need Debian's chromium and chromium-driver (./dev installs them)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-dev-shm-usage", "--window-size=1280,1000",
                f"--user-data-dir={tmp_path_factory.mktemp('chromium')}"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.implicitly_wait(0)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture(scope="module")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> object:
    """Where the page screenshots go: $CONSOLE_SCREENSHOTS (docs/ keeps one per page), else a temp folder."""
    import os
    from pathlib import Path

    folder = Path(os.environ.get("CONSOLE_SCREENSHOTS") or tmp_path_factory.mktemp("screenshots"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder
