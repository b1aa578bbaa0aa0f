"""The checks the rules name: each looks at one device (and, for readings, its room) and returns
the evidence of a finding, or None. Thresholds come from the rule's parameters, never from here."""

from __future__ import annotations

import statistics
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from device_bridge.devices import DeviceType
from voicebot.proactive import rules as r
from voicebot.proactive.findings import DeviceView

Evidence = dict[str, Any]


@dataclass
class Home:
    """Every device the watcher knows, for checks that compare a device with others."""

    views: dict[str, DeviceView]
    _areas: dict[str | None, list[DeviceView]] = field(default_factory=dict, repr=False)

    def hub_offline(self, view: DeviceView) -> bool:
        hub = self.views.get(view.device.hub or "")
        return hub is not None and hub.state.telemetry.available is False

    def in_area(self, area: str | None) -> list[DeviceView]:
        """The devices of one area (None: all), indexed once per evaluation: a big home's readings
        are compared room by room, not each device against the whole home."""
        if area is None:
            return list(self.views.values())
        if not self._areas:
            for v in self.views.values():
                self._areas.setdefault(v.device.area, []).append(v)
        return self._areas.get(area, [])

    def readings(self, quantity: str, max_age_s: float, now: float, area: str | None = None) -> list[tuple[DeviceView, float]]:
        out = []
        for v in self.in_area(area):
            value = reading(v, quantity)
            age = now - v.state.updated_at if v.state.updated_at else None
            if value is not None and age is not None and age <= max_age_s and v.state.telemetry.available is not False:
                out.append((v, value))
        return out


def reading(view: DeviceView, quantity: str) -> float | None:
    """The device's numeric reading of ``quantity`` (temperature, humidity, ...), if it has one."""
    d, st = view.device, view.state.state
    value: Any = None
    if d.type is DeviceType.SENSOR and d.device_class == quantity:
        value = st.get("state")
    elif d.type is DeviceType.CLIMATE and quantity == "temperature":
        value = st.get("current_temperature")
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def battery_below(p: r.BatteryBelow, v: DeviceView, home: Home, now: float) -> Evidence | None:
    level = v.state.telemetry.battery
    if level is None or level >= p.percent:
        return None
    return {"battery": level, "percent": p.percent}


def battery_falling(p: r.BatteryFalling, v: DeviceView, home: Home, now: float) -> Evidence | None:
    level = v.state.telemetry.battery
    if level is None:
        return None
    window = [lvl for at, lvl in v.history.battery if now - at <= p.within_s]
    if not window or max(window) - level < p.points:
        return None
    return {"battery": level, "was": max(window), "within_s": p.within_s}


def offline_for(p: r.OfflineFor, v: DeviceView, home: Home, now: float) -> Evidence | None:
    tel = v.state.telemetry
    since = v.history.offline_since
    # behind an offline hub only the hub is a finding, not every device that talks through it
    if tel.available is not False or since is None or home.hub_offline(v):
        return None
    if now - since < p.grace_s:
        return None
    out: Evidence = {"offline_since": round(since, 3), "offline_s": round(now - since, 1), "last_seen": tel.last_seen}
    if tel.battery is not None:
        out["battery"] = tel.battery
    return out


def link_quality(p: r.LinkQuality, v: DeviceView, home: Home, now: float) -> Evidence | None:
    lqi = v.state.telemetry.linkquality
    if lqi is None or v.state.telemetry.available is False:
        return None
    earlier = [q for _, q in list(v.history.linkquality)[:-1]]
    usual = statistics.median(earlier) if len(earlier) >= p.min_samples else None
    collapsed = usual is not None and lqi < p.collapse_ratio * usual
    if lqi >= p.below and not collapsed:
        return None
    out: Evidence = {"linkquality": lqi, "below": p.below}
    if usual is not None:
        out["usual"] = usual
    return out


def reading_outlier(p: r.ReadingOutlier, v: DeviceView, home: Home, now: float) -> Evidence | None:
    for quantity, limit in p.max_difference.items():
        mine = reading(v, quantity)
        if mine is None or not v.device.area:
            continue
        room = home.readings(quantity, p.max_age_s, now, v.device.area)
        if v.device.id not in {o.device.id for o, _ in room}:
            continue  # its own reading is too old to compare
        others = [(o, x) for o, x in room if o.device.id != v.device.id]
        if not others:
            continue
        reference = statistics.median(x for _, x in others)
        if abs(mine - reference) <= limit:
            v.history.agreed[quantity] = mine
            continue
        if len(others) >= 2:
            # the others must agree among themselves, or nobody can tell which one is off
            if max(x for _, x in others) - min(x for _, x in others) > limit:
                continue
        elif not _more_suspect(v, mine, others[0], quantity, home, p.max_age_s, now):
            continue
        neighbour, value = min(others, key=lambda ox: abs(ox[1] - reference))
        return {
            "quantity": quantity, "reading": mine, "reference": round(reference, 2),
            "difference": round(mine - reference, 2), "unit": v.device.unit or neighbour.device.unit,
            "neighbour": neighbour.device.name, "neighbour_id": neighbour.device.id, "neighbour_reading": value,
            "limit": limit,
        }
    return None


def _more_suspect(v: DeviceView, mine: float, other: tuple[DeviceView, float], quantity: str, home: Home,
                  max_age_s: float, now: float) -> bool:
    """Two devices in a room disagree: which one is off? The one that moved further from the value it
    had when they last agreed; without that, the one further from the rest of the home's readings."""
    o, theirs = other
    mine_then, theirs_then = v.history.agreed.get(quantity), o.history.agreed.get(quantity)
    if mine_then is not None and theirs_then is not None:
        return abs(mine - mine_then) > abs(theirs - theirs_then)
    elsewhere = [x for d, x in home.readings(quantity, max_age_s, now) if d.device.area != v.device.area]
    if elsewhere:
        typical = statistics.median(elsewhere)
        return abs(mine - typical) > abs(theirs - typical)
    return False  # nothing tells them apart: no finding rather than a guess


def flapping(p: r.Flapping, v: DeviceView, home: Home, now: float) -> Evidence | None:
    changes = [at for at, _ in v.history.flips if now - at <= p.within_s]
    if len(changes) < p.changes or home.hub_offline(v):
        return None
    return {"changes": len(changes), "times": sum(1 for at, up in v.history.flips if now - at <= p.within_s and not up),
            "within_s": p.within_s}


def command_failures(p: r.CommandFailures, v: DeviceView, home: Home, now: float) -> Evidence | None:
    failed = [(at, req) for at, req in v.history.failures if now - at <= p.within_s]
    if len(failed) < p.failures:
        return None
    return {"failures": len(failed), "within_s": p.within_s, "last_request": failed[-1][1]}


def alarm(p: r.Alarm, v: DeviceView, home: Home, now: float) -> Evidence | None:
    d = v.device
    if d.type is not DeviceType.BINARY_SENSOR or d.device_class not in p.device_classes:
        return None
    state = v.state.state.get("state")
    if state not in ("on", True) or v.state.telemetry.available is False:
        return None
    return {"device_class": d.device_class, "state": "on"}


CHECKS: dict[str, Callable[[Any, DeviceView, Home, float], Evidence | None]] = {
    "battery_below": battery_below,
    "battery_falling": battery_falling,
    "offline_for": offline_for,
    "link_quality": link_quality,
    "reading_outlier": reading_outlier,
    "flapping": flapping,
    "command_failures": command_failures,
    "alarm": alarm,
}
assert set(CHECKS) == set(r.PARAMS)
