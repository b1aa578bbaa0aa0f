"""Listening: voice activity detection and the end-of-turn decision, fed frame by frame."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class SpeechStarted:
    """Speech began at ``time`` (audio seconds since the stream started)."""

    time: float
    decided_at: float  # audio time at which the endpointer was sure


@dataclass(frozen=True)
class SpeechPaused:
    """Trailing silence began; the turn may be over. A session may start transcribing ``pcm`` now
    and keep the result if TurnEnded follows without SpeechResumed."""

    time: float  # end of the last voiced frame
    pcm: np.ndarray  # the utterance so far, 16 kHz mono int16, pre-roll included


@dataclass(frozen=True)
class SpeechResumed:
    time: float


@dataclass(frozen=True)
class TurnEnded:
    """One utterance, complete."""

    start: float  # audio time speech started (pre-roll excluded)
    end: float  # audio time of the end of speech
    decided_at: float  # audio time at which the end of turn was decided
    pcm: np.ndarray  # 16 kHz mono int16, pre-roll included
    reason: str  # "silence" or "max_length"


ListenEvent = SpeechStarted | SpeechPaused | SpeechResumed | TurnEnded
