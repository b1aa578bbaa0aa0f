"""What every MQTT convention shares: the Convention protocol, the messages it reads and writes,
and the payload helpers. The conventions import this module; the package imports the conventions."""

from __future__ import annotations

import colorsys
import json
import math
from dataclasses import dataclass, field
from typing import Any, Protocol

from device_bridge.devices import Device


class PayloadError(ValueError):
    """A message that cannot be understood; logged with its topic and skipped."""


@dataclass
class Outgoing:
    topic: str
    payload: str | bytes
    retain: bool = False
    qos: int = 1
    expect: str | None = None  # for reads: the topic the answer comes on


@dataclass
class Observation:
    """What one message said about one device: a partial state in Home Assistant
    names and/or telemetry (keys of devices.Telemetry)."""

    state: dict[str, Any] = field(default_factory=dict)
    telemetry: dict[str, Any] = field(default_factory=dict)


QUERY = "query"  # decode_command's answer for "report your state"


class Convention(Protocol):
    name: str

    def prepare(self, device: Device) -> None:
        """Fill the device's topics with this convention's defaults."""

    # controller side (the bridge)
    def subscriptions(self, device: Device) -> list[str]: ...

    def parse(self, device: Device, topic: str, payload: bytes) -> Observation | None: ...

    def command(self, device: Device, changes: dict[str, Any], current: dict[str, Any]) -> list[Outgoing]: ...

    def query(self, device: Device) -> list[Outgoing]: ...

    # device side (the simulator)
    def device_subscriptions(self, device: Device) -> list[str]: ...

    def decode_command(self, device: Device, topic: str, payload: bytes) -> dict[str, Any] | str | None: ...

    def report(self, device: Device, state: dict[str, Any], telemetry: dict[str, Any]) -> list[Outgoing]: ...

    def availability(self, device: Device, online: bool) -> list[Outgoing]: ...

    def announce(self, device: Device) -> list[Outgoing]: ...


def load_json(topic: str, payload: bytes) -> Any:
    try:
        return json.loads(payload)
    except (UnicodeDecodeError, ValueError) as exc:
        raise PayloadError(f"not JSON on {topic}: {payload[:80]!r}") from exc


def load_object(topic: str, payload: bytes) -> dict[str, Any]:
    data = load_json(topic, payload)
    if not isinstance(data, dict):
        raise PayloadError(f"expected a JSON object on {topic}, got {type(data).__name__}")
    return data


def number(topic: str, key: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise PayloadError(f"{key} on {topic} is not a number: {value!r}")
    try:
        out = float(value)
    except ValueError:
        raise PayloadError(f"{key} on {topic} is not a number: {value!r}") from None
    if not math.isfinite(out):  # "1e999" or NaN would overflow int() or poison comparisons later
        raise PayloadError(f"{key} on {topic} is not a finite number: {value!r}")
    return out


def text(payload: bytes) -> str:
    return payload.decode("utf-8", errors="replace").strip()


def dumps(data: Any) -> str:
    return json.dumps(data, separators=(",", ":"))


def pct_to_mode(pct: int) -> str:
    return "off" if pct <= 0 else "low" if pct <= 33 else "medium" if pct <= 66 else "high"


MODE_PCT = {"off": 0, "low": 33, "medium": 66, "high": 100}


def xy_to_hs(x: float, y: float) -> list[float]:
    """CIE 1931 xy (as Zigbee lights report colour) to hue/saturation."""
    if y <= 0:
        return [0.0, 0.0]
    z = 1.0 - x - y
    big_y = 1.0
    big_x, big_z = big_y / y * x, big_y / y * z
    r = big_x * 1.656492 - big_y * 0.354851 - big_z * 0.255038
    g = -big_x * 0.707196 + big_y * 1.655397 + big_z * 0.036152
    b = big_x * 0.051713 - big_y * 0.121364 + big_z * 1.011530
    m = max(r, g, b, 1e-9)
    r, g, b = (max(0.0, c / m) for c in (r, g, b))
    h, s, _v = colorsys.rgb_to_hsv(r, g, b)
    return [round(h * 360, 1), round(s * 100, 1)]
