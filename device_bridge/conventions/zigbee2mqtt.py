"""Zigbee2MQTT: JSON state on ``<base>/<friendly_name>``, commands on ``.../set``
(JSON, or ``.../set/<attribute>`` with a plain value), reads on ``.../get``,
availability on ``.../availability`` (``{"state":"online"}``; plain ``online`` from
older versions), the bridge's own state on ``<base>/bridge/state`` and the retained
device list with capabilities ("exposes") on ``<base>/bridge/devices``.

Z2M names differ from Home Assistant's: brightness 0-254, ``color`` {hue, saturation}
or {x, y}, covers OPEN/CLOSE, locks LOCK/UNLOCK with ``lock_state``, thermostats
``occupied_heating_setpoint``/``local_temperature``/``system_mode``, door sensors
``contact`` (true = closed), motion ``occupancy``, leaks ``water_leak``.
"""

from __future__ import annotations

import contextlib
import hashlib
import time
from datetime import UTC, datetime
from typing import Any

from device_bridge.conventions.base import (
    MODE_PCT,
    QUERY,
    Observation,
    Outgoing,
    PayloadError,
    dumps,
    load_object,
    number,
    pct_to_mode,
    text,
    xy_to_hs,
)
from device_bridge.devices import Device, DeviceType, supported

# binary_sensor device_class -> (Z2M property, value meaning "on" in HA terms)
BINARY_KEYS: dict[str, tuple[str, bool]] = {
    "motion": ("occupancy", True),
    "occupancy": ("occupancy", True),
    "presence": ("presence", True),
    "door": ("contact", False),  # contact true = closed = HA "off"
    "window": ("contact", False),
    "opening": ("contact", False),
    "garage_door": ("contact", False),
    "moisture": ("water_leak", True),
    "smoke": ("smoke", True),
    "vibration": ("vibration", True),
    "gas": ("gas", True),
    "tamper": ("tamper", True),
}
SENSOR_KEYS: dict[str, str] = {
    "temperature": "temperature",
    "humidity": "humidity",
    "illuminance": "illuminance",
    "pressure": "pressure",
    "carbon_dioxide": "co2",
    "power": "power",
    "energy": "energy",
    "voc": "voc",
    "pm25": "pm25",
}
SENSOR_UNITS = {"temperature": "°C", "humidity": "%", "illuminance": "lx", "pressure": "hPa",
                "carbon_dioxide": "ppm", "power": "W", "energy": "kWh"}
_TELEMETRY_KEYS = ("linkquality", "battery", "last_seen", "power")


class Zigbee2Mqtt:
    name = "zigbee2mqtt"

    # -- topics ---------------------------------------------------------------

    def prepare(self, device: Device) -> None:
        t = device.topics
        t.setdefault("base_topic", "zigbee2mqtt")
        t.setdefault("friendly_name", device.id)
        if "ieee_address" not in t:
            digest = hashlib.sha1(device.id.encode()).hexdigest()[:16]
            t["ieee_address"] = f"0x{digest}"
        if device.type is DeviceType.CLIMATE:
            t.setdefault("setpoint", "occupied_heating_setpoint")
        if device.type is DeviceType.SENSOR:
            t.setdefault("value_key", SENSOR_KEYS.get(device.device_class or "", device.device_class or "value"))
            if device.unit is None:
                device.unit = SENSOR_UNITS.get(device.device_class or "")
        if device.type is DeviceType.BINARY_SENSOR:
            key, on = BINARY_KEYS.get(device.device_class or "", ("state", True))
            t.setdefault("value_key", key)
            t.setdefault("true_is_on", on)

    @staticmethod
    def _base(device: Device) -> str:
        return f"{device.topics['base_topic']}/{device.topics['friendly_name']}"

    def subscriptions(self, device: Device) -> list[str]:
        if device.topics.get("role") == "hub":
            return [f"{device.topics['base_topic']}/bridge/state"]
        base = self._base(device)
        return [base, f"{base}/availability"]

    # -- controller side ------------------------------------------------------

    def parse(self, device: Device, topic: str, payload: bytes) -> Observation | None:
        if device.topics.get("role") == "hub" or topic.endswith("/availability"):
            return Observation(telemetry={"available": parse_online(topic, payload)},
                               state={"state": "on" if parse_online(topic, payload) else "off"}
                               if device.topics.get("role") == "hub" else {})
        if not payload:
            return None
        data = load_object(topic, payload)
        return from_z2m(device, topic, data)

    def command(self, device: Device, changes: dict[str, Any], current: dict[str, Any]) -> list[Outgoing]:
        return [Outgoing(f"{self._base(device)}/set", dumps(to_z2m(device, changes, command=True)))]

    def query(self, device: Device) -> list[Outgoing]:
        keys = _QUERY_KEYS.get(device.type)
        if not keys:
            return []  # battery sensors sleep and do not answer reads
        if device.type is DeviceType.CLIMATE:
            keys = [device.topics.get("setpoint", "occupied_heating_setpoint"), *keys]
        return [Outgoing(f"{self._base(device)}/get", dumps(dict.fromkeys(keys, "")), expect=self._base(device))]

    # -- device side ------------------------------------------------------------

    def device_subscriptions(self, device: Device) -> list[str]:
        if device.topics.get("role") == "hub":
            return []
        base = self._base(device)
        return [f"{base}/set", f"{base}/set/+", f"{base}/get"]

    def decode_command(self, device: Device, topic: str, payload: bytes) -> dict[str, Any] | str | None:
        base = self._base(device)
        if topic == f"{base}/get":
            return QUERY
        if topic == f"{base}/set":
            data = load_object(topic, payload)
        elif topic.startswith(f"{base}/set/"):
            attr = topic[len(base) + 5 :]
            raw = text(payload)
            value: Any = raw
            with contextlib.suppress(ValueError):
                value = float(raw) if "." in raw else int(raw)
            data = {attr: value}
        else:
            return None
        return from_z2m(device, topic, data, command=True).state

    def report(self, device: Device, state: dict[str, Any], telemetry: dict[str, Any]) -> list[Outgoing]:
        if device.topics.get("role") == "hub":
            return []
        data = to_z2m(device, state, command=False)
        for key in _TELEMETRY_KEYS:
            if telemetry.get(key) is not None:
                data[key] = telemetry[key]
        if "last_seen" in data:
            data["last_seen"] = datetime.fromtimestamp(float(data["last_seen"]), UTC).isoformat(timespec="milliseconds")
        return [Outgoing(self._base(device), dumps(data), retain=bool(device.topics.get("retain", True)))]

    def availability(self, device: Device, online: bool) -> list[Outgoing]:
        payload = dumps({"state": "online" if online else "offline"})
        if device.topics.get("role") == "hub":
            return [Outgoing(f"{device.topics['base_topic']}/bridge/state", payload, retain=True)]
        return [Outgoing(f"{self._base(device)}/availability", payload, retain=True)]

    def announce(self, device: Device) -> list[Outgoing]:
        return []  # Z2M announces every device at once in bridge/devices: see bridge_devices()


CONVENTION = Zigbee2Mqtt()


def parse_online(topic: str, payload: bytes) -> bool:
    raw = text(payload)
    state = load_object(topic, payload).get("state") if raw.startswith("{") else raw
    if not isinstance(state, str) or state.lower() not in ("online", "offline"):
        raise PayloadError(f"availability on {topic} is neither online nor offline: {raw[:40]!r}")
    return state.lower() == "online"


_QUERY_KEYS: dict[DeviceType, list[str]] = {
    DeviceType.LIGHT: ["state", "brightness", "color_temp", "color"],
    DeviceType.SWITCH: ["state"],
    DeviceType.FAN: ["fan_state", "fan_mode"],
    DeviceType.COVER: ["position", "state"],
    DeviceType.CLIMATE: ["local_temperature", "system_mode"],
    DeviceType.LOCK: ["state"],
    DeviceType.VALVE: ["state"],
}


# -- state mapping ---------------------------------------------------------------


def to_z2m(device: Device, ha: dict[str, Any], command: bool) -> dict[str, Any]:
    """Home Assistant names to Z2M's. With command=False it renders a full state report."""
    t, out = device.type, {}
    on_off = {"on": "ON", "off": "OFF", None: ""}
    if t in (DeviceType.LIGHT, DeviceType.SWITCH):
        if "state" in ha:
            out["state"] = on_off.get(ha["state"], str(ha["state"]).upper())
        if t is DeviceType.LIGHT:
            if "brightness" in ha:
                out["brightness"] = None if ha["brightness"] is None else round(ha["brightness"] * 254 / 255)
            if "color_temp" in ha:
                out["color_temp"] = ha["color_temp"]
            if "hs_color" in ha:
                hs = ha["hs_color"]
                out["color"] = {} if hs is None else {"hue": hs[0], "saturation": hs[1]}
                if not command and hs is not None:
                    out["color_mode"] = "hs"
            if not command and "hs_color" not in ha and "color_temp" in ha:
                out["color_mode"] = "color_temp"
    elif t is DeviceType.FAN:
        if "state" in ha:
            out["fan_state"] = on_off.get(ha["state"], "")
        mode = ha.get("preset_mode")
        if "percentage" in ha and "preset_mode" not in ha and ha["percentage"] is not None:
            mode = pct_to_mode(int(ha["percentage"]))
        if mode is not None or "preset_mode" in ha:
            out["fan_mode"] = mode or ""
    elif t is DeviceType.COVER:
        if command:
            if "state" in ha:
                out["state"] = {"open": "OPEN", "closed": "CLOSE", "stopped": "STOP", None: ""}[ha["state"]]
            if "position" in ha:
                out["position"] = ha["position"]
        else:
            pos = ha.get("current_position", 0)
            out["position"] = pos
            out["state"] = "CLOSE" if ha.get("state") == "closed" else "OPEN"
            out["moving"] = {"opening": "UP", "closing": "DOWN"}.get(str(ha.get("state")), "STOP")
    elif t is DeviceType.CLIMATE:
        setpoint = device.topics.get("setpoint", "occupied_heating_setpoint")
        if "temperature" in ha:
            out[setpoint] = ha["temperature"]
        if "hvac_mode" in ha:
            out["system_mode"] = ha["hvac_mode"] or ""
        if "fan_mode" in ha:
            out["fan_mode"] = ha["fan_mode"] or ""
        if not command:
            if "current_temperature" in ha:
                out["local_temperature"] = ha["current_temperature"]
            mode = ha.get("hvac_mode")
            cur, target = ha.get("current_temperature"), ha.get("temperature")
            running = "idle"
            if mode in ("heat", "auto") and cur is not None and target is not None and cur < target - 0.2:
                running = "heat"
            elif mode in ("cool", "auto") and cur is not None and target is not None and cur > target + 0.2:
                running = "cool"
            out["running_state"] = running
    elif t is DeviceType.LOCK:
        if command:
            if "state" in ha:
                out["state"] = {"locked": "LOCK", "unlocked": "UNLOCK", None: ""}[ha["state"]]
        else:
            s = ha.get("state")
            out["state"] = "LOCK" if s in ("locked", "jammed") else "UNLOCK"
            out["lock_state"] = {"locked": "locked", "unlocked": "unlocked", "jammed": "not_fully_locked"}.get(
                str(s), "unlocked"
            )
    elif t is DeviceType.SENSOR:
        key = device.topics.get("value_key", "value")
        if not command:
            out[key] = ha.get("state")
            for k, v in ha.items():
                if k not in ("state",):
                    out[k] = v
    elif t is DeviceType.BINARY_SENSOR:
        key = device.topics.get("value_key", "state")
        true_is_on = device.topics.get("true_is_on", True)
        if not command:
            on = ha.get("state") == "on"
            out[key] = on if true_is_on else not on
    elif t is DeviceType.VALVE:
        # Zigbee water/gas valves (Sonoff SWV, Tuya) expose an ON/OFF "state": ON is open
        if "state" in ha:
            out["state"] = {"open": "ON", "closed": "OFF"}.get(str(ha["state"]), str(ha["state"]).upper())
    elif t is DeviceType.SCENE:
        # a Zigbee scene is recalled on its group: {"scene_recall": <scene id>}; it has no state
        if command:
            out["scene_recall"] = device.topics.get("scene_id", 1)
    else:  # media_player, vacuum, script and the read-only domains: Home Assistant names as they are
        out = {k: v for k, v in ha.items()}
    return out


def from_z2m(device: Device, topic: str, data: dict[str, Any], command: bool = False) -> Observation:
    """Z2M names (a state report, or a command when command=True) to Home Assistant's."""
    t, st, tel = device.type, {}, {}

    def onoff(key: str) -> str | None:
        v = data.get(key)
        if v is None:
            return None
        if not isinstance(v, str) or v.upper() not in ("ON", "OFF", "TOGGLE"):
            raise PayloadError(f"{key} on {topic} must be ON or OFF, not {v!r}")
        return v.lower()

    if t in (DeviceType.LIGHT, DeviceType.SWITCH):
        if "state" in data:
            st["state"] = onoff("state")
        if t is DeviceType.LIGHT:
            if "brightness" in data and data["brightness"] is not None:
                st["brightness"] = round(number(topic, "brightness", data["brightness"]) * 255 / 254)
            if "color_temp" in data and data["color_temp"] is not None:
                st["color_temp"] = round(number(topic, "color_temp", data["color_temp"]))
            color = data.get("color")
            if isinstance(color, dict) and data.get("color_mode") != "color_temp":
                if "hue" in color and "saturation" in color:
                    st["hs_color"] = [number(topic, "hue", color["hue"]), number(topic, "saturation", color["saturation"])]
                elif "h" in color and "s" in color:
                    st["hs_color"] = [number(topic, "hue", color["h"]), number(topic, "saturation", color["s"])]
                elif "x" in color and "y" in color:
                    st["hs_color"] = xy_to_hs(number(topic, "x", color["x"]), number(topic, "y", color["y"]))
                elif {"r", "g", "b"} <= set(color):
                    import colorsys

                    h, s, _v = colorsys.rgb_to_hsv(*(number(topic, k, color[k]) / 255 for k in "rgb"))
                    st["hs_color"] = [round(h * 360, 1), round(s * 100, 1)]
    elif t is DeviceType.FAN:
        if "fan_state" in data:
            st["state"] = onoff("fan_state")
        mode = data.get("fan_mode")
        if isinstance(mode, str) and mode:
            if mode in MODE_PCT:
                st["percentage"] = MODE_PCT[mode]
                if mode != "off":
                    st["preset_mode"] = mode
            elif mode in ("on", "auto", "smart"):
                st["preset_mode"] = "auto"
            if not command and "fan_state" not in data:
                st["state"] = "off" if mode == "off" else "on"
    elif t is DeviceType.COVER:
        if command:
            if "state" in data:
                word = str(data["state"]).upper()
                st["state"] = {"OPEN": "open", "CLOSE": "closed", "STOP": "stopped"}.get(word)
                if st["state"] is None:
                    raise PayloadError(f"cover command on {topic} must be OPEN, CLOSE or STOP")
            if "position" in data:
                st["position"] = round(number(topic, "position", data["position"]))
        else:
            pos = data.get("position")
            if pos is not None:
                st["current_position"] = round(number(topic, "position", pos))
            moving = str(data.get("moving", "STOP")).upper()
            if moving == "UP":
                st["state"] = "opening"
            elif moving == "DOWN":
                st["state"] = "closing"
            elif pos is not None:
                st["state"] = "closed" if st["current_position"] == 0 else "open"
            elif "state" in data:
                st["state"] = "closed" if str(data["state"]).upper() == "CLOSE" else "open"
    elif t is DeviceType.CLIMATE:
        for key in ("occupied_heating_setpoint", "current_heating_setpoint", device.topics.get("setpoint", "")):
            if key and data.get(key) is not None:
                st["temperature"] = number(topic, key, data[key])
        if data.get("local_temperature") is not None:
            st["current_temperature"] = number(topic, "local_temperature", data["local_temperature"])
        if isinstance(data.get("system_mode"), str):
            st["hvac_mode"] = data["system_mode"]
            if not command:
                st["state"] = data["system_mode"]
        if isinstance(data.get("fan_mode"), str):
            st["fan_mode"] = data["fan_mode"]
        if isinstance(data.get("running_state"), str):
            st["hvac_action"] = {"heat": "heating", "cool": "cooling"}.get(data["running_state"], "idle")
    elif t is DeviceType.LOCK:
        if command:
            if "state" in data:
                word = str(data["state"]).upper()
                st["state"] = {"LOCK": "locked", "UNLOCK": "unlocked"}.get(word)
                if st["state"] is None:
                    raise PayloadError(f"lock command on {topic} must be LOCK or UNLOCK")
        else:
            ls = data.get("lock_state")
            if isinstance(ls, str):
                st["state"] = {"locked": "locked", "unlocked": "unlocked", "not_fully_locked": "jammed"}.get(ls, ls)
            elif "state" in data:
                st["state"] = "locked" if str(data["state"]).upper() == "LOCK" else "unlocked"
    elif t is DeviceType.SENSOR:
        key = device.topics.get("value_key", "value")
        if key in data:
            value = data[key]
            st["state"] = number(topic, key, value) if value is not None else None
        for k, v in data.items():
            if k != key and k not in _TELEMETRY_KEYS and isinstance(v, (int, float)) and not isinstance(v, bool):
                st[k] = v
    elif t is DeviceType.BINARY_SENSOR:
        key = device.topics.get("value_key", "state")
        if key in data:
            v = data[key]
            if isinstance(v, str) and v.upper() in ("ON", "OFF"):
                v = v.upper() == "ON"
            if not isinstance(v, bool):
                raise PayloadError(f"{key} on {topic} must be true or false, not {v!r}")
            st["state"] = "on" if v == device.topics.get("true_is_on", True) else "off"
    elif t is DeviceType.VALVE:
        if "state" in data:
            word = str(data["state"]).upper()
            if word not in ("ON", "OFF", "OPEN", "CLOSE", "CLOSED"):
                raise PayloadError(f"valve state on {topic} must be ON or OFF, not {data['state']!r}")
            st["state"] = "open" if word in ("ON", "OPEN") else "closed"
    elif t is DeviceType.SCENE:
        if command and "scene_recall" in data:
            st["state"] = "on"
    else:
        st = {k: v for k, v in data.items() if k not in _TELEMETRY_KEYS}
    if not command:
        if data.get("linkquality") is not None:
            tel["linkquality"] = int(number(topic, "linkquality", data["linkquality"]))
        if data.get("battery") is not None:
            tel["battery"] = int(number(topic, "battery", data["battery"]))
        if data.get("power") is not None:
            tel["power"] = number(topic, "power", data["power"])
        seen = data.get("last_seen")
        if isinstance(seen, (int, float)) and not isinstance(seen, bool):
            tel["last_seen"] = seen / 1000 if seen > 1e11 else float(seen)  # epoch ms or s
        elif isinstance(seen, str):
            with contextlib.suppress(ValueError):
                tel["last_seen"] = datetime.fromisoformat(seen.replace("Z", "+00:00")).timestamp()
    return Observation(st, tel)


# -- bridge/devices: exposes ------------------------------------------------------


def _binary(name: str, access: int = 7, on: Any = "ON", off: Any = "OFF", prop: str | None = None) -> dict:
    d = {"type": "binary", "name": name, "property": prop or name, "access": access, "value_on": on, "value_off": off}
    if on == "ON":
        d["value_toggle"] = "TOGGLE"
    return d


def _numeric(name: str, low: float | None, high: float | None, access: int = 7, unit: str | None = None) -> dict:
    d: dict[str, Any] = {"type": "numeric", "name": name, "property": name, "access": access}
    if low is not None:
        d["value_min"] = low
    if high is not None:
        d["value_max"] = high
    if unit:
        d["unit"] = unit
    return d


def _enum(name: str, values: list[str], access: int = 7) -> dict:
    return {"type": "enum", "name": name, "property": name, "access": access, "values": values}


def exposes(device: Device, battery: bool) -> list[dict[str, Any]]:
    """A Z2M ``definition.exposes`` list describing the device's capabilities."""
    attrs = supported(device)
    t, out = device.type, []
    if t is DeviceType.LIGHT:
        feats = [_binary("state")]
        if "brightness" in attrs:
            feats.append(_numeric("brightness", 0, 254))
        if "color_temp" in attrs:
            a = attrs["color_temp"]
            feats.append(_numeric("color_temp", a.low, a.high, unit="mired"))
        if "hs_color" in attrs:
            feats.append({"type": "composite", "name": "color_hs", "property": "color", "access": 7,
                          "features": [_numeric("hue", 0, 360), _numeric("saturation", 0, 100)]})
        out.append({"type": "light", "features": feats})
    elif t is DeviceType.SWITCH:
        out.append({"type": "switch", "features": [_binary("state")]})
        out.append(_numeric("power", None, None, access=5, unit="W"))
    elif t is DeviceType.FAN:
        out.append({"type": "fan", "features": [_binary("fan_state", prop="fan_state"),
                                                _enum("fan_mode", ["off", "low", "medium", "high", "auto"])]})
    elif t is DeviceType.COVER:
        feats = [_enum("state", ["OPEN", "CLOSE", "STOP"], access=3)]
        if "position" in attrs:
            feats.append(_numeric("position", 0, 100, unit="%"))
        out.append({"type": "cover", "features": feats})
    elif t is DeviceType.LOCK:
        out.append({"type": "lock", "features": [_binary("state", on="LOCK", off="UNLOCK"),
                                                 _enum("lock_state", ["not_fully_locked", "locked", "unlocked"], access=1)]})
    elif t is DeviceType.CLIMATE:
        a = attrs["temperature"]
        sp = device.topics.get("setpoint", "occupied_heating_setpoint")
        out.append({"type": "climate", "features": [
            {**_numeric(sp, a.low, a.high, unit="°C"), "value_step": 0.5},
            _numeric("local_temperature", None, None, access=5, unit="°C"),
            _enum("system_mode", list(attrs["hvac_mode"].values)),
            _enum("running_state", ["idle", "heat", "cool"], access=5),
        ]})
    elif t is DeviceType.SENSOR:
        key = device.topics.get("value_key", "value")
        out.append(_numeric(key, None, None, access=5, unit=device.unit))
    elif t is DeviceType.BINARY_SENSOR:
        key = device.topics.get("value_key", "state")
        out.append(_binary(key, access=1, on=True, off=False))
    elif t is DeviceType.VALVE:
        out.append({"type": "switch", "features": [_binary("state")]})
    if battery:
        out.append(_numeric("battery", 0, 100, access=1, unit="%"))
    out.append(_numeric("linkquality", 0, 255, access=1, unit="lqi"))
    return out


def bridge_device_entry(device: Device, battery: bool) -> dict[str, Any]:
    return {
        "ieee_address": device.topics["ieee_address"],
        "type": "EndDevice" if battery else "Router",
        "network_address": int(device.topics["ieee_address"][-4:], 16),
        "supported": True,
        "friendly_name": device.topics["friendly_name"],
        "disabled": False,
        "definition": {
            "model": device.model or "SIM-" + device.type.value.upper(),
            "vendor": device.manufacturer or "voicebot simulator",
            "description": f"Simulated {device.type.value.replace('_', ' ')}",
            "exposes": exposes(device, battery),
            "options": [],
        },
        "power_source": "Battery" if battery else "Mains (single phase)",
        "interviewing": False,
        "interview_completed": True,
    }


def listing_problem(entries: Any) -> str | None:
    """Why a bridge/devices payload is not a Zigbee2MQTT device listing, or None if it is.

    Every element Z2M sends is an object with an IEEE address and a friendly name (the
    coordinator included). A listing of another shape says nothing about which devices
    exist, so it must not be read as "no devices" (which would remove them all)."""
    if not isinstance(entries, list):
        return f"not a JSON array but {type(entries).__name__}"
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict):
            return f"element {i} is {type(entry).__name__}, not an object"
        if not isinstance(entry.get("ieee_address"), str) or not isinstance(entry.get("friendly_name"), str):
            return f"element {i} lacks ieee_address or friendly_name"
    return None


def device_from_entry(entry: dict[str, Any], base_topic: str) -> Device | None:
    """A Device from one element of bridge/devices; None for the coordinator and for
    devices whose exposes map to nothing the assistant can use (buttons, remotes)."""
    if not isinstance(entry, dict):
        raise PayloadError("bridge/devices element is not an object")
    if entry.get("type") == "Coordinator":
        return None
    ieee, fname = entry.get("ieee_address"), entry.get("friendly_name")
    if not isinstance(ieee, str) or not isinstance(fname, str):
        raise PayloadError("bridge/devices element lacks ieee_address or friendly_name")
    definition = entry.get("definition")
    if not isinstance(definition, dict):
        return None  # unsupported device: Z2M sets definition to null
    exp = definition.get("exposes") or []
    if not isinstance(exp, list):
        raise PayloadError(f"exposes of {fname} is not a list")
    dtype: DeviceType | None = None
    features: list[str] = []
    ranges: dict[str, tuple[float, float]] = {}
    options: dict[str, list[str]] = {}
    topics: dict[str, Any] = {"base_topic": base_topic, "friendly_name": fname, "ieee_address": ieee}
    device_class: str | None = None
    unit: str | None = None
    specific = {e.get("type"): e for e in exp if isinstance(e, dict) and e.get("type") in
                ("light", "switch", "fan", "cover", "lock", "climate")}
    for kind in ("light", "climate", "cover", "lock", "fan", "switch"):
        if kind in specific:
            dtype = DeviceType(kind)
            feats = [f for f in specific[kind].get("features", []) if isinstance(f, dict)]
            names = {f.get("name"): f for f in feats}
            if dtype is DeviceType.LIGHT:
                features = ["state"]
                if "brightness" in names:
                    features.append("brightness")
                if "color_temp" in names:
                    features.append("color_temp")
                    ct = names["color_temp"]
                    if isinstance(ct.get("value_min"), (int, float)) and isinstance(ct.get("value_max"), (int, float)):
                        ranges["color_temp"] = (ct["value_min"], ct["value_max"])
                if "color_hs" in names or "color_xy" in names:
                    features.append("hs_color")
            elif dtype is DeviceType.COVER:
                features = ["state"] + (["position"] if "position" in names else [])
            elif dtype is DeviceType.CLIMATE:
                for sp in ("occupied_heating_setpoint", "current_heating_setpoint"):
                    if sp in names:
                        topics["setpoint"] = sp
                        f = names[sp]
                        if isinstance(f.get("value_min"), (int, float)) and isinstance(f.get("value_max"), (int, float)):
                            ranges["temperature"] = (f["value_min"], f["value_max"])
                if isinstance(names.get("system_mode", {}).get("values"), list):
                    options["hvac_mode"] = [str(v) for v in names["system_mode"]["values"]]
            break
    if dtype is None:
        plain = {e.get("name"): e for e in exp if isinstance(e, dict) and "name" in e}
        for dc, (key, true_is_on) in BINARY_KEYS.items():
            if key in plain and plain[key].get("type") == "binary":
                dtype, device_class = DeviceType.BINARY_SENSOR, dc
                topics.update(value_key=key, true_is_on=true_is_on)
                break
        if dtype is None:
            for dc, key in SENSOR_KEYS.items():
                if key in plain and plain[key].get("type") == "numeric":
                    dtype, device_class = DeviceType.SENSOR, dc
                    unit = plain[key].get("unit") or SENSOR_UNITS.get(dc)
                    topics["value_key"] = key
                    break
    if dtype is None:
        return None
    return Device(
        id=ieee,
        name=fname.replace("_", " ").replace("/", " ").strip() if fname != ieee else fname,
        type=dtype,
        convention="zigbee2mqtt",
        device_class=device_class,
        unit=unit,
        model=definition.get("model") if isinstance(definition.get("model"), str) else None,
        manufacturer=definition.get("vendor") if isinstance(definition.get("vendor"), str) else None,
        source="zigbee2mqtt",
        topics=topics,
        features=features,
        ranges=ranges,
        options=options,
    )


def decode_online(payload: bytes) -> bool | None:
    try:
        return parse_online("", payload)
    except PayloadError:
        return None


def now() -> float:
    return time.time()
