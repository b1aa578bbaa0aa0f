"""The device model: what a device is, what it can do, and what it reports.

State keys follow Home Assistant's state and attribute names, whatever the device's
MQTT convention: a light's ``state`` is "on"/"off" and its ``brightness`` 0-255,
a climate device has ``hvac_mode``, ``temperature`` (target) and ``current_temperature``,
a lock's ``state`` is "locked"/"unlocked"/"jammed", a cover has ``state`` and
``current_position`` 0-100, a media player ``volume_level`` 0-1. Conventions translate.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol


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
        import time

        return None if self.updated_at is None else max(0.0, time.time() - self.updated_at)


class Outcome(StrEnum):
    CONFIRMED = "confirmed"  # the device reported the requested state
    NOT_CONFIRMED = "not_confirmed"  # sent, but the device did not report the change in time
    OFFLINE = "offline"  # the device is known to be unavailable; nothing was sent
    REJECTED = "rejected"  # invalid for this device (capability or range); nothing was sent
    BROKER_DOWN = "broker_down"  # the broker is unreachable and the command's deadline passed


@dataclass
class CommandResult:
    outcome: Outcome
    device: Device
    requested: dict[str, Any]  # in Home Assistant names
    observed: dict[str, Any]  # the device's state when the wait ended
    reason: str  # a sentence the dialogue can say aloud, e.g. "the kitchen light did not respond"
    evidence: list[str] = field(default_factory=list)  # topics and payloads seen, for the trace
    elapsed_s: float = 0.0

    @property
    def ok(self) -> bool:
        return self.outcome is Outcome.CONFIRMED


class DeviceControl(Protocol):
    """What the dialogue engine and the LLM tools use. Thread-safe and blocking:
    callers on an event loop run it in a worker thread."""

    def devices(self) -> list[Device]: ...

    def areas(self) -> list[Area]: ...

    def get(self, device_id: str, refresh: bool = False) -> DeviceState: ...

    def set(self, device_id: str, changes: dict[str, Any], timeout: float = 3.0) -> CommandResult: ...
