"""Listening: voice activity detection and the end-of-turn decision, fed frame by frame."""

from __future__ import annotations

import bisect
import math
from collections import deque
from dataclasses import dataclass
from enum import Enum

import numpy as np
import webrtcvad

from voicebot.audio import SAMPLE_RATE, FrameBuffer, frame_samples, rms_dbfs
from voicebot.config import ListenSettings


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
    decided_at: float = 0.0  # audio time at which the pause was noticed


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
    reason: str  # "silence", "max_length", or "end_of_stream" (flush() with a turn open)


ListenEvent = SpeechStarted | SpeechPaused | SpeechResumed | TurnEnded


class _State(Enum):
    SILENCE = "silence"
    CANDIDATE = "candidate"  # some voiced frames, not yet enough to call it speech
    SPEECH = "speech"
    PAUSED = "paused"


NOISE_WINDOW_S = 4.5  # history over which the background level is estimated
NOISE_PERCENTILE = 5.0
MODULATION_WINDOW_S = 1.0  # level spread measured over this much audio
CANDIDATE_GAP_MS = 90  # unvoiced gap that abandons a not-yet-confirmed start
RESUME_MS = 60  # voiced audio needed to resume after a pause (one click does not resume)


class RollingPercentile:
    """The ``percentile`` of the last ``size`` values, as ``np.percentile`` computes it (linear),
    kept sorted as values come and go: the endpointer asks it every frame of every call, and
    ``np.percentile`` over the whole window was a fifth of a silent phone call's CPU."""

    def __init__(self, size: int, percentile: float) -> None:
        self._window: deque[float] = deque(maxlen=size)
        self._sorted: list[float] = []
        self._q = percentile / 100

    def __len__(self) -> int:
        return len(self._window)

    def append(self, value: float) -> None:
        if len(self._window) == self._window.maxlen:
            del self._sorted[bisect.bisect_left(self._sorted, self._window[0])]
        self._window.append(value)
        bisect.insort(self._sorted, value)

    def extend(self, values: list[float]) -> None:
        for v in values:
            self.append(v)

    def value(self) -> float:
        a = self._sorted
        index = self._q * (len(a) - 1)
        lo = math.floor(index)
        hi = min(lo + 1, len(a) - 1)
        t = index - lo
        low, high = a[lo], a[hi]
        # numpy's own interpolation (_lerp), so the floor is the same to the last bit
        return high - (high - low) * (1 - t) if t >= 0.5 else low + (high - low) * t


MIN_VOICE_BAND_SHARE = 0.02  # below this almost no energy is where voices are: hum, rumble, thumps


def spectral_shape(frame: np.ndarray) -> tuple[float, float]:
    """(flatness, voice-band share) of a frame's power spectrum, in the 250 Hz-4 kHz band.

    Flatness is the geometric over the arithmetic mean: about 0.56 for white noise, mostly below
    0.3 for voiced speech. The share is the band's part of all energy: ~0 for mains hum, median
    0.6 for speech frames of the shared recordings (99% of them above 0.007)."""
    x = frame.astype(np.float32) * np.hanning(len(frame)).astype(np.float32)
    power = np.abs(np.fft.rfft(x)) ** 2 + 1e-3
    hz = np.fft.rfftfreq(len(frame), 1 / SAMPLE_RATE)
    band = power[(hz >= 250) & (hz <= 4000)]
    flatness = float(np.exp(np.mean(np.log(band))) / np.mean(band))
    return flatness, float(band.sum() / power.sum())


class Endpointer:
    """Streaming end-of-turn detector for 16 kHz mono int16 audio.

    Feed chunks of any length with :meth:`feed`; it returns the events decided by that audio.
    A frame counts as voiced when webrtcvad says so AND it is louder than the background noise
    floor by ``min_snr_db`` AND its spectrum is neither flat like broadband noise nor all below
    the voice band like hum. Speech starts after
    ``start_ms`` of voiced frames (gaps under 90 ms allowed); SpeechPaused fires after ``pause_ms``
    of silence, TurnEnded after ``end_silence_ms`` or when the turn reaches ``max_utterance_s``.
    The ``pcm`` of SpeechPaused and of the TurnEnded that follows it without a SpeechResumed are
    the same samples, so a speculative transcription of the first is valid for the second.

    One Endpointer per audio stream; it is not shared between threads.
    """

    def __init__(self, settings: ListenSettings | None = None) -> None:
        self.s = settings or ListenSettings()
        self._vad = webrtcvad.Vad(self.s.vad_aggressiveness)
        self.frame_ms = self.s.frame_ms
        self._frame_len = frame_samples(self.frame_ms)
        self._buffer = FrameBuffer(self._frame_len)
        self._start_frames = max(1, round(self.s.start_ms / self.frame_ms))
        self._pause_frames = max(1, round(self.s.pause_ms / self.frame_ms))
        self._end_frames = max(self._pause_frames + 1, round(self.s.end_silence_ms / self.frame_ms))
        self._resume_frames = max(1, round(RESUME_MS / self.frame_ms))
        self._gap_frames = max(1, round(CANDIDATE_GAP_MS / self.frame_ms))
        self._preroll_frames = round(self.s.preroll_ms / self.frame_ms)
        self._max_frames = round(self.s.max_utterance_s * 1000 / self.frame_ms)
        self._levels = RollingPercentile(round(NOISE_WINDOW_S * 1000 / self.frame_ms), NOISE_PERCENTILE)
        self._levels.extend([-70.0, -70.0])  # a prior, so speech at the very start of a stream counts
        self._recent_levels: deque[float] = deque(maxlen=round(MODULATION_WINDOW_S * 1000 / self.frame_ms))
        self.reset()

    def reset(self) -> None:
        """Forget the current turn (e.g. after barge-in handling); the noise estimate is kept."""
        self._state = _State.SILENCE
        self._recent: deque[np.ndarray] = deque(maxlen=self._preroll_frames + 4 * self._start_frames + 8)
        self._turn: list[np.ndarray] = []
        self._frame_index = getattr(self, "_frame_index", 0)
        self._cand_start = 0  # frame index of the first voiced frame of the candidate / turn
        self._cand_frames = 0
        self._voiced = 0
        self._gap = 0
        self._last_voiced = 0  # frame index just after the last voiced frame
        self._resume_run = 0
        self._resume_start = 0
        self._turn_first = 0  # frame index of the first frame held in ``_turn`` (pre-roll start)

    @property
    def time(self) -> float:
        """Audio seconds consumed so far (whole frames)."""
        return self._frame_index * self.frame_ms / 1000

    @property
    def in_speech(self) -> bool:
        return self._state in (_State.SPEECH, _State.PAUSED)

    def feed(self, pcm: np.ndarray) -> list[ListenEvent]:
        events: list[ListenEvent] = []
        for frame in self._buffer.push(pcm):
            events.extend(self._frame(frame))
        return events

    def flush(self) -> list[ListenEvent]:
        """End of stream: the partial frame is padded, and an open turn ends ("end_of_stream")."""
        events: list[ListenEvent] = []
        last = self._buffer.drain()
        if last is not None:
            events.extend(self._frame(last))
        if self.in_speech:
            events.append(self._end_turn("end_of_stream", self._last_voiced))
        return events

    def is_voiced(self, frame: np.ndarray) -> bool:
        level = rms_dbfs(frame)
        floor = self._levels.value()
        self._levels.append(level)
        self._recent_levels.append(level)
        if level < self.s.min_level_dbfs or level < floor + self.s.min_snr_db:
            return False
        # Speech rises and falls with every syllable; a noise that has held one level for the last
        # second (a fan, a hair dryer) is not speech even before the floor estimate catches up.
        if (
            len(self._recent_levels) == self._recent_levels.maxlen
            and float(np.std(self._recent_levels)) < self.s.min_modulation_db
        ):
            return False
        if not self._vad.is_speech(frame.tobytes(), SAMPLE_RATE):
            return False
        flatness, share = spectral_shape(frame)
        return flatness <= self.s.max_flatness and share >= MIN_VOICE_BAND_SHARE

    def _t(self, index: int) -> float:
        return round(index * self.frame_ms / 1000, 3)

    def _frame(self, frame: np.ndarray) -> list[ListenEvent]:
        voiced = self.is_voiced(frame)
        i = self._frame_index
        self._frame_index += 1
        state = self._state
        if state in (_State.SILENCE, _State.CANDIDATE):
            self._recent.append(frame)
            return self._listen_for_start(voiced, i)
        self._turn.append(frame)
        events: list[ListenEvent] = []
        if voiced:
            if state is _State.PAUSED:
                if self._resume_run == 0:
                    self._resume_start = i
                self._resume_run += 1
                if self._resume_run >= self._resume_frames:
                    self._state = _State.SPEECH
                    self._last_voiced = i + 1
                    events.append(SpeechResumed(self._t(self._resume_start)))
            else:
                self._last_voiced = i + 1
        else:
            self._resume_run = 0
            silent = self._frame_index - self._last_voiced
            if state is _State.SPEECH and silent >= self._pause_frames:
                self._state = _State.PAUSED
                events.append(SpeechPaused(self._t(self._last_voiced), self._slice(), self._t(self._frame_index)))
            elif state is _State.PAUSED and silent >= self._end_frames:
                events.append(self._end_turn("silence", self._last_voiced))
                return events
        if self._frame_index - self._cand_start >= self._max_frames:
            end = self._frame_index if self._state is _State.SPEECH else self._last_voiced
            events.append(self._end_turn("max_length", end))
        return events

    def _listen_for_start(self, voiced: bool, i: int) -> list[ListenEvent]:
        if self._state is _State.SILENCE:
            if not voiced:
                return []
            self._state = _State.CANDIDATE
            self._cand_start, self._cand_frames, self._voiced, self._gap = i, 0, 0, 0
        self._cand_frames += 1
        if voiced:
            self._voiced += 1
            self._gap = 0
        else:
            self._gap += 1
            if self._gap > self._gap_frames:
                self._state = _State.SILENCE  # a click or knock: too short to be speech
                return []
        if self._voiced < self._start_frames:
            return []
        self._state = _State.SPEECH
        self._last_voiced = i + 1
        held = list(self._recent)[-(self._cand_frames + self._preroll_frames) :]
        self._turn = held
        self._turn_first = self._frame_index - len(held)
        return [SpeechStarted(self._t(self._cand_start), self._t(self._frame_index))]

    def _slice(self) -> np.ndarray:
        """The turn's audio from the pre-roll to ``pause_ms`` after the last voiced frame."""
        stop = min(self._last_voiced + self._pause_frames, self._turn_first + len(self._turn))
        return np.concatenate(self._turn[: stop - self._turn_first])

    def _end_turn(self, reason: str, end_index: int) -> TurnEnded:
        pcm = self._slice() if reason != "max_length" else np.concatenate(self._turn)
        event = TurnEnded(
            start=self._t(self._cand_start),
            end=self._t(end_index),
            decided_at=self._t(self._frame_index),
            pcm=pcm,
            reason=reason,
        )
        self.reset()
        return event
