"""Turn taking from the words and the voice: does a transcript read as a finished turn, is it a
complete request (a :class:`TurnJudge`, the understanding's), did the voice fall at its end
(:func:`final_prosody`), and does it start with the wake phrase."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal, Protocol

import numpy as np

Completeness = Literal["complete", "incomplete"]


class TurnJudge(Protocol):
    """Does a speculative transcript make a complete request in this conversation? "complete":
    nothing more is needed to answer it (a command whose device and values are all known, a
    question fully asked, thanks, the answer to the bot's yes/no question); "incomplete": it
    names something the request is not yet complete without ("set the thermostat", "turn on the
    light" in a home of several lights); None: no opinion (the words and the voice decide).
    Called on the listener's thread at each pause, so it must be quick and change nothing."""

    def completeness(self, text: str) -> Completeness | None: ...

# Words after which a sentence cannot be over: a pause here is the speaker thinking.
_DANGLING = frozenset(
    {
        "a", "an", "the", "and", "or", "but", "so", "because", "if", "to", "of", "for", "with", "from",
        "at", "into", "onto", "my", "your", "our", "their", "his", "her", "its", "these", "those", "are",
        "was", "were", "be", "been", "am", "can", "could", "would", "should", "will", "um", "uh", "er",
        "than", "when", "where", "which", "whose", "while",
    }
)


def sounds_finished(text: str) -> bool:
    """Does the transcript read as a finished turn? Whisper puts a full stop after most clips,
    so a last word that cannot end a sentence counts for more than the punctuation."""
    t = text.strip()
    if not t or t.endswith(("...", "…", ",", "-", ":")):
        return False
    words = re.findall(r"[a-z']+", t.lower())
    return bool(words) and words[-1] not in _DANGLING


def strip_wake_word(text: str, phrase: str) -> str | None:
    """The text after the wake phrase when the turn starts with it (allowing for how Whisper
    spells and splits it: "hey voice bot", "Hey, Voicebot!"), else None."""
    from rapidfuzz import fuzz

    words = re.findall(r"[\w']+", text.lower())
    want = "".join(re.findall(r"[\w']+", phrase.lower()))
    n = len(re.findall(r"[\w']+", phrase))
    best: tuple[float, int] | None = None
    for skip in range(0, 3):  # "ok, hey voicebot ..." is fine too
        for k in (n, n + 1, n - 1):
            if k <= 0 or skip + k > len(words):
                continue
            score = fuzz.ratio("".join(words[skip : skip + k]), want)
            if score >= 80 and (best is None or score > best[0]):
                best = (score, skip + k)
    return None if best is None else " ".join(words[best[1] :])


# -- the voice: did it fall at the end? -------------------------------------------------------------
PITCH_MIN_HZ = 70.0
PITCH_MAX_HZ = 400.0
PERIODICITY = 0.45  # normalised autocorrelation peak above which a 40 ms window counts as pitched
# A statement's final fall: the last 200 ms of voicing this far below the second before, and
# quieter too. A "fall" of an octave or more is the pitch tracker jumping an octave, not the voice.
FALL_SEMITONES = 3.0
FALL_DROP_DB = 3.0
OCTAVE_SLIP = 10.0
# A voice that ended no lower than it went (continuation: "turn on the light, ... in the kitchen")
HELD_SEMITONES = 1.0


@dataclass(frozen=True)
class Prosody:
    """How the voice ended before a pause: ``fall_st`` semitones from the stretch before to the
    last 200 ms of voicing (positive: it fell), ``drop_db`` the level drop over the same."""

    fall_st: float
    drop_db: float
    pitched: bool  # enough pitched windows to say anything

    @property
    def fell(self) -> bool:
        """It ended like a statement: pitch and level fell."""
        return self.pitched and FALL_SEMITONES <= self.fall_st < OCTAVE_SLIP and self.drop_db >= FALL_DROP_DB

    @property
    def held(self) -> bool:
        """The pitch did not come down: the speaker may well go on."""
        return self.pitched and -OCTAVE_SLIP < self.fall_st < HELD_SEMITONES


def end_silence_ms(
    text: str,
    prosody: Prosody | None,
    quick_ms: int,
    fell_ms: int,
    held_ms: int,
    judged: Completeness | None = None,
    complete_ms: int | None = None,
    incomplete_ms: int | None = None,
) -> int | None:
    """Silence after which a turn with this speculative transcript ends (None: the endpointer's
    long silence decides); :func:`end_rule` says which rule and why."""
    rule = end_rule(text, prosody, quick_ms, fell_ms, held_ms, judged, complete_ms, incomplete_ms)
    return None if rule is None else rule[0]


def end_rule(
    text: str,
    prosody: Prosody | None,
    quick_ms: int,
    fell_ms: int,
    held_ms: int,
    judged: Completeness | None = None,
    complete_ms: int | None = None,
    incomplete_ms: int | None = None,
) -> tuple[int, str] | None:
    """(silence, rule) after which a turn with this speculative transcript ends; rule is quick,
    fell, complete or incomplete (None: the endpointer's long silence decides).

    Words first: a last word that cannot end a sentence never ends it early. With the
    understanding's judgement (``judged``, used when ``complete_ms`` is set): an incomplete
    request waits ``incomplete_ms``, since what completes it is likely still to come, unless
    the voice fell like a statement's end (then ``quick_ms``, as without a judgement: the two
    signals disagree); a complete one ends after ``complete_ms`` (or the fall's, if shorter), unless
    the voice was held up on words that are no question (then as without a judgement: the
    speaker sounds as if going on, "close the blinds, ... in the living room").

    Then the voice: a statement's fall ends it after ``fell_ms``; a question mark ends it after
    ``quick_ms`` whatever the pitch did (questions often rise); a voice held up without one
    waits ``held_ms``, since that is how a pause inside a sentence sounds."""
    if not sounds_finished(text):
        return None
    question = text.rstrip().endswith("?")
    judging = complete_ms is not None and judged is not None
    held = prosody is not None and prosody.held and not question
    fell = prosody is not None and prosody.fell and not question
    if judging and judged == "incomplete":
        if fell:
            return quick_ms, "quick"  # the voice says it ended, the words that more may come: as before
        return max(incomplete_ms if incomplete_ms is not None else held_ms, quick_ms), "incomplete"
    if judging and judged == "complete" and complete_ms is not None and not held:
        return (min(fell_ms, complete_ms), "complete") if fell else (complete_ms, "complete")
    if fell:
        return min(fell_ms, quick_ms), "fell" if fell_ms < quick_ms else "quick"
    if held:
        return max(held_ms, quick_ms), "quick"
    return quick_ms, "quick"


def final_prosody(pcm: np.ndarray, rate: int = 16000, span_s: float = 1.5) -> Prosody:
    """Pitch (autocorrelation, 40 ms windows every 10 ms) and level of the last ``span_s`` of
    ``pcm``, which ends where the voice stopped. A millisecond or two of numpy per call."""
    x = np.asarray(pcm[-int(span_s * rate):], dtype=np.float32)
    win, hop = int(0.04 * rate), rate // 100
    if x.size < win + 10 * hop:
        return Prosody(0.0, 0.0, False)
    frames = np.lib.stride_tricks.sliding_window_view(x, win)[::hop]
    frames = frames - frames.mean(axis=1, keepdims=True)
    level = 10 * np.log10(np.mean(frames**2, axis=1) + 1e-3)
    loud = level > level.max() - 25.0  # windows of voice, not of the silence around it
    spectrum = np.fft.rfft(frames * np.hanning(win).astype(np.float32), n=2 * win, axis=1)
    ac = np.fft.irfft(np.abs(spectrum) ** 2, axis=1)[:, :win]
    ac = ac / np.maximum(ac[:, :1], 1e-9)
    lo, hi = int(rate / PITCH_MAX_HZ), int(rate / PITCH_MIN_HZ)
    lag = lo + np.argmax(ac[:, lo:hi], axis=1)
    peak = ac[np.arange(len(ac)), lag]
    pitched = loud & (peak > PERIODICITY)
    idx = np.flatnonzero(pitched)
    if idx.size < 8:
        return Prosody(0.0, 0.0, False)
    f0 = rate / lag.astype(np.float32)
    tail = idx[idx > idx[-1] - 20]  # the last 200 ms of voicing
    before = idx[(idx <= idx[-1] - 20) & (idx > idx[-1] - 120)]
    if tail.size < 3 or before.size < 5:
        return Prosody(0.0, 0.0, False)
    fall = 12 * np.log2(float(np.median(f0[before])) / float(np.median(f0[tail])))
    drop = float(np.median(level[before]) - np.median(level[tail]))
    return Prosody(round(float(fall), 2), round(drop, 1), True)
