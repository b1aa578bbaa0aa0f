"""Health checks on a device's live state and telemetry, each giving one of a few named results.

Playbooks branch on these results, so every check declares the results it can give and
the playbook loader refuses a playbook that leaves one of them without a branch.
"""

from __future__ import annotations

import statistics
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from device_bridge.conventions import get as convention
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


# --- evidence: everything the device and its neighbours say, read before asking anything -----

EVIDENCE_FILE = Path(__file__).with_name("evidence.yaml")
EVIDENCE_RESULTS = ("hub_offline", "offline", "low_battery", "weak_signal", "dropping_out", "unresponsive",
                    "jammed", "state_mismatch", "wrong_reading", "no_power", "ok")
DROP_WINDOW_S = 1800.0


class AvailabilityLog:
    """When each device of a bridge went offline, from the bridge's availability events: a device
    that keeps dropping off shows here although it is online when we look. One per engine; the
    bridge listener goes away with the log."""

    def __init__(self, bridge: Any) -> None:
        self._drops: dict[str, deque[float]] = {}
        self._cond = threading.Condition()
        self._remove: Callable[[], None] | None = None
        add = getattr(bridge, "add_listener", None)
        if callable(add):
            ref = weakref.ref(self)

            def listener(event: Any) -> None:
                log = ref()
                if log is None:
                    if remove is not None:
                        remove()
                    return
                log.observe(event)

            remove: Callable[[], None] | None = None
            remove = self._remove = add(listener)

    def observe(self, event: Any) -> None:
        if getattr(event, "kind", None) != "availability" or event.device is None:
            return
        if event.changed.get("available") is False:
            with self._cond:
                self._drops.setdefault(event.device.id, deque(maxlen=50)).append(time.time())
                self._cond.notify_all()

    def drops(self, device_id: str, window_s: float = DROP_WINDOW_S) -> int:
        since = time.time() - window_s
        with self._cond:
            return sum(1 for t in self._drops.get(device_id, ()) if t >= since)

    def wait_for_drops(self, device_id: str, count: int, timeout: float) -> int:
        """Watch for up to ``timeout`` seconds until the device has dropped ``count`` times."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self.drops_unlocked(device_id) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._cond.wait(left)
            return self.drops_unlocked(device_id)

    def drops_unlocked(self, device_id: str) -> int:
        since = time.time() - DROP_WINDOW_S
        return sum(1 for t in self._drops.get(device_id, ()) if t >= since)

    def close(self) -> None:
        if self._remove is not None:
            self._remove()
            self._remove = None


def _evidence(bridge: DeviceControl, device: Device | None, st: DeviceState | None, args: dict[str, Any]) -> Finding:
    """The most telling thing the device's own telemetry, its hub, its room-mates and this
    conversation's last command to it show, in that order of weight. Private args, set by the
    run: ``_history`` (an AvailabilityLog), ``_requested`` (the changes last asked of it)."""
    assert device is not None and st is not None
    tel = st.telemetry
    v: dict[str, Any] = {"battery": tel.battery, "linkquality": tel.linkquality, "power": tel.power}
    seen = tel.last_seen or st.updated_at
    if seen is not None:
        v["age_s"] = round(max(0.0, time.time() - seen), 1)
    history = args.get("_history")
    low_battery = tel.battery is not None and tel.battery < int(args.get("battery_min", 20))
    weak = tel.linkquality is not None and tel.linkquality < int(args.get("lqi_min", 60))

    def found(result: str, detail: str, sentence: str | None = None, **more: Any) -> Finding:
        values = {k: val for k, val in {**v, **more}.items() if val is not None}
        values["evidence"] = sentence or result
        return Finding("evidence", result, detail, values)

    hub = _hub_down(bridge, device)
    if hub is not None:
        return found("hub_offline", f"the hub {hub} is offline", hub=hub)
    if tel.available is False:
        if low_battery:
            # a flat battery is the cure to try first, so the battery playbook takes it
            return found("low_battery", f"offline; battery {tel.battery}% when last seen", "offline_battery")
        return found("offline", "the device is reported offline")
    drops = history.drops(device.id) if history is not None else 0
    watch = float(args.get("watch_s", 0) or 0)
    if history is not None and watch > 0 and drops < 1:
        # The customer says it keeps dropping off: watch it, rather than take their word or ours.
        drops = history.wait_for_drops(device.id, 1, watch)
        if drops:  # seen to drop: give it the moment it takes to come back, then read it again
            bridge.wait_for(lambda b: b.get(device.id).telemetry.available is not False, timeout=watch)  # type: ignore[attr-defined]
            st = bridge.get(device.id)
            tel = st.telemetry
    dropping = drops >= (1 if watch > 0 else 2)
    if low_battery:
        key = "low_battery_drops" if dropping else "low_battery"
        return found("low_battery", f"battery at {tel.battery}%" + (f"; offline {drops} times" if dropping else ""), key, drops=drops)
    if weak:
        key = "weak_signal_drops" if dropping else "weak_signal"
        return found("weak_signal", f"link quality {tel.linkquality} of 255" + (f"; offline {drops} times" if dropping else ""),
                     key, drops=drops)
    if dropping:
        return found("dropping_out", f"went offline {drops} times in {DROP_WINDOW_S / 60:g} minutes", drops=drops)
    state = str(st.state.get("state", "")).lower()
    if state == "jammed":
        return found("jammed", "the device reports itself jammed")
    # Battery sensors sleep and do not hear reads (they report when they wake): not asked.
    sleepy = tel.battery is not None and device.type in (DeviceType.SENSOR, DeviceType.BINARY_SENSOR)
    if args.get("probe", True) and not sleepy and not _answers(bridge, device, float(args.get("probe_s", 1.0))):
        return found("unresponsive", "online, but no answer to a state request")
    requested = args.get("_requested")
    if isinstance(requested, dict) and requested:
        fresh = bridge.get(device.id)
        wrong = {k: want for k, want in requested.items() if not _same_value(fresh.state, k, want)}
        if wrong:
            key = next(iter(wrong))
            reported = fresh.state.get("current_position" if key == "position" else key)
            return found("state_mismatch", f"asked {key}={wrong[key]}, reports {reported}",
                         requested=wrong[key], reported=reported)
    if device.type in (DeviceType.SENSOR, DeviceType.CLIMATE):
        plausible = _plausible(bridge, device, st, {"tolerance": args.get("tolerance", 3.0)})
        if plausible.result == "no":
            return found("wrong_reading", plausible.detail, **plausible.values)
    if tel.power is not None and state == "on" and tel.power < 1.0 and device.type is DeviceType.SWITCH:
        return found("no_power", f"on but draws {tel.power} W")
    return found("ok", "online, good signal, answers")


def _hub_down(bridge: DeviceControl, device: Device) -> str | None:
    if not device.hub:
        return None
    try:
        hub = bridge.get(device.hub)
    except Exception:
        return None
    return hub.device.name if hub.telemetry.available is False else None


def _answers(bridge: DeviceControl, device: Device, timeout: float) -> bool:
    """Ask the device for its state (where its convention can be asked) and see whether it answers."""
    try:
        if not convention(device.convention).query(device):
            return True  # this convention cannot be asked: no evidence either way
        # Twice: a device's own periodic report can land in the first window by chance, but
        # hardly in both; a device that answers does so in milliseconds, so the second costs nothing.
        for _ in range(2):
            asked = time.time()
            st = bridge.get(device.id, refresh=True, timeout=timeout)  # type: ignore[call-arg]
            seen = st.telemetry.last_seen or st.updated_at or 0.0
            if seen < asked - 0.05:
                return False
    except Exception:
        return True
    return True


def _same_value(state: dict[str, Any], key: str, want: Any) -> bool:
    have = state.get("current_position" if key == "position" else key)
    try:
        return abs(float(have) - float(want)) <= 2.0  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return str(have).lower() == str(want).lower()


@cache
def _evidence_texts() -> dict[str, dict[str, str]]:
    data = yaml.safe_load(EVIDENCE_FILE.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def evidence_sentence(key: str, values: dict[str, Any], language: str = "en") -> str:
    """The spoken sentence for an evidence key (evidence.yaml), in ``language`` (else English)."""
    texts = _evidence_texts().get(key) or _evidence_texts()["ok"]
    text = texts.get(language) or texts["en"]
    filled = {k: ("unknown" if values.get(k) is None else values[k]) for k in _FIELDS}
    filled.update({k: val for k, val in values.items() if val is not None})
    filled["times"] = _times(values.get("drops"), language)
    out = text.format(**filled)
    return out[:1].upper() + out[1:]


def _times(n: Any, language: str) -> str:
    try:
        n = int(n)
    except (TypeError, ValueError):
        n = 0
    words = {"en": ("once", "twice", "{n} times"), "de": ("einmal", "zweimal", "{n}-mal"), "es": ("una vez", "dos veces", "{n} veces")}
    w = words.get(language, words["en"])
    return w[0] if n == 1 else w[1] if n == 2 else w[2].format(n=n)


_FIELDS = ("device", "battery", "linkquality", "last_seen", "reading", "reference", "drops", "hub", "requested", "reported", "power")


CHECKS: dict[str, CheckSpec] = {
    "available": CheckSpec(("yes", "no", "unknown"), True, _available),
    "recently_seen": CheckSpec(("yes", "no", "unknown"), True, _recently_seen, ("max_age_s",)),
    "link_quality": CheckSpec(("good", "weak", "unknown"), True, _link_quality, ("min",)),
    "battery": CheckSpec(("ok", "low", "none"), True, _battery, ("min",)),
    "plausible": CheckSpec(("yes", "no", "unknown"), True, _plausible, ("tolerance",)),
    "state": CheckSpec(("yes", "no"), True, _state, ("key", "equals")),
    "others_offline": CheckSpec(("all", "some", "none"), False, _others_offline, ("share",)),
    "evidence": CheckSpec(EVIDENCE_RESULTS, True, _evidence,
                          ("battery_min", "lqi_min", "tolerance", "probe", "probe_s", "watch_s")),
}


def run_check(
    name: str, bridge: DeviceControl, device: Device | None, args: dict[str, Any] | None = None,
    context: dict[str, Any] | None = None,
) -> Finding:
    """``context``: what the run knows besides the step's args (``_history``, ``_requested``)."""
    spec = CHECKS[name]
    st = bridge.get(device.id) if device is not None else None
    return spec.fn(bridge, device, st, {**(context or {}), **(args or {})})


def spoken_age(seconds: float, language: str = "en") -> str:
    """ "3 hours ago" (German: "vor 3 Stunden", Spanish: "hace 3 horas")."""
    units = {"en": ("minutes", "hours", "days"), "de": ("Minuten", "Stunden", "Tagen"), "es": ("minutos", "horas", "días")}
    if language not in units:
        language = "en"
    if seconds < 90:
        return {"en": "less than two minutes ago", "de": "vor weniger als zwei Minuten",
                "es": "hace menos de dos minutos"}[language]
    if seconds < 5400:
        n, unit = round(seconds / 60), units[language][0]
    elif seconds < 36 * 3600:
        n, unit = round(seconds / 3600), units[language][1]
    else:
        n, unit = round(seconds / 86400), units[language][2]
    return {"en": f"{n} {unit} ago", "de": f"vor {n} {unit}", "es": f"hace {n} {unit}"}[language]
