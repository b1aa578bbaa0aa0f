"""How the customer feels: VADER's compound score per turn, emotion categories from the
lexicon in data/<lang>.yaml, and a running frustration signal across turns.

``analyze`` is a plain function with no registry or context: the feedback stage uses it on
spoken feedback clips too.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from functools import cache

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from voicebot.understand.normalize import normalize
from voicebot.understand.types import Sentiment
from voicebot.understand.vocabulary import load

# VADER's own recommended cut-offs for its compound score.
POSITIVE = 0.05
NEGATIVE = -0.05


@cache
def _vader() -> SentimentIntensityAnalyzer:
    return SentimentIntensityAnalyzer()


def emotions(text: str, language: str = "en") -> list[str]:
    """Emotion categories (anger, frustration, satisfaction, confusion, anxiety) the text shows."""
    vocab = load(language)
    plain = normalize(text, vocab.rewrites, vocab.fillers)
    found = [name for name, patterns in vocab.emotions.items() if vocab.any_match(patterns, plain)]
    # "I don't understand" is confusion; "you don't understand" is frustration: both patterns
    # exist, and the more specific frustration wins over a generic confusion match.
    if "frustration" in found and "confusion" in found and "you" in plain.split():
        found.remove("confusion")
    return found


def _lexicon_compound(text: str, language: str) -> float:
    """VADER's compound score computed from the language's own valence words: VADER's lexicon
    is English, and read on German it takes "die" (the article) for death."""
    vocab = load(language)
    total = 0.0
    for clause in re.split(r"[,;:.!?]", text):  # "geht nicht, das nervt": the negation stays in its clause
        words = normalize(clause, vocab.rewrites, vocab.fillers).split()
        for i, word in enumerate(words):
            value = vocab.valence.get(word)
            if value is None:
                continue
            if any(w in vocab.negations for w in words[max(0, i - 3) : i]):
                value *= -0.74  # VADER's own damping of a negated word
            total += value
    if total and "!" in text:  # VADER's emphasis per exclamation mark, up to four
        total += math.copysign(0.292 * min(text.count("!"), 4), total)
    return total / math.sqrt(total * total + 15)  # VADER's normalisation to -1..1


def analyze(text: str, language: str = "en") -> Sentiment:
    """Sentiment of one utterance. VADER reads English raw text (it uses capitals and "!");
    other languages are scored from their own valence words in data/<lang>.yaml."""
    if not text.strip():
        compound = 0.0
    elif language == "en":
        compound = float(_vader().polarity_scores(text)["compound"])
    else:
        compound = _lexicon_compound(text, language)
    found = emotions(text, language) if text.strip() else []
    # VADER misses domain phrases ("won't work again", "still broken"): nudge the score so the
    # label agrees with a clear emotion category.
    if ("anger" in found or "frustration" in found) and compound > NEGATIVE and "satisfaction" not in found:
        compound = min(compound, -0.3 if "anger" in found else -0.2)
    label = "positive" if compound >= POSITIVE else "negative" if compound <= NEGATIVE else "neutral"
    return Sentiment(compound=round(compound, 4), label=label, emotions=found)


@dataclass
class FrustrationTracker:
    """A running frustration level in 0..1 over a conversation.

    Each turn adds evidence (negative sentiment, anger/frustration words, not being understood,
    having to repeat oneself) and the past decays, so one sharp remark does not escalate but two
    or three frustrated turns in a row do. Satisfaction lowers the level.
    """

    decay: float = 0.6  # share of the previous level kept each turn
    threshold: float = 0.6  # level at which ``frustrated`` turns true
    level: float = 0.0
    negative_streak: int = 0
    history: list[float] = field(default_factory=list)

    def update(self, sentiment: Sentiment | None, understood: bool = True, repeated: bool = False) -> float:
        """Add one user turn; returns the new level."""
        evidence = 0.0
        if sentiment is not None:
            if sentiment.compound <= NEGATIVE:
                evidence += 0.35 * min(1.0, -sentiment.compound / 0.6)
            if "anger" in sentiment.emotions:
                evidence += 0.35
            if "frustration" in sentiment.emotions:
                evidence += 0.25
            if "satisfaction" in sentiment.emotions:
                evidence -= 0.5
            if sentiment.compound >= 0.4:
                evidence -= 0.2
        if not understood:
            evidence += 0.2
        if repeated:
            evidence += 0.15
        self.level = max(0.0, min(1.0, self.level * self.decay + evidence))
        negative = evidence > 0.2
        self.negative_streak = self.negative_streak + 1 if negative else 0
        self.history.append(round(self.level, 3))
        return self.level

    @property
    def frustrated(self) -> bool:
        """Sustained frustration: the level is over the threshold."""
        return self.level >= self.threshold

    def reset(self) -> None:
        self.level = 0.0
        self.negative_streak = 0
        self.history.clear()
