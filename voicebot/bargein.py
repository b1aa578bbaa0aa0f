"""Telling the user's voice from the bot's own echo and from coughs while the bot speaks.

A speakerphone hears the bot's reply coming back through the microphone. The channel knows what
it played, so :class:`EchoCanceller` finds the delay and gain at which that playback best
explains each microphone frame and subtracts it. :class:`BargeInDetector` then asks for a short
run of frames that are voiced (webrtcvad), clearly louder than the echo that was predicted, and
periodic like a voice (a pitch in 60-400 Hz): a cough or a clap is loud but not periodic.
"""

from __future__ import annotations

import numpy as np
import webrtcvad

from voicebot.frames import ECHO_HISTORY_MS, RATE

__all__ = ["ECHO_HISTORY_MS", "BargeInDetector", "EchoCanceller", "periodicity", "rms"]


def rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64)))) if x.size else 0.0


class EchoCanceller:
    """Subtracts the playback, as it reaches the microphone, from each mic frame.

    ``process(mic, ref)``: ``ref`` covers the playback from ``ECHO_HISTORY_MS`` before the mic
    frame to its end (``len(mic) + history`` samples). The delay is found by cross-correlation;
    a short filter around it (``taps`` samples, for the smearing of a real room) is fitted by
    least squares on frames the playback explains well (echo alone), and reused while the user
    talks over the bot, when a fresh fit would be biased by their voice.
    """

    def __init__(self, taps: int = 8, residual_ratio: float = 0.33) -> None:
        self.taps = taps
        self.offset: int | None = None  # index into ref where the echo path's first tap sits
        self.filter: np.ndarray | None = None
        # How much of the echo cancellation leaves behind (residual rms / echo rms), learnt on
        # frames the playback alone explains: quick to rise (a room the short filter models
        # badly), slow to fall. The starting value is cautious until the path has been learnt.
        self.residual_ratio = residual_ratio

    def leftover(self, echo_rms: float) -> float:
        """The rms the bot's own voice is expected to leave in a cleaned frame."""
        return self.residual_ratio * echo_rms

    def process(self, mic: np.ndarray, ref: np.ndarray) -> tuple[np.ndarray, float]:
        """(the mic frame with the echo removed, as float32 in int16 units; the echo's rms)."""
        m = mic.astype(np.float64)
        r = ref.astype(np.float64)
        n, taps = m.size, self.taps
        if r.size < n + taps or rms(r[-n - taps :]) < 30.0:  # nothing audible was played
            return m.astype(np.float32), 0.0
        corr = np.correlate(r, m, mode="valid")  # corr[k] = <r[k:k+n], m>
        c2 = np.concatenate([[0.0], np.cumsum(r * r)])
        energy = c2[n : n + corr.size] - c2[: corr.size] + 1e-9
        explained = corr**2 / energy
        k = int(np.argmax(explained))
        fraction = explained[k] / (float(m @ m) + 1e-9)
        if fraction > 0.7:  # echo alone: fit the echo path around the delay found
            self._learn_residual(m, r)
            first = int(np.clip(k - taps // 2, 0, r.size - n - taps + 1))
            x = self._matrix(r, first, n)
            h, *_ = np.linalg.lstsq(x, m, rcond=None)
            if self.offset == first and self.filter is not None:
                h = 0.7 * self.filter + 0.3 * h
            self.offset, self.filter = first, h
        if self.offset is None or self.filter is None or self.offset + n + taps - 1 > r.size:
            return m.astype(np.float32), 0.0
        echo = self._matrix(r, self.offset, n) @ self.filter
        return (m - echo).astype(np.float32), rms(echo)

    def _learn_residual(self, m: np.ndarray, r: np.ndarray) -> None:
        """On a frame of echo alone, how well the path learnt so far (before refitting it on this
        very frame, which would flatter it) removes the echo."""
        if self.offset is None or self.filter is None or self.offset + m.size + self.taps - 1 > r.size:
            return
        echo = self._matrix(r, self.offset, m.size) @ self.filter
        echo_rms = rms(echo)
        if echo_rms > 300.0:  # quieter frames say more about the noise floor than the echo path
            ratio = min(1.0, rms(m - echo) / echo_rms)
            rate = 0.3 if ratio > self.residual_ratio else 0.05  # quick to rise, slow to fall
            self.residual_ratio += rate * (ratio - self.residual_ratio)

    def _matrix(self, r: np.ndarray, first: int, n: int) -> np.ndarray:
        # Column j holds the playback delayed by j samples more than the first tap.
        window = r[first : first + n + self.taps - 1]
        return np.lib.stride_tricks.sliding_window_view(window, self.taps)[:, ::-1]


def periodicity(x: np.ndarray, rate: int = RATE) -> float:
    """Normalised autocorrelation peak for pitch periods of 60-400 Hz: near 1 for a voiced
    vowel, low for noise bursts."""
    x = x.astype(np.float64) - float(np.mean(x))
    n = x.size
    lo, hi = rate // 400, min(rate // 60, n // 2)
    if hi <= lo:
        return 0.0
    spec = np.fft.rfft(x, 2 * n)
    ac = np.fft.irfft(spec * np.conj(spec))[:n]
    if ac[0] <= 0:
        return 0.0
    lags = np.arange(lo, hi)
    return float(np.max(ac[lo:hi] * n / (n - lags)) / ac[0])


class BargeInDetector:
    """Decides that the user is talking over the bot after ``min_voiced_ms`` of voice.

    A frame counts when webrtcvad calls it speech and it is clearly louder than what the bot's
    own voice leaves in it after echo cancellation (``leftover``: ``over_leftover`` times the
    canceller's learnt residual, at most the predicted echo itself); the run must also
    hold ``min_periodic`` frames with a pitch, so a cough or a clap (loud, but noise) never
    stops the bot. The run starts at the first voiced frame,
    fricatives included, so the reaction time is measured from the start of the word.
    """

    def __init__(
        self,
        min_voiced_ms: int = 120,
        frame_ms: int = 30,
        aggressiveness: int = 3,
        min_periodicity: float = 0.5,
        min_periodic: int = 2,
        over_echo: float = 1.0,  # the residual must beat this times the predicted echo's rms ...
        over_leftover: float = 3.0,  # ... or, if less, this times what the canceller leaves of it
        min_rms: float = 150.0,  # about -47 dBFS: quieter is background
        over_floor: float = 2.5,  # ... and so is what is not this far above the room's noise floor
    ) -> None:
        self.need = max(1, round(min_voiced_ms / frame_ms))
        self.frame_ms = frame_ms
        self.vad = webrtcvad.Vad(aggressiveness)
        self.min_periodicity = min_periodicity
        self.min_periodic = min_periodic
        self.over_echo = over_echo
        self.over_leftover = over_leftover
        self.min_rms = min_rms
        self.over_floor = over_floor
        self.floor: float | None = None  # the microphone's background level (rms), see track_floor
        self.last_voiced = False  # the last frame fed counted as the user's voice
        self.reset()

    def track_floor(self, level: float) -> None:
        """Feed every microphone frame's rms (after echo cancellation), the bot speaking or not.
        A minimum tracker: it drops at once to a quieter frame and creeps up by 5 % a frame
        (doubling in under half a second), so a room's hum or fan, or a caller's line noise
        that starts with the call, is learnt within about two seconds while the few frames a
        barge-in takes hardly lift it. A recording with room noise at -42 dBFS otherwise stopped
        the bot the moment it began to speak."""
        if self.floor is None or level < self.floor:
            self.floor = max(level, 1.0)
        else:
            self.floor = min(level, self.floor * 1.05)

    def reset(self) -> None:
        self.voiced = 0
        self.periodic = 0
        self.misses = 0
        self.onset: float | None = None

    def is_voiced(self, clean: np.ndarray, echo_rms: float, leftover: float | None = None) -> bool:
        echo_bar = self.over_echo * echo_rms
        if leftover is not None:
            # A voice talking over the bot is often quieter than the bot's echo; once the
            # canceller has shown how little of that echo it leaves, the voice only has to
            # stand out from the leftover
            echo_bar = min(echo_bar, self.over_leftover * leftover)
        floor_bar = self.over_floor * self.floor if self.floor is not None else 0.0
        if rms(clean) < max(self.min_rms, floor_bar, echo_bar):
            return False
        pcm = np.clip(clean, -32768, 32767).astype(np.int16)
        return bool(self.vad.is_speech(pcm.tobytes(), RATE))

    def feed(self, clean: np.ndarray, echo_rms: float, t: float, leftover: float | None = None) -> float | None:
        """One frame starting at audio time ``t``; returns the voice's onset time once decided.
        ``leftover``: the echo's expected rms after cancellation (``EchoCanceller.leftover``)."""
        self.last_voiced = self.is_voiced(clean, echo_rms, leftover)
        if self.last_voiced:
            if self.onset is None:
                self.onset = t
            self.voiced += 1
            self.misses = 0
            if periodicity(clean) >= self.min_periodicity:
                self.periodic += 1
            if self.voiced >= self.need and self.periodic >= self.min_periodic:
                onset = self.onset
                self.reset()
                return onset
        elif self.onset is not None:
            self.misses += 1
            if self.misses > 1:  # one unvoiced frame inside a word is normal (a stop consonant)
                self.reset()
        return None
