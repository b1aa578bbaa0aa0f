"""Whether the customer, in their own words, pointed at a device the model wants to change.

A model may be talked into acting by text it read in data (a device name, a sensor payload).
A state change is therefore carried out only when the target device is grounded in what the
customer said this turn (its name, an alias, or its area together with its kind of device),
or is the device the conversation was already about and the customer refers back to it,
or is the only device of the kind the customer named ("unlock the door" with one lock).
"""

from __future__ import annotations

import re

from rapidfuzz import fuzz

from device_bridge.devices import Device, DeviceType

# Words a customer uses for each kind of device, beside the domain name itself.
KIND_WORDS: dict[DeviceType, tuple[str, ...]] = {
    DeviceType.LIGHT: ("light", "lights", "lamp", "lamps", "bulb", "bulbs"),
    DeviceType.SWITCH: ("switch", "plug", "socket", "outlet"),
    DeviceType.FAN: ("fan", "fans"),
    DeviceType.COVER: ("cover", "blind", "blinds", "shade", "shutter", "curtain", "garage", "gate", "door"),
    DeviceType.CLIMATE: ("thermostat", "heating", "heater", "temperature", "ac", "air conditioning"),
    DeviceType.LOCK: ("lock", "door", "deadbolt"),
    DeviceType.SENSOR: ("sensor",),
    DeviceType.BINARY_SENSOR: ("sensor", "detector"),
    DeviceType.MEDIA_PLAYER: ("speaker", "tv", "television", "music", "radio", "player"),
    DeviceType.VACUUM: ("vacuum", "hoover", "robot"),
}
BACK_REFERENCES = ("it", "that", "this", "them", "those", "one", "again", "same")
NAME_SCORE = 85


def words(text: str) -> str:
    return " ".join(re.findall(r"[a-z0-9]+", text.lower()))


def mentions(text: str, phrase: str) -> bool:
    """The phrase appears in the text, allowing for a misheard letter or two."""
    said, name = words(text), words(phrase)
    if not name or not said:
        return False
    if re.search(rf"\b{re.escape(name)}\b", said):
        return True
    return len(name) >= 5 and fuzz.partial_ratio(name, said) >= NAME_SCORE


def grounded(device: Device, customer_text: str, recent_device_ids: set[str], home: list[Device]) -> bool:
    if any(mentions(customer_text, n) for n in (device.name, *device.aliases)):
        return True
    said = set(words(customer_text).split())
    kind = (*KIND_WORDS.get(device.type, ()), device.type.value.replace("_", " "))
    kind_said = any(k in said or (" " in k and k in words(customer_text)) for k in kind)
    if device.area and mentions(customer_text, device.area) and kind_said:
        return True
    if kind_said and said & {"all", "every", "everything"}:
        return True
    if kind_said and sum(d.type is device.type for d in home) == 1:
        return True  # "unlock the door" in a home with one lock
    return device.id in recent_device_ids and (kind_said or bool(said & set(BACK_REFERENCES)))
