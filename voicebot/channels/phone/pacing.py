"""Real-time pacing of the bot's audio: one frame every 20 ms at the call's rate.

Asterisk forwards the bot's audio with no jitter buffer, so audio must leave at the rate it is
played. The pacer keeps an absolute schedule (no drift from sleep overshoot), sends silence
when nothing is queued if the leg needs traffic to stay up (AudioSocket's 2-second rule), and
counts underruns: ticks where a reply was still being produced but its next frame was not ready.
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
    """Sends queued audio frames through ``send`` in real time.

    ``enqueue`` adds a reply's audio (any length, at ``rate``); ``finish_reply`` says no more
    audio follows for the current reply, so an empty queue after it is the end of playback, not
    an underrun. ``flush`` drops everything queued (barge-in)."""

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
        self._tail = np.zeros(0, dtype=np.int16)
        self._reply_open = False
        self._silence = np.zeros(self.frame_len, dtype=np.int16)
        self._drained = asyncio.Event()
        self._drained.set()
        self._first_audio: asyncio.Future[float] | None = None
        self.stats = PacerStats()
        self._task: asyncio.Task[None] | None = None

    # -- producer side ---------------------------------------------------------------------
    def start_reply(self) -> asyncio.Future[float]:
        """A reply begins; the future resolves with the loop time its first frame was sent."""
        self._reply_open = True
        self._drained.clear()
        self._first_audio = asyncio.get_running_loop().create_future()
        return self._first_audio

    def enqueue(self, pcm: np.ndarray) -> None:
        data = np.concatenate([self._tail, pcm.astype(np.int16, copy=False)]) if len(self._tail) else pcm
        full = len(data) // self.frame_len
        for i in range(full):
            self._frames.append(np.ascontiguousarray(data[i * self.frame_len : (i + 1) * self.frame_len]))
        self._tail = np.array(data[full * self.frame_len :], dtype=np.int16)
        self._drained.clear()

    def finish_reply(self) -> None:
        if len(self._tail):
            pad = np.zeros(self.frame_len - len(self._tail), dtype=np.int16)
            self._frames.append(np.concatenate([self._tail, pad]))
            self._tail = np.zeros(0, dtype=np.int16)
        self._reply_open = False
        if not self._frames:
            self._drained.set()

    def flush(self) -> int:
        """Drop all queued audio; returns the number of frames dropped."""
        dropped = len(self._frames)
        self._frames.clear()
        self._tail = np.zeros(0, dtype=np.int16)
        self._reply_open = False
        self._drained.set()
        if self._first_audio is not None and not self._first_audio.done():
            self._first_audio.cancel()
        return dropped

    @property
    def playing(self) -> bool:
        return bool(self._frames) or self._reply_open

    async def drained(self) -> None:
        """Wait until every queued frame of the finished reply has been sent."""
        await self._drained.wait()

    # -- the clock -------------------------------------------------------------------------
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
            frame = self._frames.popleft()
            self.stats.frames_sent += 1
            self.stats.speech_frames_sent += 1
            if self._first_audio is not None and not self._first_audio.done():
                self._first_audio.set_result(asyncio.get_running_loop().time())
            if not self._frames and not self._reply_open:
                self._drained.set()
            return frame
        if self._reply_open:
            self.stats.underruns += 1
        if self._fill_silence:
            self.stats.frames_sent += 1
            self.stats.silence_frames_sent += 1
            return self._silence
        return None
