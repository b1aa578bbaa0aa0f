"""Feedback fixtures: real speech clips (shared recordings and Piper-synthesized complaints),
a device that speaks the feedback wire protocol to a real Mosquitto, and in-process workers."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from feedback_testkit import SPOKEN, Device, RunningWorker, encode

from device_bridge.broker import MosquittoBroker
from voicebot.config import Settings


@pytest.fixture(scope="session")
def settings() -> Settings:
    return Settings()


@pytest.fixture(scope="session")
def spoken_clips(settings: Settings) -> dict[str, bytes]:
    """WAV bytes (22.05 kHz, as Piper speaks) of each sentence in SPOKEN."""
    from voicebot.models import load_synthesizer

    synth = load_synthesizer(settings)
    out = {}
    for key, text in SPOKEN.items():
        chunks = list(synth.synthesize(text, 22050))
        pcm = np.concatenate([c.pcm for c in chunks])
        out[key] = encode(pcm, 22050)
    return out


@pytest.fixture(scope="session")
def recordings(shared_audio: Path) -> dict[str, bytes]:
    """The shared human recordings, as their original file bytes."""
    return {p.stem: p.read_bytes() for p in sorted(shared_audio.iterdir()) if p.suffix in (".wav", ".flac")}


@pytest.fixture()
def device(mosquitto: MosquittoBroker) -> Iterator[Device]:
    d = Device(mosquitto, name=f"device-{time.monotonic_ns()}")
    yield d
    d.close()


@pytest.fixture()
def start_worker(mosquitto: MosquittoBroker, settings: Settings, tmp_path: Path) -> Iterator[Any]:
    """Start a worker with feedback settings overrides; its store is in tmp_path."""
    from voicebot.feedback.settings import FeedbackSettings
    from voicebot.feedback.worker import build_worker

    running: list[RunningWorker] = []

    def start(**overrides: Any) -> RunningWorker:
        fs = FeedbackSettings(store=str(tmp_path / "voicebot.sqlite3"), chunk_wait_s=1.0, **overrides)
        w = RunningWorker(build_worker(settings, mosquitto.url, None, fs=fs))
        running.append(w)
        return w

    yield start
    for w in running:
        w.stop()
