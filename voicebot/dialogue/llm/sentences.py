"""Cut streamed text into sentences as soon as each one is complete, so speech can start early."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

# A sentence ends at . ! ? (possibly followed by closing quotes/brackets) and then whitespace.
# "3.5" and "e.g." are not ends: a digit must not follow, and short lowercase abbreviations are skipped.
_END = re.compile(r"""(?<=[.!?])["')\]]*\s+""")
_ABBREVIATIONS = ("e.g.", "i.e.", "etc.", "approx.", "mr.", "mrs.", "ms.", "dr.", "no.", "vs.")
MAX_CHARS = 220  # a run-on without punctuation is cut at a comma or space past this length


class SentenceSplitter:
    """Feed text fragments; take out finished sentences; flush the rest at the end."""

    def __init__(self) -> None:
        self._buffer = ""

    def feed(self, fragment: str) -> list[str]:
        self._buffer += fragment
        out: list[str] = []
        while True:
            cut = self._next_cut()
            if cut is None:
                break
            sentence, self._buffer = self._buffer[:cut].strip(), self._buffer[cut:].lstrip()
            if sentence:
                out.append(sentence)
        return out

    def flush(self) -> list[str]:
        rest, self._buffer = self._buffer.strip(), ""
        return [rest] if rest else []

    def _next_cut(self) -> int | None:
        for match in _END.finditer(self._buffer):
            head = self._buffer[: match.start()].rstrip("\"')]")
            if head.lower().endswith(_ABBREVIATIONS):
                continue
            return match.end()
        if len(self._buffer) > MAX_CHARS:
            window = self._buffer[:MAX_CHARS]
            at = max(window.rfind(", "), window.rfind("; "))
            if at < MAX_CHARS // 2:
                at = window.rfind(" ")
            return at + 1 if at > 0 else MAX_CHARS
        return None


def sentences(fragments: Iterable[str]) -> Iterator[str]:
    splitter = SentenceSplitter()
    for fragment in fragments:
        yield from splitter.feed(fragment)
    yield from splitter.flush()
