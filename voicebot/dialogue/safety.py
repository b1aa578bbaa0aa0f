"""Danger words that stop everything: gas, fire or smoke, water leaks, being locked out."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

SAFETY_FILE = Path(__file__).with_name("safety.yaml")


@dataclass(frozen=True)
class Danger:
    kind: str  # gas | fire | water | locked_out
    advices: tuple[tuple[str, str], ...]  # (language, advice with {emergency} still to fill)

    @property
    def advice(self) -> str:
        return self.text("en")

    def text(self, language: str) -> str:
        texts = dict(self.advices)
        return texts.get(language) or texts["en"]


def _danger(kind: str, rule: dict[str, object]) -> Danger:
    advice = rule.get("advice", "")
    texts = advice if isinstance(advice, dict) else {"en": advice}
    return Danger(kind, tuple((str(k), " ".join(str(v).split())) for k, v in texts.items()))


@cache
def _rules() -> dict[str, dict[str, object]]:
    data = yaml.safe_load(SAFETY_FILE.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def _has(text: str, phrase: str) -> bool:
    return re.search(rf"\b{re.escape(phrase.lower())}\b", text) is not None


def detect_danger(text: str) -> Danger | None:
    t = " ".join(text.lower().replace("’", "'").split())
    for kind, rule in _rules().items():
        words = rule.get("words") or []
        unless = rule.get("unless") or []
        assert isinstance(words, list) and isinstance(unless, list)
        if any(_has(t, w) for w in words) and not any(_has(t, u) for u in unless):
            return _danger(kind, rule)
    return None


# The understanding stage's own danger labels, mapped to the advice above.
UNDERSTANDING_KINDS = {"carbon_monoxide": "gas", "gas": "gas", "fire": "fire", "smoke": "fire",
                       "water_leak": "water", "locked_out": "locked_out"}


def danger_of_kind(label: str) -> Danger:
    kind = UNDERSTANDING_KINDS.get(label, "fire" if "smoke" in label else label)
    rule = _rules().get(kind) or _rules()["fire"]
    return _danger(kind, rule)
