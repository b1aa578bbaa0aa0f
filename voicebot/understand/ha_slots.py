"""Home Assistant's slot conventions, applied to what the rules found (the templates already
follow them): which slots HA's own sentences fill for an intent, so `slots` reads as HA's tests
expect ("Home Assistant's vocabulary, exactly", issue 12).

- A climate intent names no domain: "set the temperature to 21" is {temperature: 21}.
- A question about a named device in its own domain's state words ("is the curtain left
  closed?", "is the front door locked?", "is Anna home?") names that domain; about a named
  sensor, its domain and device class ("what is the humidity of the bathroom sensor?").
- Per language, slots HA's sentences of that language do not fill (``ha_slots.drop`` in
  data/<lang>.yaml: German opening and closing covers names no device class).
"""

from __future__ import annotations

from typing import Any

from voicebot.understand.mentions import HomeIndex
from voicebot.understand.vocabulary import Vocabulary

_NO_DOMAIN = frozenset({"HassClimateSetTemperature", "HassClimateGetTemperature"})
# a state word belongs to the domains whose devices have it
_STATE_DOMAINS = {"open": "cover", "closed": "cover", "locked": "lock", "unlocked": "lock", "home": "person",
                  "not_home": "person"}
_SENSORS = frozenset({"sensor", "binary_sensor"})


def conform(vocab: Vocabulary, intent: str, slots: dict[str, Any], device_ids: list[str], index: HomeIndex) -> None:
    """Adjust ``slots`` (in place) to the slots Home Assistant fills for ``intent``."""
    if intent in _NO_DOMAIN:
        slots.pop("domain", None)
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
