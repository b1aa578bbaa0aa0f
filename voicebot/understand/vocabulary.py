"""A language's understanding data (data/<lang>.yaml and data/<lang>_intents.yaml), compiled.

Nothing here decides anything: it turns the YAML into compiled patterns and lookup tables so
that the rules stay data a user can edit without touching code.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

DATA = Path(str(resources.files("voicebot.understand") / "data"))


class VocabularyError(ValueError):
    """A data file is malformed; the message names the file and the entry."""


@dataclass(frozen=True)
class DomainWord:
    domain: str
    device_class: str | None = None


@dataclass
class Rule:
    """One intent rule (see the header of data/en_intents.yaml)."""

    patterns: list[re.Pattern[str]]
    intent: str | None = None
    action: str | None = None
    slots: dict[str, Any] = field(default_factory=dict)
    target: bool = False
    values: tuple[str, ...] = ()
    weak: bool = False
    sign: int = 1
    fixed_values: dict[str, Any] = field(default_factory=dict)
    # `object: home`: whatever the verb takes must be something of the home ("open the
    # blinds", "open it"), else it is no request for a device ("open my playlist")
    object_home: bool = False
    # `named: [scene, script]`: the rule applies only when a device of these domains is named
    named: frozenset[str] = frozenset()

    def match(self, text: str) -> re.Match[str] | None:
        for pattern in self.patterns:
            found = pattern.search(text)
            if found:
                return found
        return None


@dataclass
class Vocabulary:
    language: str
    fillers: tuple[str, ...]
    rewrites: list[tuple[re.Pattern[str], str]]
    domain_words: dict[str, DomainWord]
    generic_words: frozenset[str]
    floor_words: dict[str, list[str]]
    here: list[re.Pattern[str]]
    all_words: list[re.Pattern[str]]
    pronouns: list[re.Pattern[str]]
    other: list[re.Pattern[str]]
    both: list[re.Pattern[str]]
    ordinals: dict[int, list[re.Pattern[str]]]
    follow_up: list[re.Pattern[str]]
    colors: list[str]
    states: dict[str, str]  # spoken word → state value
    magnitude: dict[str, list[re.Pattern[str]]]
    steps: dict[str, dict[str, float]]
    actions: dict[str, dict[str, Any]]
    symptoms: dict[str, list[re.Pattern[str]]]
    safety: dict[str, list[re.Pattern[str]]]
    emotions: dict[str, list[re.Pattern[str]]]
    rules: list[Rule]
    markers: frozenset[str] = frozenset()  # common words that tell this language from others
    neutral: frozenset[str] = frozenset()  # words that never stand for an unknown device name
    appliances: frozenset[str] = frozenset()  # things that are no device here, said after "the"/"my"
    # words for rooms and places in any home ("garage", "attic"): said but not a room of this
    # home, they name a target that is not here, never the only device of the kind
    places: tuple[str, ...] = ()
    # State questions about binary sensors by what they sense ("are any batteries low?", "is
    # the phone charging?"): a question opening, then device_class → {"on"/"off": patterns}
    question: list[re.Pattern[str]] = field(default_factory=list)
    sensed: dict[str, dict[str, list[re.Pattern[str]]]] = field(default_factory=dict)
    question_group: list[re.Pattern[str]] = field(default_factory=list)  # "any", "which": every sensor of the class
    # words that name a class in the language ("Fenster", "ventana"), beside its English name
    sensed_said: dict[str, list[re.Pattern[str]]] = field(default_factory=dict)
    sensed_by_name: frozenset[str] = frozenset()  # classes asked about only by a device's name ("is the pet door open")
    deferred: list[re.Pattern[str]] = field(default_factory=list)  # "in 10 minutes": not now
    # Sentiment for languages VADER (English only) cannot read: word → valence on VADER's
    # -4..+4 scale, and the words that flip the next ones ("nicht gut")
    valence: dict[str, float] = field(default_factory=dict)
    negations: frozenset[str] = frozenset()
    # Home Assistant's template sentences (hassil): "primary" (tried first, for device intents),
    # "fallback" (tried when the rules understood nothing), or "" (never)
    templates: str = ""
    # Media requests (content.py): the words of transport verbs ("pause", "skip", "mute"), the
    # objects Home Assistant lets them take without naming a player ("the music", "this
    # song"), and what makes "play" a resume rather than a request for content
    media_verbs: frozenset[str] = frozenset()
    media_objects: frozenset[str] = frozenset()
    media_resume: list[re.Pattern[str]] = field(default_factory=list)
    media_mute: list[re.Pattern[str]] = field(default_factory=list)
    # talk about the weather, outdoors or another day ("will it be hot tomorrow", "it's hot
    # today, isn't it"): a temperature said is no complaint about the room
    weather: list[re.Pattern[str]] = field(default_factory=list)
    # a verb's particle that number words share ("Licht ein"): never a value by itself
    particles: list[re.Pattern[str]] = field(default_factory=list)
    # words for a door: a home's doors are motorised (covers) or, more often, locked and
    # unlocked by a smart lock; where the place has no door to open, its locks are meant
    doors: list[re.Pattern[str]] = field(default_factory=list)
    doors_plural: list[re.Pattern[str]] = field(default_factory=list)
    # slots Home Assistant's sentences of this language do not fill: intent → domain → slots
    ha_drop: dict[str, dict[str, tuple[str, ...]]] = field(default_factory=dict)
    # intent → the domains whose named devices HA's sentences of this language also name by domain
    # ("open the water valve" is {name, domain: valve})
    ha_name_domain: dict[str, frozenset[str]] = field(default_factory=dict)
    # (intents, domain, scope) where HA's sentences mark "every <domain> device of the place" as
    # name: all; scope "area": a room said aloud, "home": no room or floor at all
    ha_name_all: tuple[tuple[frozenset[str], str, str], ...] = ()
    # the language's words for the home zone ("zu Hause"): a person there is in state home
    ha_home_words: frozenset[str] = frozenset()

    @staticmethod
    def any_match(patterns: list[re.Pattern[str]], text: str) -> bool:
        return any(p.search(text) for p in patterns)

    def first_key(self, table: dict[str, list[re.Pattern[str]]], text: str) -> str | None:
        for key, patterns in table.items():
            if self.any_match(patterns, text):
                return key
        return None


def _name_all(entries: list[Any]) -> list[tuple[frozenset[str], str, str]]:
    out = []
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict) or entry.get("scope") not in ("area", "home") or not entry.get("domain"):
            raise VocabularyError(f"ha_slots.name_all #{i + 1}: needs intents, domain and scope (area or home)")
        out.append((frozenset(str(x) for x in entry.get("intents") or ()), str(entry["domain"]), str(entry["scope"])))
    return out


def _compile(source: str, items: list[str]) -> list[re.Pattern[str]]:
    compiled = []
    for item in items:
        try:
            compiled.append(re.compile(str(item)))
        except re.error as exc:
            raise VocabularyError(f"{source}: bad pattern {item!r}: {exc}") from exc
    return compiled


def _table(source: str, raw: dict[str, list[str]] | None) -> dict[str, list[re.Pattern[str]]]:
    return {str(k): _compile(f"{source}.{k}", v) for k, v in (raw or {}).items()}


class _WordsLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """YAML as the word lists mean it: only true/false are booleans. PyYAML follows YAML 1.1,
    where yes/no/on/off are too, so English "yes", "off", "on" and Spanish "no" in a list of
    words became True/False (and then the strings "True"/"False") and never matched."""


_BOOL = "tag:yaml.org,2002:bool"
_WordsLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != _BOOL]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_WordsLoader.add_implicit_resolver(_BOOL, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))


def _load_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_WordsLoader)
    except (OSError, yaml.YAMLError) as exc:
        raise VocabularyError(f"{path}: {exc}") from exc
    if not isinstance(data, dict):
        raise VocabularyError(f"{path}: expected a mapping at the top level")
    return data


def _colors(lexicon: dict[str, Any]) -> str:
    words = sorted(lexicon.get("colors", []), key=len, reverse=True)
    return "(" + "|".join(re.escape(str(w)) for w in words) + ")"


def _rules(path: Path, raw: list[dict[str, Any]], lexicon: dict[str, Any]) -> list[Rule]:
    rules = []
    for i, entry in enumerate(raw):
        where = f"{path.name} rule {i + 1} ({entry.get('intent') or entry.get('action')})"
        if not entry.get("intent") and not entry.get("action"):
            raise VocabularyError(f"{where}: needs `intent` or `action`")
        patterns: list[str] = []
        for p in entry.get("patterns", []):
            if p == "@symptoms":
                patterns += [q for qs in lexicon.get("symptoms", {}).values() for q in qs]
            elif p == "@colors":
                patterns.append(r"\b" + _colors(lexicon) + r"\b")
            elif "@colors" in p:  # a colour in a phrase: "make it @colors"
                patterns.append(p.replace("@colors", _colors(lexicon)))
            else:
                patterns.append(p)
        rules.append(
            Rule(
                patterns=_compile(where, patterns),
                intent=entry.get("intent"),
                action=entry.get("action"),
                slots=dict(entry.get("slots") or {}),
                target=entry.get("target", "none") == "device",
                values=tuple(entry.get("values") or ()),
                weak=bool(entry.get("weak", False)),
                sign=int(entry.get("sign", 1)),
                fixed_values=dict(entry.get("fixed_values") or {}),
                object_home=entry.get("object") == "home",
                named=frozenset(str(d) for d in entry.get("named") or ()),
            )
        )
    return rules


@cache
def load(language: str = "en", folder: Path = DATA) -> Vocabulary:
    """The compiled data for ``language`` (cached: the files are read once per process)."""
    lex_path = folder / f"{language}.yaml"
    rules_path = folder / f"{language}_intents.yaml"
    if not lex_path.is_file() or not rules_path.is_file():
        raise VocabularyError(f"no understanding data for language {language!r} in {folder}")
    lex = _load_yaml(lex_path)
    rules_raw = _load_yaml(rules_path).get("rules") or []
    domain_words: dict[str, DomainWord] = {}
    for entry in lex.get("domains", []):
        for word in entry["words"]:
            domain_words[str(word)] = DomainWord(entry["domain"], entry.get("device_class"))
    states = {str(w): str(state) for state, words in (lex.get("states") or {}).items() for w in words}
    return Vocabulary(
        language=language,
        fillers=tuple(lex.get("fillers") or ()),
        rewrites=[(re.compile(p), r) for p, r in lex.get("rewrites") or []],
        domain_words=domain_words,
        generic_words=frozenset(lex.get("generic") or ()),
        floor_words={k: list(v) for k, v in (lex.get("floor_words") or {}).items()},
        here=_compile("here", lex.get("here") or []),
        all_words=_compile("all", lex.get("all") or []),
        pronouns=_compile("pronouns", lex.get("pronouns") or []),
        other=_compile("other", lex.get("other") or []),
        both=_compile("both", lex.get("both") or []),
        ordinals={int(k): _compile(f"ordinals.{k}", v) for k, v in (lex.get("ordinals") or {}).items()},
        follow_up=_compile("follow_up", lex.get("follow_up") or []),
        colors=list(lex.get("colors") or []),
        states=states,
        magnitude=_table("magnitude", lex.get("magnitude")),
        steps={k: {kk: float(vv) for kk, vv in v.items()} for k, v in (lex.get("step") or {}).items()},
        actions=dict(lex.get("actions") or {}),
        symptoms=_table("symptoms", lex.get("symptoms")),
        safety=_table("safety", lex.get("safety")),
        emotions=_table("emotions", lex.get("emotions")),
        rules=_rules(rules_path, rules_raw, lex),
        markers=frozenset(str(w) for w in lex.get("markers") or ()),
        neutral=frozenset(str(w) for w in lex.get("neutral") or ()),
        appliances=frozenset(str(w) for w in lex.get("appliances") or ()),
        question=_compile("state_questions.question", (lex.get("state_questions") or {}).get("question") or []),
        question_group=_compile("state_questions.group", (lex.get("state_questions") or {}).get("group") or []),
        sensed={str(cls): {str(state): _compile(f"state_questions.{cls}.{state}", pats)
                           for state, pats in (by or {}).items() if state in ("on", "off")}
                for cls, by in ((lex.get("state_questions") or {}).get("classes") or {}).items()},
        sensed_said={str(cls): _compile(f"state_questions.{cls}.said", by.get("said") or [])
                     for cls, by in ((lex.get("state_questions") or {}).get("classes") or {}).items()
                     if isinstance(by, dict) and by.get("said")},
        sensed_by_name=frozenset(str(cls) for cls, by in ((lex.get("state_questions") or {}).get("classes") or {}).items()
                                 if isinstance(by, dict) and by.get("named")),
        places=tuple(sorted({str(w) for w in lex.get("places") or ()}, key=lambda w: (-len(w.split()), w))),
        deferred=_compile("deferred", lex.get("deferred") or []),
        valence={str(w).lower(): float(v) for w, v in (lex.get("valence") or {}).items()},
        negations=frozenset(str(w) for w in lex.get("negations") or ()),
        media_verbs=frozenset(str(w) for w in (lex.get("media") or {}).get("verbs") or ()),
        media_objects=frozenset(str(w) for w in (lex.get("media") or {}).get("objects") or ()),
        media_resume=_compile("media.resume", (lex.get("media") or {}).get("resume") or []),
        weather=_compile("weather", lex.get("weather") or []),
        particles=_compile("particles", lex.get("particles") or []),
        doors=_compile("doors.one", (lex.get("doors") or {}).get("one") or [])
        + _compile("doors.many", (lex.get("doors") or {}).get("many") or []),
        doors_plural=_compile("doors.many", (lex.get("doors") or {}).get("many") or []),
        ha_drop={str(i): {str(d): tuple(str(x) for x in v) for d, v in (by or {}).items()}
                 for i, by in ((lex.get("ha_slots") or {}).get("drop") or {}).items()},
        ha_name_domain={str(i): frozenset(str(d) for d in ds or ())
                        for i, ds in ((lex.get("ha_slots") or {}).get("name_domain") or {}).items()},
        ha_name_all=tuple(_name_all((lex.get("ha_slots") or {}).get("name_all") or [])),
        ha_home_words=frozenset(str(w).lower() for w in (lex.get("ha_slots") or {}).get("home_zone") or ()),
        media_mute=_compile("media.mute", (lex.get("media") or {}).get("mute") or []),
        templates={True: "primary", False: "", None: ""}.get(lex.get("templates"), str(lex.get("templates"))),
    )


def available_languages(folder: Path = DATA) -> list[str]:
    """Languages with understanding data in ``folder``."""
    return sorted(p.stem for p in folder.glob("*.yaml") if "_" not in p.stem and (folder / f"{p.stem}_intents.yaml").is_file())


@cache
def place_words(folder: Path = DATA) -> tuple[frozenset[str], ...]:
    """The words of each place in every language (data/places.yaml), lower-cased."""
    path = folder / "places.yaml"
    if not path.is_file():
        return ()
    entries = _load_yaml(path).get("places") or []
    out = []
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict):
            raise VocabularyError(f"{path}: place #{i + 1} must map languages to word lists")
        out.append(frozenset(str(w).lower() for words in entry.values() for w in words or ()))
    return tuple(out)

