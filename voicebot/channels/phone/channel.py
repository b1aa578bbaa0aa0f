"""A phone leg as the live session's ``AudioChannel`` (:mod:`voicebot.frames`).

The pipeline listens at 16 kHz in whole frames; a call runs at its own rate (8 kHz on Twilio and
AudioSocket's default, 16 kHz with ``slin16``). This adapter resamples the caller's audio at the
edge and re-frames it to the endpointer's frame length. Reply audio arrives already at the leg's
rate (``rate``: the Speaker resamples Piper's output once, straight to it) and goes out through the
real-time ``Pacer``. Barge-in (``clear``) empties the pacer and, on Twilio, the far end's buffer too.

Replies the phone call speaks itself (DTMF answers, "#" repeats) go through ``play_own``; while
one plays, audio still arriving from a reply the session had under way is dropped (``hold``),
until the session starts its next reply.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import numpy as np
import soxr

from voicebot.audio import FrameBuffer
from voicebot.channels.phone.leg import Leg
from voicebot.channels.phone.pacing import Pacer
from voicebot.frames import RATE, InFrame

log = logging.getLogger(__name__)


class PhoneChannel:
    name = "phone"

    def __init__(self, leg: Leg, frame_ms: int) -> None:
        self.leg = leg
        self.rate = leg.rate  # play() and play_own() take audio at the line's rate
        self.pacer = Pacer(leg.rate, leg.send_audio, fill_silence=leg.fill_silence)
        self._in: asyncio.Queue[np.ndarray | None] = asyncio.Queue()
        self._framer = FrameBuffer(RATE * frame_ms // 1000)
        self._streams: dict[int, soxr.ResampleStream] = {}
        self._closed = False
        self.holding = False  # drop the session's audio (a reply of the call's own is playing)
        self.generation = 0  # bumped by every clear(), so a reply being produced knows it was cut
        self._sends: set[asyncio.Task[None]] = set()  # clear messages on their way

    # -- caller side (from the transport) ---------------------------------------------------------
    def push(self, pcm: np.ndarray, rate: int) -> None:
        if self._closed:
            return
        if rate != RATE:
            stream = self._streams.get(rate)
            if stream is None:  # one stream per rate keeps the filter state across frames
                stream = self._streams[rate] = soxr.ResampleStream(rate, RATE, 1, dtype="int16")
            pcm = stream.resample_chunk(pcm)
        for frame in self._framer.push(pcm):
            self._in.put_nowait(frame)

    def close_input(self) -> None:
        """The caller's audio has ended (hang-up, bad input, or the call is over)."""
        if not self._closed:
            self._closed = True
            self._in.put_nowait(None)

    # -- AudioChannel ---------------------------------------------------------------------------
    async def frames(self) -> AsyncIterator[InFrame]:
        while (frame := await self._in.get()) is not None:
            yield InFrame(frame)

    async def play(self, pcm: np.ndarray) -> None:
        if self.holding:
            return
        self._enqueue(pcm)

    def clear(self) -> None:
        self.generation += 1
        dropped = self.pacer.flush()
        if self.leg.confirms_playback:
            # Twilio may hold audio already sent; ``clear`` empties its buffer.
            task = asyncio.get_running_loop().create_task(self.leg.clear())
            self._sends.add(task)
            task.add_done_callback(self._sends.discard)
        log.debug("playback cleared (%d frames dropped)", dropped)

    def pending_s(self) -> float:
        return self.pacer.queued_s

    # -- the call's own replies ----------------------------------------------------------------
    def play_own(self, pcm: np.ndarray) -> None:
        """Audio at ``rate`` (the leg's)."""
        self._enqueue(pcm)

    def _enqueue(self, pcm: np.ndarray) -> None:
        self.pacer.enqueue(pcm)
