"""Home Assistant intents and slots → the state changes to ask of a device (Home Assistant names)."""

from __future__ import annotations

from typing import Any

from device_bridge.devices import Device, DeviceType

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


def changes_for(intent: str, slots: dict[str, Any], device: Device, current: dict[str, Any]) -> dict[str, Any]:
    t = device.type
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
        elif slots.get("brightness_step") is not None:  # "a bit darker": relative, in percent
            now = float(current.get("brightness") or 0) if str(current.get("state")).lower() == "on" else 0.0
            step = float(slots["brightness_step"]) * 255 / 100
            out["brightness"] = max(3, min(255, round(now + step)))
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
        if slots.get("temperature_step") is not None and current.get("temperature") is not None:
            # "it's a bit cold in here": the target moves by the step, in degrees
            return {"temperature": round(float(current["temperature"]) + float(slots["temperature_step"]), 1)}
        raise NotApplicable("I didn't hear a temperature")
    if intent == "HassSetPosition":
        if t is not DeviceType.COVER:
            raise NotApplicable("it is not a blind, curtain or door that opens part way")
        if slots.get("position") is None:
            raise NotApplicable("I didn't hear a position")
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
            if slots.get("volume_step") is not None:  # "louder", "I can't hear it": relative, in percent
                now = float(current.get("volume_level") or 0.0)
                return {"volume_level": round(max(0.0, min(1.0, now + float(slots["volume_step"]) / 100)), 2)}
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
