"""The home's own words, for hearing them right: a prompt that biases Whisper toward them, and a
correction of near-misses in what it wrote ("living rom lamp" → "living room lamp").

    words = HomeWords.from_registry(bridge.devices(), bridge.areas(), language="en")
    transcriber.use_home_words(words)      # voicebot.transcribe: prompt + correction per turn
    words.correct("turn on the kitchen lite")   # "turn on the kitchen light"

Only the home's names (devices, their aliases, rooms, floors) are ever written in: a word is
replaced only by a name it is spelled almost like, and never when it is itself a command or a
common word ("on", "off", "the", "light").
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from rapidfuzz import fuzz, process

# Words Whisper is told to expect besides the names: what people say to a home, per language.
COMMAND_WORDS = {
    "en": ["turn on", "turn off", "switch", "dim", "brighten", "lights", "lamp", "thermostat", "degrees",
           "blinds", "vacuum", "lock", "unlock", "volume"],
    "de": ["einschalten", "ausschalten", "schalte", "Licht", "Lampe", "Heizung", "Grad", "Rollladen",
           "Staubsauger", "abschließen", "Lautstärke"],
    "es": ["enciende", "apaga", "luz", "lámpara", "calefacción", "grados", "persiana", "aspiradora",
           "cierra", "volumen"],
}
# A span is corrected only when it is this alike (rapidfuzz ratio, 0-100) to a name; single
# words need more, being easier to confuse.
SPAN_CUTOFF = 85.0
WORD_CUTOFF = 90.0
MIN_WORD_LETTERS = 5  # shorter single words are never corrected ("lamb" → "lamp" is a guess)
PROMPT_CHARS = 600  # Whisper reads at most ~220 prompt tokens (~4 characters each)
PROMPT_LEAD = "In this home: "
PROMPT_JOIN = " and "
_WORD = re.compile(r"[\w']+", re.UNICODE)


@dataclass(frozen=True)
class Correction:
    heard: str
    meant: str
    score: float


@dataclass
class HomeWords:
    names: list[str]  # as the home spells them, most important first (the prompt's order)
    language: str = "en"
    command_words: list[str] = field(default_factory=list)
    # words never replaced (common words and command words of the language)
    keep: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        self._lower = [n.lower() for n in self.names]
        self._by_lower: dict[str, str] = {}
        for lower, name in zip(self._lower, self.names, strict=True):
            self._by_lower.setdefault(lower, name)  # "Garage" before the alias "garage"
        own = {w.lower() for phrase in self.command_words for w in _WORD.findall(phrase)}
        self.keep = frozenset(self.keep | own)

    @classmethod
    def from_registry(cls, devices: Iterable[object], areas: Iterable[object], language: str = "en",
                      keep: Iterable[str] = ()) -> HomeWords:
        """From device_bridge Devices and Areas (anything with name/aliases, and floor for areas).
        Rooms, floors and device names come before aliases: the prompt has room for ~600 letters."""
        areas, devices = list(areas), list(devices)
        names = [str(a.name) for a in areas]  # type: ignore[attr-defined]
        names += [str(a.floor) for a in areas if getattr(a, "floor", None)]  # type: ignore[attr-defined]
        names += [str(d.name) for d in devices]  # type: ignore[attr-defined]
        for thing in [*areas, *devices]:
            names += [str(alias) for alias in getattr(thing, "aliases", []) or []]
        return cls.of(names, language, keep)

    @classmethod
    def of(cls, names: Iterable[str], language: str = "en", keep: Iterable[str] = ()) -> HomeWords:
        """``names`` most important first. ``keep``: more words never to replace; the understanding
        vocabulary's common, kind, state and colour words of ``language`` are always kept."""
        from voicebot.understand.vocabulary import VocabularyError, load

        unique = list(dict.fromkeys(" ".join(n.split()) for n in names if n and n.strip()))
        kept = set(common_words(keep))
        try:
            v = load(language)
            kept |= common_words([*v.markers, *v.domain_words, *v.neutral, *v.generic_words, *v.states,
                                  *v.colors, *v.fillers])
        except VocabularyError:
            pass
        return cls(unique, language, COMMAND_WORDS.get(language, []), frozenset(kept))

    # ------------------------------------------------------------------ Whisper's side
    def prompt_names(self) -> list[str]:
        """The names the prompt holds, most important first, within its length budget."""
        out, size = [], len(PROMPT_LEAD)
        for name in self.names:
            size += len(name) + len(PROMPT_JOIN)
            if size > PROMPT_CHARS:
                break
            out.append(name)
        return out

    def prompt(self) -> str:
        """Text given to Whisper as if said before this turn. Whisper copies a prompt's style:
        a comma list made it write commas inside commands, one capitalised name per sentence
        made it split words ("Carbon. Mm-hoc."); a plain lower-case sentence measured best
        (benchmarks/bench_asr_home_words.py, docs/audio.md)."""
        return PROMPT_LEAD + PROMPT_JOIN.join(n.lower() for n in self.prompt_names()) + "."

    # ------------------------------------------------------------------ correction
    def corrections(self, text: str) -> list[Correction]:
        return self._correct(text)[1]

    def correct(self, text: str) -> str:
        return self._correct(text)[0]

    def _correct(self, text: str) -> tuple[str, list[Correction]]:
        spans = [(m.start(), m.end(), m.group(0)) for m in _WORD.finditer(text)]
        words = [w.lower() for _, _, w in spans]
        done: list[tuple[int, int, str, Correction]] = []  # (first word, last word + 1, replacement)
        used: set[int] = set()
        for size in (3, 2, 1):
            for i in range(len(words) - size + 1):
                part = range(i, i + size)
                if used.intersection(part):
                    continue
                chunk = words[i : i + size]
                if all(w in self.keep for w in chunk):
                    continue
                heard = " ".join(chunk)
                if heard in self._by_lower:
                    used.update(part)  # already a name: leave it, and keep its words from others
                    continue
                if size == 1 and len(heard) < MIN_WORD_LETTERS:
                    continue
                if any(any(c.isdigit() for c in w) for w in chunk):
                    continue  # numbers are values, never part of a misheard name
                # word for word: a name never swallows a word said beside it ("bedroom lamp 50")
                choices = [n for n in self._lower if len(n.split()) == size]
                if not choices:
                    continue
                best = process.extractOne(heard, choices, scorer=fuzz.ratio,
                                          score_cutoff=WORD_CUTOFF if size == 1 else SPAN_CUTOFF)
                if best is None:
                    continue
                meant_lower, score = best[0], float(best[1])
                # a word the language needs as it is ("open", "the") must survive the correction
                if any(w in self.keep and w not in meant_lower.split() for w in chunk):
                    continue
                used.update(part)
                done.append((i, i + size, self._by_lower[meant_lower], Correction(heard, self._by_lower[meant_lower], score)))
        if not done:
            return text, []
        out, last = [], 0
        for first, end, meant, _ in sorted(done, key=lambda d: d[0]):
            out.append(text[last : spans[first][0]])
            out.append(meant)
            last = spans[end - 1][1]
        out.append(text[last:])
        return "".join(out), [c for *_, c in sorted(done, key=lambda d: d[0])]


def common_words(vocabulary_words: Sequence[str]) -> frozenset[str]:
    """Helper for callers that have a language's word list (e.g. the understanding vocabulary's
    markers and kind words): lower-cased, split into words."""
    return frozenset(w.lower() for phrase in vocabulary_words for w in _WORD.findall(phrase))
