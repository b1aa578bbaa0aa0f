"""Turn taking from the words: does a transcript read as a finished turn, and does it start
with the wake phrase."""

from __future__ import annotations

import re

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
