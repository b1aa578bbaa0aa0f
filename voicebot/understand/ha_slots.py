"""Home Assistant's slot conventions, applied to what the rules found (the templates already
follow them): which slots HA's own sentences fill for an intent, so `slots` reads as HA's tests
expect ("Home Assistant's vocabulary, exactly", issue 12).

- A climate intent names no domain: "set the temperature to 21" is {temperature: 21}.
- A question about a named device in its own domain's state words ("is the curtain left
  closed?", "is the front door locked?", "is Anna home?") names that domain; about a named
  sensor, its domain and device class ("what is the humidity of the bathroom sensor?").
- Setting a light's brightness or colour names no domain: HassLightSet is for lights only.
- Asking after a person names the domain ("where is Anna?" is {name, domain: person}); so does
  acting on a named scene, script or valve ("activate the dinner scene", "close the main valve").
- Per language (``ha_slots`` in data/<lang>.yaml): slots HA's sentences of that language do not
  fill (``drop``: German opening and closing covers names no device class), the domains whose
  named devices it also names by domain (``name_domain``), and where it marks "every device of
  a kind in a place" as ``name: all`` (``name_all``: "turn on the fans in the kitchen"), and
  its words for the home zone (``home_zone``: "zu Hause" is the state home).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from voicebot.understand.mentions import HomeIndex
from voicebot.understand.vocabulary import Vocabulary

_NO_DOMAIN = frozenset({"HassClimateSetTemperature", "HassClimateGetTemperature", "HassLightSet"})
# named devices of these domains are named with their domain in every language HA's tests cover
_NAME_DOMAIN = {"HassTurnOn": frozenset({"scene", "script", "valve"}), "HassTurnOff": frozenset({"valve"}),
                "HassGetState": frozenset({"person"})}
# a state word belongs to the domains whose devices have it
_STATE_DOMAINS = {"open": "cover", "closed": "cover", "locked": "lock", "unlocked": "lock", "home": "person",
                  "not_home": "person"}
_SENSORS = frozenset({"sensor", "binary_sensor"})


def conform(
    vocab: Vocabulary, intent: str, slots: dict[str, Any], device_ids: list[str], index: HomeIndex,
    areas_said: Sequence[str] = (),
) -> None:
    """Adjust ``slots`` (in place) to the slots Home Assistant fills for ``intent``.
    ``areas_said``: the rooms the speaker named (the area slot may be the room they are in)."""
    if intent in _NO_DOMAIN:
        slots.pop("domain", None)
    said = str(slots.get("state", "")).lower()
    if intent == "HassGetState" and any(said == w or said.startswith(w + " ") for w in vocab.ha_home_words):
        # "ist Anna zu Hause?": the home zone, whatever the language calls it (a template's
        # wildcard zone also takes the words after it: "home right now")
        slots["state"] = "home"
    domains = {str(index.devices[i].type) for i in device_ids if i in index.devices}
    if slots.get("name") and slots.get("name") != "all" and len(domains) == 1:
        domain = next(iter(domains))
        if domain in _NAME_DOMAIN.get(intent, ()) or domain in vocab.ha_name_domain.get(intent, ()):
            slots["domain"] = domain
    if not slots.get("name"):
        for intents, domain, scope in vocab.ha_name_all:
            if intent not in intents or slots.get("domain") != domain:
                continue
            if (scope == "area" and slots.get("area") in areas_said) or (
                    scope == "home" and not slots.get("area") and not slots.get("floor")):
                slots["name"] = "all"
    if intent == "HassGetState" and slots.get("name") and len(device_ids) == 1:
        device = index.devices.get(device_ids[0])
        domain = str(device.type) if device is not None else None
        if domain is not None and _STATE_DOMAINS.get(str(slots.get("state"))) == domain:
            slots["domain"] = domain
        elif device is not None and domain in _SENSORS and device.device_class:
            slots["domain"] = domain
            slots["device_class"] = device.device_class
    for slot in vocab.ha_drop.get(intent, {}).get(str(slots.get("domain")), ()):
        slots.pop(slot, None)
