"""The phone tests' stack: a real Mosquitto, a simulated home, the dialogue engine, the store,
the real Whisper and Piper models, and the phone line on free loopback ports."""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

from device_bridge.broker import MosquittoBroker
from device_bridge.simulator import Simulator
from tests.waiting import COMMAND_TIMEOUT_S
from voicebot.audio import read_audio
from voicebot.config import Settings
from voicebot.runtime import Runtime, build_runtime
from voicebot.store import Customer

HERE = Path(__file__).parent
ALL_WEEK = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
CUSTOMER = Customer("c-42", name="Alex", phones=["+15550142"], default_area="Bedroom")


@pytest.fixture(scope="session")
def phone_broker() -> Iterator[MosquittoBroker]:
    """The phone tests' home has a broker of its own, as a real home does: devices of other homes
    the tests keep running must not answer to "the kitchen light" here."""
    with MosquittoBroker() as broker:
        yield broker


@pytest.fixture(scope="session")
def phone_runtime(phone_broker: MosquittoBroker, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runtime]:
    tmp = tmp_path_factory.mktemp("phone")
    settings = Settings(
        data_dir=tmp,
        extra={
            # Agents are on duty around the clock, so an escalation on the phone is a live transfer.
            "dialogue": {
                "command_timeout_s": COMMAND_TIMEOUT_S,
                "live_transfer": True,
                "agent_hours": [{"days": ALL_WEEK, "start": "00:00", "end": "23:59:59"}],
            }
        },
    )
    home = HERE / "home.yaml"
    simulator = Simulator(home, phone_broker.url).start()
    rt = build_runtime(settings, broker=phone_broker.url, home=home, store_path=tmp / "phone.sqlite3")
    rt.store.save_customer(CUSTOMER)
    try:
        yield rt
    finally:
        rt.close()
        simulator.stop()


@pytest.fixture(scope="session")
def speech(tmp_path_factory: pytest.TempPathFactory, phone_runtime: Runtime) -> Callable[..., np.ndarray]:
    """A customer's turn, synthesized at ``rate``: by espeak-ng (a voice other than the bot's
    own) or, with ``voice="piper"``, by Piper (clearer, for words espeak-ng garbles on a phone line)."""
    folder = tmp_path_factory.mktemp("speech")
    made: dict[str, Path] = {}

    def say(text: str, rate: int = 8000, voice: str = "espeak") -> np.ndarray:
        if voice == "piper":
            pcm = np.concatenate([c.pcm for c in phone_runtime.synthesizer.synthesize(text, rate)])
        else:
            if text not in made:
                path = folder / f"turn{len(made)}.wav"
                subprocess.run(["espeak-ng", "-v", "en-us", "-s", "160", "-w", str(path), text], check=True)
                made[text] = path
            pcm = read_audio(made[text], rate)
        pad = np.zeros(rate // 5, dtype=np.int16)  # a breath before the words, as on a real line
        return np.concatenate([pad, pcm])

    return say
