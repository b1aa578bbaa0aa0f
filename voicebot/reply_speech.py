"""How a reply is cut for speech: into sentences with :func:`voicebot.speak.split_sentences` (the
one splitter), the first one clause first so the first words are heard sooner, from whole text or
from a stream of pieces as an LLM writes them. The speech itself is cached by the synthesizer,
each voice in its own cache (:class:`voicebot.speak.SentenceSynthesizer`); the voice is the reply's
language's (``Reply.language``, :mod:`voicebot.voices`)."""

from __future__ import annotations

import re
from collections.abc import Iterator

from voicebot.dialogue.types import Reply
from voicebot.speak import split_sentences


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
        yield from split_sentences(reply.text)
        return
    buf = ""
    for piece in stream:
        buf += piece
        parts = split_sentences(buf)
        if not parts:
            continue
        # The last piece is complete only when what follows it would start a new sentence.
        done = buf[-1].isspace() and len(split_sentences(buf + "X")) > len(parts)
        yield from parts if done else parts[:-1]
        buf = "" if done else buf[buf.rfind(parts[-1]) :]
    yield from split_sentences(buf)


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
