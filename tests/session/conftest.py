"""Fixtures for the live session: a simulated demo home on the real Mosquitto, the dialogue
engine, and customer speech from espeak-ng (a voice unlike the bot's Piper voice)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

from device_bridge.devices import STATELESS
from tests.waiting import COMMAND_TIMEOUT_S
from voicebot.channels.virtual import Cue, VirtualLine
from voicebot.demo import espeak
from voicebot.metrics import Metrics
from voicebot.session import Session, SessionSettings
from voicebot.turns import SessionResult


@pytest.fixture(scope="session")
def home_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """Broker, simulated demo home, bridge, store and dialogue engine (runtime.build_runtime).
    The broker is this home's own, as a real home's is: a home kept running for the whole test
    session must not show its devices to the other homes the tests build."""
    from device_bridge.broker import MosquittoBroker
    from voicebot.config import Settings
    from voicebot.demo import demo_home
    from voicebot.runtime import build_runtime

    store = tmp_path_factory.mktemp("session-store") / "voicebot.sqlite3"
    with MosquittoBroker() as broker:
        settings = Settings(extra={"dialogue": {"command_timeout_s": COMMAND_TIMEOUT_S}})
        rt = build_runtime(settings, broker=broker.url, home=demo_home(), simulate=True,
                           store_path=store, models=False)
        try:
            yield rt
        finally:
            rt.close()


@pytest.fixture()
def home(home_stack: Any) -> Any:
    """The stack with every device back in its initial state and no faults."""
    sim = home_stack.simulator
    for device_id in sim.device_ids():
        sim.clear(device_id)
    for hd in sim.home.devices:
        if hd.state:
            sim.set_state(hd.device.id, dict(hd.state))

    def seen_reset(bridge: Any) -> bool:
        # the bridge hears the reset over MQTT: every device back online, every on/off, open/closed…
        # as the home file has it (numeric readings may move with the simulated heating)
        for hd in sim.home.devices:
            snap = bridge.get(hd.device.id)
            if snap.telemetry.available is False:
                return False
            wanted = (hd.state or {}).get("state")
            if hd.device.type not in STATELESS and isinstance(wanted, str) and str(snap.state.get("state", "")).lower() != wanted.lower():
                return False
        return True

    assert home_stack.bridge.wait_for(seen_reset, 15), "the bridge did not see the home reset"
    return home_stack


@pytest.fixture(scope="session")
def say() -> Any:
    """Customer speech: ``say("text", voice="en-us+f3")`` → 16 kHz int16 from espeak-ng."""

    def speak(text: str, voice: str = "en-us+f3") -> np.ndarray:
        return espeak(text, voice)

    return speak


@pytest.fixture()
def call(home: Any, transcriber: Any, synthesizer: Any) -> Any:
    """``call(cues, speed=2.0, echo_gain=0.0, opts=None)`` runs a spoken call on the demo home."""

    def run(cues: list[Cue], **kw: Any) -> Call:
        return run_call(home, transcriber, synthesizer, cues, **kw)

    return run


@dataclass
class Call:
    result: SessionResult
    line: VirtualLine
    cues: list[Cue]
    metrics: Metrics
    session: Session

    def answered(self) -> list[Any]:
        """The turns the bot answered (not echo, noise or missing wake words)."""
        return [t for t in self.result.turns if not t.ignored]


def run_call(
    rt: Any,
    transcriber: Any,
    synthesizer: Any,
    cues: list[Cue],
    *,
    speed: float = 2.0,
    echo_gain: float = 0.0,
    opts: SessionSettings | None = None,
) -> Call:
    """Stream the cues through a real Session over a virtual line; returns what happened."""
    line = VirtualLine(cues, speed=speed, echo_gain=echo_gain, tail_s=0.8, max_s=120)
    metrics = Metrics()
    session = Session(line, rt.conversation(channel="test"), transcriber, synthesizer, rt.settings,
                      metrics=metrics, store=rt.store, session_settings=opts or SessionSettings())
    line.busy = session.busy
    result = asyncio.run(session.run())
    return Call(result, line, cues, metrics, session)
