"""Home Assistant's own template sentences (hassil + home-assistant-intents) for device intents
in languages other than English. The device, area and floor names of the live registry fill the
templates' slot lists, so "Schalte das Küchenlicht ein" finds the device named "Küchenlicht".
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from voicebot.understand.mentions import HomeIndex
from voicebot.understand.types import DEVICE_INTENTS

log = logging.getLogger(__name__)

# Template intents we use, under our names where they differ.
RENAMED = {"HassNevermind": "Cancel", "HassSetVolumeRelative": "HassSetVolume", "HassVacuumCleanArea": "HassVacuumStart"}
_VALUE_SLOTS = ("brightness", "temperature", "position", "volume_level", "color", "state")


@dataclass
class TemplateMatch:
    intent: str
    name: str | None = None  # canonical device name (the slot list's value)
    area: str | None = None
    floor: str | None = None
    domain: str | None = None
    device_class: str | None = None
    values: dict[str, Any] = field(default_factory=dict)
    # every slot the template filled, in Home Assistant's names and values (what HA's own
    # tests expect): name, area, floor, domain, device_class, state, brightness, ...
    slots: dict[str, Any] = field(default_factory=dict)


class TemplateRecognizer:
    """Recognises one language's template sentences. Loads the language's intents on first use."""

    def __init__(self, language: str) -> None:
        self.language = language
        self._intents: Any = None
        # the slot lists and the index they were built from (the index itself, not its id: a
        # rebuilt index can get the id of the one it replaced); one assignment, safe across threads
        self._slot_lists: tuple[HomeIndex, dict[str, Any]] | None = None

    def available(self) -> bool:
        import home_assistant_intents

        return self.language in home_assistant_intents.get_languages()

    def _load(self) -> Any:
        if self._intents is None:
            self._intents = _intents(self.language)
        return self._intents

    def _lists(self, index: HomeIndex) -> dict[str, Any]:
        cached = self._slot_lists
        if cached is not None and cached[0] is index:
            return cached[1]
        from hassil import TextSlotList, TextSlotValue
        from hassil.expression import TextChunk

        # names before aliases: the first value that fits wins, and an exact name beats an alias
        names, aliases = [], []
        for device in index.devices.values():
            context = {"domain": str(device.type)}
            if device.device_class:
                context["device_class"] = device.device_class
            names.append(TextSlotValue(TextChunk(device.name), device.name, context=context))
            aliases += [TextSlotValue(TextChunk(a), device.name, context=context) for a in device.aliases]
        names += aliases
        areas = [TextSlotValue(TextChunk(area.name), area.name) for area in index.areas.values()]
        areas += [TextSlotValue(TextChunk(a), area.name) for area in index.areas.values() for a in area.aliases]
        # in the areas' order, never a set's: the same sentence must give the same floor in every process
        floors = [TextSlotValue(TextChunk(f), f) for f in dict.fromkeys(a.floor for a in index.areas.values() if a.floor)]
        lists = {
            "name": TextSlotList(name="name", values=names),
            "area": TextSlotList(name="area", values=areas),
            "floor": TextSlotList(name="floor", values=floors),
        }
        self._slot_lists = (index, lists)
        return lists

    def recognize(self, text: str, index: HomeIndex, speaker_area: str | None = None) -> TemplateMatch | None:
        """The best template match, as Home Assistant picks it (a match naming a device wins);
        the speaker's area is the context that "in here" and bare "turn on the lights" need."""
        from hassil.recognize import recognize_best

        context = {"area": speaker_area} if speaker_area else None
        try:
            result = recognize_best(text, self._load(), slot_lists=self._lists(index), language=self.language,
                                    intent_context=context, best_slot_name="name")
        except Exception:  # a template error must not take the turn down: fall back to the rules
            log.exception("template recognition failed on a %d-character turn", len(text))
            return None
        if result is None:
            return None
        intent = RENAMED.get(result.intent.name, result.intent.name)
        if intent not in DEVICE_INTENTS and intent != "Cancel":
            return None  # weather, timers, shopping lists: not this product's business
        entities = {k: v.value for k, v in result.entities.items()}
        match = TemplateMatch(
            intent=intent,
            name=_text(entities.get("name")),
            area=_text(entities.get("area")),
            floor=_text(entities.get("floor")),
            domain=_text(entities.get("domain")),
            device_class=_text(entities.get("device_class")),
        )
        match.slots = {k: _number(_text(v) if isinstance(v, (list, tuple)) else v)
                       for k, v in entities.items() if v is not None and not k.startswith("_")}
        for slot in _VALUE_SLOTS:
            if slot in entities and entities[slot] is not None:
                match.values[slot] = _number(entities[slot])
        if result.intent.name == "HassSetVolumeRelative" and "volume_step" in entities:
            step = entities["volume_step"]
            match.values["volume_step"] = {"up": 10, "down": -10}.get(str(step), _number(step))
        return match


@cache
def _intents(language: str) -> Any:
    """One language's parsed templates, shared by every recogniser in the process (hassil
    prepares its matchers on first use, which takes seconds)."""
    import home_assistant_intents
    from hassil import Intents

    data = home_assistant_intents.get_intents(language)
    if data is None:
        raise ValueError(f"home-assistant-intents has no sentences for {language!r}")
    return Intents.from_dict(data)


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, (list, tuple)):
        return str(value[0]) if value else None
    return str(value)


def _number(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value
