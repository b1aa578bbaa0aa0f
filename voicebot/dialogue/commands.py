"""Home Assistant intents and slots → the state changes to ask of a device (Home Assistant names)."""

from __future__ import annotations

from typing import Any

from device_bridge.devices import Device, DeviceType
from voicebot.understand.capabilities import INTENT_DOMAINS
from voicebot.understand.steps import absolute

# What "turn on" / "turn off" mean per domain, as Home Assistant's intents define them.
ON_STATE = {
    DeviceType.LIGHT: "on", DeviceType.SWITCH: "on", DeviceType.FAN: "on", DeviceType.COVER: "open",
    DeviceType.LOCK: "locked", DeviceType.MEDIA_PLAYER: "on", DeviceType.VACUUM: "cleaning", DeviceType.CLIMATE: "heat",
    DeviceType.VALVE: "open", DeviceType.SCENE: "on", DeviceType.SCRIPT: "on",
}
OFF_STATE = {
    DeviceType.LIGHT: "off", DeviceType.SWITCH: "off", DeviceType.FAN: "off", DeviceType.COVER: "closed",
    DeviceType.LOCK: "unlocked", DeviceType.MEDIA_PLAYER: "off", DeviceType.VACUUM: "docked", DeviceType.CLIMATE: "off",
    DeviceType.VALVE: "closed",
}


class NotApplicable(ValueError):
    """The intent makes no sense for this device: a ``code`` (the reply key ``na_<code>`` words
    it) and its ``facts`` (``attribute``)."""

    CODES = ("already_off", "off_no_volume", "unknown_current", "read_only", "not_a_light",
             "no_brightness_or_colour", "not_a_thermostat", "no_temperature", "not_a_cover", "no_position",
             "already_open", "already_closed", "not_a_media_player", "no_volume", "cannot_skip", "not_a_vacuum",
             "unsupported_intent", "cannot_turn_off")

    def __init__(self, code: str, **facts: Any) -> None:
        assert code in self.CODES, code
        self.code = code
        self.facts = facts
        super().__init__(code + "".join(f" {k}={v}" for k, v in facts.items()))


# step slot → (absolute slot, the intent that uses it); the absolute slot names the attribute the
# customer hears about when the device's state lacks the starting value
_STEPS = {
    "brightness_step": ("brightness", "HassLightSet"),
    "temperature_step": ("temperature", "HassClimateSetTemperature"),
    "volume_step": ("volume_level", "HassSetVolume"),
    "position_step": ("position", "HassSetPosition"),
}


def changes_for(intent: str, slots: dict[str, Any], device: Device, current: dict[str, Any]) -> dict[str, Any]:
    """The changes to ask of ``device`` (now in state ``current``) for an intent and its slots.
    Relative slots ("a bit darker": ``brightness_step``) become absolute values from the current
    state first. Raises NotApplicable, with its code, rather than guess."""
    t = device.type
    state = str(current.get("state", "")).lower()
    try:
        step = float(slots.get("brightness_step") or 0)
    except (TypeError, ValueError):
        step = 0.0
    if t is DeviceType.LIGHT and step < 0 and state == "off" and slots.get("brightness") is None:
        raise NotApplicable("already_off")  # "darker" must not switch a light on
    if t is DeviceType.MEDIA_PLAYER and slots.get("volume_step") is not None and state == "off":
        raise NotApplicable("off_no_volume")
    stepped = {k for k in _STEPS if k in slots}
    slots = absolute(slots, current)
    for key, (slot, uses) in _STEPS.items():
        if key in slots and slots.get(slot) is None and intent == uses:
            raise NotApplicable("unknown_current", attribute=slot)
    if intent in ("HassTurnOn", "HassTurnOff", "HassToggle"):
        if t in (DeviceType.SENSOR, DeviceType.BINARY_SENSOR):
            raise NotApplicable("read_only")
        on = intent == "HassTurnOn"
        if t in (DeviceType.SCENE, DeviceType.SCRIPT) and intent != "HassTurnOn":
            raise NotApplicable("cannot_turn_off")  # a scene or script is run, never switched back
        if intent == "HassToggle":
            on = str(current.get("state", "")).lower() in ("off", "closed", "unlocked", "docked", "idle", "")
        if t is DeviceType.CLIMATE:
            return {"hvac_mode": "heat" if on else "off"}
        if t is DeviceType.LIGHT and on and slots.get("brightness") is not None:
            return {"state": "on", "brightness": _brightness(slots["brightness"])}
        return {"state": (ON_STATE if on else OFF_STATE)[t]}
    if intent == "HassLightSet":
        if t is not DeviceType.LIGHT:
            raise NotApplicable("not_a_light")
        out: dict[str, Any] = {"state": "on"}
        if slots.get("brightness") is not None:
            out["brightness"] = _brightness(slots["brightness"])
        if slots.get("color"):
            out["color_name"] = str(slots["color"]).lower()
        if len(out) == 1:
            raise NotApplicable("no_brightness_or_colour")
        return out
    if intent == "HassClimateSetTemperature":
        if t is not DeviceType.CLIMATE:
            raise NotApplicable("not_a_thermostat")
        if slots.get("temperature") is not None:
            return {"temperature": float(slots["temperature"])}
        raise NotApplicable("no_temperature")
    if intent == "HassSetPosition":
        if t is not DeviceType.COVER:
            raise NotApplicable("not_a_cover")
        if slots.get("position") is None:
            raise NotApplicable("no_position")
        if ("position_step" in stepped and current.get("current_position") == slots["position"]
                and state not in ("opening", "closing")):  # moving the other way: the command turns it
            # "a bit more" on a blind already at its end: nothing to move
            raise NotApplicable("already_open" if slots["position"] >= 100 else "already_closed")
        return {"position": int(slots["position"])}
    if intent in ("HassMediaPause", "HassMediaUnpause", "HassSetVolume", "HassMediaNext", "HassMediaPrevious"):
        if t is not DeviceType.MEDIA_PLAYER:
            raise NotApplicable("not_a_media_player")
        if intent == "HassMediaPause":
            return {"state": "paused"}
        if intent == "HassMediaUnpause":
            return {"state": "playing"}
        if intent == "HassSetVolume":
            if slots.get("volume_level") is not None:
                return {"volume_level": round(float(slots["volume_level"]) / 100, 2)}
            raise NotApplicable("no_volume")
        raise NotApplicable("cannot_skip")
    if intent in ("HassVacuumStart", "HassVacuumReturnToBase"):
        if t is not DeviceType.VACUUM:
            raise NotApplicable("not_a_vacuum")
        return {"state": "cleaning" if intent == "HassVacuumStart" else "docked"}
    raise NotApplicable("unsupported_intent", intent=intent)


def _brightness(percent: Any) -> int:
    """Slots give brightness in percent; device state uses Home Assistant's 0-255."""
    p = max(0.0, min(100.0, float(percent)))
    return round(p * 255 / 100)


def domains_for(intent: str) -> frozenset[str]:
    """The device kinds an intent can address, to narrow "turn it up" to the right device
    (understanding's table: one table for both)."""
    return INTENT_DOMAINS.get(intent, frozenset())
