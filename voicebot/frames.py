"""The audio at the seams: one format, the frame type every channel delivers, and the channel protocol.

Inside the pipeline audio is mono 16-bit PCM at :data:`RATE` (16 kHz): the endpointer, the echo
canceller, Whisper and the barge-in detector all work on it. A channel (``voicebot/channels/``)
converts at its edge, microphone side, and says at which rate it takes reply audio (``rate``), so
the Speaker resamples the synthesizer's output once, straight to what the line plays.

One frame's way: a channel yields an :class:`InFrame` → :class:`voicebot.listener.Listener`
(echo cancelling, barge-in, endpointing, speculative transcription, end of turn) → a
``TurnEnded`` event with its transcript → the session asks the dialogue → the
:class:`voicebot.speaker.Speaker` synthesizes the reply and hands it to ``AudioChannel.play``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Protocol

import numpy as np

RATE = 16000  # the pipeline's sample rate (Hz)
WIDTH = 2  # bytes per sample (int16)
CHANNELS = 1  # mono
ECHO_HISTORY_MS = 120  # how far back a frame's playback reference reaches before the frame


class FrameFormatError(ValueError):
    """A frame not at the pipeline's format: a channel forgot to convert at its edge."""


@dataclass(frozen=True)
class InFrame:
    """One microphone frame (10, 20 or 30 ms), with its format.

    ``echo``: what the channel played from ``ECHO_HISTORY_MS`` before this frame to its end
    (``len(pcm) + rate * ECHO_HISTORY_MS / 1000`` samples, same format), when the channel knows
    it (a speakerphone); None when the far end cancels its own echo (a phone handset).
    """

    pcm: np.ndarray
    echo: np.ndarray | None = None
    rate: int = RATE
    width: int = WIDTH
    channels: int = CHANNELS

    @property
    def duration_s(self) -> float:
        return self.pcm.size / self.channels / self.rate

    def check(self) -> InFrame:
        """This frame, when it is at the pipeline's format; else a clear FrameFormatError."""
        if (self.rate, self.width, self.channels) != (RATE, WIDTH, CHANNELS) or self.pcm.dtype != np.int16:
            raise FrameFormatError(
                f"frame at {self.rate} Hz, {self.width * 8}-bit, {self.channels} channel(s), {self.pcm.dtype}: "
                f"the pipeline takes {RATE} Hz {WIDTH * 8}-bit mono int16; convert in the channel"
            )
        return self


def echo_history_samples(rate: int = RATE) -> int:
    return rate * ECHO_HISTORY_MS // 1000


class AudioChannel(Protocol):
    """A full-duplex audio port. Frames come in at the pipeline's format; ``play`` takes mono
    int16 at ``rate`` (the line's own rate, so reply audio is resampled once, by the Speaker)."""

    name: str  # "speaker", "phone", "file", ... (a metrics label)
    rate: int  # the sample rate ``play`` takes

    def frames(self) -> AsyncIterator[InFrame]:
        """Microphone frames, paced as they are captured; ends when the line closes."""
        ...

    async def play(self, pcm: np.ndarray) -> None:
        """Queue reply audio (mono int16 at ``rate``); returns once queued, before it is heard."""
        ...

    def clear(self) -> None:
        """Drop everything queued or playing at once (barge-in)."""
        ...

    def pending_s(self) -> float:
        """Seconds of reply audio queued but not yet heard."""
        ...
