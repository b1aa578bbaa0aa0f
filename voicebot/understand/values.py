"""Slot values spoken in a request: temperatures, percentages, colours, relative steps,
states, ticket numbers. Each extractor reads the normalised text and returns slots."""

from __future__ import annotations

import re
from typing import Any

from voicebot.understand.vocabulary import Vocabulary

_NUMBER = r"(\d+(?:\.\d+)?)"
_DEGREES = re.compile(_NUMBER + r" degrees( fahrenheit)?")
_TO_NUMBER = re.compile(r"\b(?:to|at|on) " + _NUMBER + r"\b(?! percent)")
_PERCENT = re.compile(_NUMBER + r" percent")
_BY = re.compile(r"\b(?:by|up|down) " + _NUMBER + r"( percent| degrees)?\b")
_TICKET = re.compile(r"\b(?:ticket|case|reference|number)\s*(?:number\s*|no\s*|id\s*)?([a-z]{0,3}\d[\w]*)\b")
_HALF = re.compile(r"\b(halfway|half way|half open|half closed|half)\b")
_FULL = re.compile(r"\b(full|max|maximum|brightest|full power|all the way|fully|100)\b")
_MINIMUM = re.compile(r"\b(minimum|lowest|dimmest)\b")


def _num(text: str) -> float | int:
    value = float(text)
    return int(value) if value.is_integer() else value


def temperature(text: str) -> dict[str, Any]:
    found = _DEGREES.search(text)
    if found:
        slots: dict[str, Any] = {"temperature": _num(found.group(1))}
        if found.group(2):
            slots["temperature_unit"] = "fahrenheit"
        return slots
    found = _TO_NUMBER.search(text)
    return {"temperature": _num(found.group(1))} if found else {}


def percent(text: str) -> int | float | None:
    """A percentage: "40 percent", "to 40", "halfway", "full brightness"."""
    found = _PERCENT.search(text)
    if found:
        return max(0, min(100, _num(found.group(1))))
    found = _TO_NUMBER.search(text)
    if found:
        return max(0, min(100, _num(found.group(1))))
    if _HALF.search(text):
        return 50
    if _MINIMUM.search(text):
        return 1
    if _FULL.search(text):
        return 100
    return None


def color(text: str, vocab: Vocabulary) -> str | None:
    for name in sorted(vocab.colors, key=len, reverse=True):
        if re.search(rf"\b{re.escape(name)}\b", text):
            return name
    return None


def step(text: str, kind: str, sign: int, vocab: Vocabulary) -> float | int:
    """A relative change with its sign: "a bit brighter" → +10, "much colder" → -2."""
    found = _BY.search(text)
    if found:
        size = float(found.group(1))
    else:
        table = vocab.steps.get(kind, {"default": 1.0})
        size = table["default"]
        if vocab.any_match(vocab.magnitude.get("small", []), text):
            size = table.get("small", size)
        elif vocab.any_match(vocab.magnitude.get("large", []), text):
            size = table.get("large", size)
    value = sign * size
    return int(value) if float(value).is_integer() else value


def state(text: str, vocab: Vocabulary) -> str | None:
    """The state a question asks about: the last state word ("is the front door locked")."""
    found = None
    for word in text.split():
        if word in vocab.states:
            found = vocab.states[word]
    return found


def ticket(text: str) -> str | None:
    found = _TICKET.search(text)
    return found.group(1) if found else None
