"""What a piece of feedback says and how the person feels: sentiment, emotions, topics, urgency.

Sentiment comes from the shared understanding stage (``voicebot.understand.sentiment``); this
module adds the feedback-specific views: a wider emotion set, device/feature/problem topics from
``topics.yaml`` (data, not code) and an urgency level with the words that raised it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from voicebot.understand.sentiment import analyze as sentiment_of
from voicebot.understand.vocabulary import VocabularyError

URGENCY_LEVELS = ("normal", "high", "critical")

# Safety words: anything here makes the clip critical, whatever its sentiment.
_SAFETY = (
    "fire", "flames", "smoke", "smoking", "burning", "burnt", "burned", "sparks", "sparking",
    "electric shock", "shocked me", "electrocuted", "gas", "carbon monoxide", "explode", "exploded",
    "explosion", "melted", "melting", "overheating", "scorched", "injured", "hurt", "burn my",
    "dangerous", "hazard", "flooded", "flooding", "unsafe",
)
# Words that make a fault or a lost customer likely.
_HIGH = (
    "broken", "stopped working", "not working", "doesn't work", "does not work", "dead", "useless",
    "returning it", "return it", "send it back", "sending it back", "refund", "money back",
    "cancel", "cancelling", "canceling", "never again", "never buy", "complaint", "lawyer",
    "unacceptable", "worst", "garbage", "defective", "faulty",
)
_EMOTIONS: dict[str, tuple[str, ...]] = {
    "anger": (
        "angry", "furious", "mad", "outraged", "livid", "hate", "ridiculous", "unacceptable",
        "worst", "disgusting", "pathetic", "garbage", "rubbish", "useless", "scam", "damn",
    ),
    "frustration": (
        "frustrated", "frustrating", "annoying", "annoyed", "again and again", "keeps", "every time",
        "still", "tried everything", "fed up", "sick of", "tired of", "waste of time", "gave up",
        "nothing works", "doesn't work", "not working", "stopped working", "hours",
    ),
    "satisfaction": (
        "love", "great", "excellent", "perfect", "happy", "works well", "works great", "amazing",
        "awesome", "fantastic", "satisfied", "pleased", "brilliant", "easy", "recommend", "glad",
    ),
    "confusion": (
        "confused", "confusing", "don't understand", "do not understand", "not sure", "no idea",
        "unclear", "how do i", "how to", "what does", "why does", "where is", "can't figure", "puzzled",
    ),
    "disappointment": (
        "disappointed", "disappointing", "expected more", "let down", "regret", "shame", "not worth",
        "returning it", "return it", "send it back", "refund",
    ),
    "worry": (
        "worried", "scared", "afraid", "concerned", "nervous", "dangerous", "unsafe", "smell",
        "smoke", "burning", "fire", "sparks", "gas",
    ),
    "gratitude": ("thank", "thanks", "thank you", "grateful", "appreciate", "helpful"),
}


@dataclass
class Topics:
    devices: list[str] = field(default_factory=list)
    features: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def is_fault(self) -> bool:
        return bool(self.problems)

    def as_dict(self) -> dict[str, list[str]]:
        return {"devices": self.devices, "features": self.features, "problems": self.problems}


@dataclass
class Analysis:
    sentiment: float  # VADER compound, -1..1
    label: str  # negative | neutral | positive
    emotions: list[str]
    topics: Topics
    urgency: str  # normal | high | critical
    urgency_reasons: list[str]

    @property
    def is_fault(self) -> bool:
        return self.topics.is_fault or self.urgency != "normal"


def _pattern(phrases: tuple[str, ...] | list[str]) -> re.Pattern[str]:
    alternatives = sorted((re.escape(p).replace(r"\ ", r"\s+") for p in phrases), key=len, reverse=True)
    return re.compile(r"(?<![\w'])(?:" + "|".join(alternatives) + r")(?![\w'])", re.IGNORECASE)


def _found(pattern: re.Pattern[str], text: str) -> list[str]:
    seen: list[str] = []
    for m in pattern.finditer(text):
        word = re.sub(r"\s+", " ", m.group(0).lower())
        if word not in seen:
            seen.append(word)
    return seen


@cache
def _topic_patterns(path: str | None) -> dict[str, dict[str, re.Pattern[str]]]:
    if path:
        data: dict[str, Any] = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    else:
        data = yaml.safe_load(resources.files("voicebot.feedback").joinpath("topics.yaml").read_text("utf-8"))
    return {
        kind: {name: _pattern([str(p) for p in phrases]) for name, phrases in (data.get(kind) or {}).items()}
        for kind in ("devices", "features", "problems")
    }


@cache
def _emotion_patterns() -> dict[str, re.Pattern[str]]:
    return {name: _pattern(words) for name, words in _EMOTIONS.items()}


_SAFETY_RE = _pattern(_SAFETY)
_HIGH_RE = _pattern(_HIGH)


def find_topics(text: str, topics_file: str | None = None) -> Topics:
    patterns = _topic_patterns(topics_file)
    found = {kind: [name for name, p in named.items() if p.search(text)] for kind, named in patterns.items()}
    return Topics(found["devices"], found["features"], found["problems"])


def find_emotions(text: str, compound: float, base: list[str] | None = None) -> list[str]:
    """Emotions named by the words, plus those the sentiment stage found; a clearly positive
    text is not angry or frustrated because it says "still" or "keeps"."""
    out = list(base or [])
    for name, pattern in _emotion_patterns().items():
        if pattern.search(text) and name not in out:
            out.append(name)
    if compound >= 0.5:
        out = [e for e in out if e not in ("anger", "frustration", "disappointment")]
    if compound <= -0.3:
        out = [e for e in out if e != "satisfaction"]
    return out


def urgency(text: str) -> tuple[str, list[str]]:
    safety = _found(_SAFETY_RE, text)
    if safety:
        return "critical", safety
    high = _found(_HIGH_RE, text)
    return ("high", high) if high else ("normal", [])


def analyze_text(text: str, language: str = "en", topics_file: str | None = None) -> Analysis:
    try:
        s = sentiment_of(text, language)
    except VocabularyError:
        # No emotion lexicon for this language yet: VADER and the English lexicons still catch
        # loan words, names of devices and punctuation, so the label is rough but not empty.
        s = sentiment_of(text, "en")
    level, reasons = urgency(text)
    topics = find_topics(text, topics_file)
    found = find_emotions(text, s.compound, list(s.emotions))
    compound, label = float(s.compound), s.label
    # VADER reads "the heating does not work anymore, I'm returning it" as neutral: a fault
    # report or an urgent complaint without any praise is negative feedback.
    if (topics.is_fault or level != "normal") and "satisfaction" not in found and compound > -0.25:
        compound, label = min(compound, -0.25), "negative"
    return Analysis(
        sentiment=round(compound, 4),
        label=label,
        emotions=found,
        topics=topics,
        urgency=level,
        urgency_reasons=reasons,
    )
