"""Home Assistant intents and slots → the state changes to ask of a device (Home Assistant names)."""

from __future__ import annotations

from typing import Any

from device_bridge.devices import Device, DeviceType
from voicebot.understand.steps import absolute

# What "turn on" / "turn off" mean per domain, as Home Assistant's intents define them.
ON_STATE = {
    DeviceType.LIGHT: "on", DeviceType.SWITCH: "on", DeviceType.FAN: "on", DeviceType.COVER: "open",
    DeviceType.LOCK: "locked", DeviceType.MEDIA_PLAYER: "on", DeviceType.VACUUM: "cleaning", DeviceType.CLIMATE: "heat",
}
OFF_STATE = {
    DeviceType.LIGHT: "off", DeviceType.SWITCH: "off", DeviceType.FAN: "off", DeviceType.COVER: "closed",
    DeviceType.LOCK: "unlocked", DeviceType.MEDIA_PLAYER: "off", DeviceType.VACUUM: "docked", DeviceType.CLIMATE: "off",
}


class NotApplicable(ValueError):
    """The intent makes no sense for this device; the message says why, for the customer."""


# step slot → what the customer hears when the device's state lacks the starting value
# step slot → (absolute slot, the intent that uses it, what the customer hears when the device's
# state lacks the starting value)
_STEPS = {
    "brightness_step": ("brightness", "HassLightSet", "brightness"),
    "temperature_step": ("temperature", "HassClimateSetTemperature", "target temperature"),
    "volume_step": ("volume_level", "HassSetVolume", "volume"),
    "position_step": ("position", "HassSetPosition", "position"),
}


def changes_for(intent: str, slots: dict[str, Any], device: Device, current: dict[str, Any]) -> dict[str, Any]:
    """The changes to ask of ``device`` (now in state ``current``) for an intent and its slots.
    Relative slots ("a bit darker": ``brightness_step``) become absolute values from the current
    state first. Raises NotApplicable, with a reason for the customer, rather than guess."""
    t = device.type
    state = str(current.get("state", "")).lower()
    try:
        step = float(slots.get("brightness_step") or 0)
    except (TypeError, ValueError):
        step = 0.0
    if t is DeviceType.LIGHT and step < 0 and state == "off" and slots.get("brightness") is None:
        raise NotApplicable("it is already off")  # "darker" must not switch a light on
    if t is DeviceType.MEDIA_PLAYER and slots.get("volume_step") is not None and state == "off":
        raise NotApplicable("it is off at the moment, so I can't change its volume")
    stepped = {k for k in _STEPS if k in slots}
    slots = absolute(slots, current)
    for key, (slot, uses, what) in _STEPS.items():
        if key in slots and slots.get(slot) is None and intent == uses:
            raise NotApplicable(f"I don't know its current {what}, so I can't change it by a step")
    if intent in ("HassTurnOn", "HassTurnOff", "HassToggle"):
        if t in (DeviceType.SENSOR, DeviceType.BINARY_SENSOR):
            raise NotApplicable("it is a sensor, so it can only be read, not switched")
        on = intent == "HassTurnOn"
        if intent == "HassToggle":
            on = str(current.get("state", "")).lower() in ("off", "closed", "unlocked", "docked", "idle", "")
        if t is DeviceType.CLIMATE:
            return {"hvac_mode": "heat" if on else "off"}
        if t is DeviceType.LIGHT and on and slots.get("brightness") is not None:
            return {"state": "on", "brightness": _brightness(slots["brightness"])}
        return {"state": (ON_STATE if on else OFF_STATE)[t]}
    if intent == "HassLightSet":
        if t is not DeviceType.LIGHT:
            raise NotApplicable("it is not a light")
        out: dict[str, Any] = {"state": "on"}
        if slots.get("brightness") is not None:
            out["brightness"] = _brightness(slots["brightness"])
        if slots.get("color"):
            out["color_name"] = str(slots["color"]).lower()
        if len(out) == 1:
            raise NotApplicable("I didn't hear a brightness or a colour")
        return out
    if intent == "HassClimateSetTemperature":
        if t is not DeviceType.CLIMATE:
            raise NotApplicable("it is not a thermostat")
        if slots.get("temperature") is not None:
            return {"temperature": float(slots["temperature"])}
        raise NotApplicable("I didn't hear a temperature")
    if intent == "HassSetPosition":
        if t is not DeviceType.COVER:
            raise NotApplicable("it is not a blind, curtain or door that opens part way")
        if slots.get("position") is None:
            raise NotApplicable("I didn't hear a position")
        if ("position_step" in stepped and current.get("current_position") == slots["position"]
                and state not in ("opening", "closing")):  # moving the other way: the command turns it
            # "a bit more" on a blind already at its end: nothing to move
            raise NotApplicable(f"it is already fully {'open' if slots['position'] >= 100 else 'closed'}")
        return {"position": int(slots["position"])}
    if intent in ("HassMediaPause", "HassMediaUnpause", "HassSetVolume", "HassMediaNext", "HassMediaPrevious"):
        if t is not DeviceType.MEDIA_PLAYER:
            raise NotApplicable("it is not a media player")
        if intent == "HassMediaPause":
            return {"state": "paused"}
        if intent == "HassMediaUnpause":
            return {"state": "playing"}
        if intent == "HassSetVolume":
            if slots.get("volume_level") is not None:
                return {"volume_level": round(float(slots["volume_level"]) / 100, 2)}
            raise NotApplicable("I didn't hear a volume")
        raise NotApplicable("I can't skip tracks on it from here")
    if intent in ("HassVacuumStart", "HassVacuumReturnToBase"):
        if t is not DeviceType.VACUUM:
            raise NotApplicable("it is not a vacuum")
        return {"state": "cleaning" if intent == "HassVacuumStart" else "docked"}
    raise NotApplicable(f"I can't do {intent} with it")


def _brightness(percent: Any) -> int:
    """Slots give brightness in percent; device state uses Home Assistant's 0-255."""
    p = max(0.0, min(100.0, float(percent)))
    return round(p * 255 / 100)


def domains_for(intent: str) -> tuple[str, ...]:
    """The device kinds an intent can address, to narrow "turn it up" to the right device."""
    return {
        "HassLightSet": ("light",),
        "HassClimateSetTemperature": ("climate",),
        "HassClimateGetTemperature": ("climate", "sensor"),
        "HassSetPosition": ("cover",),
        "HassMediaPause": ("media_player",),
        "HassMediaUnpause": ("media_player",),
        "HassMediaNext": ("media_player",),
        "HassMediaPrevious": ("media_player",),
        "HassSetVolume": ("media_player",),
        "HassVacuumStart": ("vacuum",),
        "HassVacuumReturnToBase": ("vacuum",),
    }.get(intent, ())
