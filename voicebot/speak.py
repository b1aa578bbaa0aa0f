"""Text to speech: the Synthesizer protocol and its Piper implementation."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

import numpy as np


@dataclass(frozen=True)
class SpeechChunk:
    """One synthesized sentence."""

    text: str
    pcm: np.ndarray  # mono int16 at ``sample_rate``
    sample_rate: int


class Synthesizer(Protocol):
    def synthesize(self, text: str, sample_rate: int = 16000) -> Iterator[SpeechChunk]:
        """Yield the reply sentence by sentence, so playback can start after the first."""
        ...
