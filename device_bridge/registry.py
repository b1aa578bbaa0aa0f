"""The device registry: devices from a home file, Home Assistant discovery, Tasmota's
own discovery and Zigbee2MQTT's bridge/devices, merged into one list.

A home file names the devices people talk about (names, aliases, areas); discovery
tells what they can do. When both describe the same device (same unique_id, same
Zigbee2MQTT friendly name / IEEE address, or same Tasmota topic and relay / shutter /
reading) they are merged: the home file's words
win, discovery's topics and capabilities win.
"""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass, replace
from typing import Any

from device_bridge.conventions import PayloadError
from device_bridge.conventions import get as convention
from device_bridge.conventions import homeassistant as ha
from device_bridge.conventions import tasmota_discovery as tdisc
from device_bridge.conventions import zigbee2mqtt as z2m
from device_bridge.devices import Area, Device, DeviceType
from device_bridge.home import Home, slug

log = logging.getLogger(__name__)


@dataclass
class Change:
    kind: str  # added | changed | removed
    device: Device


class _DeviceTable(dict[str, Device]):
    """Devices by id, with Tasmota devices also indexed by their Tasmota topic: matching a
    discovered relay against the home file scanned every device of the home for each
    discovery message, which made a 5,000-device home take a minute to fill."""

    def __init__(self) -> None:
        super().__init__()
        self.tasmota_by_topic: dict[str, dict[str, Device]] = {}

    def __setitem__(self, key: str, dev: Device) -> None:
        if key in self:
            self._unindex(key)
        super().__setitem__(key, dev)
        if dev.convention == "tasmota" and isinstance(dev.topics.get("topic"), str):
            self.tasmota_by_topic.setdefault(dev.topics["topic"], {})[key] = dev

    def __delitem__(self, key: str) -> None:
        self._unindex(key)
        super().__delitem__(key)

    def _unindex(self, key: str) -> None:
        old = self[key]
        same = self.tasmota_by_topic.get(old.topics.get("topic"), {}) if old.convention == "tasmota" else {}
        same.pop(key, None)


class Registry:
    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._devices: _DeviceTable = _DeviceTable()
        self._areas: list[Area] = []
        self._discovery_keys: dict[str, list[str]] = {}  # HA discovery key -> device ids
        # Tasmota discovery, per MAC: the validated config and sensors messages, the ids of
        # the devices they gave (added or matched) and the skip reasons already logged
        self._tasmota_configs: dict[str, dict[str, Any]] = {}
        self._tasmota_sensors: dict[str, dict[str, Any]] = {}
        self._tasmota_ids: dict[str, list[str]] = {}
        self._tasmota_skips: set[tuple[str, str]] = set()
        self._z2m_skips: set[tuple[str, str]] = set()  # (base topic, problem) of ignored listings

    # -- reading --------------------------------------------------------------

    def devices(self) -> list[Device]:
        with self._lock:
            return list(self._devices.values())

    def areas(self) -> list[Area]:
        with self._lock:
            known = {a.name.lower() for a in self._areas}
            extra = sorted({d.area for d in self._devices.values() if d.area and d.area.lower() not in known})
            return list(self._areas) + [Area(name) for name in extra]

    def get(self, device_id: str) -> Device | None:
        with self._lock:
            return self._devices.get(device_id)

    def resolve(self, key: str) -> Device | None:
        """By id, then by name or alias (case and punctuation ignored)."""
        with self._lock:
            if key in self._devices:
                return self._devices[key]
            wanted = slug(key)
            for d in self._devices.values():
                if slug(d.name) == wanted or any(slug(a) == wanted for a in d.aliases):
                    return d
        return None

    def find(self, name: str | None = None, area: str | None = None, type: str | None = None) -> list[Device]:
        with self._lock:
            out = []
            for d in self._devices.values():
                if name and slug(name) not in {slug(d.name), d.id, *(slug(a) for a in d.aliases)}:
                    continue
                if area and (d.area is None or slug(d.area) != slug(area)) and not self._area_alias(area, d.area):
                    continue
                if type and d.type.value != type:
                    continue
                out.append(d)
            return out

    def _area_alias(self, spoken: str, area: str | None) -> bool:
        return any(a.name == area and slug(spoken) in {slug(x) for x in a.aliases} for a in self._areas)

    # -- sources ----------------------------------------------------------------

    def load_home(self, home: Home) -> list[Change]:
        with self._lock:
            self._areas = list(home.areas)
            changes = []
            for hd in home.devices:
                dev = replace(hd.device, topics=dict(hd.device.topics))
                self._devices[dev.id] = dev
                changes.append(Change("added", dev))
            return changes

    def apply_discovery(self, topic: str, payload: bytes, prefix: str) -> list[Change]:
        try:
            keys, found = ha.devices_from_discovery(topic, payload, prefix)
        except PayloadError as exc:
            log.warning("skipped discovery message on %s: %s", topic, exc)
            return []
        except (ValueError, TypeError, KeyError) as exc:
            log.warning("skipped discovery message on %s: %s", topic, exc)
            return []
        key = keys[0]
        changes: list[Change] = []
        with self._lock:
            before = set(self._discovery_keys.get(key, []))
            now: list[str] = []
            for dev in found:
                existing = self._devices.get(dev.id)
                if _from_zigbee2mqtt(dev):
                    # Z2M publishes HA discovery for its own devices (on by default); they are
                    # known, with their capabilities, from bridge/devices already
                    log.debug("discovery on %s comes from Zigbee2MQTT; its bridge/devices is used instead", topic)
                    continue
                if existing is not None and existing.convention != "homeassistant":
                    log.debug("discovery on %s describes %s, known through %s", topic, dev.id, existing.convention)
                    continue
                if existing is not None:
                    merged = replace(
                        existing,
                        topics={**existing.topics, "config": dev.topics["config"], "discovery_topic": topic},
                        features=dev.features or existing.features,
                        ranges={**existing.ranges, **dev.ranges},
                        options={**existing.options, **dev.options},
                        model=existing.model or dev.model,
                        manufacturer=existing.manufacturer or dev.manufacturer,
                        device_class=existing.device_class or dev.device_class,
                        unit=existing.unit or dev.unit,
                    )
                    if merged != existing:
                        self._devices[dev.id] = merged
                        changes.append(Change("changed", merged))
                else:
                    self._devices[dev.id] = dev
                    changes.append(Change("added", dev))
                now.append(dev.id)
            changes += self._retire(self._discovery_keys, key, before, now)
        return changes

    def apply_tasmota_discovery(self, topic: str, payload: bytes, prefix: str = tdisc.DEFAULT_PREFIX) -> list[Change]:
        """``<prefix>/<MAC>/config`` or ``/sensors`` from Tasmota firmware: the board's
        devices appear, change, or disappear (empty payload)."""
        try:
            mac, kind = tdisc.mac_of(topic, prefix)
            if kind == "config":
                config = tdisc.validate_config(topic, payload, mac) if payload else None
            else:
                sensors = tdisc.validate_sensors(topic, payload) if payload else None
        except PayloadError as exc:
            log.warning("skipped Tasmota discovery on %s: %s", topic, exc)
            return []
        with self._lock:
            if kind == "config":
                if config is None:
                    self._tasmota_configs.pop(mac, None)
                else:
                    self._tasmota_configs[mac] = config
            elif sensors is None:
                self._tasmota_sensors.pop(mac, None)
            else:
                self._tasmota_sensors[mac] = sensors
            config = self._tasmota_configs.get(mac)
            found: list[Device] = []
            if config is not None:
                try:
                    board = tdisc.devices_from_board(config, self._tasmota_sensors.get(mac),
                                                     f"{prefix}/{mac}/config")
                except (PayloadError, ValueError, TypeError, KeyError, IndexError, AttributeError) as exc:
                    log.warning("skipped Tasmota discovery on %s: %s", topic, exc)
                    return []
                if board.skipped:
                    if (mac, board.skipped) not in self._tasmota_skips:
                        self._tasmota_skips.add((mac, board.skipped))
                        log.warning("skipped Tasmota device %s (topic %s) from %s: %s", mac, board.topic, topic,
                                    board.skipped)
                else:
                    found = board.devices
            return self._merge_tasmota(mac, found)

    def _merge_tasmota(self, mac: str, found: list[Device]) -> list[Change]:
        changes: list[Change] = []
        before = set(self._tasmota_ids.get(mac, []))
        now: list[str] = []
        for dev in found:
            existing = self._match_tasmota(dev)
            if existing is not None and existing.source != "discovery":
                # a home-file device on the same board: the home file's words win,
                # discovery's topics and capabilities win
                topics = {**existing.topics, **dev.topics}
                merged = replace(
                    existing, topics=topics,
                    features=(dev.features if dev.type is existing.type else []) or existing.features,
                    ranges={**existing.ranges, **(dev.ranges if dev.type is existing.type else {})},
                    model=existing.model or dev.model, manufacturer=existing.manufacturer or dev.manufacturer,
                    device_class=existing.device_class or dev.device_class, unit=existing.unit or dev.unit,
                )
                if merged != existing:
                    self._devices[existing.id] = merged
                    changes.append(Change("changed", merged))
                now.append(existing.id)
                continue
            other = self._devices.get(dev.id)
            if other is not None and other.convention != "tasmota":
                log.warning("Tasmota discovery of %s: id %s is taken by another device", mac, dev.id)
                continue
            if other is None:
                convention("tasmota").prepare(dev)
                self._devices[dev.id] = dev
                changes.append(Change("added", dev))
            else:
                merged = replace(dev, area=other.area, aliases=other.aliases)
                if merged != other:
                    self._devices[dev.id] = merged
                    changes.append(Change("changed", merged))
            now.append(dev.id)
        return changes + self._retire(self._tasmota_ids, mac, before, now, convention="tasmota")

    def _retire(self, ids: dict[str, list[str]], key: str, before: set[str], now: list[str],
                convention: str | None = None) -> list[Change]:
        """A discovery message under ``key`` now announces ``now``: the discovered devices it
        announced before and no longer are removed, and ``ids`` remembers the new set."""
        changes = []
        for gone in before - set(now):
            dev = self._devices.get(gone)
            if dev is not None and dev.source == "discovery" and convention in (None, dev.convention):
                del self._devices[gone]
                changes.append(Change("removed", dev))
        if now:
            ids[key] = now
        else:
            ids.pop(key, None)
        return changes

    def _match_tasmota(self, dev: Device) -> Device | None:
        """A device already known on the same Tasmota topic and output (relay, shutter,
        fan, or sensor reading): a home-file device, or this very discovered one."""
        if dev.id in self._devices and self._devices[dev.id].convention == "tasmota":
            return self._devices[dev.id]
        key = tdisc.home_key(dev)
        same_topic = [d for d in self._devices.tasmota_by_topic.get(dev.topics["topic"], {}).values()
                      if d.source != "discovery" and d.topics.get("topic") == dev.topics["topic"]]
        for d in same_topic:
            if tdisc.home_key(d) == key:
                return d
        if key[0] == "sensor":
            # the home file may not name the sensor block (AM2301, DS18B20…): the reading alone
            same = [d for d in same_topic if d.type is DeviceType.SENSOR and tdisc.home_key(d)[2] == key[2]]
            if len(same) == 1:
                return same[0]
        return None

    def apply_z2m_devices(self, base_topic: str, payload: bytes) -> list[Change]:
        try:
            entries = json.loads(payload)
        except (UnicodeDecodeError, ValueError):
            log.warning("skipped %s/bridge/devices: not JSON", base_topic)
            return []
        problem = z2m.listing_problem(entries)
        if problem is not None:
            # the devices stay as they are; the same problem is logged once, not per message
            if (base_topic, problem) not in self._z2m_skips:
                self._z2m_skips.add((base_topic, problem))
                log.warning("ignored %s/bridge/devices: %s; the known devices are kept", base_topic, problem)
            return []
        changes: list[Change] = []
        with self._lock:
            hub_id = next((d.id for d in self._devices.values()
                           if d.topics.get("role") == "hub" and d.topics.get("base_topic") == base_topic), None)
            seen: set[str] = set()
            # the base topic's devices by IEEE address and friendly name, built once: scanning
            # the whole registry for each entry made a 5,000-device listing take seconds
            by_ieee: dict[str, Device] = {}
            by_name: dict[str, Device] = {}
            for d in self._devices.values():
                if (d.convention == "zigbee2mqtt" and d.topics.get("base_topic") == base_topic
                        and d.topics.get("role") != "hub"):
                    by_ieee.setdefault(d.topics.get("ieee_address"), d)  # type: ignore[arg-type]
                    by_name.setdefault(d.topics.get("friendly_name"), d)  # type: ignore[arg-type]
            for entry in entries:
                try:
                    dev = z2m.device_from_entry(entry, base_topic)
                except PayloadError as exc:
                    log.warning("skipped an entry of %s/bridge/devices: %s", base_topic, exc)
                    continue
                if dev is None:
                    continue
                dev.hub = hub_id
                existing = by_ieee.get(dev.topics["ieee_address"]) or by_name.get(dev.topics["friendly_name"])
                if existing is not None:
                    seen.add(existing.id)
                    topics = {**existing.topics, "friendly_name": dev.topics["friendly_name"],
                              "ieee_address": dev.topics["ieee_address"]}
                    for k in ("setpoint", "value_key", "true_is_on"):
                        if k in dev.topics and (existing.source == "zigbee2mqtt" or k == "setpoint"):
                            topics[k] = dev.topics[k]
                    merged = replace(
                        existing, topics=topics, features=dev.features or existing.features,
                        ranges={**existing.ranges, **dev.ranges}, options={**existing.options, **dev.options},
                        model=dev.model or existing.model,
                        manufacturer=dev.manufacturer or existing.manufacturer, hub=existing.hub or hub_id,
                        name=existing.name if existing.source != "zigbee2mqtt" else dev.name,
                    )
                    if merged != existing:
                        self._devices[existing.id] = merged
                        changes.append(Change("changed", merged))
                        _index_z2m(by_ieee, by_name, existing, merged)
                else:
                    convention("zigbee2mqtt").prepare(dev)
                    self._devices[dev.id] = dev
                    _index_z2m(by_ieee, by_name, None, dev)
                    seen.add(dev.id)
                    changes.append(Change("added", dev))
            for dev in list(self._devices.values()):
                if (dev.source == "zigbee2mqtt" and dev.topics.get("base_topic") == base_topic and dev.id not in seen):
                    del self._devices[dev.id]
                    changes.append(Change("removed", dev))
        return changes

    def hubs(self) -> dict[str, str]:
        """Z2M base topic -> hub device id."""
        with self._lock:
            return {d.topics["base_topic"]: d.id for d in self._devices.values() if d.topics.get("role") == "hub"}

    def add_hub(self, base_topic: str) -> Change | None:
        with self._lock:
            if base_topic in self.hubs():
                return None
            hub = Device(id=slug(f"{base_topic} hub"), name="Zigbee hub", type=DeviceType.BINARY_SENSOR,
                         convention="zigbee2mqtt", device_class="connectivity", model="Zigbee2MQTT", source="zigbee2mqtt",
                         topics={"role": "hub", "base_topic": base_topic})
            convention("zigbee2mqtt").prepare(hub)
            self._devices[hub.id] = hub
            for d in self._devices.values():
                if d.convention == "zigbee2mqtt" and d.topics.get("base_topic") == base_topic and d.id != hub.id:
                    d.hub = d.hub or hub.id
            return Change("added", hub)


def _index_z2m(by_ieee: dict[str, Device], by_name: dict[str, Device], old: Device | None, new: Device) -> None:
    """Keep apply_z2m_devices' lookups in step with a device it added or changed."""
    for index, key in ((by_ieee, "ieee_address"), (by_name, "friendly_name")):
        if old is not None and index.get(old.topics.get(key)) is old:  # type: ignore[arg-type]
            del index[old.topics[key]]
        index.setdefault(new.topics.get(key), new)  # type: ignore[arg-type]


def _from_zigbee2mqtt(dev: Device) -> bool:
    config = dev.topics.get("config", {})
    origin = config.get("origin") if isinstance(config.get("origin"), dict) else {}
    return origin.get("name") == "Zigbee2MQTT" or str(config.get("unique_id", "")).endswith("_zigbee2mqtt")


def summary(device: Device) -> dict[str, Any]:
    return {"id": device.id, "name": device.name, "type": device.type.value, "area": device.area,
            "convention": device.convention, "aliases": device.aliases, "source": device.source}
