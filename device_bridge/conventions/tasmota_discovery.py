"""Tasmota's own discovery (firmware default ``SetOption19 0``).

Each device publishes, retained, ``tasmota/discovery/<MAC>/config`` (its relays, light
subtype, iFan flag, topic and FullTopic, names) and ``tasmota/discovery/<MAC>/sensors``
(``{"sn": {<sensor>: {<quantity>: value}}, "ver": 1}``, a snapshot of its SENSOR
telemetry). An empty payload removes the device.

The controller side validates and interprets these with ``hatasmota`` (Home Assistant's
own Tasmota discovery parser): its schema checks the config, and its entity helpers say
which relay is a switch, a light (with its light type and mired range) or a shutter, whether
there is an iFan, and which readings the sensors message holds (with their units). This
module turns those entities into voicebot ``Device`` objects of the ``tasmota`` convention.
The device side (``board_config``, ``board_sensors``) writes the messages the simulator
publishes, in the shape real firmware sends.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import voluptuous as vol
from hatasmota import discovery as htd
from hatasmota.fan import TasmotaFanConfig
from hatasmota.light import TasmotaLightConfig
from hatasmota.relay import TasmotaRelayConfig
from hatasmota.sensor import TasmotaSensorConfig
from hatasmota.shutter import TasmotaShutterConfig

from device_bridge.conventions import tasmota as tas
from device_bridge.conventions.base import PayloadError, load_object
from device_bridge.devices import Device, DeviceType

DEFAULT_PREFIX = "tasmota/discovery"
DEFAULT_FULLTOPIC = "%prefix%/%topic%/"
DEFAULT_PREFIXES = ["cmnd", "stat", "tele"]
MAC_RE = re.compile(r"^[A-Za-z0-9_-]+$")

# hatasmota's quantities (the keys inside a sensor block) -> (device_class, fallback unit)
QUANTITY_CLASS = {
    "Temperature": "temperature", "DewPoint": "temperature", "Humidity": "humidity",
    "Illuminance": "illuminance", "Pressure": "pressure", "SeaPressure": "pressure",
    "CarbonDioxide": "carbon_dioxide", "eCO2": "carbon_dioxide", "TVOC": "volatile_organic_compounds",
    "Power": "power", "Voltage": "voltage", "Current": "current", "Total": "energy", "Today": "energy",
    "Yesterday": "energy", "Frequency": "frequency", "Moisture": "moisture", "PM2.5": "pm25",
    "PM10": "pm10", "PM1": "pm1", "Weight": "weight", "Distance": "distance",
}
# light types of hatasmota's TasmotaLightConfig -> settable features
LIGHT_FEATURES = {
    0: ["state"], 1: ["state", "brightness"], 2: ["state", "brightness", "color_temp"],
    3: ["state", "brightness", "hs_color"], 4: ["state", "brightness", "hs_color"],
    5: ["state", "brightness", "color_temp", "hs_color"],
}


@dataclass
class Board:
    """What one Tasmota device's discovery said: its devices, or why it was skipped."""

    mac: str
    topic: str | None = None
    devices: list[Device] = field(default_factory=list)
    skipped: str | None = None  # a reason, logged once


def mac_of(topic: str, prefix: str) -> tuple[str, str]:
    """``<prefix>/<MAC>/config`` -> (MAC, "config"|"sensors")."""
    rest = topic[len(prefix) + 1:] if topic.startswith(prefix + "/") else ""
    mac, _, kind = rest.partition("/")
    if not MAC_RE.match(mac) or kind not in ("config", "sensors"):
        raise PayloadError(f"not a Tasmota discovery topic: {topic}")
    return mac, kind


def validate_config(topic: str, payload: bytes, mac: str) -> dict[str, Any]:
    """The config as hatasmota's schema accepts it (defaults filled in)."""
    raw = load_object(topic, payload)
    try:
        config = dict(htd.TasmotaDiscoveryMsg(raw))
    except vol.Invalid as exc:
        raise PayloadError(f"invalid Tasmota discovery config on {topic}: {exc}") from None
    if str(config["mac"]).upper() != mac.upper():
        raise PayloadError(f"MAC {config['mac']} in the config on {topic} is not the topic's")
    return config


def validate_sensors(topic: str, payload: bytes) -> dict[str, Any]:
    raw = load_object(topic, payload)
    try:
        return dict(htd.TASMOTA_SENSOR_DISCOVERY_SCHEMA(raw))
    except vol.Invalid as exc:
        raise PayloadError(f"invalid Tasmota sensors message on {topic}: {exc}") from None


def _id(unique_id: str) -> str:
    return "tasmota_" + re.sub(r"[^a-z0-9]+", "_", unique_id.lower()).strip("_")


def devices_from_board(config: dict[str, Any], sensors: dict[str, Any] | None, discovery_topic: str) -> Board:
    """The devices one Tasmota board offers, per hatasmota's reading of its discovery."""
    mac, t = config["mac"], config["t"]
    board = Board(mac=mac, topic=t)
    if config["ft"] != DEFAULT_FULLTOPIC or list(config["tp"][:3]) != DEFAULT_PREFIXES:
        board.skipped = (f"its FullTopic {config['ft']!r} with prefixes {config['tp']} is not the default "
                         f"{DEFAULT_FULLTOPIC!r} with cmnd/stat/tele, which the tasmota convention addresses")
        return board
    dn = config["dn"] or t
    relays = config["rl"]
    powered = sum(1 for r in relays if r)  # shutters' relays are numbered too
    common = {"topic": t, "mac": mac, "discovery_topic": discovery_topic, "sw_version": config["sw"]}
    if config["onln"] != "Online" or config["ofln"] != "Offline":
        common.update(lwt_online=config["onln"], lwt_offline=config["ofln"])

    def name(idx: int) -> str:
        fn = config["fn"]
        if idx < len(fn) and fn[idx]:
            return str(fn[idx])
        return dn if powered <= 1 else f"{dn} {idx + 1}"

    def make(unique_id: str, nm: str, type_: DeviceType, topics: dict[str, Any], **kw: Any) -> Device:
        return Device(id=_id(unique_id), name=nm, type=type_, convention="tasmota", model=config["md"],
                      manufacturer="Tasmota", source="discovery", topics={**common, **topics}, **kw)

    entities: list[Any] = []
    for platform in ("switch", "light", "cover", "fan"):
        entities += [e for e, _hash in htd.get_entities_for_platform(config, platform) if e is not None]
    for e in entities:
        if isinstance(e, TasmotaShutterConfig):
            n = int(e.idx) + 1
            board.devices.append(make(e.unique_id, dn if n == 1 else f"{dn} shutter {n}", DeviceType.COVER,
                                      {"shutter": n}))
        elif isinstance(e, TasmotaFanConfig):
            board.devices.append(make(e.unique_id, dn, DeviceType.FAN, {}))
        elif isinstance(e, TasmotaLightConfig):
            idx = int(e.idx)
            topics: dict[str, Any] = {"relay": idx + 1 if powered > 1 else None}
            features = list(LIGHT_FEATURES.get(e.light_type, ["state", "brightness"]))
            if e.control_by_channel:
                features = ["state"]  # one PWM channel per light (SetOption68): Channel<n>, not Dimmer
            elif e.dimmer_cmd != "Dimmer":
                topics["dimmer"] = e.dimmer_cmd  # Tuya MCU (Dimmer3) or split RGB/white (Dimmer1/2)
            if e.dimmer_state != "Dimmer" and not e.control_by_channel:
                topics["dimmer_state"] = e.dimmer_state
            ranges = {"color_temp": (e.min_mireds, e.max_mireds)} if "color_temp" in features else {}
            board.devices.append(make(e.unique_id, name(idx), DeviceType.LIGHT, topics, features=features,
                                      ranges=ranges))
        elif isinstance(e, TasmotaRelayConfig):
            idx = int(e.idx)
            type_ = DeviceType.LIGHT if e.platform == "light" else DeviceType.SWITCH
            board.devices.append(make(e.unique_id, name(idx), type_, {"relay": idx + 1 if powered > 1 else None},
                                      features=["state"] if type_ is DeviceType.LIGHT else []))
    if sensors:
        readings = [e for e, _hash in htd.get_sensor_entities(sensors, config) if isinstance(e, TasmotaSensorConfig)]
        counts: dict[str, int] = {}
        for e in readings:
            counts[e.quantity] = counts.get(e.quantity, 0) + 1
        for e in readings:
            if len(e.value_path) != 2:
                continue  # arrays (multi-phase energy) and nested blocks: not addressable by block/field
            block, quantity = str(e.value_path[0]), str(e.value_path[1])
            if block == "ENERGY" and relays and any(relays):
                continue  # a plug's energy readings are its power telemetry, not devices of their own
            nm = f"{dn} {quantity}" if counts[e.quantity] == 1 else f"{dn} {block} {quantity}"
            board.devices.append(make(e.unique_id, nm, DeviceType.SENSOR, {"sensor": block, "field": quantity},
                                      device_class=QUANTITY_CLASS.get(quantity), unit=_unit(e.unit)))
    return board


def _unit(unit: str | None) -> str | None:
    # Tasmota says TempUnit "C"/"F"; hatasmota passes it on as it is
    return {"C": "°C", "F": "°F"}.get(unit or "", unit)


def home_key(device: Device) -> tuple[Any, ...]:
    """What identifies a Tasmota device on its board (to match a home-file device)."""
    t = device.topics
    if device.type in (DeviceType.SWITCH, DeviceType.LIGHT):
        return ("power", int(t.get("relay") or 1))
    if device.type is DeviceType.COVER:
        return ("shutter", int(t.get("shutter") or 1))
    if device.type is DeviceType.FAN:
        return ("fan",)
    if device.type is DeviceType.SENSOR:
        if device.device_class == "power" and not t.get("field"):
            return ("sensor", "ENERGY", "Power")
        return ("sensor", t.get("sensor"), t.get("field") or tas.SENSOR_FIELDS.get(device.device_class or "", "Value"))
    return (device.type.value,)


# -- device side (the simulator) ---------------------------------------------------


def mac_for(topic: str) -> str:
    """A stable MAC for a simulated board. The default topic ``tasmota_XXXXXX`` is the last
    six hex digits of the MAC, as on real firmware."""
    tail = topic[-6:].upper() if re.fullmatch(r"tasmota_[0-9A-Fa-f]{6}", topic) else None
    digest = hashlib.sha1(topic.encode()).hexdigest().upper()
    return "DC4F22" + (tail or digest[:6])


def board_config(topic: str, devices: Iterable[Device], now_name: str | None = None) -> dict[str, Any]:
    """The ``config`` message a Tasmota board with these (home-file) devices publishes."""
    devs = list(devices)
    mac = mac_for(topic)
    relays = [0] * 8
    names: list[str | None] = [None] * 8
    light_subtype, ifan = 0, 0
    switches, switch_names = [-1] * 8, [None] * 8
    for d in devs:
        if d.type in (DeviceType.SWITCH, DeviceType.LIGHT):
            i = int(d.topics.get("relay") or 1) - 1
            if 0 <= i < 8:
                relays[i] = 2 if d.type is DeviceType.LIGHT else 1
                names[i] = d.name
            if d.type is DeviceType.LIGHT:
                f = set(d.features or ["state", "brightness", "color_temp", "hs_color"])
                light_subtype = (5 if {"color_temp", "hs_color"} <= f else 3 if "hs_color" in f
                                 else 2 if "color_temp" in f else 1 if "brightness" in f else 0)
        elif d.type is DeviceType.COVER:
            i = 2 * (int(d.topics.get("shutter") or 1) - 1)
            if 0 <= i < 7:
                relays[i] = relays[i + 1] = 3
                names[i] = d.name
        elif d.type is DeviceType.FAN:
            ifan = 1
        elif d.type is DeviceType.BINARY_SENSOR:
            m = re.fullmatch(r"Switch(\d+)", str(d.topics.get("switch", "Switch1")))
            if m and 0 < int(m.group(1)) <= 8:
                switches[int(m.group(1)) - 1] = 1
                switch_names[int(m.group(1)) - 1] = d.name
    first = devs[0] if devs else None
    dn = now_name or (first.name if first else topic)
    models = [d.model for d in devs if d.model]
    return {
        "ip": "192.168.1." + str(int(mac[-2:], 16) % 200 + 20), "dn": dn, "fn": names,
        "hn": f"{topic.replace('_', '-')}-{mac[-4:]}", "mac": mac, "md": models[0] if models else "Generic",
        "ty": 0, "if": ifan, "ofln": "Offline", "onln": "Online", "state": ["OFF", "ON", "TOGGLE", "HOLD"],
        "sw": "13.1.0", "t": topic, "ft": DEFAULT_FULLTOPIC, "tp": list(DEFAULT_PREFIXES), "rl": relays,
        "swc": switches, "swn": switch_names, "btn": [0, 0, 0, 0, 0, 0, 0, 0],
        "so": {"4": 0, "11": 0, "13": 0, "17": 0, "20": 0, "30": 0, "68": 0, "73": 0, "82": 0, "114": 0, "117": 0},
        "lk": 1, "lt_st": light_subtype, "bat": 0, "dslp": 0, "sho": [], "sht": [], "ver": 1,
    }


def board_sensors(readings: dict[str, Any], time_text: str) -> dict[str, Any]:
    """The ``sensors`` message: a snapshot of the board's SENSOR telemetry."""
    return {"sn": {"Time": time_text, **readings}, "ver": 1}
