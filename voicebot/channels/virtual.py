"""A virtual full-duplex sound card for scripted spoken conversations (demo, benchmark, tests).

The customer's utterances ("cues") are played into the session's microphone at real-time pace
(or ``speed`` times faster), and the bot's audio is consumed at the same pace, exactly as a sound
card would: the session cannot tell it from a live line. Each cue waits for the bot to finish
its reply (or, to talk over it, for the reply to start). With ``echo_gain`` the bot's own audio
leaks back into the microphone, delayed and filtered, like a speakerphone.

The line keeps the truth the benchmark needs: when each cue's voice really started and ended,
when each reply started to sound, and when playback was cut off.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from voicebot.frames import ECHO_HISTORY_MS, RATE, InFrame


@dataclass
class Cue:
    """One thing the customer says."""

    pcm: np.ndarray  # 16 kHz mono int16
    text: str  # what it says (for logs)
    after: Literal["reply_end", "reply_start"] = "reply_end"
    delay_s: float = 0.6  # after the bot goes quiet (or, for "reply_start", after it starts)
    cough: bool = False  # a non-speech sound: the bot should neither stop nor answer
    on_start: Callable[[], object] | None = None  # what the customer does just before speaking
    # Filled in while it plays: audio times of the voice's real start and end.
    onset: float | None = None
    speech_end: float | None = None


@dataclass
class Cut:
    at: float  # audio time playback was cut off
    dropped_s: float  # reply audio that was never heard


@dataclass
class LineLog:
    reply_starts: list[float] = field(default_factory=list)  # audio times reply audio began to sound
    cuts: list[Cut] = field(default_factory=list)


def voiced_extent(pcm: np.ndarray, rate: int = RATE) -> tuple[float, float]:
    """(start, end) in seconds of the part of a clip that carries sound above its noise floor."""
    win = rate // 100
    n = pcm.size // win
    if n == 0:
        return 0.0, pcm.size / rate
    x = pcm[: n * win].astype(np.float64).reshape(n, win)
    level = np.sqrt(np.mean(x * x, axis=1))
    threshold = max(np.percentile(level, 10) * 4, level.max() * 0.04, 30.0)
    loud = np.flatnonzero(level > threshold)
    if loud.size == 0:
        return 0.0, pcm.size / rate
    return loud[0] * win / rate, (loud[-1] + 1) * win / rate


class VirtualLine:
    name = "file"
    rate = RATE

    def __init__(
        self,
        cues: list[Cue],
        *,
        speed: float = 1.0,
        frame_ms: int = 30,
        echo_gain: float = 0.0,
        echo_delay_ms: int = 40,
        noise_rms: float = 8.0,
        lead_s: float = 0.3,
        tail_s: float = 1.5,
        max_wait_s: float = 8.0,
        max_s: float = 600.0,
        seed: int = 0,
    ) -> None:
        self.cues = cues
        self.speed = speed
        self.frame = RATE * frame_ms // 1000
        self.echo_gain = echo_gain
        self.echo_delay = RATE * echo_delay_ms // 1000
        self.noise_rms = noise_rms
        self.lead_s = lead_s
        self.tail_s = tail_s
        self.max_wait_s = max_wait_s
        self.max_s = max_s
        self.rng = np.random.default_rng(seed)
        self.log = LineLog()
        self._out: list[np.ndarray] = []  # queued reply audio
        self._out_pos = 0  # samples of _out[0] already played
        self._pending = 0
        self._spoken: list[np.ndarray] = []  # everything the speaker sounded, frame by frame
        self._mic: list[np.ndarray] = []  # everything the microphone heard
        self._hist = np.zeros(RATE * ECHO_HISTORY_MS // 1000 + self.echo_delay + self.frame, np.int16)
        self._closed = False
        self.t = 0.0
        # The session's "still answering" signal (Session.busy): a pause between two sentences of
        # one reply is not the end of the reply, and the line does not hang up mid-turn.
        self.busy: Callable[[], bool] = lambda: False

    # ---------------------------------------------------------------- AudioChannel
    async def play(self, pcm: np.ndarray) -> None:
        if pcm.size:
            self._out.append(pcm.astype(np.int16, copy=False))
            self._pending += pcm.size

    def clear(self) -> None:
        if self._pending:
            self.log.cuts.append(Cut(self.t, self._pending / RATE))
        self._out.clear()
        self._out_pos = 0
        self._pending = 0

    def pending_s(self) -> float:
        return self._pending / RATE

    def hangup(self) -> None:
        self._closed = True

    async def frames(self) -> AsyncIterator[InFrame]:
        start_wall = time.monotonic()
        cue_i = 0
        cue_pcm: np.ndarray | None = None
        cue_pos = 0
        last_cue_end = 0.0
        quiet_since = 0.0  # when the bot last stopped sounding
        heard_since_cue = False  # the bot said something after the last cue ended
        reply_start: float | None = None
        n = self.frame
        while not self._closed and self.t < self.max_s:
            # The speaker side: the next frame of reply audio, if any.
            out = self._take(n)
            sounding = out is not None or (reply_start is not None and self.busy())
            if out is not None and reply_start is None:
                reply_start = self.t
                self.log.reply_starts.append(self.t)
                heard_since_cue = heard_since_cue or (cue_pcm is None and self.t >= last_cue_end)
            if not sounding:
                if reply_start is not None:
                    quiet_since = self.t
                reply_start = None
            out_frame = out if out is not None else np.zeros(n, np.int16)

            # The microphone side: the customer's next cue when its moment has come.
            if cue_pcm is None and cue_i < len(self.cues) and self.t >= self.lead_s:
                cue = self.cues[cue_i]
                if cue.after == "reply_start":
                    # A bot that never starts another reply (it answered early, or was cut off
                    # before) must not hold the line until max_s: the customer talks anyway.
                    due = (reply_start is not None and self.t - reply_start >= cue.delay_s) or (
                        not sounding and self.t - max(last_cue_end, quiet_since) >= 3 * self.max_wait_s
                    )
                else:
                    # No reply after max_wait_s: the customer goes on, but not while the bot is still
                    # working on one (a loaded machine took longer; the cue then cut the reply off).
                    due = (heard_since_cue and not sounding and self.t - quiet_since >= cue.delay_s) or (
                        not sounding and not self.busy() and self.t - max(last_cue_end, quiet_since) >= self.max_wait_s
                    )
                if due:
                    if cue.on_start is not None:
                        cue.on_start()
                    cue_pcm, cue_pos = cue.pcm, 0
                    a, b = voiced_extent(cue.pcm)
                    cue.onset, cue.speech_end = self.t + a, self.t + b
            voice = np.zeros(n, np.float32)
            if cue_pcm is not None:
                part = cue_pcm[cue_pos : cue_pos + n]
                voice[: part.size] = part
                cue_pos += n
                if cue_pos >= cue_pcm.size:
                    cue_pcm = None
                    cue_i += 1
                    last_cue_end = self.t + n / RATE
                    heard_since_cue = False
            self._hist = np.concatenate([self._hist[n:], out_frame])
            mic = voice + self.rng.normal(0.0, self.noise_rms, n).astype(np.float32)
            if self.echo_gain:
                mic += self.echo_gain * self._room(n)
            mic_pcm = np.clip(mic, -32768, 32767).astype(np.int16)
            echo_ref = self._hist[-(n + RATE * ECHO_HISTORY_MS // 1000) :].copy()
            self._spoken.append(out_frame)
            self._mic.append(mic_pcm)
            self.t += n / RATE
            # Real-time pace (times speed): a sound card delivers a frame when it has captured it.
            delay = start_wall + self.t / self.speed - time.monotonic()
            await asyncio.sleep(max(0.0, delay))
            yield InFrame(mic_pcm, echo_ref)
            finished = (
                cue_i >= len(self.cues) and cue_pcm is None and not sounding and not self._pending and not self.busy()
            )
            if finished and self.t - max(quiet_since, last_cue_end) >= self.tail_s:
                return

    # ---------------------------------------------------------------- helpers
    def _take(self, n: int) -> np.ndarray | None:
        if not self._pending:
            return None
        frame = np.zeros(n, np.int16)
        filled = 0
        while filled < n and self._out:
            head = self._out[0]
            part = head[self._out_pos : self._out_pos + n - filled]
            frame[filled : filled + part.size] = part
            filled += part.size
            self._out_pos += part.size
            if self._out_pos >= head.size:
                self._out.pop(0)
                self._out_pos = 0
        self._pending -= filled
        return frame

    def _room(self, n: int) -> np.ndarray:
        """The speaker's sound reaching the microphone: delayed and slightly smeared (a short
        room response), so the echo is not a sample-exact copy of the playback."""
        end = self._hist.size - self.echo_delay
        seg = self._hist[end - n - 2 : end].astype(np.float32)
        return 0.6 * seg[2:] + 0.3 * seg[1:-1] + 0.1 * seg[:-2]

    def speaker_audio(self) -> np.ndarray:
        """Everything the bot's speaker sounded, silence included, on the line's clock."""
        return np.concatenate(self._spoken) if self._spoken else np.zeros(0, np.int16)

    def mic_audio(self) -> np.ndarray:
        return np.concatenate(self._mic) if self._mic else np.zeros(0, np.int16)
