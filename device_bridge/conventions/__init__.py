"""MQTT conventions: how each device family maps to topics and payloads.

Each module covers both ends of the wire: the controller side used by the bridge
(subscriptions, parse, command, query) and the device side used by the simulator
(device_subscriptions, decode_command, report, availability, announce). Keeping the
two together means a change to a topic scheme cannot drift between them.
"""

from __future__ import annotations

from device_bridge.conventions import homeassistant, tasmota, zigbee2mqtt
from device_bridge.conventions.base import (
    MODE_PCT,
    QUERY,
    Convention,
    Observation,
    Outgoing,
    PayloadError,
    dumps,
    load_json,
    load_object,
    number,
    pct_to_mode,
    text,
    xy_to_hs,
)

__all__ = [
    "MODE_PCT", "NAMES", "QUERY", "Convention", "Observation", "Outgoing", "PayloadError", "dumps", "get",
    "load_json", "load_object", "number", "pct_to_mode", "text", "xy_to_hs",
]

_TABLE: dict[str, Convention] = {
    "zigbee2mqtt": zigbee2mqtt.CONVENTION,
    "homeassistant": homeassistant.CONVENTION,
    "tasmota": tasmota.CONVENTION,
}
NAMES = tuple(_TABLE)


def get(name: str) -> Convention:
    try:
        return _TABLE[name]
    except KeyError:
        raise ValueError(f"unknown convention {name!r}: use zigbee2mqtt, homeassistant or tasmota") from None
