"""Relative changes made absolute: "a bit darker" (brightness_step -10) on a light now at 60 %
becomes brightness 50. The dialogue calls this with the device's current state (Home Assistant
attribute names, as ``device_bridge`` reports them) before it sends a command.
"""

from __future__ import annotations

from typing import Any

# step slot → (absolute slot, state attribute, state scale to percent or degrees, lowest, highest)
_STEPS: dict[str, tuple[str, str, float, float, float]] = {
    "brightness_step": ("brightness", "brightness", 100 / 255, 1, 100),  # state 0-255 → %
    "volume_step": ("volume_level", "volume_level", 100, 0, 100),  # state 0-1 → %
    "position_step": ("position", "current_position", 1, 0, 100),  # state 0-100
    "temperature_step": ("temperature", "temperature", 1, 5, 35),  # target temperature, °C
}


def absolute(slots: dict[str, Any], state: dict[str, Any]) -> dict[str, Any]:
    """``slots`` with each ``*_step`` replaced by the absolute value it leads to from ``state``.

    A light that is off counts as brightness 0 (so "brighter" turns it on at 20 %); a step whose
    starting value the state lacks (and no sensible default exists) is left as it is, for the
    dialogue to ask about. Temperatures are kept within 5–35 °C (``temperature_unit: fahrenheit``
    within 41–95 °F).
    """
    out = dict(slots)
    for step_slot, (slot, attribute, scale, low, high) in _STEPS.items():
        if step_slot not in out or slot in out:
            continue
        current = state.get(attribute)
        if slot == "brightness" and str(state.get("state", "")).lower() == "off":
            current = 0  # an off light keeps its last brightness in the state, but shows none
        if current is None:
            continue
        try:
            now = float(current) * scale
            step = float(out[step_slot])
        except (TypeError, ValueError):
            continue
        if slot == "temperature" and out.get("temperature_unit") == "fahrenheit":
            low, high = 41, 95
        value = min(high, max(low, now + step))
        out[slot] = round(value, 1) if slot == "temperature" else round(value)
        del out[step_slot]
    return out
