"""Device states in words: "on at 40%", "set to 21 degrees, currently 19.5", "locked"."""

from __future__ import annotations

from typing import Any

from device_bridge.devices import Device, DeviceType


def percent(brightness: Any) -> int | None:
    """Home Assistant brightness 0-255 as a whole percent."""
    try:
        return round(float(brightness) * 100 / 255)
    except (TypeError, ValueError):
        return None


def number(value: Any) -> str:
    try:
        f = float(value)
    except (TypeError, ValueError):
        return str(value)
    return f"{f:g}" if abs(f - round(f)) > 1e-9 else str(round(f))


def describe_state(device: Device, state: dict[str, Any]) -> str:
    """How the device is, as the end of a sentence: "the kitchen light is " + this."""
    s = str(state.get("state", "")).lower()
    t = device.type
    if t is DeviceType.LIGHT:
        if s == "on":
            pct = percent(state.get("brightness"))
            return f"on at {pct}%" if pct is not None else "on"
        return "off" if s == "off" else _unknown(s)
    if t in (DeviceType.SWITCH, DeviceType.FAN):
        return s if s in ("on", "off") else _unknown(s)
    if t is DeviceType.COVER:
        pos = state.get("current_position")
        if s in ("opening", "closing"):
            return s
        if pos is not None and pos not in (0, 100):
            return f"{number(pos)}% open"
        return s if s in ("open", "closed") else _unknown(s)
    if t is DeviceType.LOCK:
        return s if s in ("locked", "unlocked", "jammed", "locking", "unlocking") else _unknown(s)
    if t is DeviceType.CLIMATE:
        mode = state.get("hvac_mode")
        parts = []
        if mode == "off":
            parts.append("switched off")
        elif state.get("temperature") is not None:
            parts.append(f"set to {number(state['temperature'])} degrees" + (f" ({mode})" if mode else ""))
        if state.get("current_temperature") is not None:
            parts.append(f"the room is at {number(state['current_temperature'])} degrees")
        return ", ".join(parts) or _unknown(s)
    if t is DeviceType.SENSOR:
        if s in ("", "none", "unknown", "unavailable"):
            return _unknown(s)
        unit = device.unit or ""
        spoken_unit = {"°C": " degrees", "°F": " degrees Fahrenheit", "%": " percent"}.get(unit, f" {unit}" if unit else "")
        return f"reading {number(state.get('state'))}{spoken_unit}"
    if t is DeviceType.BINARY_SENSOR:
        on = s == "on"
        words = {
            "motion": ("detecting motion", "not detecting motion"),
            "occupancy": ("detecting someone", "not detecting anyone"),
            "door": ("open", "closed"),
            "window": ("open", "closed"),
            "moisture": ("detecting water", "dry"),
            "smoke": ("detecting smoke", "clear"),
            "gas": ("detecting gas", "clear"),
        }.get(device.device_class or "", ("on", "off"))
        return words[0] if on else words[1]
    if t is DeviceType.MEDIA_PLAYER:
        vol = state.get("volume_level")
        out = s if s in ("playing", "paused", "idle", "off", "on") else _unknown(s)
        if vol is not None and s != "off":
            out += f" at volume {round(float(vol) * 100)}%"
        return out
    if t is DeviceType.VACUUM:
        return {"cleaning": "cleaning", "docked": "docked", "returning": "returning to its dock",
                "idle": "idle", "paused": "paused", "error": "reporting an error"}.get(s, _unknown(s))
    return s or "in an unknown state"


def _unknown(s: str) -> str:
    return "in an unknown state" if s in ("", "none", "unknown", "unavailable") else s


def device_label(device: Device) -> str:
    """The name as said in a sentence: "the kitchen light" (acronyms such as TV stay as they are)."""
    words = [w if (w.isupper() and len(w) > 1) else w.lower() for w in device.name.split()]
    name = " ".join(words)
    return name if name.startswith(("the ", "my ")) else f"the {name}"
