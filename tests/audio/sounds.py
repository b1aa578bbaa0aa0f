"""Test sounds built from the shared real recordings, plus synthetic noise."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from voicebot.audio import read_audio

RATE = 16000


def speech_only(path: Path, within_db: float = 25.0) -> np.ndarray:
    """A real recording trimmed to its speech (10 ms frames within ``within_db`` of the loudest)."""
    pcm = read_audio(path)
    frames = pcm[: len(pcm) // 160 * 160].reshape(-1, 160).astype(np.float64)
    level = 10 * np.log10(np.mean(frames**2, axis=1) + 1e-9)
    loud = np.flatnonzero(level > level.max() - within_db)
    return pcm[loud[0] * 160 : (loud[-1] + 1) * 160]


def room(seconds: float, seed: int = 0) -> np.ndarray:
    """Quiet room tone (about -60 dBFS), not digital silence."""
    return np.random.default_rng(seed).normal(0, 30, int(seconds * RATE)).astype(np.int16)


def join(*parts: np.ndarray) -> np.ndarray:
    return np.concatenate(parts).astype(np.int16)
