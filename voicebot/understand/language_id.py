"""Which language a typed turn is in: a text language identifier (lingua, whose models ship in
its wheel; low-accuracy mode, ~17 MB for three languages) combined with each language's common
words, and the conversation's language as the prior. Whisper says the language of speech; this
is for text, and for speech Whisper was unsure of.

Short turns ("ok", "is the tv on") say little about their language: the prior keeps the
conversation's language unless another language has clearly more evidence.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from functools import cache
from typing import Any

log = logging.getLogger(__name__)

# How much each kind of evidence counts, and the head start of the conversation's language.
IDENTIFIER_WEIGHT = 0.4
MARKER_WEIGHT = 0.6
PRIOR_BONUS = 0.15


@cache
def _detector(languages: tuple[str, ...]) -> Any:
    """lingua's detector for these ISO 639-1 codes, or None when lingua is missing or knows
    fewer than two of them."""
    try:
        from lingua import IsoCode639_1, Language, LanguageDetectorBuilder
    except ImportError:  # the common-word evidence still works
        log.warning("lingua is not installed: typed language is told by common words only")
        return None
    known = []
    for code in languages:
        try:
            known.append(Language.from_iso_code_639_1(getattr(IsoCode639_1, code.upper())))
        except (AttributeError, ValueError):
            continue
    if len(known) < 2:
        return None
    return LanguageDetectorBuilder.from_languages(*known).with_low_accuracy_mode().build()


def identifier_scores(text: str, languages: Iterable[str]) -> dict[str, float]:
    """lingua's confidence per language (0..1, summing to 1), or {} when it cannot say."""
    langs = tuple(sorted(set(languages)))
    detector = _detector(langs)
    if detector is None or not text.strip():
        return {}
    values = detector.compute_language_confidence_values(text)
    return {v.language.iso_code_639_1.name.lower(): float(v.value) for v in values}


def detect(text: str, words: list[str], markers: Mapping[str, frozenset[str]], prior: str) -> str:
    """The language of ``text`` among ``markers``' languages (``words`` are its normalised
    tokens). Ties go to ``prior``, then to the first language in ``markers``."""
    if len(markers) == 1:
        return next(iter(markers))
    counts = {lang: sum(w in m for w in words) for lang, m in markers.items()}
    total = sum(counts.values())
    ident = identifier_scores(text, markers)
    best, best_score = prior, -1.0
    for lang in [prior, *(x for x in markers if x != prior)]:
        if lang not in markers:
            continue
        score = MARKER_WEIGHT * (counts[lang] / total if total else 0.0) + IDENTIFIER_WEIGHT * ident.get(lang, 0.0)
        if lang == prior:
            score += PRIOR_BONUS
        if score > best_score:
            best, best_score = lang, score
    return best
