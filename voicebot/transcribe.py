"""Speech to text: the Transcriber protocol and its faster-whisper implementation."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np


@dataclass(frozen=True)
class Transcript:
    """What a recogniser heard in one utterance."""

    text: str  # "" when nothing trustworthy was heard
    language: str  # ISO 639-1 code, e.g. "en"
    confidence: float  # 0..1, from the decoder's average log-probability
    audio_s: float  # length of the audio given
    elapsed_s: float  # processing time
    rejected: str | None = None  # why the text was thrown away (silence, noise, hallucination), else None


class Transcriber(Protocol):
    def transcribe(self, pcm: np.ndarray, language: str | None = None) -> Transcript:
        """``pcm``: 16 kHz mono int16 samples of one utterance."""
        ...
