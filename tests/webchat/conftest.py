"""The web chat tests' stack: a real Mosquitto with a simulated home, the runtime (dialogue and
store), and the web chat served by uvicorn on a free loopback port inside each test's event loop."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from device_bridge.broker import MosquittoBroker
from tests.waiting import COMMAND_TIMEOUT_S
from voicebot.config import Settings
from voicebot.runtime import Runtime, build_runtime
from voicebot.store import Customer

HERE = Path(__file__).parent
JORDAN = Customer("c-jordan", name="Jordan", phones=["+1 555 0177"], default_area="Kitchen")
SAM = Customer("c-sam", name="Sam", phones=[], default_area="Living Room")
KIM = Customer("c-kim", name="Kim", phones=["+1 555 0199"], default_area="Hallway")


@pytest.fixture(scope="session")
def webchat_broker() -> Iterator[MosquittoBroker]:
    """A broker of its own: no other test's home may answer to "the kitchen light" here."""
    with MosquittoBroker() as broker:
        yield broker


@pytest.fixture(scope="session")
def webchat_runtime(webchat_broker: MosquittoBroker, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runtime]:
    """Models load on first use (the phone call); the chat tests need none."""
    tmp = tmp_path_factory.mktemp("webchat")
    settings = Settings(data_dir=tmp, extra={"dialogue": {"command_timeout_s": COMMAND_TIMEOUT_S}})
    rt = build_runtime(settings, broker=webchat_broker.url, home=HERE / "home.yaml", simulate=True,
                       store_path=tmp / "voicebot.sqlite3", models=False)
    rt.store.save_customer(JORDAN)
    rt.store.save_customer(SAM)
    rt.store.save_customer(KIM)
    try:
        yield rt
    finally:
        rt.close()
