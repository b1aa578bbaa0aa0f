"""Real-time pacing of the bot's audio: one frame every 20 ms at the call's rate.

Asterisk forwards the bot's audio with no jitter buffer, so audio must leave at the rate it is
played. The pacer keeps an absolute schedule (no drift from sleep overshoot), sends silence
when nothing is queued if the leg needs traffic to stay up (AudioSocket's 2-second rule), and
counts underruns: ticks where a reply had started playing and was still being produced, but its
next frame was not ready, so the caller heard a hole in the middle of the bot's speech.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import numpy as np

log = logging.getLogger(__name__)

FRAME_MS = 20


@dataclass
class PacerStats:
    frames_sent: int = 0
    speech_frames_sent: int = 0
    silence_frames_sent: int = 0
    underruns: int = 0  # a reply was playing but its next frame was not ready in time
    late_ticks: int = 0  # the event loop woke more than one frame late
    max_lateness_s: float = 0.0


class Pacer:
    """Sends queued audio through ``send`` in real time, one ``frame_ms`` frame per tick.

    ``producing`` says whether more audio of the current reply is on its way (synthesis still
    running); an empty queue then is an underrun, otherwise the reply is simply over."""

    def __init__(
        self,
        rate: int,
        send: Callable[[np.ndarray], Awaitable[None]],
        fill_silence: bool,
        frame_ms: int = FRAME_MS,
    ) -> None:
        self.rate = rate
        self.frame_len = rate * frame_ms // 1000
        self.frame_s = frame_ms / 1000
        self._send = send
        self._fill_silence = fill_silence
        self._frames: deque[np.ndarray] = deque()
        self._silence = np.zeros(self.frame_len, dtype=np.int16)
        self._in_reply = False
        self.producing: Callable[[], bool] = lambda: False
        self.stats = PacerStats()
        self.last_speech_sent_at = 0.0  # loop time of the last audio frame sent
        self._task: asyncio.Task[None] | None = None

    def enqueue(self, pcm: np.ndarray) -> None:
        """Queue audio at ``rate``; a partial last frame is padded with silence."""
        pcm = pcm.astype(np.int16, copy=False)
        for i in range(0, len(pcm), self.frame_len):
            frame = pcm[i : i + self.frame_len]
            if len(frame) < self.frame_len:
                frame = np.concatenate([frame, np.zeros(self.frame_len - len(frame), dtype=np.int16)])
            self._frames.append(np.ascontiguousarray(frame))

    def flush(self) -> int:
        """Drop all queued audio (barge-in); returns the number of frames dropped."""
        dropped = len(self._frames)
        self._frames.clear()
        self._in_reply = False
        return dropped

    @property
    def queued_s(self) -> float:
        return len(self._frames) * self.frame_s

    @property
    def playing(self) -> bool:
        return bool(self._frames)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="pacer")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        next_at = loop.time()
        while True:
            now = loop.time()
            lateness = now - next_at
            if lateness > self.frame_s:
                self.stats.late_ticks += 1
                self.stats.max_lateness_s = max(self.stats.max_lateness_s, lateness)
                if lateness > 5 * self.frame_s:
                    # Far behind (the machine stalled): resynchronise rather than burst audio out.
                    next_at = now
            frame = self._next_frame()
            if frame is not None:
                await self._send(frame)
            next_at += self.frame_s
            await asyncio.sleep(max(0.0, next_at - loop.time()))

    def _next_frame(self) -> np.ndarray | None:
        if self._frames:
            self._in_reply = True
            self.stats.frames_sent += 1
            self.stats.speech_frames_sent += 1
            self.last_speech_sent_at = asyncio.get_running_loop().time()
            return self._frames.popleft()
        if self._in_reply:
            if self.producing():
                # Silence before a reply's first frame is thinking time; a hole after it is not.
                self.stats.underruns += 1
            else:
                self._in_reply = False
        if self._fill_silence:
            self.stats.frames_sent += 1
            self.stats.silence_frames_sent += 1
            return self._silence
        return None
