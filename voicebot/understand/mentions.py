"""Finding what an utterance names: devices, areas, floors, kinds of device, and references
("it", "the other one", "in here"), against the live registry's names and aliases.

Names are matched exactly first (longest phrase wins, devices before areas before kinds);
what is left unexplained is compared with rapidfuzz to catch misheard names.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from rapidfuzz import fuzz

from device_bridge.devices import Area, Device
from voicebot.understand.normalize import normalize
from voicebot.understand.vocabulary import DomainWord, Vocabulary, place_words

# A misheard name is taken as the device only at or above ACCEPT, with a clear margin over the
# next device; between ASK and ACCEPT the devices are offered as candidates (a question), never acted on.
FUZZY_ACCEPT = 86.0
FUZZY_ASK = 72.0
FUZZY_MARGIN = 8.0
FUZZY_MAX_TOKENS = 60  # a spoken turn is shorter; bounds the work on a runaway transcript
_OBJECT_WORDS = frozenset(["the", "my", "our", "your", "this", "that"])
# People call any sensor a sensor ("the hallway motion sensor" is a binary_sensor).
_SAME_KIND = {"sensor": {"sensor", "binary_sensor"}, "binary_sensor": {"sensor", "binary_sensor"}}
_FUNCTION_WORDS = frozenset(
    ["a", "an", "the", "my", "our", "your", "his", "her", "their", "this", "that", "these", "those", "to", "in", "on", "at", "of", "for", "with", "and", "or", "but", "is", "are", "was", "were", "be", "been", "it", "its", "i", "me", "we", "you", "he", "she", "they", "them", "please", "can", "could", "would", "will", "should", "do", "does", "did", "just", "now", "again", "still", "some", "any", "all", "there", "here", "what", "which", "who", "how", "why", "when", "where", "so", "very", "really", "too", "also", "not", "no", "yes", "up", "down", "off", "by", "from", "into", "about", "as", "if", "then", "than"]
)


@dataclass
class NameHit:
    """A device named in the text (exactly or fuzzily)."""

    phrase: str
    device_ids: list[str]  # devices sharing this name or alias
    start: int
    end: int
    score: float = 100.0  # 100 for exact
    plural: bool = False  # "the ceiling lights" for a name several devices share


@dataclass
class Mentions:
    tokens: list[str]
    names: list[NameHit] = field(default_factory=list)
    fuzzy: list[NameHit] = field(default_factory=list)  # below FUZZY_ACCEPT: only to ask about
    areas: list[str] = field(default_factory=list)  # canonical area names
    floors: list[str] = field(default_factory=list)  # canonical floor names
    kinds: list[DomainWord] = field(default_factory=list)
    generic: bool = False  # "the hallway thing"
    plural: bool = False  # "lights", "blinds"
    here: bool = False
    all: bool = False
    pronoun: bool = False
    other: bool = False
    both: bool = False
    ordinal: int | None = None
    covered: set[int] = field(default_factory=set)  # token positions that named something
    unknown: list[str] = field(default_factory=list)  # words nothing explains ("glitter ball")
    spans: list[tuple[str, object, int, int]] = field(default_factory=list)  # (kind, value, start, end)
    conflict: bool = False  # a device named as part of another kind of thing ("the garage door lock")
    # what names a target this home does not have: a room it lacks ("the garage light" with no
    # garage), or an unexplained word right before a kind ("the disco light")
    unmatched: list[str] = field(default_factory=list)

    def drop_overlapping(self, start: int, end: int) -> None:
        """A misheard device name swallowed these words: they no longer name an area or kind."""
        keep = [(k, v, s, e) for k, v, s, e in self.spans if e <= start or s >= end]
        self.spans = keep
        self.areas = [str(v) for k, v, _, _ in keep if k == "area"]
        self.floors = [str(v) for k, v, _, _ in keep if k == "floor"]
        self.kinds = [v for k, v, _, _ in keep if k == "kind" and isinstance(v, DomainWord)]

    @property
    def any_target(self) -> bool:
        return bool(self.names or self.areas or self.floors or self.kinds or self.here or self.generic)


class HomeIndex:
    """Phrase tables for one snapshot of the registry; rebuilt when the registry changes."""

    def __init__(self, devices: Sequence[Device], areas: Sequence[Area], vocab: Vocabulary) -> None:
        self.vocab = vocab
        self.devices = {d.id: d for d in devices}
        self.areas = {a.name: _in_every_language(a) for a in areas}
        # areas that devices name but the area list lacks still count as areas
        for d in devices:
            if d.area and d.area not in self.areas:
                self.areas[d.area] = Area(d.area)
        self.phrases: dict[tuple[str, ...], list[tuple[str, object]]] = {}
        self.device_phrases: dict[str, list[str]] = {}  # device id → its normalised names and aliases
        area_phrases = {self._plain(n) for a in self.areas.values() for n in [a.name, *a.aliases]}
        for d in devices:
            names = [d.name, *d.aliases]
            plain = [self._plain(n) for n in names if n]
            plain = [p for p in plain if p]
            # "Plug 1" is said "plug one", which stays a word ("the other one")
            plain += [" ".join("one" if w == "1" else w for w in p.split()) for p in plain if "1" in p.split()]
            self.device_phrases[d.id] = plain
            own = {self._plain(d.name)}
            own |= {" ".join("one" if w == "1" else w for w in p.split()) for p in own}
            for p in plain:
                # an exact name beats an alias: "Lamp" named so beats another's alias "lamp"
                self._add(p, "device" if p in own else "device_alias", d.id)
            # "Front Door Lock" is also "front door": its name without a trailing kind word
            for p in plain:
                words = p.split()
                for cut in (1, 2):
                    rest = words[:-cut]
                    if (
                        len(rest) >= 2 and " ".join(words[-cut:]) in vocab.domain_words
                        and " ".join(rest) not in area_phrases
                    ):
                        self._add(" ".join(rest), "device_derived", d.id)
        # a device without a class whose own names say one ("TV", "Kitchen Speaker") is of
        # that class: "play the radio" is not the TV
        self.implied_class: dict[str, str | None] = {}
        for d in devices:
            said = {vocab.domain_words[w].device_class for p in self.device_phrases[d.id] for w in _phrases_in(p)
                    if w in vocab.domain_words and vocab.domain_words[w].domain == str(d.type)}
            said.discard(None)
            self.implied_class[d.id] = d.device_class or (said.pop() if len(said) == 1 else None)
        # a name several devices share, said in the plural, means all of them
        by_phrase: dict[str, set[str]] = {}
        for device_id, phrases in self.device_phrases.items():
            for p in phrases:
                by_phrase.setdefault(p, set()).add(device_id)
        for p, ids in by_phrase.items():
            if len(ids) > 1 and not p.endswith("s"):
                for device_id in sorted(ids):
                    self._add(p + "s", "device_plural", device_id)
        for area in self.areas.values():
            for n, kind in [(area.name, "area"), *((a, "area_alias") for a in area.aliases)]:
                if self._plain(n):
                    self._add(self._plain(n), kind, area.name)
        # floors in a stated order (their areas' order), never a set's: which floor a word means
        # must not change from one process to the next
        floors = list(dict.fromkeys(a.floor for a in self.areas.values() if a.floor))
        floor_names = {self._plain(f) for f in floors}
        for floor in floors:
            self._add(self._plain(floor), "floor", floor)
        for floor in floors:
            for words in vocab.floor_words.values():
                if self._plain(floor) in words:
                    # "upstairs" for a floor named "First Floor"; never another floor's own name
                    for w in words:
                        if w not in floor_names:
                            self._add(w, "floor_alias", floor)
        for word, kind in vocab.domain_words.items():
            self._add(word, "kind", kind)
        for word in vocab.generic_words:
            self._add(word, "generic", word)
        self.max_len = max((len(k) for k in self.phrases), default=1)
        self.known_words = _FUNCTION_WORDS | _rule_words(vocab)

    def _plain(self, name: str) -> str:
        return normalize(name, self.vocab.rewrites)

    def _add(self, phrase: str, kind: str, payload: object) -> None:
        key = tuple(phrase.split())
        if key:
            self.phrases.setdefault(key, []).append((kind, payload))

    def canonical_area(self, name: str | None) -> str | None:
        """The area a caller names (by name or alias, any case), or None when the home has none such."""
        if not name:
            return None
        if name in self.areas:
            return name
        wanted = self._plain(name)
        for area in self.areas.values():
            if wanted in {self._plain(n) for n in [area.name, *area.aliases]}:
                return area.name
        return None

    def area_of(self, device_id: str) -> str | None:
        return self.devices[device_id].area

    def floor_of(self, area: str | None) -> str | None:
        return self.areas[area].floor if area in self.areas else None

    # ------------------------------------------------------------------ finding mentions
    def find(self, text: str) -> Mentions:
        tokens = text.split()
        m = Mentions(tokens=tokens)
        covered: set[int] = set()
        i = 0
        # the first of these wins a phrase; within one kind, the registry's order (stable sort)
        order = {"device": 0, "device_plural": 0, "device_alias": 1, "device_derived": 2, "area": 3,
                 "area_alias": 4, "floor": 5, "floor_alias": 6, "kind": 7, "generic": 8}
        while i < len(tokens):
            hit = None
            for length in range(min(self.max_len, len(tokens) - i), 0, -1):
                key = tuple(tokens[i : i + length])
                if key in self.phrases:
                    hit = (length, sorted(self.phrases[key], key=lambda e: order[e[0]]))
                    break
            if hit is None:
                i += 1
                continue
            length, entries = hit
            kind = entries[0][0]
            phrase = " ".join(tokens[i : i + length])
            if kind in ("device", "device_alias", "device_derived", "device_plural"):
                ids = [str(p) for k, p in entries if k == kind]
                m.names.append(NameHit(phrase, list(dict.fromkeys(ids)), i, i + length, plural=kind == "device_plural"))
            elif kind in ("area", "area_alias"):
                m.areas.append(str(entries[0][1]))
                m.spans.append(("area", entries[0][1], i, i + length))
            elif kind in ("floor", "floor_alias"):
                m.floors.append(str(entries[0][1]))
                m.spans.append(("floor", entries[0][1], i, i + length))
            elif kind == "kind":
                word = entries[0][1]
                assert isinstance(word, DomainWord)
                m.kinds.append(word)
                m.spans.append(("kind", word, i, i + length))
                m.plural = m.plural or tokens[i + length - 1].endswith("s")
            else:
                m.generic = True
                m.plural = m.plural or tokens[i + length - 1] in ("things", "devices", "ones")
            covered.update(range(i, i + length))
            i += length
        v = self.vocab
        m.here = v.any_match(v.here, text)
        m.all = v.any_match(v.all_words, text)
        m.other = v.any_match(v.other, text)
        m.both = v.any_match(v.both, text)
        m.pronoun = v.any_match(v.pronouns, text)
        for index, patterns in v.ordinals.items():
            if v.any_match(patterns, text):
                m.ordinal = index
                break
        self._prefer_areas(m)
        self._modifiers(m)
        m.covered = covered
        m.unknown = [
            t for i, t in enumerate(tokens)
            if i not in covered and t not in self.known_words and not t.replace(".", "").isdigit() and len(t) > 1
        ]
        # "set the oven to 200 degrees": an appliance the home does not have, as the object
        m.unknown += [
            t for i, t in enumerate(tokens)
            if i not in covered and i > 0 and tokens[i - 1] in _OBJECT_WORDS
            and (t in v.appliances or " ".join(tokens[i : i + 2]) in v.appliances)
        ]
        if not m.names and not m.conflict:
            self._fuzzy(tokens, covered, m)
        m.unmatched = self._unmatched(m)
        return m

    def _unmatched(self, m: Mentions) -> list[str]:
        """Places said that are no room or floor here, and unexplained words qualifying a kind."""
        tokens = m.tokens
        explained = set(m.covered)
        for hit in m.names + m.fuzzy:
            explained.update(range(hit.start, hit.end))
        found: list[str] = []
        places = list(self.vocab.places) + [w for words in self.vocab.floor_words.values() for w in words]
        for place in places:
            words = place.split()
            for i in range(len(tokens) - len(words) + 1):
                span = range(i, i + len(words))
                if tokens[i : i + len(words)] == words and not explained & set(span):
                    found.append(place)
                    explained.update(span)
        unknown = set(m.unknown)
        for kind, _value, start, _end in m.spans:
            if kind == "kind" and start > 0 and tokens[start - 1] in unknown and start - 1 not in explained:
                found.append(tokens[start - 1])
        return found

    def _prefer_areas(self, m: Mentions) -> None:
        """A device alias that is also a room ("garage" for the garage door) names the room when
        the sentence says "in the garage" or asks for another kind of device there ("the lights
        in the garage"): acting on the garage door then would be a misunderstanding."""
        kinds = {k.domain for k in m.kinds}
        for hit in list(m.names):
            room = next(
                (str(p) for k, p in self.phrases.get(tuple(hit.phrase.split()), []) if k in ("area", "area_alias")), None
            )
            if room is None:
                continue
            before = m.tokens[max(0, hit.start - 2) : hit.start]
            own = {str(self.devices[i].type) for i in hit.device_ids}
            if (kinds and not kinds & own) or (before and before[0] in ("in", "on", "at")) or before[-1:] == ["in"]:
                m.names.remove(hit)
                m.areas.append(room)
                m.spans.append(("area", room, hit.start, hit.end))

    def kind_fits(self, device_id: str, said: Sequence[tuple[DomainWord, str]]) -> bool:
        """Whether a device is of a kind the sentence names: by its domain (and class, when both
        have one), or by a word of that kind in its own name ("Garden Lights" is a switch called
        lights, "Hallway Light" a switch that is the hallway's light bulb)."""
        if not said:
            return True
        device = self.devices[device_id]
        words = {w for p in self.device_phrases.get(device_id, []) for w in p.split()}
        own = {self.vocab.domain_words[w].domain for w in words if w in self.vocab.domain_words}
        for kind, _phrase in said:
            if str(device.type) in _SAME_KIND.get(kind.domain, {kind.domain}) and (
                kind.device_class is None or self.implied_class.get(device_id) in (None, kind.device_class)
            ):
                return True
            if kind.domain in own:
                return True
        return False

    def _modifiers(self, m: Mentions) -> None:
        """A name that qualifies another kind of thing ("the garage tv", "the garage door lock",
        "the living room ceiling fan") is not that device: a room's name (alias "garage") names
        the room; any other name makes the target contradictory, so nothing is acted on."""
        words = self.vocab.domain_words
        for hit in list(m.names):
            said = [(v, " ".join(m.tokens[s:e])) for k, v, s, e in m.spans
                    if k == "kind" and s == hit.end and isinstance(v, DomainWord)]
            for other in m.names:
                if other.start == hit.end:
                    if other.phrase in words:
                        said.append((words[other.phrase], other.phrase))
                    else:
                        said += [(DomainWord(str(self.devices[i].type)), other.phrase) for i in other.device_ids]
            if not said or any(self.kind_fits(i, said) for i in hit.device_ids):
                continue
            m.names.remove(hit)
            room = next((str(p) for k, p in self.phrases.get(tuple(hit.phrase.split()), []) if k in ("area", "area_alias")), None)
            if room is not None:
                m.areas.append(room)
                m.spans.append(("area", room, hit.start, hit.end))
            else:
                m.conflict = True

    def _fuzzy(self, tokens: list[str], covered: set[int], m: Mentions) -> None:
        tokens = tokens[:FUZZY_MAX_TOKENS]
        # words that are exactly an area or a kind are explained; they may still be part of a
        # misheard name ("flour lamp"), but a window must contain at least one unexplained word
        unexplained = {
            i for i, t in enumerate(tokens)
            if i not in covered and t not in self.known_words and not t.replace(".", "").isdigit() and len(t) > 1
        }
        if not unexplained:
            return
        # a kind word said constrains the name to that kind: "the living room lamp" must never
        # become "living room tv" because the letters are close
        said = [(v, " ".join(m.tokens[s:e])) for k, v, s, e in m.spans if k == "kind" and isinstance(v, DomainWord)]
        best: dict[str, tuple[float, str, int, int]] = {}
        for device_id, phrases in self.device_phrases.items():
            if not self.kind_fits(device_id, said):
                continue
            for phrase in phrases:
                size = len(phrase.split())
                for n in range(max(1, size - 1), size + 2):
                    for start in range(0, len(tokens) - n + 1):
                        span = set(range(start, start + n))
                        if not span & unexplained:
                            continue
                        window = " ".join(tokens[start : start + n])
                        if len(window) < 4:
                            continue
                        # a window ending on "the" or "that" is only taken when its letters run
                        # together spell the name ("thermos that" → "thermostat")
                        edge = tokens[start] in _FUNCTION_WORDS or tokens[start + n - 1] in _FUNCTION_WORDS
                        score = 0.0 if edge else fuzz.ratio(window, phrase)
                        if n >= 2:
                            joined = fuzz.ratio(window.replace(" ", ""), phrase.replace(" ", ""))
                            if joined >= FUZZY_ACCEPT:
                                score = max(score, joined)
                        if score > best.get(device_id, (0.0, "", 0, 0))[0]:
                            best[device_id] = (score, phrase, start, start + n)
        if not best:
            return
        # best score first; equal scores in the registry's order (a stable sort), never a set's
        ranked = sorted(best.items(), key=lambda kv: -kv[1][0])
        top_score, top_phrase, start, end = ranked[0][1]
        if top_score < FUZZY_ASK:
            return
        # devices sharing the best phrase are one name ("Ceiling Light" in two rooms)
        same = [d for d, (s, p, _, _) in ranked if p == top_phrase and s == top_score]
        rivals = [s for d, (s, p, _, _) in ranked if p != top_phrase]
        margin_ok = not rivals or top_score - rivals[0] >= FUZZY_MARGIN
        if top_score >= FUZZY_ACCEPT and margin_ok:
            m.names.append(NameHit(top_phrase, same, start, end, top_score))
            m.drop_overlapping(start, end)
            return
        close = [d for d, (s, _, _, _) in ranked if s >= FUZZY_ASK and top_score - s < FUZZY_MARGIN]
        m.fuzzy.append(NameHit(top_phrase, close, start, end, top_score))


def _in_every_language(area: Area) -> Area:
    """The area with its name in the other languages as aliases ("Küche", "cocina" for a
    Kitchen): from data/places.yaml, for the place whose words include the area's name or an
    alias. Its own name and aliases come first, so they win."""
    own = [area.name, *area.aliases]
    said = {normalize(n) for n in own}
    extra: list[str] = []
    for words in place_words():
        if said & words:
            extra += sorted(w for w in words if w not in said)
    if not extra:
        return area
    return Area(area.name, area.floor, [*area.aliases, *dict.fromkeys(extra)])


def _phrases_in(phrase: str) -> list[str]:
    """Every run of one or two words of a phrase ("living room tv" → "living", "room tv", "tv"…)."""
    words = phrase.split()
    return words + [" ".join(words[i : i + 2]) for i in range(len(words) - 1)]


def _singular(word: str) -> str:
    return word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word


def _rule_words(vocab: Vocabulary) -> frozenset[str]:
    """Every literal word in the intent rules and lexicon: such words are explained by the
    intent, so they are never taken for a misheard device name."""
    words: set[str] = set()
    sources = [p.pattern for r in vocab.rules for p in r.patterns]
    for table in (vocab.symptoms, vocab.safety, vocab.emotions, vocab.magnitude):
        sources += [p.pattern for ps in table.values() for p in ps]
    for patterns in (vocab.here, vocab.all_words, vocab.pronouns, vocab.other, vocab.both, vocab.follow_up):
        sources += [p.pattern for p in patterns]
    for source in sources:
        cleaned = re.sub(r"\\[bdswBDSW]", " ", source)
        words.update(w for w in re.findall(r"[^\W\d_]+(?:'[^\W\d_]+)?", cleaned) if len(w) > 1)
    words.update(vocab.states)
    words.update(vocab.neutral)
    words.update(vocab.fillers)
    words.update(w for c in vocab.colors for w in c.split())
    return frozenset(words)
