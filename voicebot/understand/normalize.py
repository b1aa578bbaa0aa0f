"""Transcript clean-up: what Whisper writes → the plain form the rules match.

"Turn the lights to 50%." → "turn the lights to 50 percent"; "Set it to 21°C" → "set it to
21 degrees"; "twenty-one" → "21"; fillers ("um", "uh") dropped; typical mis-transcriptions
("turn of the light") rewritten through the ``rewrites`` table of the language's data file.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

from voicebot.understand.numbers import words_to_digits

_DEGREES = re.compile(r"(\d+(?:[.,]\d+)?)\s*(?:°|º|degrees?\b)(?:\s*(c|f|celsius|fahrenheit)\b)?", re.I)
_PERCENT = re.compile(r"(\d+(?:[.,]\d+)?)\s*(?:%|per\s?cent)")
_DECIMAL_COMMA = re.compile(r"(\d),(\d)\b")
_THOUSANDS = re.compile(r"(\d),(\d{3})\b")
_NOT_WORD = re.compile(r"[^\w\s'.]")
_LONE_DOT = re.compile(r"(?<!\d)\.|\.(?!\d)")
_SPACES = re.compile(r"\s+")


def _degrees(match: re.Match[str]) -> str:
    unit = (match.group(2) or "").lower()
    suffix = " fahrenheit" if unit.startswith("f") else ""
    return f"{match.group(1)} degrees{suffix}"


def normalize(text: str, rewrites: Sequence[tuple[re.Pattern[str], str]] = (), fillers: Sequence[str] = ()) -> str:
    """Lower-case, punctuation-free, numbers as digits, units spelled out."""
    t = unicodedata.normalize("NFKC", text)
    t = t.replace("’", "'").replace("‘", "'").replace("`", "'").replace("´", "'")
    t = _THOUSANDS.sub(r"\1\2", t)
    t = _DECIMAL_COMMA.sub(r"\1.\2", t)
    t = t.replace("-", " ").replace("_", " ")
    t = _DEGREES.sub(_degrees, t)
    t = t.replace("°", " degrees ")
    t = _PERCENT.sub(r"\1 percent", t)
    t = t.replace("%", " percent ")
    t = t.lower()
    t = _NOT_WORD.sub(" ", t)
    t = _LONE_DOT.sub(" ", t)
    # quotes used as quotes, not as apostrophes
    t = re.sub(r"(?<!\w)'|'(?!\w)", " ", t)
    t = _SPACES.sub(" ", t).strip()
    t = words_to_digits(t)
    for pattern, replacement in rewrites:
        t = pattern.sub(replacement, t)
    if fillers:
        t = " ".join(w for w in t.split() if w not in fillers)
    return _SPACES.sub(" ", t).strip()
