"""The smart-speaker channel: a live microphone and loudspeaker through PortAudio (sounddevice).

Capture and playback run in two threads with blocking streams, frame by frame. Each thread also
keeps to the wall clock, so a device without a clock of its own (an ALSA ``file`` PCM, used by
the tests) runs at real-time pace like a sound card. The playback thread always writes: reply
audio when there is some, silence otherwise, so the device never underruns and the reference
of what was played lines up with what the microphone hears (for echo cancellation).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections import deque
from collections.abc import AsyncIterator

import numpy as np

from voicebot.frames import ECHO_HISTORY_MS, RATE, InFrame

log = logging.getLogger(__name__)


class AudioDeviceError(RuntimeError):
    """A sound device that cannot be opened; the message names it and lists what exists."""


NO_DEVICES = ("PortAudio finds no sound devices on this machine (no sound card, or no access to it); "
              "docs/session.md shows an ALSA file device for machines without one")


def list_devices() -> str:
    import sounddevice as sd

    return str(sd.query_devices()).strip() or NO_DEVICES


def _unusable(exc: Exception) -> AudioDeviceError:
    import sounddevice as sd

    present = str(sd.query_devices()).strip()
    if not present:
        return AudioDeviceError(f"cannot open the sound device ({exc}): {NO_DEVICES}")
    return AudioDeviceError(f"cannot open the sound device ({exc}); devices present:\n{present}")


def _device(spec: str | None) -> int | str | None:
    if spec is None or spec == "":
        return None
    return int(spec) if spec.isdigit() else spec


class SpeakerChannel:
    """Full duplex on a sound card; ``input``/``output`` are device names or numbers
    (``voicebot listen --list-devices``), default the system's default device."""

    name = "speaker"
    rate = RATE  # play() takes the pipeline's rate; the playback thread converts to the device's

    def __init__(self, input: str | None = None, output: str | None = None, frame_ms: int = 30) -> None:
        self.input = _device(input)
        self.output = _device(output)
        self.frame = RATE * frame_ms // 1000
        self._lock = threading.Lock()
        self._queue: deque[np.ndarray] = deque()
        self._head_pos = 0
        self._pending = 0
        self._history = RATE * ECHO_HISTORY_MS // 1000
        # What was played over the last second: the reference for echo cancellation. The sound
        # card's own latency (output + input) is skipped when the reference is cut, so that the
        # echo falls inside the canceller's ECHO_HISTORY_MS window.
        self._played = np.zeros(RATE + self._history + self.frame, np.int16)
        self._latency = 0
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.rates: tuple[int, int] = (RATE, RATE)

    # ------------------------------------------------------------------ AudioChannel
    async def play(self, pcm: np.ndarray) -> None:
        with self._lock:
            self._queue.append(pcm.astype(np.int16, copy=False))
            self._pending += pcm.size

    def clear(self) -> None:
        with self._lock:
            self._queue.clear()
            self._head_pos = 0
            self._pending = 0

    def pending_s(self) -> float:
        return self._pending / RATE

    def close(self) -> None:
        self._stop.set()

    def check(self) -> None:
        """Fail now, before the models load, when the microphone or speaker does not exist."""
        import sounddevice as sd

        try:
            sd.query_devices(self.input, "input")
            sd.query_devices(self.output, "output")
        except (sd.PortAudioError, ValueError) as exc:  # ValueError: no device matches the name
            raise _unusable(exc) from exc

    async def frames(self) -> AsyncIterator[InFrame]:
        import sounddevice as sd

        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[InFrame | BaseException | None] = asyncio.Queue()
        try:
            istream, irate = _open(sd.InputStream, self.input, self.frame)
            ostream, orate = _open(sd.OutputStream, self.output, self.frame)
        except (sd.PortAudioError, ValueError) as exc:
            raise _unusable(exc) from exc
        self.rates = (irate, orate)
        device_latency = float(getattr(istream, "latency", 0.0) or 0.0) + float(getattr(ostream, "latency", 0.0) or 0.0)
        self._latency = min(RATE // 2, int(device_latency * RATE))
        self._stop.clear()
        started = time.monotonic()

        def deliver(item: InFrame | BaseException | None) -> None:
            with contextlib.suppress(RuntimeError):  # the loop is closed: nobody is listening
                loop.call_soon_threadsafe(queue.put_nowait, item)

        def capture() -> None:
            resampler = _resampler(irate, RATE)
            need = self.frame * irate // RATE
            n = 0
            try:
                with istream:
                    while not self._stop.is_set():
                        data, overflowed = istream.read(need)
                        if overflowed:
                            log.warning("microphone overflow: audio was lost")
                        pcm = np.asarray(data[:, 0], dtype=np.int16)
                        if resampler is not None:
                            pcm = resampler.resample_chunk(pcm)
                        n += 1
                        _keep_time(started, n * self.frame / RATE)
                        with self._lock:
                            end = self._played.size - self._latency
                            ref = self._played[end - self._history - self.frame : end].copy()
                        deliver(InFrame(pcm, ref))
            except BaseException as exc:
                deliver(exc)
            deliver(None)

        def playback() -> None:
            resampler = _resampler(RATE, orate)
            n = 0
            try:
                with ostream:
                    while not self._stop.is_set():
                        frame = self._next_out()
                        out = resampler.resample_chunk(frame) if resampler is not None else frame
                        ostream.write(out.reshape(-1, 1))
                        n += 1
                        _keep_time(started, n * self.frame / RATE)
            except BaseException:
                log.exception("playback stopped")

        self._threads = [
            threading.Thread(target=capture, name="speaker-capture", daemon=True),
            threading.Thread(target=playback, name="speaker-playback", daemon=True),
        ]
        for t in self._threads:
            t.start()
        try:
            while True:
                item = await queue.get()
                if item is None:
                    return
                if isinstance(item, BaseException):
                    raise AudioDeviceError(f"the microphone stopped: {item}") from item
                yield item
        finally:
            self._stop.set()
            for t in self._threads:
                await asyncio.to_thread(t.join, 2.0)

    # ------------------------------------------------------------------ helpers
    def _next_out(self) -> np.ndarray:
        n = self.frame
        frame = np.zeros(n, np.int16)
        with self._lock:
            filled = 0
            while filled < n and self._queue:
                head = self._queue[0]
                part = head[self._head_pos : self._head_pos + n - filled]
                frame[filled : filled + part.size] = part
                filled += part.size
                self._head_pos += part.size
                if self._head_pos >= head.size:
                    self._queue.popleft()
                    self._head_pos = 0
            self._pending -= filled
            self._played = np.concatenate([self._played[n:], frame])
        return frame


def _open(kind: type, device: int | str | None, frame: int) -> tuple[object, int]:
    """Open at 16 kHz when the device allows it, else at its own default rate (resampled)."""
    import sounddevice as sd

    try:
        return kind(samplerate=RATE, channels=1, dtype="int16", blocksize=frame, device=device), RATE
    except sd.PortAudioError:
        info = sd.query_devices(device, "input" if kind is sd.InputStream else "output")
        rate = int(info["default_samplerate"])
        block = frame * rate // RATE
        return kind(samplerate=rate, channels=1, dtype="int16", blocksize=block, device=device), rate


def _resampler(src: int, dst: int) -> object | None:
    if src == dst:
        return None
    import soxr

    return soxr.ResampleStream(src, dst, 1, dtype="int16")


def _keep_time(started: float, due: float) -> None:
    """Sleep until ``due`` seconds after ``started`` when ahead of the wall clock (a device
    without a clock); a real device's blocking read/write keeps us behind it anyway."""
    ahead = started + due - time.monotonic()
    if ahead > 0:
        time.sleep(ahead)
