"""Fixtures shared by the whole suite: a real Mosquitto broker, real audio, real models."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from device_bridge.broker import MosquittoBroker

ROOT = Path(__file__).resolve().parents[1]
SHARED_AUDIO = ROOT.parent / "shared" / "data" / "audio"


@pytest.fixture(scope="session")
def shared_audio() -> Path:
    """Real human recordings with transcripts (../shared/data/audio)."""
    assert SHARED_AUDIO.is_dir(), f"missing {SHARED_AUDIO}: the shared/ folder must sit beside the checkout"
    return SHARED_AUDIO


@pytest.fixture(scope="session")
def mosquitto() -> Iterator[MosquittoBroker]:
    """One real Mosquitto broker for the session, on a free loopback port."""
    with MosquittoBroker() as broker:
        yield broker


@pytest.fixture()
def own_mosquitto() -> Iterator[MosquittoBroker]:
    """A broker of the test's own, which the test may stop and start again."""
    broker = MosquittoBroker().start()
    try:
        yield broker
    finally:
        broker.stop()


# --- audio core (voicebot.models): real models, loaded once per test session ---


@pytest.fixture(scope="session")
def transcriber():  # -> voicebot.transcribe.FasterWhisperTranscriber
    """The bundled Whisper tiny.en, shared by the whole test session (thread-safe)."""
    from voicebot.config import Settings
    from voicebot.models import load_transcriber

    return load_transcriber(Settings())


@pytest.fixture(scope="session")
def synthesizer():  # -> voicebot.speak.PiperSynthesizer
    """The bundled Piper voice (joe), shared by the whole test session (thread-safe)."""
    from voicebot.config import Settings
    from voicebot.models import load_synthesizer

    return load_synthesizer(Settings())


@pytest.fixture(scope="session")
def tiny_model_path() -> Path:
    """The CTranslate2 directory of the bundled Whisper tiny.en."""
    from voicebot.models import resolve_whisper

    return resolve_whisper("tiny.en")
