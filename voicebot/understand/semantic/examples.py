"""The labelled sentences the learned layer compares a turn with.

Three sources, all shipped with voicebot (nothing is fetched):
- Home Assistant's template sentences (``home-assistant-intents`` through hassil), a few
  expansions of each template, labelled with the template's intent and domain;
- ``examples_<lang>.yaml`` beside this file: voicebot's own phrasings, including what is *not*
  a home command;
- ``dev_examples.json``: the development halves of the public test data
  (../shared/data/nlu, CC BY 4.0: Home Assistant intents tests and SLURP devel), made by
  ``scripts/semantic_examples.py``. Everything that is not a device request is labelled NONE.
Held-out data is never among them.
"""

from __future__ import annotations

import itertools
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from voicebot.understand.types import DEVICE_INTENTS

HERE = Path(__file__).parent
DEV_EXAMPLES = HERE / "dev_examples.json"
NONE = "NONE"  # not a request for a device: the layer must not turn it into one
# Template intents under voicebot's names (as templates.RENAMED).
_RENAMED = {"HassSetVolumeRelative": "HassSetVolume", "HassVacuumCleanArea": "HassVacuumStart"}
_PER_TEMPLATE = 4  # expansions kept per template sentence: the wording, not every slot value
# Placeholder names so that templates with {name}/{area}/{floor} expand into real sentences.
_PLACEHOLDERS = {
    "en": {"name": ["ceiling light"], "area": ["kitchen"], "floor": ["upstairs"]},
    "de": {"name": ["Deckenlampe"], "area": ["Küche"], "floor": ["Obergeschoss"]},
    "es": {"name": ["lámpara del techo"], "area": ["cocina"], "floor": ["planta alta"]},
}


@dataclass(frozen=True, slots=True)  # thousands per language, held for the process's life
class Example:
    text: str
    intent: str  # a DEVICE_INTENTS name, or NONE
    domain: str | None = None
    sign: int = 0  # +1 up/brighter, -1 down/dimmer, 0 not a step
    source: str = ""  # "template", "own", "slurp:<id>", "ha:<lang>:<group>"

    @property
    def label(self) -> tuple[str, str, int]:
        return (self.intent, self.domain or "", self.sign)

    @classmethod
    def from_row(cls, row: list[Any]) -> Example:
        """From a JSON row (text, intent, domain, sign, source); the few distinct labels and
        sources are shared between examples rather than one copy each."""
        text, intent, domain, sign, source = row
        return cls(text, sys.intern(intent), sys.intern(domain) if domain else None, sign, sys.intern(source))


def examples(language: str, dev: bool = True) -> list[Example]:
    """Every example for ``language``, deduplicated and in one stable order."""
    found = set(template_examples(language)) | set(own_examples(language))
    if dev:
        found |= set(dev_examples(language))
    # one label per text: the first in sorted order (a template sentence and a dev sentence
    # that read the same are one example)
    by_text: dict[str, Example] = {}
    for ex in sorted(found, key=lambda e: (e.text, e.intent, e.domain or "", e.sign, e.source)):
        by_text.setdefault(ex.text.lower(), ex)
    return [by_text[t] for t in sorted(by_text)]


def template_examples(language: str) -> list[Example]:
    import home_assistant_intents
    from hassil import Intents, TextSlotList
    from hassil.sample import sample_sentence

    data = home_assistant_intents.get_intents(language)
    if data is None:
        return []
    intents = Intents.from_dict(data)
    placeholders = _PLACEHOLDERS.get(language, _PLACEHOLDERS["en"])
    lists = {**intents.slot_lists, **{k: TextSlotList.from_strings(v) for k, v in placeholders.items()}}
    out: list[Example] = []
    for name in sorted(intents.intents):
        intent = _RENAMED.get(name, name)
        label = intent if intent in DEVICE_INTENTS else NONE
        for data_block in intents.intents[name].data:
            domain = _text(data_block.slots.get("domain")) or _text(data_block.requires_context.get("domain"))
            rules = {**intents.expansion_rules, **data_block.expansion_rules}
            for sentence in data_block.sentences:
                try:
                    texts = list(itertools.islice(
                        sample_sentence(sentence, lists, rules, language=language, expand_ranges=False),
                        _PER_TEMPLATE,
                    ))
                except Exception:  # a template needing a list we do not fill: skip the sentence
                    continue
                for text in texts:
                    text = " ".join(text.split())
                    if text:
                        out.append(Example(text, label, domain if label != NONE else None, 0, "template"))
    return out


def own_examples(language: str) -> list[Example]:
    path = HERE / f"examples_{language}.yaml"
    if not path.is_file():
        return []
    data: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    out: list[Example] = []
    for entry in data.get("examples", []):
        intent = str(entry["intent"])
        for text in entry["say"]:
            out.append(Example(str(text), intent, entry.get("domain"), int(entry.get("sign", 0)), "own"))
    return out


def dev_examples(language: str) -> list[Example]:
    if not DEV_EXAMPLES.is_file():
        return []
    data = json.loads(DEV_EXAMPLES.read_text(encoding="utf-8"))
    return [Example.from_row(row) for row in data.get(language, [])]


def _text(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, (list, tuple)) and len(value) == 1 and isinstance(value[0], str):
        return value[0]
    return None
