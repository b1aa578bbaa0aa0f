"""What the watcher found: a typed finding, and a device's recent history the checks read."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any

from device_bridge.devices import Device, DeviceState


@dataclass(frozen=True)
class Finding:
    """Something wrong with one device, raised by one rule, with the evidence that shows it."""

    rule: str  # the rule's id
    check: str  # the check that saw it (battery_below, offline_for, ...)
    kind: str  # battery | connection | signal | reading | command | safety (rules decide)
    severity: str  # info | warning | critical | safety
    device_id: str
    device_name: str
    area: str | None
    evidence: dict[str, Any]  # the facts: {"battery": 4, "percent": 15}, {"neighbour": "..."}, ...
    playbook: str | None  # the troubleshooting that fixes it
    raised_at: float  # wall-clock seconds

    @property
    def key(self) -> str:
        """One finding per rule and device: raised once, cleared when its evidence is gone."""
        return f"{self.rule}:{self.device_id}"

    @property
    def safety(self) -> bool:
        return self.severity == "safety"


@dataclass
class PendingCommand:
    at: float  # when the command was seen on the broker
    requested: dict[str, Any]  # Home Assistant names, as the device's convention decoded it


@dataclass
class History:
    """What the checks need that a snapshot does not hold: samples over time."""

    battery: deque[tuple[float, float]] = field(default_factory=lambda: deque(maxlen=500))
    linkquality: deque[tuple[float, float]] = field(default_factory=lambda: deque(maxlen=200))
    flips: deque[tuple[float, bool]] = field(default_factory=lambda: deque(maxlen=500))  # availability changes
    available: bool | None = None
    offline_since: float | None = None
    commands: list[PendingCommand] = field(default_factory=list)
    failures: deque[tuple[float, dict[str, Any]]] = field(default_factory=lambda: deque(maxlen=100))
    agreed: dict[str, float] = field(default_factory=dict)  # quantity -> reading when it last agreed with the room

    def sample(self, series: deque[tuple[float, float]], at: float, value: float | None) -> None:
        if value is None:
            return
        if not series or series[-1][1] != value or at - series[-1][0] > 60:
            series.append((at, float(value)))


@dataclass
class DeviceView:
    """One device as the checks see it: its live state and its history."""

    device: Device
    state: DeviceState
    history: History
