"""The console over a real stack: its own Mosquitto, the simulated demo home, the dialogue
runtime writing tickets and publishing live conversations into a store on disk, and the console
served by uvicorn on a free loopback port."""

from __future__ import annotations

import base64
import json
import socket
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.waiting import until

PASSWORDS = {"alice": "alice-password-1", "bob": "bob-password-22"}


@dataclass
class ConsoleStack:
    url: str
    runtime: Any  # voicebot.runtime.Runtime: conversations that escalate and are live
    running: Any  # voicebot.console.server.RunningConsole
    store_path: Path

    @property
    def console(self) -> Any:
        return self.running.console

    def api(self, path: str, user: str | None = None, password: str | None = None) -> tuple[int, Any]:
        """GET ``path`` with HTTP Basic credentials (or none): (status, parsed JSON body)."""
        request = urllib.request.Request(self.url + path)
        if user is not None:
            token = base64.b64encode(f"{user}:{password}".encode()).decode()
            request.add_header("Authorization", f"Basic {token}")
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read() or b"null")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


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
    settings.extra["dialogue"] = {"callback_windows": [{"days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
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
