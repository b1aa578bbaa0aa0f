"""Health checks on a device's live state and telemetry, each giving one of a few named results.

Playbooks branch on these results, so every check declares the results it can give and
the playbook loader refuses a playbook that leaves one of them without a branch.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from device_bridge.devices import Device, DeviceControl, DeviceState, DeviceType


@dataclass
class Finding:
    check: str
    result: str
    detail: str  # a short factual sentence for the ticket and the trace
    values: dict[str, Any]


CheckFn = Callable[[DeviceControl, Device | None, DeviceState | None, dict[str, Any]], Finding]


@dataclass(frozen=True)
class CheckSpec:
    results: tuple[str, ...]
    needs_device: bool
    fn: CheckFn
    args: tuple[str, ...] = ()


def _available(bridge: DeviceControl, device: Device | None, st: DeviceState | None, args: dict[str, Any]) -> Finding:
    assert st is not None
    avail = st.telemetry.available
    if avail is None and st.updated_at is None:
        return Finding("available", "unknown", "the device has never reported", {})
    if avail is None:
        return Finding("available", "yes", "the device reports state; its convention gives no availability", {})
    return Finding(
        "available",
        "yes" if avail else "no",
        "the device reports itself online" if avail else "the device is reported offline",
        {"available": avail},
    )


def _recently_seen(bridge: DeviceControl, device: Device | None, st: DeviceState | None, args: dict[str, Any]) -> Finding:
    assert st is not None
    max_age = float(args.get("max_age_s", 3600))
    seen = st.telemetry.last_seen or st.updated_at
    if seen is None:
        return Finding("recently_seen", "unknown", "no message from the device was ever seen", {})
    age = max(0.0, time.time() - seen)
    ok = age <= max_age
    return Finding(
        "recently_seen",
        "yes" if ok else "no",
        f"last message from the device {spoken_age(age)}",
        {"age_s": round(age, 1)},
    )


def _link_quality(bridge: DeviceControl, device: Device | None, st: DeviceState | None, args: dict[str, Any]) -> Finding:
    assert st is not None
    lqi = st.telemetry.linkquality
    if lqi is None:
        return Finding("link_quality", "unknown", "the device reports no link quality", {})
    weak = lqi < int(args.get("min", 60))
    return Finding(
        "link_quality",
        "weak" if weak else "good",
        f"link quality {lqi} of 255 ({'weak' if weak else 'good'})",
        {"linkquality": lqi},
    )


def _battery(bridge: DeviceControl, device: Device | None, st: DeviceState | None, args: dict[str, Any]) -> Finding:
    assert st is not None
    level = st.telemetry.battery
    if level is None:
        return Finding("battery", "none", "the device reports no battery", {})
    low = level < int(args.get("min", 20))
    return Finding("battery", "low" if low else "ok", f"battery at {level}%", {"battery": level})


def _plausible(bridge: DeviceControl, device: Device | None, st: DeviceState | None, args: dict[str, Any]) -> Finding:
    """Compare a sensor's reading with the other sensors of the same kind in its area."""
    assert device is not None and st is not None
    own = _reading(st)
    if own is None:
        return Finding("plausible", "unknown", "the sensor reports no numeric reading", {})
    kind = device.device_class or ("temperature" if device.type is DeviceType.CLIMATE else None)
    peers: list[float] = []
    for other in bridge.devices():
        if other.id == device.id or other.area != device.area:
            continue
        same_kind = other.type is DeviceType.SENSOR and other.device_class == kind
        thermostat = kind == "temperature" and other.type is DeviceType.CLIMATE
        if not (same_kind or thermostat):
            continue
        try:
            value = _reading(bridge.get(other.id), kind)
        except Exception:  # an unreachable peer is no evidence either way
            continue
        if value is not None:
            peers.append(value)
    if not peers:
        return Finding("plausible", "unknown", "no other sensor in the room to compare with", {"value": own})
    ref = statistics.median(peers)
    tolerance = float(args.get("tolerance", 5.0))
    ok = abs(own - ref) <= tolerance
    return Finding(
        "plausible",
        "yes" if ok else "no",
        f"reads {own:g} while other sensors in the room read {ref:g}",
        {"value": own, "reference": ref, "peers": len(peers)},
    )


def _reading(st: DeviceState, device_class: str | None = None) -> float | None:
    if st.device.type is DeviceType.CLIMATE:
        value = st.state.get("current_temperature")
    else:
        value = st.state.get("state")
        if device_class and device_class in st.state:
            value = st.state[device_class]
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


def _state(bridge: DeviceControl, device: Device | None, st: DeviceState | None, args: dict[str, Any]) -> Finding:
    assert st is not None
    key = str(args.get("key", "state"))
    want = args.get("equals")
    have = st.state.get(key)
    same = str(have).lower() == str(want).lower()
    return Finding("state", "yes" if same else "no", f"{key} is {have}", {key: have})


def _others_offline(bridge: DeviceControl, device: Device | None, st: DeviceState | None, args: dict[str, Any]) -> Finding:
    """How many of the home's devices (of the same convention as ``device``, if one) are offline;
    a hub (Zigbee2MQTT bridge) that is itself offline counts as "all": nothing behind it answers."""
    devices = [d for d in bridge.devices() if device is None or d.convention == device.convention]
    offline, hubs_down = 0, []
    members = [d for d in devices if d.topics.get("role") != "hub"]
    for d in devices:
        try:
            avail = bridge.get(d.id).telemetry.available
        except Exception:
            avail = False
        if avail is False:
            if d.topics.get("role") == "hub":
                hubs_down.append(d.name)
            else:
                offline += 1
    total = len(members)
    if hubs_down:
        result = "all"
    elif total == 0 or offline == 0:
        result = "none"
    elif offline >= max(2, int(total * float(args.get("share", 0.75)))):
        result = "all"
    else:
        result = "some"
    detail = f"{offline} of {total} devices are offline" + (f"; hub offline: {', '.join(hubs_down)}" if hubs_down else "")
    return Finding("others_offline", result, detail, {"offline": offline, "total": total})


CHECKS: dict[str, CheckSpec] = {
    "available": CheckSpec(("yes", "no", "unknown"), True, _available),
    "recently_seen": CheckSpec(("yes", "no", "unknown"), True, _recently_seen, ("max_age_s",)),
    "link_quality": CheckSpec(("good", "weak", "unknown"), True, _link_quality, ("min",)),
    "battery": CheckSpec(("ok", "low", "none"), True, _battery, ("min",)),
    "plausible": CheckSpec(("yes", "no", "unknown"), True, _plausible, ("tolerance",)),
    "state": CheckSpec(("yes", "no"), True, _state, ("key", "equals")),
    "others_offline": CheckSpec(("all", "some", "none"), False, _others_offline, ("share",)),
}


def run_check(name: str, bridge: DeviceControl, device: Device | None, args: dict[str, Any] | None = None) -> Finding:
    spec = CHECKS[name]
    st = bridge.get(device.id) if device is not None else None
    return spec.fn(bridge, device, st, dict(args or {}))


def spoken_age(seconds: float, language: str = "en") -> str:
    """ "3 hours ago" (German: "vor 3 Stunden")."""
    de = language == "de"
    if seconds < 90:
        return "vor weniger als zwei Minuten" if de else "less than two minutes ago"
    if seconds < 5400:
        n, unit = round(seconds / 60), ("Minuten", "minutes")
    elif seconds < 36 * 3600:
        n, unit = round(seconds / 3600), ("Stunden", "hours")
    else:
        n, unit = round(seconds / 86400), ("Tagen", "days")
    return f"vor {n} {unit[0]}" if de else f"{n} {unit[1]} ago"
