"""How a reply becomes speech: cut into sentences (the first one clause first, so the first
words are heard sooner), from whole text or from a stream of pieces as an LLM writes them; and
a cache of the short sentences replies keep repeating."""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Iterator

import numpy as np

from voicebot.dialogue.types import Reply

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


class PhraseCache:
    """Speech of short sentences that replies repeat ("Done.", "Is there anything else I can
    help with?"), kept per synthesizer so they play without waiting for Piper."""

    def __init__(self, size: int = 256, max_chars: int = 60) -> None:
        self.size = size
        self.max_chars = max_chars
        self._lock = threading.Lock()
        self._items: OrderedDict[tuple[int, str], np.ndarray] = OrderedDict()

    def get(self, synthesizer: object, text: str) -> np.ndarray | None:
        with self._lock:
            key = (id(synthesizer), text)
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
            return found

    def put(self, synthesizer: object, text: str, pieces: list[np.ndarray]) -> None:
        if len(text) > self.max_chars or not pieces:
            return
        with self._lock:
            self._items[(id(synthesizer), text)] = np.concatenate(pieces)
            while len(self._items) > self.size:
                self._items.popitem(last=False)


PHRASES = PhraseCache()


def reply_sentences(reply: Reply) -> Iterator[str]:
    """A reply's text as sentences. A reply may carry ``text_stream`` (an iterator of text
    pieces, e.g. LLM tokens): sentences are cut from it as they complete."""
    first = True
    for sentence in _whole_sentences(reply):
        if first:
            # The first words are what the user waits for: a long first sentence is spoken
            # clause by clause, so its opening clause is synthesized (and heard) sooner.
            yield from _clauses(sentence)
            first = False
        else:
            yield sentence


def _whole_sentences(reply: Reply) -> Iterator[str]:
    stream = getattr(reply, "text_stream", None)
    if stream is None:
        text = reply.text.strip()
        if text:
            yield from (s for s in _SENTENCE_END.split(text) if s.strip())
        return
    buf = ""
    for piece in stream:
        buf += piece
        parts = _SENTENCE_END.split(buf)
        for sentence in parts[:-1]:
            if sentence.strip():
                yield sentence.strip()
        buf = parts[-1]
    if buf.strip():
        yield buf.strip()


_CLAUSE_END = re.compile(r"(?<=[,;:])\s+")


def _clauses(sentence: str, min_words: int = 1, min_rest: int = 3) -> Iterator[str]:
    parts = _CLAUSE_END.split(sentence)
    head = parts[0]
    for i, part in enumerate(parts[1:], start=1):
        rest = " ".join(parts[i:])
        if len(head.split()) >= min_words and len(rest.split()) >= min_rest:
            yield head
            yield rest
            return
        head = f"{head} {part}"
    yield sentence
