"""Nearest-neighbour search over the labelled examples of one language, and the vote that turns
the neighbours into a guess with a level of certainty.

The index holds MiniLM vectors, computed once and cached on disk under a key made of the
model's and the examples' digests (a changed example file or model rebuilds it).
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from voicebot.understand.semantic.encoder import Encoder, MiniLMEncoder
from voicebot.understand.semantic.examples import DEV_EXAMPLES, NONE, Example, examples
from voicebot.understand.semantic.examples import HERE as EXAMPLE_FILES
from voicebot.understand.semantic.prepared import cache_dir

log = logging.getLogger(__name__)

K = 5  # neighbours that vote
# A neighbour's vote falls off with its distance below the closest one: a near-exact phrasing
# outweighs several loosely alike ones.
TEMPERATURE = 0.05
BATCH = 64  # sentences per model call while building


@dataclass(frozen=True)
class Neighbours:
    """The nearest examples, best first, and the vote among them."""

    intent: str  # NONE when the closest phrasings are no device request
    domain: str | None
    sign: int
    similarity: float  # of the closest example with the winning label
    share: float  # the winning label's part of the vote (0..1)
    nearest: str  # that example's text, for traces

    @property
    def is_request(self) -> bool:
        return self.intent != NONE


class SemanticIndex:
    def __init__(
        self, language: str, encoder: Encoder, items: list[Example], cache: Path | None = None,
    ) -> None:
        self.language = language
        self.encoder = encoder
        self.examples = items
        shared: dict[tuple[str, str, int], tuple[str, str, int]] = {}  # a few dozen labels, one tuple each
        self._labels = [shared.setdefault(e.label, e.label) for e in items]
        self._matrix = self._load_or_build(cache or cache_dir())

    # ------------------------------------------------------------------ building
    def key(self) -> str:
        digest = hashlib.sha256(self.encoder.name.encode())
        digest.update(json.dumps([[e.text, *e.label] for e in self.examples], ensure_ascii=False).encode())
        return digest.hexdigest()[:20]

    def _load_or_build(self, cache: Path) -> np.ndarray:
        path = cache / f"{self.language}-{self.key()}.npy"
        if path.is_file():
            try:
                matrix = np.load(path)
                if matrix.shape[0] == len(self.examples):
                    return matrix.astype(np.float32)
            except (OSError, ValueError):
                log.warning("semantic index cache %s unreadable: rebuilding", path)
        log.info("building the %s semantic index (%d examples), once", self.language, len(self.examples))
        texts = [e.text for e in self.examples]
        parts = [self.encoder.encode(texts[i : i + BATCH]) for i in range(0, len(texts), BATCH)]
        matrix = np.concatenate(parts).astype(np.float16) if parts else np.zeros((0, 384), np.float16)
        try:
            cache.mkdir(parents=True, exist_ok=True)
            # written whole then renamed: a second process never reads half a file
            with tempfile.NamedTemporaryFile(dir=cache, suffix=".npy", delete=False) as tmp:
                np.save(tmp, matrix)
            os.replace(tmp.name, path)
        except OSError:
            log.warning("cannot cache the semantic index in %s: it is rebuilt next start", cache)
        # float16 on disk (half the size), float32 in memory: the same floats whether just built
        # or loaded, so a fresh process answers exactly as a warm one
        return matrix.astype(np.float32)

    # ------------------------------------------------------------------ searching
    def similarities(self, text: str) -> np.ndarray:
        query = self.encoder.encode([text])[0].astype(np.float32)
        return self._matrix @ query

    def nearest(self, text: str, exclude: Callable[[Example], bool] | None = None) -> Neighbours | None:
        sims = self.similarities(text)
        if exclude is not None:
            sims = sims.copy()
            for row, ex in enumerate(self.examples):
                if exclude(ex):
                    sims[row] = -1.0
        if not len(sims):
            return None
        # stable order: equal similarities go to the example that sorts first
        order = np.argsort(-sims, kind="stable")[:K]
        votes: dict[tuple[str, str, int], float] = {}
        first: dict[tuple[str, str, int], int] = {}
        top = float(sims[order[0]])
        for rank, row in enumerate(order.tolist()):
            if sims[row] <= 0:
                break
            label = self._labels[row]
            votes[label] = votes.get(label, 0.0) + math.exp((float(sims[row]) - top) / TEMPERATURE)
            first.setdefault(label, rank)
        if not votes:
            return None
        best = max(votes, key=lambda lab: (votes[lab], -first[lab]))
        row = int(order[first[best]])
        return Neighbours(
            intent=best[0], domain=best[1] or None, sign=best[2],
            similarity=round(float(sims[row]), 4), share=round(votes[best] / sum(votes.values()), 4),
            nearest=self.examples[row].text,
        )


# Languages the model reads. German and Spanish are left to the rules and templates.
LANGUAGES = frozenset({"en"})


def build(language: str, dev: bool = True, cache: Path | None = None) -> SemanticIndex | None:
    """The index for ``language``, or None when the layer does not serve it."""
    if language not in LANGUAGES:
        return None
    encoder: Encoder = MiniLMEncoder()
    return SemanticIndex(language, encoder, cached_examples(language, dev, cache or cache_dir()), cache)


def cached_examples(language: str, dev: bool, cache: Path) -> list[Example]:
    """``examples()``, kept on disk: expanding Home Assistant's templates takes seconds (20 s
    for Spanish), too long for the first turn in a language. The key covers the installed
    template and hassil versions and voicebot's own example files."""
    from importlib.metadata import version

    digest = hashlib.sha256(f"{language}|{dev}|{version('home-assistant-intents')}|{version('hassil')}".encode())
    for path in [*sorted(EXAMPLE_FILES.glob("examples_*.yaml")), DEV_EXAMPLES]:
        if path.is_file():
            digest.update(path.name.encode() + path.read_bytes())
    path = cache / f"examples-{language}-{digest.hexdigest()[:20]}.json"
    if path.is_file():
        try:
            return [Example.from_row(row) for row in json.loads(path.read_text(encoding="utf-8"))]
        except (OSError, ValueError, TypeError):
            log.warning("semantic example cache %s unreadable: rebuilding", path)
    items = examples(language, dev=dev)
    try:
        cache.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("w", dir=cache, suffix=".json", delete=False, encoding="utf-8") as tmp:
            json.dump([[e.text, e.intent, e.domain, e.sign, e.source] for e in items], tmp, ensure_ascii=False)
        os.replace(tmp.name, path)
    except OSError:
        log.warning("cannot cache the semantic examples in %s", cache)
    return items
