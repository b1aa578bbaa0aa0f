"""Spoken numbers to digits: "twenty one" → "21", "seventy five point five" → "75.5".

Whisper writes numbers sometimes as digits and sometimes as words, so the rules downstream
only ever see digits. A lone "one" stays a word ("the other one", "which one") unless it
is followed by a unit or is part of a larger number.
"""

from __future__ import annotations

import re

UNITS = {
    "zero": 0, "oh": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14,
    "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19,
}
TENS = {
    "twenty": 20, "thirty": 30, "forty": 40, "fourty": 40, "fifty": 50, "sixty": 60, "seventy": 70,
    "eighty": 80, "ninety": 90,
}
_UNIT_WORDS = ("percent", "degrees", "degree", "celsius", "fahrenheit", "point", "minutes", "hours")
_TOKEN = re.compile(r"\S+")


def _value(tokens: list[str]) -> tuple[float | None, int]:
    """Parse the longest spoken number at the start of ``tokens``: (value, tokens used)."""
    total = 0
    current = 0
    used = 0
    seen = False
    i = 0
    while i < len(tokens):
        word = tokens[i]
        if word in UNITS and word != "oh":
            if seen and current % 10 != 0 and current < 100 and current != 0:
                break  # "two three" is two numbers, not 23
            if seen and current >= 20 and current % 10 == 0 and UNITS[word] >= 10:
                break  # "twenty twelve"
            current += UNITS[word]
        elif word in TENS:
            if seen and current % 100 != 0:
                break
            current += TENS[word]
        elif word == "hundred" and seen:
            current = max(current, 1) * 100
        elif word == "hundred" and not seen:
            break
        elif word == "a" and i + 1 < len(tokens) and tokens[i + 1] == "hundred" and not seen:
            current = 1
        elif word == "and" and seen and current >= 100 and i + 1 < len(tokens) and (
            tokens[i + 1] in UNITS or tokens[i + 1] in TENS
        ):
            pass
        else:
            break
        seen = True
        i += 1
        used = i
    if not seen:
        return None, 0
    value: float = total + current
    # decimals: "twenty one point five"
    if used + 1 < len(tokens) and tokens[used] == "point" and tokens[used + 1] in UNITS:
        value = float(f"{int(value)}.{UNITS[tokens[used + 1]]}")
        used += 2
    return value, used


def _fmt(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def words_to_digits(text: str) -> str:
    """Replace spoken numbers in lower-case, space-separated ``text`` by digits."""
    tokens = _TOKEN.findall(text)
    out: list[str] = []
    i = 0
    while i < len(tokens):
        value, used = _value(tokens[i:])
        if value is None:
            # "21 point 5" written half in digits
            if (
                tokens[i] == "point" and out and out[-1].isdigit() and i + 1 < len(tokens)
                and (tokens[i + 1].isdigit() or tokens[i + 1] in UNITS)
            ):
                digit = tokens[i + 1] if tokens[i + 1].isdigit() else str(UNITS[tokens[i + 1]])
                out[-1] = f"{out[-1]}.{digit}"
                i += 2
                continue
            out.append(tokens[i])
            i += 1
            continue
        nxt = tokens[i + used] if i + used < len(tokens) else ""
        if used == 1 and tokens[i] == "one" and nxt not in _UNIT_WORDS:
            out.append("one")  # "the other one", "which one"
        elif used == 1 and tokens[i] == "a":
            out.append("a")
        else:
            out.append(_fmt(value))
        i += used
    return " ".join(out)
