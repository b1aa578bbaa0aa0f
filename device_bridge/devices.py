"""The device model: what a device is, what it can do, and what it reports.

State keys follow Home Assistant's state and attribute names, whatever the device's
MQTT convention: a light's ``state`` is "on"/"off" and its ``brightness`` 0-255,
a climate device has ``hvac_mode``, ``temperature`` (target) and ``current_temperature``,
a lock's ``state`` is "locked"/"unlocked"/"jammed", a cover has ``state`` and
``current_position`` 0-100, a media player ``volume_level`` 0-1. Conventions translate.
"""

from __future__ import annotations

import colorsys
import time
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

from device_bridge.colors import UnknownColour, named_rgb


class DeviceType(StrEnum):
    """Home Assistant domain names."""

    LIGHT = "light"
    SWITCH = "switch"
    FAN = "fan"
    COVER = "cover"
    CLIMATE = "climate"
    LOCK = "lock"
    SENSOR = "sensor"
    BINARY_SENSOR = "binary_sensor"
    MEDIA_PLAYER = "media_player"
    VACUUM = "vacuum"
    # Home Assistant's other domains: known and listed, their state readable where they have
    # one, but nothing here operates them (a home file with them is never rejected)
    AIR_QUALITY = "air_quality"
    ALARM_CONTROL_PANEL = "alarm_control_panel"
    AUTOMATION = "automation"
    BUTTON = "button"
    CALENDAR = "calendar"
    CAMERA = "camera"
    COUNTER = "counter"
    DATE = "date"
    DATETIME = "datetime"
    DEVICE_TRACKER = "device_tracker"
    EVENT = "event"
    GROUP = "group"
    HUMIDIFIER = "humidifier"
    IMAGE = "image"
    INPUT_BOOLEAN = "input_boolean"
    INPUT_BUTTON = "input_button"
    INPUT_DATETIME = "input_datetime"
    INPUT_NUMBER = "input_number"
    INPUT_SELECT = "input_select"
    INPUT_TEXT = "input_text"
    LAWN_MOWER = "lawn_mower"
    NOTIFY = "notify"
    NUMBER = "number"
    PERSON = "person"
    REMOTE = "remote"
    SCENE = "scene"
    SCRIPT = "script"
    SELECT = "select"
    SIREN = "siren"
    SUN = "sun"
    TEXT = "text"
    TIME = "time"
    TIMER = "timer"
    TODO = "todo"
    UPDATE = "update"
    VALVE = "valve"
    WATER_HEATER = "water_heater"
    WEATHER = "weather"
    ZONE = "zone"


# The domains voicebot can operate (commands, simulation, conventions); the rest are read only.
OPERABLE = frozenset({DeviceType.LIGHT, DeviceType.SWITCH, DeviceType.FAN, DeviceType.COVER, DeviceType.CLIMATE,
                      DeviceType.LOCK, DeviceType.SENSOR, DeviceType.BINARY_SENSOR, DeviceType.MEDIA_PLAYER,
                      DeviceType.VACUUM, DeviceType.VALVE, DeviceType.SCENE, DeviceType.SCRIPT})
# Operable domains with no state to report back: a command is done when the broker has accepted it
# (Home Assistant's scenes are stateless; a script's run is fire-and-forget).
STATELESS = frozenset({DeviceType.SCENE, DeviceType.SCRIPT})


@dataclass
class Area:
    name: str
    floor: str | None = None
    aliases: list[str] = field(default_factory=list)


@dataclass
class Device:
    """A device as the registry knows it."""

    id: str  # stable: unique_id, ieee address, Tasmota topic or a slug of the home-file name
    name: str
    type: DeviceType
    convention: str = "zigbee2mqtt"  # zigbee2mqtt | homeassistant | tasmota
    area: str | None = None
    aliases: list[str] = field(default_factory=list)
    device_class: str | None = None  # e.g. temperature, motion, door, garage, outlet
    unit: str | None = None  # for sensors
    model: str | None = None
    manufacturer: str | None = None
    source: str = "home"  # home | discovery | zigbee2mqtt
    topics: dict[str, Any] = field(default_factory=dict)  # convention-specific topics and payload options
    # Settable attributes this device supports; empty means every attribute of its type
    # (see CAPABILITIES). A light without colour lists ["state", "brightness"].
    features: list[str] = field(default_factory=list)
    # Per-device ranges that narrow the type's defaults, e.g. {"temperature": (5, 30)}.
    ranges: dict[str, tuple[float, float]] = field(default_factory=dict)
    hub: str | None = None  # id of the hub/bridge the device talks through (Zigbee2MQTT), if any
    # Per-device values of enum attributes, narrowing the type's, e.g. {"hvac_mode": ["off", "heat"]}.
    options: dict[str, list[str]] = field(default_factory=dict)


@dataclass
class Telemetry:
    """What troubleshooting needs to know about a device's health."""

    available: bool | None = None  # None: the convention gives no availability
    last_seen: float | None = None  # wall-clock seconds of the last message from the device
    linkquality: int | None = None  # 0-255 (Zigbee LQI)
    battery: int | None = None  # percent
    power: float | None = None  # watts


@dataclass
class DeviceState:
    device: Device
    state: dict[str, Any]  # Home Assistant names (see module docstring)
    telemetry: Telemetry
    updated_at: float | None  # wall-clock seconds of the last state message; None if never heard

    @property
    def age_s(self) -> float | None:
        return None if self.updated_at is None else max(0.0, time.time() - self.updated_at)


class Outcome(StrEnum):
    """What became of a command, coarsely (``Code`` says exactly what, with ``facts``)."""

    CONFIRMED = "confirmed"  # the device reported the requested state
    MOVING = "moving"  # the device reported it started toward the target; the final fact comes later
    NOT_CONFIRMED = "not_confirmed"  # sent, but the device did not report the requested state
    OFFLINE = "offline"  # the device (or its hub) is known to be unavailable; nothing was sent
    REJECTED = "rejected"  # invalid for this device (capability or range); nothing was sent
    BROKER_DOWN = "broker_down"  # the broker (the home's hub) cannot be reached


class Code(StrEnum):
    """The fact behind a result, for the dialogue to put into words. ``facts`` on the result
    (or the InvalidCommand) hold the fields named after each code."""

    CONFIRMED = "confirmed"  # reported the requested state (a moving device: arrived)
    MOVING = "moving"  # reported it is on its way to the target: state, position
    NO_RESPONSE = "no_response"  # sent; nothing came back from the device
    ACCEPTED = "accepted"  # a stateless device (scene, script): the broker accepted the command
    UNCHANGED = "unchanged"  # answered, but in another state: state (observed)
    NEVER_MOVED = "never_moved"  # a device that travels answered but did not move: state, position
    STOPPED_SHORT = "stopped_short"  # it moved, then stopped before the target: position, target
    STILL_MOVING = "still_moving"  # still on its way when the wait for its arrival ended: position
    WENT_OFFLINE = "went_offline"  # sent, then it went offline before confirming
    DEVICE_OFFLINE = "device_offline"  # offline; not sent: last_seen (wall-clock seconds or None)
    HUB_OFFLINE = "hub_offline"  # the hub it talks through is offline; not sent: hub (its name)
    BROKER_UNREACHABLE = "broker_unreachable"  # the broker stayed away; nothing was sent
    BROKER_LOST = "broker_lost"  # the broker went away around the command: its fate is unknown
    # rejected: nothing was sent
    NOTHING_TO_CHANGE = "nothing_to_change"
    READ_ONLY = "read_only"  # a sensor
    UNSUPPORTED = "unsupported"  # attribute
    OUT_OF_RANGE = "out_of_range"  # attribute, value, low, high
    NOT_A_NUMBER = "not_a_number"  # attribute, value
    NOT_ALLOWED = "not_allowed"  # attribute, value, allowed (the values it takes)
    UNKNOWN_COLOUR = "unknown_colour"  # value
    POSITION_AND_STATE = "position_and_state"  # a cover told to open/close and go to a position at once
    CANNOT_STOP = "cannot_stop"  # a cover that cannot stop half way


OUTCOME_OF: dict[Code, Outcome] = {
    Code.CONFIRMED: Outcome.CONFIRMED,
    Code.MOVING: Outcome.MOVING,
    Code.ACCEPTED: Outcome.CONFIRMED,
    Code.NO_RESPONSE: Outcome.NOT_CONFIRMED,
    Code.UNCHANGED: Outcome.NOT_CONFIRMED,
    Code.NEVER_MOVED: Outcome.NOT_CONFIRMED,
    Code.STOPPED_SHORT: Outcome.NOT_CONFIRMED,
    Code.STILL_MOVING: Outcome.NOT_CONFIRMED,
    Code.WENT_OFFLINE: Outcome.NOT_CONFIRMED,
    Code.DEVICE_OFFLINE: Outcome.OFFLINE,
    Code.HUB_OFFLINE: Outcome.OFFLINE,
    Code.BROKER_UNREACHABLE: Outcome.BROKER_DOWN,
    Code.BROKER_LOST: Outcome.BROKER_DOWN,
    **{c: Outcome.REJECTED for c in (Code.NOTHING_TO_CHANGE, Code.READ_ONLY, Code.UNSUPPORTED, Code.OUT_OF_RANGE,
                                     Code.NOT_A_NUMBER, Code.NOT_ALLOWED, Code.UNKNOWN_COLOUR,
                                     Code.POSITION_AND_STATE, Code.CANNOT_STOP)},
}


@dataclass
class CommandResult:
    """Facts about one command, never a sentence: the dialogue words them (reply catalogues)."""

    code: Code
    device: Device
    requested: dict[str, Any]  # in Home Assistant names
    observed: dict[str, Any]  # the device's state when the wait ended
    facts: dict[str, Any] = field(default_factory=dict)  # the fields the code names
    evidence: list[str] = field(default_factory=list)  # topics and payloads seen, for the trace
    elapsed_s: float = 0.0
    before: dict[str, Any] = field(default_factory=dict)  # the state when the command was sent
    sent_at: float = 0.0  # wall-clock seconds the command went out (0: never sent)

    @property
    def outcome(self) -> Outcome:
        return OUTCOME_OF[self.code]

    @property
    def ok(self) -> bool:
        return self.outcome is Outcome.CONFIRMED

    @property
    def in_progress(self) -> bool:
        """Started but not arrived: the dialogue says "closing ..." rather than "closed"."""
        return self.outcome is Outcome.MOVING

    @property
    def reason(self) -> str:
        """The facts in one line for logs, the trace and the command line (not for customers)."""
        return describe_facts(self.device, self.code, self.facts)


def describe_facts(device: Device, code: Code, facts: dict[str, Any]) -> str:
    """``code`` and its fields as one technical line: "out_of_range: hall_hvac temperature=40 (10..25)"."""
    parts = [f"{k}={v}" for k, v in facts.items() if v is not None]
    return f"{code.value}: {device.id}" + (f" {' '.join(parts)}" if parts else "")


class DeviceControl(Protocol):
    """What the dialogue engine and the LLM tools use. Thread-safe and blocking:
    callers on an event loop run it in a worker thread."""

    def devices(self) -> list[Device]: ...

    def areas(self) -> list[Area]: ...

    def get(self, device_id: str, refresh: bool = False) -> DeviceState: ...

    def set(self, device_id: str, changes: dict[str, Any], timeout: float = 3.0,
            moving_ok: bool = False) -> CommandResult: ...

    def follow(self, result: CommandResult, timeout: float = 60.0) -> CommandResult: ...


# ---------------------------------------------------------------------------
# Capabilities and command validation


class InvalidCommand(ValueError):
    """A command a device cannot carry out: a rejection ``code`` with its ``facts`` (attribute,
    value, low/high, allowed). The dialogue words it; ``str()`` is a technical line for logs."""

    def __init__(self, code: Code, device: Device, **facts: Any) -> None:
        self.code = code
        self.device = device
        self.facts = facts
        super().__init__(describe_facts(device, code, facts))


@dataclass(frozen=True)
class Attribute:
    """One state attribute of a device type, in Home Assistant's name and units."""

    name: str
    kind: str  # enum | int | float | bool | hs (hue 0-360, saturation 0-100) | any
    settable: bool = True
    values: tuple[str, ...] = ()  # for enum
    low: float | None = None
    high: float | None = None
    tolerance: float = 0.0  # how far a reported value may differ and still confirm a command


_ONOFF = ("on", "off")


def _attrs(*items: Attribute) -> dict[str, Attribute]:
    return {a.name: a for a in items}


CAPABILITIES: dict[DeviceType, dict[str, Attribute]] = {
    DeviceType.LIGHT: _attrs(
        Attribute("state", "enum", values=_ONOFF),
        Attribute("brightness", "int", low=0, high=255, tolerance=3),
        Attribute("color_temp", "int", low=153, high=500, tolerance=6),
        Attribute("hs_color", "hs", tolerance=3),
    ),
    DeviceType.SWITCH: _attrs(Attribute("state", "enum", values=_ONOFF)),
    DeviceType.FAN: _attrs(
        Attribute("state", "enum", values=_ONOFF),
        Attribute("percentage", "int", low=0, high=100, tolerance=17),
        Attribute("preset_mode", "enum", values=("low", "medium", "high", "auto")),
    ),
    DeviceType.COVER: _attrs(
        Attribute("state", "enum", values=("open", "closed", "stopped")),
        Attribute("position", "int", low=0, high=100, tolerance=1),
    ),
    DeviceType.CLIMATE: _attrs(
        Attribute(
            "hvac_mode", "enum", values=("off", "heat", "cool", "auto", "dry", "fan_only")
        ),
        Attribute("temperature", "float", low=5, high=35, tolerance=0.26),
        Attribute("current_temperature", "float", settable=False),
        Attribute("fan_mode", "enum", values=("auto", "low", "medium", "high")),
    ),
    DeviceType.LOCK: _attrs(Attribute("state", "enum", values=("locked", "unlocked"))),
    DeviceType.SENSOR: _attrs(Attribute("state", "any", settable=False)),
    DeviceType.BINARY_SENSOR: _attrs(Attribute("state", "enum", settable=False, values=_ONOFF)),
    DeviceType.MEDIA_PLAYER: _attrs(
        Attribute("state", "enum", values=("on", "off", "playing", "paused", "idle")),
        Attribute("volume_level", "float", low=0, high=1, tolerance=0.02),
        Attribute("is_volume_muted", "bool"),
    ),
    DeviceType.VACUUM: _attrs(
        Attribute("state", "enum", values=("cleaning", "docked", "paused", "idle")),
        Attribute("fan_speed", "enum", values=("quiet", "standard", "max")),
    ),
    DeviceType.VALVE: _attrs(Attribute("state", "enum", values=("open", "closed"))),
    # activated, never switched back: "on" is the only thing to ask of them
    DeviceType.SCENE: _attrs(Attribute("state", "enum", values=("on",))),
    DeviceType.SCRIPT: _attrs(Attribute("state", "enum", values=("on",))),
}

# Spoken or service-style words accepted for a state and what they mean.
_STATE_SYNONYMS: dict[DeviceType, dict[str, str]] = {
    DeviceType.LOCK: {"lock": "locked", "unlock": "unlocked"},
    DeviceType.COVER: {"close": "closed", "stop": "stopped", "opened": "open"},
    DeviceType.MEDIA_PLAYER: {"play": "playing", "pause": "paused", "stop": "idle"},
    DeviceType.VALVE: {"close": "closed", "opened": "open", "on": "open", "off": "closed"},
    DeviceType.SCENE: {"activate": "on", "turn_on": "on"},
    DeviceType.SCRIPT: {"run": "on", "start": "on", "turn_on": "on"},
    DeviceType.VACUUM: {
        "start": "cleaning",
        "clean": "cleaning",
        "return_to_base": "docked",
        "dock": "docked",
        "pause": "paused",
        "stop": "idle",
    },
}

_TRUE = {"on", "true", "yes", "1"}
_FALSE = {"off", "false", "no", "0"}


def supported(device: Device) -> dict[str, Attribute]:
    """The attributes of a device: its type's, narrowed by its features and ranges."""
    table = CAPABILITIES.get(device.type, {})
    out: dict[str, Attribute] = {}
    for name, attr in table.items():
        if attr.settable and device.features and name not in device.features:
            continue
        if name in device.ranges:
            low, high = device.ranges[name]
            attr = Attribute(**{**attr.__dict__, "low": low, "high": high})
        if name in device.options and attr.kind == "enum":
            allowed = tuple(v for v in device.options[name] if v in attr.values) or attr.values
            attr = Attribute(**{**attr.__dict__, "values": allowed})
        out[name] = attr
    return out


def _number(device: Device, attr: Attribute, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise InvalidCommand(Code.NOT_A_NUMBER, device, attribute=attr.name, value=value)
    try:
        number = float(value)
    except ValueError:
        raise InvalidCommand(Code.NOT_A_NUMBER, device, attribute=attr.name, value=value) from None
    if number != number:  # NaN
        raise InvalidCommand(Code.NOT_A_NUMBER, device, attribute=attr.name, value=value)
    if (attr.low is not None and number < attr.low) or (attr.high is not None and number > attr.high):
        raise InvalidCommand(Code.OUT_OF_RANGE, device, attribute=attr.name, value=number, low=attr.low, high=attr.high)
    return number


def _color_to_hs(device: Device, key: str, value: Any) -> list[float]:
    """rgb_color, hs_color, xy_color or color_name to [hue 0-360, saturation 0-100]."""
    try:
        if key == "hs_color":
            h, s = (float(v) for v in value)
            if not (0 <= h <= 360 and 0 <= s <= 100):
                raise ValueError
            return [round(h % 360, 1), round(s, 1)]
        if key == "rgb_color":
            r, g, b = (float(v) for v in value)
            if not all(0 <= c <= 255 for c in (r, g, b)):
                raise ValueError
        elif key == "color_name":
            r, g, b = named_rgb(str(value))
        else:
            raise ValueError
    except (UnknownColour, TypeError, ValueError):
        raise InvalidCommand(Code.UNKNOWN_COLOUR, device, value=value) from None
    hue, sat, _v = colorsys.rgb_to_hsv(r / 255, g / 255, b / 255)
    return [round(hue * 360, 1), round(sat * 100, 1)]


def validate_changes(device: Device, changes: dict[str, Any], current: dict[str, Any] | None = None) -> dict:
    """Check a command against the device's capabilities and ranges and return it
    normalised (Home Assistant names and units, lower-case states, toggle resolved,
    colours as hs_color). Raises InvalidCommand with a code and its facts."""
    if not isinstance(changes, dict) or not changes:
        raise InvalidCommand(Code.NOTHING_TO_CHANGE, device)
    attrs = supported(device)
    settable = {k for k, a in attrs.items() if a.settable}
    if not settable:
        raise InvalidCommand(Code.READ_ONLY, device)
    current = current or {}
    out: dict[str, Any] = {}
    for given, value in changes.items():
        key = {
            "current_position": "position",
            "color_temp_kelvin": "color_temp",
            "volume": "volume_level",
            "hvac": "hvac_mode",
            "target_temperature": "temperature",
        }.get(given, given)
        if key in ("rgb_color", "color_name", "xy_color"):
            key, value = "hs_color", _color_to_hs(device, key, value)
        elif key == "brightness_pct":
            pct = _number(device, Attribute("brightness_pct", "int", low=0, high=100), value)
            key, value = "brightness", round(pct * 255 / 100)
        if given == "color_temp_kelvin":
            kelvin = _number(device, Attribute("color_temp_kelvin", "int", low=1000, high=10000), value)
            value = round(1_000_000 / kelvin)
        attr = attrs.get(key)
        if attr is None or not attr.settable:
            raise InvalidCommand(Code.UNSUPPORTED, device, attribute=key)
        if attr.kind == "enum":
            word = str(value).strip().lower().replace(" ", "_") if not isinstance(value, bool) else (
                "on" if value else "off"
            )
            word = _STATE_SYNONYMS.get(device.type, {}).get(word, word)
            if attr.values == _ONOFF and word == "toggle":
                word = "off" if str(current.get("state", "off")).lower() == "on" else "on"
            if attr.values == _ONOFF and word in _TRUE:
                word = "on"
            if attr.values == _ONOFF and word in _FALSE:
                word = "off"
            if word not in attr.values:
                raise InvalidCommand(Code.NOT_ALLOWED, device, attribute=key, value=value, allowed=list(attr.values))
            value = word
        elif attr.kind in ("int", "float"):
            number = _number(device, attr, value)
            value = round(number) if attr.kind == "int" else round(number, 2)
        elif attr.kind == "bool":
            word = str(value).strip().lower()
            if isinstance(value, bool):
                pass
            elif word in _TRUE:
                value = True
            elif word in _FALSE:
                value = False
            else:
                raise InvalidCommand(Code.NOT_ALLOWED, device, attribute=key, value=value, allowed=["on", "off"])
        elif attr.kind == "hs":
            value = _color_to_hs(device, "hs_color", value)
        out[key] = value
    if device.type is DeviceType.LIGHT:
        if out.get("brightness") == 0:
            out.pop("brightness")
            out["state"] = "off"
        elif any(k in out for k in ("brightness", "color_temp", "hs_color")):
            out.setdefault("state", "on")
        if out.get("state") == "off":
            for k in ("brightness", "color_temp", "hs_color"):
                out.pop(k, None)
    if device.type is DeviceType.FAN and ("percentage" in out or "preset_mode" in out):
        if out.get("percentage") == 0:
            out.pop("percentage")
            out["state"] = "off"
        else:
            out.setdefault("state", "on")
    if device.type is DeviceType.COVER and "position" in out and "state" in out:
        raise InvalidCommand(Code.POSITION_AND_STATE, device)
    if device.type is DeviceType.COVER and out.get("state") == "stopped" and "stopped" not in attrs["state"].values:
        raise InvalidCommand(Code.CANNOT_STOP, device)
    return out


# States a device reports while it travels toward a commanded state.
MOVING_STATES = frozenset({"opening", "closing", "locking", "unlocking"})


def confirms(device: Device, requested: dict[str, Any], observed: dict[str, Any]) -> bool:
    """Whether an observed state shows every requested change (within each attribute's tolerance)."""
    attrs = CAPABILITIES.get(device.type, {})
    for key, want in requested.items():
        if device.type is DeviceType.COVER:
            if key == "position":
                got = observed.get("current_position")
                if got is None or abs(float(got) - want) > 1:
                    return False
                continue
            if key == "state" and want == "stopped":
                if observed.get("state") in ("opening", "closing", None):
                    return False
                continue
            if key == "state" and want in ("open", "closed") and observed.get("current_position") is not None:
                # "open" is also what a cover stopped at 30% says: only the end position is arrival
                try:
                    pos = float(observed["current_position"])
                except (TypeError, ValueError):
                    return False
                if abs(pos - (100 if want == "open" else 0)) > 1 or observed.get("state") in MOVING_STATES:
                    return False
                continue
        got = observed.get(key)
        if device.type is DeviceType.CLIMATE and key == "hvac_mode" and got is None:
            got = observed.get("state")
        if got is None:
            return False
        attr = attrs.get(key)
        tol = attr.tolerance if attr else 0.0
        if isinstance(want, list):
            if not isinstance(got, (list, tuple)) or len(got) != len(want):
                return False
            # hue wraps around at 360; saturation does not
            dh = abs(float(got[0]) - want[0]) % 360
            if min(dh, 360 - dh) > max(tol, 3) or abs(float(got[1]) - want[1]) > max(tol, 3):
                return False
        elif isinstance(want, (int, float)) and not isinstance(want, bool):
            try:
                if abs(float(got) - want) > tol:
                    return False
            except (TypeError, ValueError):
                return False
        elif isinstance(want, str):
            if str(got).lower() != want:
                return False
        elif got != want:
            return False
    return True


def _cover_target(requested: dict[str, Any]) -> int | None:
    if "position" in requested:
        return int(requested["position"])
    return {"open": 100, "closed": 0}.get(str(requested.get("state", "")).lower())


def travels(device: Device) -> bool:
    """Devices whose commands take time to carry out (a motor runs): covers and locks."""
    return device.type in (DeviceType.COVER, DeviceType.LOCK)


def underway(device: Device, requested: dict[str, Any], observed: dict[str, Any], before: dict[str, Any]) -> bool:
    """Whether a device that has not reached the requested state yet reports that it is on its way
    there: a cover reporting opening/closing toward the target, or a position that moved toward
    it since ``before`` (the state when the command was sent); a lock reporting locking/unlocking
    as asked. A cover that does not move, or moves the wrong way, is not underway."""
    if device.type is DeviceType.LOCK:
        want = str(requested.get("state", "")).lower()
        return str(observed.get("state", "")).lower() == {"locked": "locking", "unlocked": "unlocking"}.get(want)
    if device.type is not DeviceType.COVER:
        return False
    target = _cover_target(requested)
    if target is None:
        return False
    now, then = observed.get("current_position"), before.get("current_position")
    state = str(observed.get("state", "")).lower()
    try:
        now_f = None if now is None else float(now)
        then_f = None if then is None else float(then)
    except (TypeError, ValueError):
        return False
    if now_f is not None and then_f is not None:
        if abs(now_f - then_f) >= 1:
            return abs(target - now_f) < abs(target - then_f)  # it moved: toward the target or not
        if abs(now_f - target) < 1:
            return False  # already there: that is confirms()' business
    start = now_f if now_f is not None else then_f
    if state == "opening":
        return start is None or target > start
    if state == "closing":
        return start is None or target < start
    return False


def default_state(device_type: DeviceType) -> dict[str, Any]:
    """The state a simulated device starts in when the home file gives none."""
    return {
        DeviceType.LIGHT: {"state": "off", "brightness": 200, "color_temp": 370},
        DeviceType.SWITCH: {"state": "off"},
        DeviceType.FAN: {"state": "off", "percentage": 33, "preset_mode": "low"},
        DeviceType.COVER: {"state": "closed", "current_position": 0},
        DeviceType.CLIMATE: {"hvac_mode": "heat", "temperature": 20.0, "current_temperature": 19.5, "fan_mode": "auto"},
        DeviceType.LOCK: {"state": "locked"},
        DeviceType.SENSOR: {"state": 21.0},
        DeviceType.BINARY_SENSOR: {"state": "off"},
        DeviceType.MEDIA_PLAYER: {"state": "idle", "volume_level": 0.3, "is_volume_muted": False},
        DeviceType.VACUUM: {"state": "docked", "fan_speed": "standard"},
        DeviceType.VALVE: {"state": "closed"},
        DeviceType.SCENE: {},  # Home Assistant's scenes have no state
        DeviceType.SCRIPT: {"state": "off"},
        DeviceType.PERSON: {"state": "home"},
        DeviceType.DEVICE_TRACKER: {"state": "home"},
        DeviceType.WEATHER: {"state": "sunny", "temperature": 18.0, "humidity": 60},
        DeviceType.INPUT_BOOLEAN: {"state": "off"},
        DeviceType.SUN: {"state": "above_horizon"},
        DeviceType.ALARM_CONTROL_PANEL: {"state": "disarmed"},
        DeviceType.HUMIDIFIER: {"state": "off"},
        DeviceType.SIREN: {"state": "off"},
        DeviceType.TODO: {"state": "0"},
        DeviceType.COUNTER: {"state": 0},
        DeviceType.TIMER: {"state": "idle"},
        DeviceType.AUTOMATION: {"state": "on"},
    }.get(device_type, {"state": "unknown"}).copy()


@dataclass
class DeviceEvent:
    """What a change listener receives (DeviceBridge.add_listener).

    kind: "state" (state or telemetry changed), "availability" (online/offline changed),
    "added", "changed" (registry entry changed: name, area, capabilities), "removed",
    "bridge" (the bridge's own connection to the broker: device is None, state holds
    {"connected": bool}).
    """

    kind: str
    device: Device | None
    state: DeviceState | None = None
    changed: dict[str, Any] = field(default_factory=dict)  # the keys that changed, with their new values
    at: float = 0.0  # wall-clock seconds
