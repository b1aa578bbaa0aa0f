"""The Wyoming tests' stack: a real Mosquitto with the simulated demo home, the dialogue engine,
the store, the real Whisper and Piper models, and ``voicebot wyoming``'s service on a free
loopback port, running in an event loop of its own (as in the real process). Tests talk to it
with the ``wyoming`` package's own client, the way Home Assistant does."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine, Iterator
from concurrent.futures import Future
from pathlib import Path
from typing import Any, TypeVar

import pytest

from device_bridge.broker import MosquittoBroker
from tests.waiting import COMMAND_TIMEOUT_S
from voicebot.config import Settings
from voicebot.runtime import Runtime, build_runtime
from voicebot.understand.vocabulary import available_languages
from voicebot.wyoming.service import WyomingService
from voicebot.wyoming.settings import WyomingSettings

ROOT = Path(__file__).resolve().parents[2]
DEMO_HOME = ROOT / "device_bridge" / "homes" / "demo.yaml"
T = TypeVar("T")

# Short limits so the robustness tests need little traffic to reach them.
TEST_SETTINGS = WyomingSettings(
    zeroconf=False,
    max_header_bytes=4096,
    max_data_bytes=16_384,
    max_payload_bytes=65_536,
    max_audio_s=20.0,
    max_audio_bytes=1_048_576,
    idle_timeout_s=10.0,
    satellite_areas={"satellite-in-the-office": "Office"},
    customer_id="c-wyoming",
)


class Running:
    """The service on its own event loop thread; ``run`` executes a coroutine there."""

    def __init__(self, service: WyomingService, uri: str = "tcp://127.0.0.1:0") -> None:
        self.service = service
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="wyoming-service", daemon=True)
        self.thread.start()
        self.host, self.port = self.run(service.start(uri))

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 60.0) -> T:
        future: Future[T] = asyncio.run_coroutine_threadsafe(coro, self.loop)
        return future.result(timeout)

    def close(self) -> None:
        self.run(self.service.close())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()


@pytest.fixture(scope="session")
def wyoming_broker() -> Iterator[MosquittoBroker]:
    """A broker of its own: the demo home's devices must not answer other tests' homes."""
    with MosquittoBroker() as broker:
        yield broker


@pytest.fixture(scope="session")
def wyoming_runtime(wyoming_broker: MosquittoBroker, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runtime]:
    tmp = tmp_path_factory.mktemp("wyoming")
    settings = Settings(data_dir=tmp, extra={"dialogue": {"languages": available_languages(),
                                                          "command_timeout_s": COMMAND_TIMEOUT_S}})
    rt = build_runtime(settings, broker=wyoming_broker.url, home=DEMO_HOME, simulate=True,
                       store_path=tmp / "wyoming.sqlite3")
    try:
        yield rt
    finally:
        rt.close()


@pytest.fixture(scope="session")
def wyoming_server(wyoming_runtime: Runtime) -> Iterator[Running]:
    running = Running(WyomingService(wyoming_runtime, TEST_SETTINGS))
    try:
        yield running
    finally:
        running.close()
