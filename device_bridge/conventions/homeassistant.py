"""Home Assistant MQTT entities, described by discovery configs.

A device of this convention carries its (expanded) discovery config in
``device.topics["config"]``; everything else follows from it: plain or JSON-schema
lights, switches, fans, covers with positions, climate with one topic per attribute,
locks with their LOCK/UNLOCK and LOCKED/UNLOCKED payloads, sensors and binary
sensors with value templates (rendered with Jinja2, as Home Assistant does),
vacuums with the state schema, and availability topics (single or list, with
availability_mode). Media players are not a Home Assistant MQTT platform; for them
voicebot uses a JSON schema like the light's (state and command objects in Home
Assistant attribute names).

Discovery: ``<prefix>/<component>/[<node_id>/]<object_id>/config`` with abbreviations
and ``~``; device discovery (``<prefix>/device/<id>/config`` with ``cmps``); an empty
payload removes the entity.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from jinja2 import TemplateError

from device_bridge.conventions import templates
from device_bridge.conventions.base import (
    MODE_PCT,
    Observation,
    Outgoing,
    PayloadError,
    dumps,
    number,
    pct_to_mode,
    text,
    xy_to_hs,
)
from device_bridge.devices import OPERABLE, STATELESS, Device, DeviceType, supported

log = logging.getLogger(__name__)

# Home Assistant's discovery abbreviations (the ones devices commonly use).
ABBREVIATIONS: dict[str, str] = {
    "act_t": "action_topic", "act_tpl": "action_template", "atype": "automation_type",
    "avty": "availability", "avty_mode": "availability_mode", "avty_t": "availability_topic",
    "avty_tpl": "availability_template", "bri_cmd_t": "brightness_command_topic",
    "bri_cmd_tpl": "brightness_command_template", "bri_scl": "brightness_scale",
    "bri_stat_t": "brightness_state_topic", "bri_tpl": "brightness_value_template",
    "clr_temp_cmd_t": "color_temp_command_topic", "clr_temp_stat_t": "color_temp_state_topic",
    "clr_temp_val_tpl": "color_temp_value_template", "cmd_t": "command_topic", "cmd_tpl": "command_template",
    "cmps": "components", "curr_temp_t": "current_temperature_topic",
    "curr_temp_tpl": "current_temperature_template", "dev": "device", "dev_cla": "device_class",
    "fan_mode_cmd_t": "fan_mode_command_topic", "fan_mode_stat_t": "fan_mode_state_topic",
    "fan_mode_stat_tpl": "fan_mode_state_template", "fan_modes": "fan_modes", "fanspd_lst": "fan_speed_list",
    "hs_cmd_t": "hs_command_topic", "hs_stat_t": "hs_state_topic", "hs_val_tpl": "hs_value_template",
    "json_attr_t": "json_attributes_topic", "json_attr_tpl": "json_attributes_template",
    "max_temp": "max_temp", "min_temp": "min_temp", "max_mirs": "max_mireds", "min_mirs": "min_mireds",
    "mode_cmd_t": "mode_command_topic", "mode_cmd_tpl": "mode_command_template",
    "mode_stat_t": "mode_state_topic", "mode_stat_tpl": "mode_state_template", "modes": "modes",
    "name": "name", "o": "origin", "obj_id": "object_id", "opt": "optimistic", "p": "platform",
    "pct_cmd_t": "percentage_command_topic", "pct_cmd_tpl": "percentage_command_template",
    "pct_stat_t": "percentage_state_topic", "pct_val_tpl": "percentage_value_template",
    "pl_avail": "payload_available", "pl_cls": "payload_close", "pl_lock": "payload_lock",
    "pl_not_avail": "payload_not_available", "pl_off": "payload_off", "pl_on": "payload_on",
    "pl_open": "payload_open", "pl_paus": "payload_pause", "pl_ret": "payload_return_to_base",
    "pl_strt": "payload_start", "pl_stop": "payload_stop", "pl_unlk": "payload_unlock",
    "pos_clsd": "position_closed", "pos_open": "position_open", "pos_t": "position_topic",
    "pos_tpl": "position_template", "pr_mode_cmd_t": "preset_mode_command_topic",
    "pr_mode_stat_t": "preset_mode_state_topic", "pr_mode_val_tpl": "preset_mode_value_template",
    "pr_modes": "preset_modes", "ret": "retain", "schema": "schema", "set_fan_spd_t": "set_fan_speed_topic",
    "set_pos_t": "set_position_topic", "set_pos_tpl": "set_position_template",
    "stat_clsd": "state_closed", "stat_closing": "state_closing", "stat_jam": "state_jammed",
    "stat_locked": "state_locked", "stat_off": "state_off", "stat_on": "state_on", "stat_open": "state_open",
    "stat_opening": "state_opening", "stat_stopped": "state_stopped", "stat_t": "state_topic",
    "stat_tpl": "state_template", "stat_unlocked": "state_unlocked", "stat_val_tpl": "state_value_template",
    "sup_clrm": "supported_color_modes", "sup_feat": "supported_features",
    "temp_cmd_t": "temperature_command_topic", "temp_cmd_tpl": "temperature_command_template",
    "temp_stat_t": "temperature_state_topic", "temp_stat_tpl": "temperature_state_template",
    "temp_step": "temp_step", "uniq_id": "unique_id", "unit_of_meas": "unit_of_measurement",
    "val_tpl": "value_template", "t": "topic", "tpl": "template",
}
DEVICE_ABBREVIATIONS = {"ids": "identifiers", "mf": "manufacturer", "mdl": "model", "mdl_id": "model_id",
                        "sw": "sw_version", "hw": "hw_version", "sa": "suggested_area", "cns": "connections"}
# discovery takes the platforms voicebot operates; a home file may list any domain
PLATFORMS = {t.value for t in OPERABLE}


# -- discovery configs --------------------------------------------------------------


def expand(config: dict[str, Any]) -> dict[str, Any]:
    """Abbreviations expanded and ``~`` substituted, as Home Assistant does."""
    out: dict[str, Any] = {}
    for key, value in config.items():
        out[ABBREVIATIONS.get(key, key)] = value
    dev = out.get("device")
    if isinstance(dev, dict):
        out["device"] = {DEVICE_ABBREVIATIONS.get(k, k): v for k, v in dev.items()}
    base = out.get("~")
    if isinstance(base, str):
        for key, value in list(out.items()):
            if (key.endswith("_topic") or key == "topic") and isinstance(value, str):
                out[key] = _tilde(value, base)
    avail = out.get("availability")
    if isinstance(avail, list):
        items = []
        for a in avail:
            if isinstance(a, dict):
                a = {ABBREVIATIONS.get(k, k): v for k, v in a.items()}
                if isinstance(base, str) and isinstance(a.get("topic"), str):
                    a["topic"] = _tilde(a["topic"], base)
                items.append(a)
        out["availability"] = items
    return out


def _tilde(value: str, base: str) -> str:
    if value.startswith("~"):
        return base + value[1:]
    if value.endswith("~"):
        return value[:-1] + base
    return value


def parse_discovery_topic(topic: str, prefix: str = "homeassistant") -> tuple[str, str | None, str] | None:
    """(component, node_id, object_id) of a discovery topic, or None if it is not one."""
    parts = topic.split("/")
    if parts[0] != prefix or parts[-1] != "config" or len(parts) not in (4, 5):
        return None
    if len(parts) == 4:
        return parts[1], None, parts[2]
    return parts[1], parts[2], parts[3]


def devices_from_discovery(topic: str, payload: bytes, prefix: str = "homeassistant") -> tuple[list[str], list[Device]]:
    """The discovery keys a message concerns and the devices it declares (empty to
    remove them). Raises PayloadError on unusable configs."""
    where = parse_discovery_topic(topic, prefix)
    if where is None:
        raise PayloadError(f"{topic} is not a discovery topic")
    component, node_id, object_id = where
    key = f"{component}/{node_id or ''}/{object_id}"
    if not payload.strip():
        return [key], []
    try:
        raw = json.loads(payload)
    except (UnicodeDecodeError, ValueError) as exc:
        raise PayloadError(f"discovery config on {topic} is not JSON") from exc
    if not isinstance(raw, dict):
        raise PayloadError(f"discovery config on {topic} is not a JSON object")
    config = expand(raw)
    if component == "device":
        comps = config.get("components")
        if not isinstance(comps, dict) or not isinstance(config.get("device"), dict):
            raise PayloadError(f"device discovery on {topic} needs 'dev' and 'cmps'")
        devices = []
        for cid, comp in comps.items():
            if not isinstance(comp, dict):
                raise PayloadError(f"component {cid} on {topic} is not an object")
            merged = expand({**{k: v for k, v in raw.items() if k not in ("cmps", "components")}, **comp})
            platform = merged.get("platform")
            if platform not in PLATFORMS:
                log.info("skipped component %s of platform %r on %s: not a device type voicebot uses", cid, platform, topic)
                continue
            devices.append(device_from_config(platform, merged, f"{object_id}_{cid}", topic))
        return [key], devices
    if component not in PLATFORMS:
        return [key], []
    return [key], [device_from_config(component, config, f"{node_id + '_' if node_id else ''}{object_id}", topic)]


_REQUIRED: dict[str, tuple[str, ...]] = {
    "light": ("command_topic",),
    "switch": ("command_topic",),
    "fan": ("command_topic",),
    "lock": ("command_topic",),
    "sensor": ("state_topic",),
    "binary_sensor": ("state_topic",),
    "vacuum": ("command_topic",),
    "media_player": ("command_topic", "state_topic"),
    "valve": ("command_topic",),
    "scene": ("command_topic",),
}


def device_from_config(component: str, config: dict[str, Any], fallback_id: str, topic: str) -> Device:
    dtype = DeviceType(component)
    for field in _REQUIRED.get(component, ()):
        if not isinstance(config.get(field), str) or not config[field]:
            raise PayloadError(f"discovery config on {topic} has no {field}")
    if dtype is DeviceType.CLIMATE and not any(
        isinstance(config.get(k), str) for k in ("temperature_command_topic", "mode_command_topic")
    ):
        raise PayloadError(f"climate discovery config on {topic} has no temperature or mode command topic")
    if dtype is DeviceType.COVER and not any(isinstance(config.get(k), str) for k in ("command_topic", "set_position_topic")):
        raise PayloadError(f"cover discovery config on {topic} has no command_topic or set_position_topic")
    dev = config.get("device") if isinstance(config.get("device"), dict) else {}
    uid = config.get("unique_id") if isinstance(config.get("unique_id"), str) else fallback_id
    name = config.get("name")
    if not isinstance(name, str) or not name:
        name = dev.get("name") if isinstance(dev.get("name"), str) else uid.replace("_", " ")
    elif isinstance(dev.get("name"), str) and config.get("name") is not None and not name.startswith(dev["name"]):
        name = f"{dev['name']} {name}"
    if "brightness_scale" in config:
        scale = config["brightness_scale"]
        # Home Assistant requires at least 1; 0 would divide every brightness report by zero
        if isinstance(scale, bool) or not isinstance(scale, (int, float)) or not 1 <= scale <= 1_000_000:
            raise PayloadError(f"discovery config on {topic} has brightness_scale {scale!r}: "
                               "it must be a number from 1 to 1000000 (the device's full brightness)")
    features, ranges = _features(dtype, config)
    options = {attr: [str(v) for v in config[key]] for key, attr in
               (("modes", "hvac_mode"), ("preset_modes", "preset_mode"), ("fan_modes", "fan_mode"),
                ("fan_speed_list", "fan_speed")) if isinstance(config.get(key), list) and config[key]}
    if dtype is not DeviceType.CLIMATE:
        options.pop("fan_mode", None)
    device_class = config.get("device_class") if isinstance(config.get("device_class"), str) else None
    return Device(
        id=uid,
        name=name,
        type=dtype,
        convention="homeassistant",
        area=dev.get("suggested_area") if isinstance(dev.get("suggested_area"), str) else None,
        device_class=device_class,
        unit=config.get("unit_of_measurement") if isinstance(config.get("unit_of_measurement"), str) else None,
        model=dev.get("model") if isinstance(dev.get("model"), str) else None,
        manufacturer=dev.get("manufacturer") if isinstance(dev.get("manufacturer"), str) else None,
        source="discovery",
        topics={"config": config, "discovery_topic": topic},
        features=features,
        ranges=ranges,
        options=options,
    )


def _features(dtype: DeviceType, c: dict[str, Any]) -> tuple[list[str], dict[str, tuple[float, float]]]:
    features: list[str] = []
    ranges: dict[str, tuple[float, float]] = {}
    if dtype is DeviceType.LIGHT:
        features = ["state"]
        modes = c.get("supported_color_modes") or []
        if c.get("schema") == "json":
            if c.get("brightness") or any(m not in ("onoff",) for m in modes):
                features.append("brightness")
            if "color_temp" in modes:
                features.append("color_temp")
            if any(m in modes for m in ("hs", "xy", "rgb", "rgbw", "rgbww")):
                features.append("hs_color")
        else:
            if c.get("brightness_command_topic"):
                features.append("brightness")
            if c.get("color_temp_command_topic"):
                features.append("color_temp")
            if c.get("hs_command_topic"):
                features.append("hs_color")
        if isinstance(c.get("min_mireds"), (int, float)) and isinstance(c.get("max_mireds"), (int, float)):
            ranges["color_temp"] = (c["min_mireds"], c["max_mireds"])
    elif dtype is DeviceType.FAN:
        features = ["state"]
        if c.get("percentage_command_topic"):
            features.append("percentage")
        if c.get("preset_mode_command_topic"):
            features.append("preset_mode")
    elif dtype is DeviceType.COVER:
        features = (["state"] if c.get("command_topic") else []) + (["position"] if c.get("set_position_topic") else [])
    elif dtype is DeviceType.CLIMATE:
        features = (["temperature"] if c.get("temperature_command_topic") else []) + (
            ["hvac_mode"] if c.get("mode_command_topic") else []
        ) + (["fan_mode"] if c.get("fan_mode_command_topic") else [])
        try:
            low, high = float(c.get("min_temp", 7)), float(c.get("max_temp", 35))
            ranges["temperature"] = (low, high)
        except (TypeError, ValueError):
            pass
    elif dtype is DeviceType.VACUUM:
        features = ["state"] + (["fan_speed"] if c.get("set_fan_speed_topic") else [])
    return features, ranges


# -- templates -----------------------------------------------------------------------


def render_value(template: str | None, payload: bytes, topic: str) -> str:
    """Apply a value template (``{{ value_json.temperature }}``) to a payload."""
    raw = text(payload)
    if not template:
        return raw
    try:
        value_json = json.loads(raw)
    except ValueError:
        value_json = None
    try:
        return templates.render(template, value=raw, value_json=value_json).strip()
    except (TemplateError, TypeError, ValueError) as exc:
        raise PayloadError(f"template {template!r} failed on {topic}: {exc}") from exc


def render_command(template: str | None, value: Any, **extra: Any) -> str:
    if not template:
        return str(value)
    return templates.render(template, value=value, **extra).strip()


# -- the convention ------------------------------------------------------------------


_STATE_TOPIC_KEYS = (
    "state_topic", "brightness_state_topic", "color_temp_state_topic", "hs_state_topic",
    "position_topic", "temperature_state_topic", "current_temperature_topic", "mode_state_topic",
    "fan_mode_state_topic", "percentage_state_topic", "preset_mode_state_topic", "json_attributes_topic",
    "action_topic",
)


def default_config(device: Device) -> dict[str, Any]:
    """The discovery config the simulator publishes for a device (expanded form).
    A home file can override any key with ``topics: {config: {...}}``."""
    base = device.topics.get("base", f"home/{device.id}")
    t = device.type
    c: dict[str, Any] = {
        "name": None,
        "unique_id": device.id,
        "availability_topic": f"{base}/availability",
        "json_attributes_topic": f"{base}/attributes",
        "device": {"identifiers": [device.id], "name": device.name, "manufacturer": device.manufacturer or "voicebot simulator",
                   "model": device.model or f"SIM-{t.value.upper()}"},
    }
    if device.area:
        c["device"]["suggested_area"] = device.area
    if device.device_class:
        c["device_class"] = device.device_class
    attrs = supported(device)
    if t is DeviceType.LIGHT:
        if device.topics.get("schema", "json") == "json":
            c.update(schema="json", command_topic=f"{base}/set", state_topic=f"{base}/state", brightness="brightness" in attrs)
            modes = [m for m, a in (("color_temp", "color_temp"), ("hs", "hs_color")) if a in attrs]
            c["supported_color_modes"] = modes or (["brightness"] if "brightness" in attrs else ["onoff"])
        else:
            c.update(command_topic=f"{base}/set", state_topic=f"{base}/state")
            if "brightness" in attrs:
                c.update(brightness_command_topic=f"{base}/brightness/set", brightness_state_topic=f"{base}/brightness")
            if "color_temp" in attrs:
                c.update(color_temp_command_topic=f"{base}/color_temp/set", color_temp_state_topic=f"{base}/color_temp")
            if "hs_color" in attrs:
                c.update(hs_command_topic=f"{base}/hs/set", hs_state_topic=f"{base}/hs")
        if "color_temp" in attrs:
            c.update(min_mireds=int(attrs["color_temp"].low or 153), max_mireds=int(attrs["color_temp"].high or 500))
    elif t is DeviceType.SWITCH:
        c.update(command_topic=f"{base}/set", state_topic=f"{base}/state")
    elif t is DeviceType.FAN:
        c.update(command_topic=f"{base}/set", state_topic=f"{base}/state",
                 percentage_command_topic=f"{base}/percentage/set", percentage_state_topic=f"{base}/percentage",
                 preset_mode_command_topic=f"{base}/preset/set", preset_mode_state_topic=f"{base}/preset",
                 preset_modes=["low", "medium", "high", "auto"])
    elif t is DeviceType.COVER:
        c.update(command_topic=f"{base}/set", state_topic=f"{base}/state")
        if "position" in attrs:
            c.update(position_topic=f"{base}/position", set_position_topic=f"{base}/position/set")
    elif t is DeviceType.CLIMATE:
        a = attrs.get("temperature")
        c.update(temperature_command_topic=f"{base}/target/set", temperature_state_topic=f"{base}/target",
                 current_temperature_topic=f"{base}/current", mode_command_topic=f"{base}/mode/set",
                 mode_state_topic=f"{base}/mode", modes=list(attrs["hvac_mode"].values) if "hvac_mode" in attrs else [],
                 fan_mode_command_topic=f"{base}/fan/set", fan_mode_state_topic=f"{base}/fan",
                 min_temp=a.low if a else 7, max_temp=a.high if a else 35, temp_step=0.5)
    elif t is DeviceType.LOCK:
        c.update(command_topic=f"{base}/set", state_topic=f"{base}/state")
    elif t is DeviceType.SENSOR:
        key = device.device_class or "value"
        c.update(state_topic=f"{base}/state", value_template=f"{{{{ value_json.{key} }}}}")
        if device.unit:
            c["unit_of_measurement"] = device.unit
    elif t is DeviceType.BINARY_SENSOR:
        c.update(state_topic=f"{base}/state")
    elif t is DeviceType.VACUUM:
        c.update(schema="state", command_topic=f"{base}/command", state_topic=f"{base}/state",
                 set_fan_speed_topic=f"{base}/fan_speed/set", fan_speed_list=["quiet", "standard", "max"])
    elif t is DeviceType.MEDIA_PLAYER:
        c.update(schema="json", command_topic=f"{base}/set", state_topic=f"{base}/state")
    elif t is DeviceType.VALVE:
        c.update(command_topic=f"{base}/set", state_topic=f"{base}/state")
    elif t is DeviceType.SCENE:
        # Home Assistant's MQTT scene: a command_topic and payload_on, no state
        c.update(command_topic=f"{base}/set", payload_on="ON")
        c.pop("json_attributes_topic")
    elif t is DeviceType.SCRIPT:
        # no MQTT script platform: a button-like command that starts it (payload_on), no state
        c.update(command_topic=f"{base}/set", payload_on="ON")
        c.pop("json_attributes_topic")
    elif t not in OPERABLE:
        # the read-only domains (person, weather, input_boolean...): their state as plain text
        c.update(state_topic=f"{base}/state")
    c.update(device.topics.get("config_overrides", {}))
    return c


class HomeAssistantMqtt:
    name = "homeassistant"

    def prepare(self, device: Device) -> None:
        if "config" not in device.topics:
            device.topics["config"] = default_config(device)
        device.topics.setdefault("discovery_topic", f"homeassistant/{device.type.value}/{device.id}/config")

    # -- controller side -----------------------------------------------------------

    def subscriptions(self, device: Device) -> list[str]:
        c = device.topics["config"]
        topics = {c[k] for k in _STATE_TOPIC_KEYS if isinstance(c.get(k), str)}
        topics |= set(_availability_topics(c))
        return sorted(topics)

    def parse(self, device: Device, topic: str, payload: bytes) -> Observation | None:
        c = device.topics["config"]
        obs = Observation()
        for entry in _availability_entries(c):
            if entry["topic"] == topic:
                value = render_value(entry.get("value_template"), payload, topic)
                if value == str(entry.get("payload_available", "online")):
                    avail: bool | None = True
                elif value == str(entry.get("payload_not_available", "offline")):
                    avail = False
                else:
                    raise PayloadError(f"availability on {topic} is neither available nor not: {value[:40]!r}")
                device.topics.setdefault("_avail", {})[topic] = avail
                obs.telemetry["available"] = _combined_availability(c, device.topics["_avail"])
        if topic == c.get("json_attributes_topic"):
            data = json.loads(render_value(c.get("json_attributes_template"), payload, topic) or "{}") if payload else {}
            if isinstance(data, dict):
                for key in ("linkquality", "battery", "power"):
                    if isinstance(data.get(key), (int, float)) and not isinstance(data.get(key), bool):
                        obs.telemetry[key] = data[key]
                if isinstance(data.get("last_seen"), (int, float)):
                    obs.telemetry["last_seen"] = float(data["last_seen"])
        if payload and topic in {c.get(k) for k in _STATE_TOPIC_KEYS if k != "json_attributes_topic"}:
            obs.state.update(_parse_state(device, c, topic, payload))
        if not obs.state and not obs.telemetry:
            return None
        return obs

    def command(self, device: Device, changes: dict[str, Any], current: dict[str, Any]) -> list[Outgoing]:
        return _encode_command(device, device.topics["config"], changes)

    def query(self, device: Device) -> list[Outgoing]:
        return []  # Home Assistant entities have no read request; state topics are retained

    # -- device side -----------------------------------------------------------------

    def device_subscriptions(self, device: Device) -> list[str]:
        c = device.topics["config"]
        return sorted({v for k, v in c.items() if (k.endswith("command_topic") or k in
                      ("set_position_topic", "set_fan_speed_topic")) and isinstance(v, str)})

    def decode_command(self, device: Device, topic: str, payload: bytes) -> dict[str, Any] | str | None:
        return _decode_command(device, device.topics["config"], topic, payload)

    def report(self, device: Device, state: dict[str, Any], telemetry: dict[str, Any]) -> list[Outgoing]:
        out = _encode_state(device, device.topics["config"], state)
        attrs = {k: telemetry[k] for k in ("linkquality", "battery", "power", "last_seen") if telemetry.get(k) is not None}
        if attrs and device.topics["config"].get("json_attributes_topic"):
            out.append(Outgoing(device.topics["config"]["json_attributes_topic"], dumps(attrs), retain=True))
        return out

    def availability(self, device: Device, online: bool) -> list[Outgoing]:
        out = []
        for entry in _availability_entries(device.topics["config"]):
            payload = entry.get("payload_available", "online") if online else entry.get("payload_not_available", "offline")
            out.append(Outgoing(entry["topic"], str(payload), retain=True))
        return out

    def announce(self, device: Device) -> list[Outgoing]:
        return [Outgoing(device.topics["discovery_topic"], dumps(abbreviate(device.topics["config"])), retain=True)]


CONVENTION = HomeAssistantMqtt()


def abbreviate(config: dict[str, Any]) -> dict[str, Any]:
    """The short form devices usually publish (with ``~`` for the common base)."""
    reverse = {v: k for k, v in ABBREVIATIONS.items()}
    topics = [v for k, v in config.items() if k.endswith("_topic") and isinstance(v, str)]
    base = None
    if topics:
        prefix = topics[0].rsplit("/", 1)[0]
        while prefix and not all(t.startswith(prefix + "/") or t == prefix for t in topics):
            prefix = prefix.rsplit("/", 1)[0] if "/" in prefix else ""
        base = prefix or None
    out: dict[str, Any] = {"~": base} if base else {}
    for k, v in config.items():
        if base and isinstance(v, str) and k.endswith("_topic") and v.startswith(base):
            v = "~" + v[len(base):]
        out[reverse.get(k, k)] = v
    return out


def _availability_entries(c: dict[str, Any]) -> list[dict[str, Any]]:
    entries = []
    if isinstance(c.get("availability_topic"), str):
        entries.append({"topic": c["availability_topic"], "payload_available": c.get("payload_available", "online"),
                        "payload_not_available": c.get("payload_not_available", "offline"),
                        "value_template": c.get("availability_template")})
    for a in c.get("availability") or []:
        if isinstance(a, dict) and isinstance(a.get("topic"), str):
            entries.append({"payload_available": c.get("payload_available", "online"),
                            "payload_not_available": c.get("payload_not_available", "offline"), **a})
    return entries


def _availability_topics(c: dict[str, Any]) -> list[str]:
    return [e["topic"] for e in _availability_entries(c)]


def _combined_availability(c: dict[str, Any], seen: dict[str, bool | None]) -> bool | None:
    values = [v for v in seen.values() if v is not None]
    if not values:
        return None
    mode = c.get("availability_mode", "latest")
    if mode == "all":
        return all(values) if len(values) == len(_availability_entries(c)) else (False if not all(values) else None)
    if mode == "any":
        return any(values)
    return values[-1]


def _onoff_value(value: str, on: str, off: str, topic: str) -> str:
    if value == on:
        return "on"
    if value == off:
        return "off"
    if value.lower() in ("none", "", "unknown"):
        return "unknown"
    raise PayloadError(f"state on {topic} is neither {on!r} nor {off!r}: {value[:40]!r}")


def _parse_state(device: Device, c: dict[str, Any], topic: str, payload: bytes) -> dict[str, Any]:
    t, st = device.type, {}
    json_schema = c.get("schema") == "json"
    if t in (DeviceType.LIGHT, DeviceType.MEDIA_PLAYER) and json_schema and topic == c.get("state_topic"):
        try:
            data = json.loads(payload)
        except ValueError as exc:
            raise PayloadError(f"JSON-schema state on {topic} is not JSON") from exc
        if not isinstance(data, dict):
            raise PayloadError(f"JSON-schema state on {topic} is not an object")
        if t is DeviceType.MEDIA_PLAYER:
            return {k: v for k, v in data.items() if k in ("state", "volume_level", "is_volume_muted", "media_title", "source")}
        if "state" in data:
            st["state"] = _onoff_value(str(data["state"]), "ON", "OFF", topic)
        scale = float(c.get("brightness_scale", 255))
        if data.get("brightness") is not None:
            st["brightness"] = round(number(topic, "brightness", data["brightness"]) * 255 / scale)
        if data.get("color_temp") is not None:
            st["color_temp"] = round(number(topic, "color_temp", data["color_temp"]))
        color = data.get("color")
        if isinstance(color, dict) and data.get("color_mode") != "color_temp":
            if "h" in color and "s" in color:
                st["hs_color"] = [number(topic, "h", color["h"]), number(topic, "s", color["s"])]
            elif "x" in color and "y" in color:
                st["hs_color"] = xy_to_hs(number(topic, "x", color["x"]), number(topic, "y", color["y"]))
        return st
    if t is DeviceType.VACUUM and topic == c.get("state_topic"):
        try:
            data = json.loads(payload)
        except ValueError as exc:
            raise PayloadError(f"vacuum state on {topic} is not JSON") from exc
        if not isinstance(data, dict):
            raise PayloadError(f"vacuum state on {topic} is not an object")
        if isinstance(data.get("state"), str):
            st["state"] = data["state"]
        if isinstance(data.get("fan_speed"), str):
            st["fan_speed"] = data["fan_speed"]
        if isinstance(data.get("battery_level"), (int, float)):
            st["battery_level"] = data["battery_level"]
        return st

    def value(key: str, template_key: str) -> str | None:
        if topic != c.get(key):
            return None
        return render_value(c.get(template_key) or (c.get("value_template") if key == "state_topic" else None), payload, topic)

    if t in (DeviceType.LIGHT, DeviceType.SWITCH, DeviceType.FAN, DeviceType.BINARY_SENSOR):
        v = value("state_topic", "state_value_template")
        if v is not None:
            on = str(c.get("state_on", c.get("payload_on", "ON")))
            off = str(c.get("state_off", c.get("payload_off", "OFF")))
            st["state"] = _onoff_value(v, on, off, topic)
        if t is DeviceType.LIGHT:
            b = value("brightness_state_topic", "brightness_value_template")
            if b is not None:
                st["brightness"] = round(number(topic, "brightness", b) * 255 / float(c.get("brightness_scale", 255)))
            ct = value("color_temp_state_topic", "color_temp_value_template")
            if ct is not None:
                st["color_temp"] = round(number(topic, "color_temp", ct))
            hs = value("hs_state_topic", "hs_value_template")
            if hs is not None:
                parts = hs.split(",")
                if len(parts) != 2:
                    raise PayloadError(f"hs state on {topic} is not 'hue,saturation': {hs[:40]!r}")
                st["hs_color"] = [number(topic, "hue", parts[0]), number(topic, "saturation", parts[1])]
        if t is DeviceType.FAN:
            p = value("percentage_state_topic", "percentage_value_template")
            if p is not None:
                st["percentage"] = round(number(topic, "percentage", p))
            pm = value("preset_mode_state_topic", "preset_mode_value_template")
            if pm is not None:
                st["preset_mode"] = pm
    elif t is DeviceType.COVER:
        v = value("state_topic", "state_value_template")
        if v is not None:
            table = {str(c.get("state_open", "open")): "open", str(c.get("state_closed", "closed")): "closed",
                     str(c.get("state_opening", "opening")): "opening", str(c.get("state_closing", "closing")): "closing",
                     str(c.get("state_stopped", "stopped")): "stopped"}
            if v not in table:
                raise PayloadError(f"cover state on {topic} is not one of {sorted(table)}: {v[:40]!r}")
            st["state"] = table[v]
        p = value("position_topic", "position_template")
        if p is not None:
            lo, hi = float(c.get("position_closed", 0)), float(c.get("position_open", 100))
            st["current_position"] = round((number(topic, "position", p) - lo) * 100 / (hi - lo))
    elif t is DeviceType.CLIMATE:
        for key, tkey, attr in (("temperature_state_topic", "temperature_state_template", "temperature"),
                                ("current_temperature_topic", "current_temperature_template", "current_temperature")):
            v = value(key, tkey)
            if v is not None and v not in ("", "None"):
                st[attr] = number(topic, attr, v)
        m = value("mode_state_topic", "mode_state_template")
        if m is not None:
            modes = c.get("modes") or ["auto", "off", "cool", "heat", "dry", "fan_only"]
            if m not in modes:
                raise PayloadError(f"climate mode on {topic} is not one of {modes}: {m[:40]!r}")
            st["hvac_mode"] = st["state"] = m
        f = value("fan_mode_state_topic", "fan_mode_state_template")
        if f is not None:
            st["fan_mode"] = f
        a = value("action_topic", "action_template")
        if a is not None:
            st["hvac_action"] = a
    elif t is DeviceType.LOCK:
        v = value("state_topic", "state_value_template")
        if v is not None:
            table = {str(c.get("state_locked", "LOCKED")): "locked", str(c.get("state_unlocked", "UNLOCKED")): "unlocked",
                     str(c.get("state_jammed", "JAMMED")): "jammed", str(c.get("state_locking", "LOCKING")): "locking",
                     str(c.get("state_unlocking", "UNLOCKING")): "unlocking"}
            if v not in table:
                raise PayloadError(f"lock state on {topic} is not one of {sorted(table)}: {v[:40]!r}")
            st["state"] = table[v]
    elif t is DeviceType.VALVE:
        v = value("state_topic", "value_template")
        if v is not None:
            table = {str(c.get("state_open", "open")): "open", str(c.get("state_closed", "closed")): "closed",
                     str(c.get("state_opening", "opening")): "opening", str(c.get("state_closing", "closing")): "closing"}
            if v not in table:
                raise PayloadError(f"valve state on {topic} is not one of {sorted(table)}: {v[:40]!r}")
            st["state"] = table[v]
    elif t not in OPERABLE:
        v = value("state_topic", "value_template")
        if v is not None:
            st["state"] = v
    elif t is DeviceType.SENSOR:
        v = value("state_topic", "value_template")
        if v is not None:
            try:
                st["state"] = float(v) if device.unit or device.device_class else v
            except ValueError:
                if device.device_class and device.device_class not in ("enum", "timestamp", "date"):
                    raise PayloadError(f"sensor reading on {topic} is not a number: {v[:40]!r}") from None
                st["state"] = v
    return st


def _encode_command(device: Device, c: dict[str, Any], changes: dict[str, Any]) -> list[Outgoing]:
    t, out = device.type, []
    if t in (DeviceType.LIGHT, DeviceType.MEDIA_PLAYER) and c.get("schema") == "json":
        if t is DeviceType.MEDIA_PLAYER:
            return [Outgoing(c["command_topic"], dumps(changes))]
        body: dict[str, Any] = {}
        if "state" in changes:
            body["state"] = "ON" if changes["state"] == "on" else "OFF"
        if "brightness" in changes:
            body["brightness"] = round(changes["brightness"] * float(c.get("brightness_scale", 255)) / 255)
        if "color_temp" in changes:
            body["color_temp"] = changes["color_temp"]
        if "hs_color" in changes:
            body["color"] = {"h": changes["hs_color"][0], "s": changes["hs_color"][1]}
        return [Outgoing(c["command_topic"], dumps(body))]
    if t in (DeviceType.LIGHT, DeviceType.SWITCH, DeviceType.FAN):
        # brightness first: a plain light turns on at its new brightness rather than flashing the old one
        if t is DeviceType.LIGHT:
            if "brightness" in changes and c.get("brightness_command_topic"):
                scaled = round(changes["brightness"] * float(c.get("brightness_scale", 255)) / 255)
                out.append(Outgoing(c["brightness_command_topic"], render_command(c.get("brightness_command_template"), scaled)))
            if "color_temp" in changes and c.get("color_temp_command_topic"):
                out.append(Outgoing(c["color_temp_command_topic"], str(changes["color_temp"])))
            if "hs_color" in changes and c.get("hs_command_topic"):
                h, s = changes["hs_color"]
                out.append(Outgoing(c["hs_command_topic"], f"{h:g},{s:g}"))
        if t is DeviceType.FAN:
            if "percentage" in changes and c.get("percentage_command_topic"):
                out.append(Outgoing(c["percentage_command_topic"], render_command(c.get("percentage_command_template"), changes["percentage"])))
            if "preset_mode" in changes and c.get("preset_mode_command_topic"):
                out.append(Outgoing(c["preset_mode_command_topic"], str(changes["preset_mode"])))
        if "state" in changes:
            payload = c.get("payload_on", "ON") if changes["state"] == "on" else c.get("payload_off", "OFF")
            out.append(Outgoing(c["command_topic"], render_command(c.get("command_template"), payload)))
    elif t is DeviceType.COVER:
        if "state" in changes:
            payload = {"open": c.get("payload_open", "OPEN"), "closed": c.get("payload_close", "CLOSE"),
                       "stopped": c.get("payload_stop", "STOP")}[changes["state"]]
            out.append(Outgoing(c["command_topic"], str(payload)))
        if "position" in changes:
            lo, hi = float(c.get("position_closed", 0)), float(c.get("position_open", 100))
            pos = round(lo + changes["position"] * (hi - lo) / 100)
            out.append(Outgoing(c["set_position_topic"], render_command(c.get("set_position_template"), pos, position=pos)))
    elif t is DeviceType.CLIMATE:
        if "hvac_mode" in changes:
            out.append(Outgoing(c["mode_command_topic"], render_command(c.get("mode_command_template"), changes["hvac_mode"])))
        if "temperature" in changes:
            out.append(Outgoing(c["temperature_command_topic"],
                                render_command(c.get("temperature_command_template"), f"{changes['temperature']:g}")))
        if "fan_mode" in changes and c.get("fan_mode_command_topic"):
            out.append(Outgoing(c["fan_mode_command_topic"], str(changes["fan_mode"])))
    elif t is DeviceType.VALVE:
        payload = c.get("payload_open", "OPEN") if changes.get("state") == "open" else c.get("payload_close", "CLOSE")
        out.append(Outgoing(c["command_topic"], render_command(c.get("command_template"), payload)))
    elif t in STATELESS:
        out.append(Outgoing(c["command_topic"], render_command(c.get("command_template"), c.get("payload_on", "ON"))))
    elif t is DeviceType.LOCK:
        payload = c.get("payload_lock", "LOCK") if changes.get("state") == "locked" else c.get("payload_unlock", "UNLOCK")
        out.append(Outgoing(c["command_topic"], render_command(c.get("command_template"), payload)))
    elif t is DeviceType.VACUUM:
        if "fan_speed" in changes and c.get("set_fan_speed_topic"):
            out.append(Outgoing(c["set_fan_speed_topic"], str(changes["fan_speed"])))
        if "state" in changes:
            payload = {"cleaning": c.get("payload_start", "start"), "docked": c.get("payload_return_to_base", "return_to_base"),
                       "paused": c.get("payload_pause", "pause"), "idle": c.get("payload_stop", "stop")}[changes["state"]]
            out.append(Outgoing(c["command_topic"], str(payload)))
    return out


def _decode_command(device: Device, c: dict[str, Any], topic: str, payload: bytes) -> dict[str, Any] | None:
    t, raw = device.type, text(payload)
    if t in (DeviceType.LIGHT, DeviceType.MEDIA_PLAYER) and c.get("schema") == "json" and topic == c.get("command_topic"):
        try:
            data = json.loads(raw)
        except ValueError as exc:
            raise PayloadError(f"JSON command on {topic} is not JSON") from exc
        if not isinstance(data, dict):
            raise PayloadError(f"JSON command on {topic} is not an object")
        if t is DeviceType.MEDIA_PLAYER:
            return data
        out: dict[str, Any] = {}
        if "state" in data:
            out["state"] = "on" if str(data["state"]).upper() == "ON" else "off"
        if "brightness" in data:
            out["brightness"] = round(number(topic, "brightness", data["brightness"]) * 255 / float(c.get("brightness_scale", 255)))
        if "color_temp" in data:
            out["color_temp"] = round(number(topic, "color_temp", data["color_temp"]))
        if isinstance(data.get("color"), dict) and "h" in data["color"]:
            out["hs_color"] = [number(topic, "h", data["color"]["h"]), number(topic, "s", data["color"].get("s", 100))]
        return out
    if topic == c.get("brightness_command_topic"):
        return {"brightness": round(number(topic, "brightness", raw) * 255 / float(c.get("brightness_scale", 255))), "state": "on"}
    if topic == c.get("color_temp_command_topic"):
        return {"color_temp": round(number(topic, "color_temp", raw)), "state": "on"}
    if topic == c.get("hs_command_topic"):
        h, s = raw.split(",")
        return {"hs_color": [number(topic, "hue", h), number(topic, "saturation", s)], "state": "on"}
    if topic == c.get("percentage_command_topic"):
        pct = round(number(topic, "percentage", raw))
        return {"percentage": pct, "state": "on" if pct else "off"} | ({"preset_mode": pct_to_mode(pct)} if pct else {})
    if topic == c.get("preset_mode_command_topic"):
        return {"preset_mode": raw, "state": "on"} | ({"percentage": MODE_PCT[raw]} if raw in MODE_PCT else {})
    if topic == c.get("set_position_topic"):
        try:
            data = json.loads(raw)
            pos = data.get("position") if isinstance(data, dict) else data
        except ValueError:
            pos = raw
        lo, hi = float(c.get("position_closed", 0)), float(c.get("position_open", 100))
        return {"position": round((number(topic, "position", pos) - lo) * 100 / (hi - lo))}
    if topic == c.get("mode_command_topic"):
        return {"hvac_mode": raw}
    if topic == c.get("temperature_command_topic"):
        return {"temperature": number(topic, "temperature", raw)}
    if topic == c.get("fan_mode_command_topic"):
        return {"fan_mode": raw}
    if topic == c.get("set_fan_speed_topic"):
        return {"fan_speed": raw}
    if topic == c.get("command_topic"):
        if t is DeviceType.COVER:
            table = {str(c.get("payload_open", "OPEN")): "open", str(c.get("payload_close", "CLOSE")): "closed",
                     str(c.get("payload_stop", "STOP")): "stopped"}
            if raw not in table:
                raise PayloadError(f"cover command on {topic} is not one of {sorted(table)}")
            return {"state": table[raw]}
        if t is DeviceType.LOCK:
            table = {str(c.get("payload_lock", "LOCK")): "locked", str(c.get("payload_unlock", "UNLOCK")): "unlocked"}
            if raw not in table:
                raise PayloadError(f"lock command on {topic} is not one of {sorted(table)}")
            return {"state": table[raw]}
        if t is DeviceType.VALVE:
            table = {str(c.get("payload_open", "OPEN")): "open", str(c.get("payload_close", "CLOSE")): "closed"}
            if raw not in table:
                raise PayloadError(f"valve command on {topic} is not one of {sorted(table)}")
            return {"state": table[raw]}
        if t in STATELESS:
            if raw != str(c.get("payload_on", "ON")):
                raise PayloadError(f"{t.value} command on {topic} is not {c.get('payload_on', 'ON')!r}")
            return {"state": "on"}
        if t is DeviceType.VACUUM:
            table = {str(c.get("payload_start", "start")): "cleaning", str(c.get("payload_return_to_base", "return_to_base")): "docked",
                     str(c.get("payload_pause", "pause")): "paused", str(c.get("payload_stop", "stop")): "idle"}
            if raw not in table:
                raise PayloadError(f"vacuum command on {topic} is not one of {sorted(table)}")
            return {"state": table[raw]}
        on, off = str(c.get("payload_on", "ON")), str(c.get("payload_off", "OFF"))
        if raw not in (on, off):
            raise PayloadError(f"command on {topic} is neither {on!r} nor {off!r}")
        return {"state": "on" if raw == on else "off"}
    return None


def _encode_state(device: Device, c: dict[str, Any], st: dict[str, Any]) -> list[Outgoing]:
    """State as a device publishes it (simulator); retained so a bridge that starts later knows it."""
    t, out = device.type, []

    def put(key: str, payload: Any) -> None:
        if isinstance(c.get(key), str):
            out.append(Outgoing(c[key], payload if isinstance(payload, str) else dumps(payload), retain=True))

    if t is DeviceType.MEDIA_PLAYER:
        put("state_topic", {k: v for k, v in st.items()})
    elif t is DeviceType.LIGHT and c.get("schema") == "json":
        body: dict[str, Any] = {"state": "ON" if st.get("state") == "on" else "OFF"}
        if "brightness" in st:
            body["brightness"] = round(st["brightness"] * float(c.get("brightness_scale", 255)) / 255)
        if st.get("hs_color"):
            body.update(color_mode="hs", color={"h": st["hs_color"][0], "s": st["hs_color"][1]})
        elif "color_temp" in st:
            body.update(color_mode="color_temp", color_temp=st["color_temp"])
        put("state_topic", body)
    elif t in (DeviceType.LIGHT, DeviceType.SWITCH, DeviceType.FAN, DeviceType.BINARY_SENSOR):
        on = c.get("state_on", c.get("payload_on", "ON"))
        off = c.get("state_off", c.get("payload_off", "OFF"))
        put("state_topic", str(on if st.get("state") == "on" else off))
        if "brightness" in st:
            put("brightness_state_topic", str(round(st["brightness"] * float(c.get("brightness_scale", 255)) / 255)))
        if "color_temp" in st:
            put("color_temp_state_topic", str(st["color_temp"]))
        if st.get("hs_color"):
            put("hs_state_topic", f"{st['hs_color'][0]:g},{st['hs_color'][1]:g}")
        if "percentage" in st:
            put("percentage_state_topic", str(st["percentage"]))
        if st.get("preset_mode"):
            put("preset_mode_state_topic", str(st["preset_mode"]))
    elif t is DeviceType.COVER:
        s = st.get("state", "closed")
        put("state_topic", str(c.get(f"state_{s}", s)))
        if "current_position" in st:
            put("position_topic", str(st["current_position"]))
    elif t is DeviceType.CLIMATE:
        if "temperature" in st:
            put("temperature_state_topic", f"{st['temperature']:g}")
        if "current_temperature" in st:
            put("current_temperature_topic", f"{st['current_temperature']:g}")
        if "hvac_mode" in st:
            put("mode_state_topic", str(st["hvac_mode"]))
        if "fan_mode" in st:
            put("fan_mode_state_topic", str(st["fan_mode"]))
    elif t is DeviceType.LOCK:
        s = st.get("state", "locked")
        put("state_topic", str(c.get(f"state_{s}", s.upper())))
    elif t is DeviceType.SENSOR:
        key = device.device_class or "value"
        put("state_topic", {key: st.get("state")})
    elif t is DeviceType.VACUUM:
        put("state_topic", {k: v for k, v in st.items() if k in ("state", "fan_speed", "battery_level")})
    elif t is DeviceType.VALVE:
        s = str(st.get("state", "closed"))
        put("state_topic", str(c.get(f"state_{s}", s)))
    elif t not in OPERABLE and "state" in st:
        put("state_topic", str(st["state"]))
    return out
