"""Home files: areas, hubs and devices in YAML (see docs/device_bridge.md).

Both the bridge (names, areas, aliases, topics) and the simulator (initial state,
faults, battery) read the same file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from device_bridge import conventions
from device_bridge.devices import Area, Device, DeviceType, default_state

# fault parameters the simulator computes with (wrong_reading offset, weak_signal linkquality,
# low_battery level, intermittent period_s/off_s)
FAULT_NUMBERS = ("offset", "linkquality", "level", "period_s", "off_s")
FAULTS = ("offline", "unresponsive", "stuck", "weak_signal", "low_battery", "wrong_reading", "intermittent")


class HomeFileError(ValueError):
    """A home file that cannot be used; the message names the file and the entry."""


@dataclass
class HomeDevice:
    """A device as a home file describes it: the registry entry plus what only the
    simulator needs."""

    device: Device
    state: dict[str, Any]
    faults: list[dict[str, Any]] = field(default_factory=list)
    battery: bool = False  # battery powered: reports battery %, sleeps (does not answer reads)
    power_w: float | None = None  # power drawn when on (plugs, Tasmota with energy metering)


@dataclass
class Home:
    areas: list[Area]
    devices: list[HomeDevice]
    source: str = "<dict>"

    def device(self, id_or_name: str) -> HomeDevice:
        key = slug(id_or_name)
        for hd in self.devices:
            if hd.device.id == id_or_name or slug(hd.device.name) == key:
                return hd
        raise KeyError(id_or_name)


def slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.strip().lower()).strip("_") or "device"


def builtin_home(name: str = "demo") -> Path:
    """The path of a home file shipped with the package (``demo``, ``small``)."""
    return Path(__file__).resolve().parent / "homes" / f"{name}.yaml"


def parse_fault(spec: Any, where: str) -> dict[str, Any]:
    """"offline" or {"type": "wrong_reading", "offset": 6} -> a fault dict."""
    if isinstance(spec, str):
        spec = {"type": spec}
    if not isinstance(spec, dict) or spec.get("type") not in FAULTS:
        raise HomeFileError(f"{where}: fault must be one of {', '.join(FAULTS)} (or a mapping with 'type'), not {spec!r}")
    for key in FAULT_NUMBERS:
        value = spec.get(key)
        if key in spec and (isinstance(value, bool) or not isinstance(value, (int, float))):
            raise HomeFileError(f"{where}: the {spec['type']} fault's {key} must be a number, not {value!r}")
    fixed_by = spec.get("fixed_by", [])
    if not isinstance(fixed_by, list) or not all(isinstance(a, str) for a in fixed_by):
        raise HomeFileError(f"{where}: the {spec['type']} fault's fixed_by must be a list of actions, not {fixed_by!r}")
    return dict(spec)


def load_home(source: Path | str | dict[str, Any]) -> Home:
    """Read a home file (path or an already-parsed mapping). Raises HomeFileError, naming the
    file and the entry, for anything unusable in it."""
    try:
        return _load_home(source)
    except HomeFileError:
        raise
    except (TypeError, ValueError, AttributeError) as exc:  # a value of the wrong kind the checks below missed
        where = source if isinstance(source, (str, Path)) else "<dict>"
        raise HomeFileError(f"{where}: {exc}") from None


def _load_home(source: Path | str | dict[str, Any]) -> Home:
    where = "<dict>"
    if isinstance(source, (str, Path)):
        path = Path(source)
        if not path.exists() and not path.suffix:
            path = builtin_home(str(source))
        where = str(path)
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise HomeFileError(f"cannot read home file {path}: {exc.strerror}") from exc
        except UnicodeDecodeError as exc:
            raise HomeFileError(f"home file {path} is not UTF-8 text (byte {exc.start}); save it as UTF-8") from None
        except yaml.YAMLError as exc:
            raise HomeFileError(f"home file {path} is not valid YAML: {exc}") from exc
    else:
        data = source
    if not isinstance(data, dict):
        raise HomeFileError(f"{where}: a home file is a mapping with 'areas' and 'devices'")
    areas: list[Area] = []
    for i, a in enumerate(data.get("areas") or []):
        if isinstance(a, str):
            a = {"name": a}
        if not isinstance(a, dict) or not isinstance(a.get("name"), str):
            raise HomeFileError(f"{where}: area #{i + 1} needs a name")
        areas.append(Area(a["name"], a.get("floor"), _aliases(a.get("aliases"), f"{where}: area {a['name']!r}")))
    area_names = {a.name.lower(): a.name for a in areas}
    out: list[HomeDevice] = []
    ids: set[str] = set()
    hubs: dict[str, str] = {}  # Z2M base topic -> hub id

    for i, h in enumerate(data.get("hubs") or []):
        w = f"{where}: hub #{i + 1}"
        if not isinstance(h, dict) or not isinstance(h.get("name"), str):
            raise HomeFileError(f"{w} needs a name")
        base = h.get("base_topic", "zigbee2mqtt")
        dev = Device(id=h.get("id") or slug(h["name"]), name=h["name"], type=DeviceType.BINARY_SENSOR,
                     convention="zigbee2mqtt", area=_area(h.get("area"), area_names, w), aliases=list(h.get("aliases") or []),
                     device_class="connectivity", model=h.get("model", "Zigbee2MQTT"), manufacturer=h.get("manufacturer"),
                     topics={"role": "hub", "base_topic": base})
        hubs[base] = dev.id
        ids.add(dev.id)
        out.append(HomeDevice(dev, {"state": "on"}, [parse_fault(f, w) for f in h.get("faults") or []]))

    for i, d in enumerate(data.get("devices") or []):
        w = f"{where}: device #{i + 1}"
        if not isinstance(d, dict) or not isinstance(d.get("name"), str) or not d["name"].strip():
            raise HomeFileError(f"{w} needs a name")
        w = f"{where}: device {d['name']!r}"
        try:
            dtype = DeviceType(str(d.get("type", "")).lower())
        except ValueError:
            raise HomeFileError(f"{w}: type must be one of {', '.join(t.value for t in DeviceType)}") from None
        conv = d.get("convention", "zigbee2mqtt")
        if conv not in conventions.NAMES:
            raise HomeFileError(f"{w}: convention must be one of {', '.join(conventions.NAMES)}")
        dev_id = str(d.get("id") or slug(d["name"]))
        if dev_id in ids:
            raise HomeFileError(f"{w}: another device already has the id {dev_id!r}")
        ids.add(dev_id)
        topics = dict(d.get("topics") or {})
        ranges = {k: (float(v[0]), float(v[1])) for k, v in (d.get("ranges") or {}).items()}
        dev = Device(
            id=dev_id, name=d["name"].strip(), type=dtype, convention=conv, area=_area(d.get("area"), area_names, w),
            aliases=_aliases(d.get("aliases"), w), device_class=d.get("device_class"), unit=d.get("unit"),
            model=_text(d.get("model")), manufacturer=_text(d.get("manufacturer")), topics=topics,
            features=list(d.get("features") or []), ranges=ranges,
            options={k: [str(x) for x in v] for k, v in (d.get("options") or {}).items()},
        )
        if conv == "zigbee2mqtt":
            base = topics.setdefault("base_topic", "zigbee2mqtt")
            if base not in hubs:
                hub = Device(id=slug(f"{base} hub"), name="Zigbee hub", type=DeviceType.BINARY_SENSOR,
                             convention="zigbee2mqtt", device_class="connectivity", model="Zigbee2MQTT",
                             topics={"role": "hub", "base_topic": base})
                hubs[base] = hub.id
                out.insert(0, HomeDevice(hub, {"state": "on"}))
            dev.hub = hubs[base]
        try:
            conventions.get(conv).prepare(dev)
        except ValueError as exc:
            raise HomeFileError(f"{w}: {exc}") from None
        state = default_state(dtype)
        given = d.get("state") or {}
        if not isinstance(given, dict):
            raise HomeFileError(f"{w}: state must be a mapping of Home Assistant attribute names")
        for key, value in given.items():
            default = state.get(key)
            wants_number = isinstance(default, (int, float)) and not isinstance(default, bool) and key != "state"
            if wants_number and (isinstance(value, bool) or not isinstance(value, (int, float))):
                raise HomeFileError(f"{w}: state.{key} must be a number (like {default}), not {value!r}")
        state.update({k: (v.lower() if isinstance(v, str) and k == "state" else v) for k, v in given.items()})
        if dtype is DeviceType.CLIMATE:
            state["state"] = state.get("hvac_mode", "heat")
        faults = [parse_fault(f, w) for f in d.get("faults") or []]
        battery = bool(d.get("battery", dtype in (DeviceType.SENSOR, DeviceType.BINARY_SENSOR) and conv == "zigbee2mqtt"))
        power = d.get("power")
        if power is not None and (isinstance(power, bool) or not isinstance(power, (int, float))):
            raise HomeFileError(f"{w}: power must be a number of watts, not {power!r}")
        out.append(HomeDevice(dev, state, faults, battery, power))
    for hd in out:
        if hd.device.topics.get("role") == "hub":
            conventions.get("zigbee2mqtt").prepare(hd.device)
    return Home(areas, out, where)


def ha_fixture_home(data: dict[str, Any]) -> dict[str, Any]:
    """A home in Home Assistant's test-fixture shape (``floors``, ``areas`` and ``entities`` with
    ``light.kitchen`` ids, area and floor ids, ``attributes``) as a home-file mapping."""
    floors = {f.get("id", f.get("name")): f.get("name") for f in data.get("floors") or [] if isinstance(f, dict)}
    area_names: dict[str, str] = {}
    areas: list[dict[str, Any]] = []
    for a in data.get("areas") or []:
        if not isinstance(a, dict) or not isinstance(a.get("name"), str):
            continue
        area_names[str(a.get("id", a["name"]))] = a["name"]
        entry: dict[str, Any] = {"name": a["name"]}
        if a.get("floor") is not None:
            entry["floor"] = floors.get(a["floor"], a["floor"])
        if a.get("aliases"):
            entry["aliases"] = list(a["aliases"])
        areas.append(entry)
    devices: list[dict[str, Any]] = []
    known = {t.value for t in DeviceType}
    seen: set[str] = set()
    for e in data.get("entities") or []:
        if not isinstance(e, dict) or not isinstance(e.get("name"), str) or "." not in str(e.get("id", "")):
            continue
        domain = str(e["id"]).split(".", 1)[0]
        if domain not in known:
            continue  # not a Home Assistant domain (a fixture's typo): nothing to know it by
        attributes = dict(e.get("attributes") or {})
        entity_id = str(e["id"])
        while entity_id in seen:  # a fixture that repeats an id: keep both entities
            entity_id += "_2"
        seen.add(entity_id)
        device: dict[str, Any] = {"name": e["name"], "id": entity_id, "type": domain, "convention": "homeassistant"}
        if e.get("area") is not None:
            device["area"] = area_names.get(str(e["area"]), str(e["area"]))
        if attributes.get("device_class"):
            device["device_class"] = str(attributes.pop("device_class"))
        if attributes.get("unit_of_measurement"):
            device["unit"] = str(attributes.pop("unit_of_measurement"))
        if e.get("aliases"):
            device["aliases"] = list(e["aliases"])
        state = {"state": e.get("state")} if e.get("state") is not None else {}
        # fixtures write numbers as text ("50"); the home file wants them as numbers
        state.update({k: _number_or_text(v) for k, v in attributes.items()})
        device["state"] = state
        devices.append(device)
    return {"areas": areas, "devices": devices}


def _area(name: Any, known: dict[str, str], where: str) -> str | None:
    if name is None:
        return None
    if not isinstance(name, str):
        raise HomeFileError(f"{where}: area must be a name")
    if known and name.lower() not in known:
        raise HomeFileError(f"{where}: area {name!r} is not among the home's areas ({', '.join(known.values())})")
    return known.get(name.lower(), name)


def _number_or_text(value: Any) -> Any:
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            return value
        return int(number) if number.is_integer() else number
    return value


def _aliases(value: Any, where: str) -> list[str]:
    """Aliases: a list, or per language a mapping ``{de: [Küche], es: [cocina]}`` (every
    language's aliases are understood in every language, as a room's own name is)."""
    if value is None:
        return []
    if isinstance(value, dict):
        value = [a for words in value.values() for a in ([words] if isinstance(words, str) else words or [])]
    if isinstance(value, str) or not isinstance(value, list) or not all(isinstance(a, (str, int, float)) for a in value):
        raise HomeFileError(f"{where}: aliases must be a list of names, or a mapping of languages to lists")
    return [str(a) for a in value]


def _text(value: Any) -> str | None:
    return None if value is None else str(value)
