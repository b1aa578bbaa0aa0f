"""Tasmota: commands on ``cmnd/<topic>/<Command>`` (plain payload; empty = query),
replies on ``stat/<topic>/RESULT`` (JSON) and ``stat/<topic>/POWER`` (plain),
telemetry on ``tele/<topic>/STATE`` (power, dimmer, Wi-Fi signal) and
``tele/<topic>/SENSOR`` (readings, energy), availability as the retained last will
``tele/<topic>/LWT`` = ``Online`` / ``Offline``.

Supported device types: switch/plug (``POWER``, ``POWER<n>`` for multi-relay boards,
with ``ENERGY.Power``), light (``Dimmer`` 0-100, ``CT`` in mireds, ``HSBColor``),
fan (Sonoff iFan ``FanSpeed`` 0-3), cover (``ShutterPosition1``, ``ShutterOpen1``…),
sensor (``tele/…/SENSOR``, e.g. ``{"AM2301":{"Temperature":21.3}}``) and
binary_sensor (``Switch1``). Wi-Fi ``RSSI`` (a 0-100 quality) is reported as link
quality on the Zigbee 0-255 scale (RSSI × 2.55) so troubleshooting sees one scale.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from device_bridge.conventions.base import (
    QUERY,
    Observation,
    Outgoing,
    PayloadError,
    dumps,
    load_object,
    number,
    text,
)
from device_bridge.devices import Device, DeviceType

SUPPORTED = {DeviceType.SWITCH, DeviceType.LIGHT, DeviceType.FAN, DeviceType.COVER, DeviceType.SENSOR,
             DeviceType.BINARY_SENSOR}
SENSOR_FIELDS = {"temperature": "Temperature", "humidity": "Humidity", "illuminance": "Illuminance",
                 "pressure": "Pressure", "carbon_dioxide": "CarbonDioxide"}
SPEED_PCT = {0: 0, 1: 33, 2: 66, 3: 100}


class Tasmota:
    name = "tasmota"

    def prepare(self, device: Device) -> None:
        if device.type not in SUPPORTED:
            raise ValueError(
                f"{device.name}: Tasmota devices can be a {', '.join(sorted(t.value for t in SUPPORTED))}, not a {device.type.value}"
            )
        t = device.topics
        t.setdefault("topic", "tasmota_" + hashlib.sha1(device.id.encode()).hexdigest()[:6].upper())
        if device.type is DeviceType.SENSOR:
            t.setdefault("sensor", "BH1750" if device.device_class == "illuminance" else "AM2301")
        if device.type is DeviceType.BINARY_SENSOR:
            t.setdefault("switch", "Switch1")

    @staticmethod
    def _power_key(device: Device) -> str:
        relay = device.topics.get("relay")
        return f"POWER{relay}" if relay else "POWER"

    def subscriptions(self, device: Device) -> list[str]:
        t = device.topics["topic"]
        return [f"stat/{t}/RESULT", f"stat/{t}/{self._power_key(device)}", f"stat/{t}/STATUS10",
                f"tele/{t}/STATE", f"tele/{t}/SENSOR", f"tele/{t}/LWT"]

    # -- controller side -----------------------------------------------------------

    def parse(self, device: Device, topic: str, payload: bytes) -> Observation | None:
        t = device.topics["topic"]
        raw = text(payload)
        if topic == f"tele/{t}/LWT":
            online, offline = device.topics.get("lwt_online", "Online"), device.topics.get("lwt_offline", "Offline")
            if raw not in (online, offline):
                raise PayloadError(f"LWT on {topic} is neither {online} nor {offline}: {raw[:40]!r}")
            return Observation(telemetry={"available": raw == online})
        if topic == f"stat/{t}/{self._power_key(device)}":
            if raw.upper() not in ("ON", "OFF"):
                raise PayloadError(f"power on {topic} is neither ON nor OFF: {raw[:40]!r}")
            return Observation(state={"state": raw.lower()})
        if not payload:
            return None
        data = load_object(topic, payload)
        if topic == f"stat/{t}/STATUS10":
            data = data.get("StatusSNS") if isinstance(data.get("StatusSNS"), dict) else {}
        obs = Observation()
        obs.state.update(_state_from_json(device, topic, data))
        wifi = data.get("Wifi")
        if isinstance(wifi, dict) and wifi.get("RSSI") is not None:
            obs.telemetry["linkquality"] = round(number(topic, "RSSI", wifi["RSSI"]) * 2.55)
        energy = data.get("ENERGY")
        if isinstance(energy, dict) and energy.get("Power") is not None:
            obs.telemetry["power"] = number(topic, "Power", energy["Power"])
        return obs

    def command(self, device: Device, changes: dict[str, Any], current: dict[str, Any]) -> list[Outgoing]:
        t, out = device.topics["topic"], []
        cmd = f"cmnd/{t}"
        if device.type is DeviceType.FAN:
            if "percentage" in changes or "preset_mode" in changes or "state" in changes:
                pct = changes.get("percentage")
                if pct is None and changes.get("preset_mode") in ("low", "medium", "high"):
                    pct = {"low": 33, "medium": 66, "high": 100}[changes["preset_mode"]]
                if pct is None:
                    pct = 0 if changes.get("state") == "off" else (current.get("percentage") or 33)
                if changes.get("state") == "off":
                    pct = 0
                speed = 0 if pct <= 0 else 1 if pct <= 33 else 2 if pct <= 66 else 3
                out.append(Outgoing(f"{cmd}/FanSpeed", str(speed)))
            return out
        if device.type is DeviceType.COVER:
            n = _shutter(device)
            if "position" in changes:
                out.append(Outgoing(f"{cmd}/ShutterPosition{n}", str(changes["position"])))
            elif "state" in changes:
                verb = {"open": "ShutterOpen", "closed": "ShutterClose", "stopped": "ShutterStop"}[changes["state"]]
                out.append(Outgoing(f"{cmd}/{verb}{n}", ""))
            return out
        if device.type is DeviceType.LIGHT:
            dimmer = None
            if "brightness" in changes:
                dimmer = max(1, round(changes["brightness"] * 100 / 255))
                out.append(Outgoing(f"{cmd}/{device.topics.get('dimmer', 'Dimmer')}", str(dimmer)))
            if "color_temp" in changes:
                out.append(Outgoing(f"{cmd}/CT", str(changes["color_temp"])))
            if "hs_color" in changes:
                h, s = changes["hs_color"]
                b = dimmer or max(1, round((current.get("brightness") or 255) * 100 / 255))
                out.append(Outgoing(f"{cmd}/HSBColor", f"{round(h)},{round(s)},{b}"))
        if "state" in changes:
            out.append(Outgoing(f"{cmd}/{self._power_key(device)}", "ON" if changes["state"] == "on" else "OFF"))
        return out

    def query(self, device: Device) -> list[Outgoing]:
        t = device.topics["topic"]
        result, status = f"stat/{t}/RESULT", f"stat/{t}/STATUS10"
        if device.type in (DeviceType.SENSOR, DeviceType.BINARY_SENSOR):
            return [Outgoing(f"cmnd/{t}/Status", "10", expect=status)]
        if device.type is DeviceType.FAN:
            return [Outgoing(f"cmnd/{t}/FanSpeed", "", expect=result)]
        if device.type is DeviceType.COVER:
            return [Outgoing(f"cmnd/{t}/ShutterPosition{_shutter(device)}", "", expect=result)]
        out = [Outgoing(f"cmnd/{t}/State", "", expect=result)]
        if device.type is DeviceType.SWITCH:
            out.append(Outgoing(f"cmnd/{t}/Status", "10", expect=status))  # energy readings of plugs
        return out

    # -- device side -----------------------------------------------------------------

    def device_subscriptions(self, device: Device) -> list[str]:
        return [f"cmnd/{device.topics['topic']}/+"]

    def decode_command(self, device: Device, topic: str, payload: bytes) -> dict[str, Any] | str | None:
        t = device.topics["topic"]
        if not topic.startswith(f"cmnd/{t}/"):
            return None
        command = topic[len(f"cmnd/{t}/") :].lower()
        raw = text(payload)
        n = _shutter(device)
        verbs = {f"shutteropen{n}": "open", f"shutterclose{n}": "closed", f"shutterstop{n}": "stopped"}
        if raw in ("", "?") and command not in verbs:
            return QUERY
        if command == "status":
            return QUERY
        if command == self._power_key(device).lower() or (command == "power1" and not device.topics.get("relay")):
            word = raw.upper()
            if word not in ("ON", "OFF", "TOGGLE", "1", "0", "2"):
                raise PayloadError(f"{topic} takes ON, OFF or TOGGLE, not {raw[:40]!r}")
            return {"state": {"ON": "on", "1": "on", "OFF": "off", "0": "off"}.get(word, "toggle")}
        if command == device.topics.get("dimmer", "Dimmer").lower():
            d = number(topic, "Dimmer", raw)
            return {"brightness": round(max(0, min(100, d)) * 255 / 100), "state": "on" if d > 0 else "off"}
        if command == "ct":
            return {"color_temp": round(number(topic, "CT", raw)), "state": "on"}
        if command == "hsbcolor":
            parts = raw.split(",")
            if len(parts) != 3:
                raise PayloadError(f"{topic} takes hue,saturation,brightness, not {raw[:40]!r}")
            h, s, b = (number(topic, "HSBColor", p) for p in parts)
            return {"hs_color": [h, s], "brightness": round(b * 255 / 100), "state": "on"}
        if command == "fanspeed":
            speed = int(number(topic, "FanSpeed", raw))
            if speed not in SPEED_PCT:
                raise PayloadError(f"{topic} takes 0-3, not {raw[:40]!r}")
            pct = SPEED_PCT[speed]
            return {"percentage": pct, "state": "on" if pct else "off"}
        if command == f"shutterposition{n}":
            return {"position": round(number(topic, f"ShutterPosition{n}", raw))}
        if command in verbs:
            return {"state": verbs[command]}
        return None

    def report(self, device: Device, state: dict[str, Any], telemetry: dict[str, Any]) -> list[Outgoing]:
        """A device's reply to a command or query (stat/RESULT and friends)."""
        t, out = device.topics["topic"], []
        result = _state_to_json(device, state)
        if device.type in (DeviceType.SENSOR, DeviceType.BINARY_SENSOR):
            out.append(Outgoing(f"stat/{t}/STATUS10", dumps({"StatusSNS": {"Time": _now(), **result}})))
            return out
        out.append(Outgoing(f"stat/{t}/RESULT", dumps(result)))
        if self._power_key(device) in result:
            out.append(Outgoing(f"stat/{t}/{self._power_key(device)}", result[self._power_key(device)]))
        return out

    def query_reply(self, device: Device, topic: str, state: dict[str, Any], telemetry: dict[str, Any]) -> list[Outgoing]:
        """A device's answer to a query: ``State`` gives the full state with Wi-Fi,
        ``Status 10`` the sensor and energy readings."""
        t = device.topics["topic"]
        command = topic.rsplit("/", 1)[-1].lower()
        if command == "status":
            body: dict[str, Any] = {"Time": _now()}
            if device.type in (DeviceType.SENSOR, DeviceType.BINARY_SENSOR):
                body.update(_state_to_json(device, state))
            if telemetry.get("power") is not None:
                body["ENERGY"] = {"Power": telemetry["power"], "Voltage": 230}
            return [Outgoing(f"stat/{t}/STATUS10", dumps({"StatusSNS": body}))]
        if command == "state":
            tele = self.telemetry_report(device, state, telemetry)[0]
            return [Outgoing(f"stat/{t}/RESULT", tele.payload)]
        return self.report(device, state, telemetry)

    def telemetry_report(self, device: Device, state: dict[str, Any], telemetry: dict[str, Any]) -> list[Outgoing]:
        """The periodic tele/STATE and tele/SENSOR messages."""
        t = device.topics["topic"]
        body: dict[str, Any] = {"Time": _now(), "Uptime": "0T01:00:00"}
        if device.type not in (DeviceType.SENSOR, DeviceType.BINARY_SENSOR):
            body.update(_state_to_json(device, state))
        if telemetry.get("linkquality") is not None:
            rssi = round(telemetry["linkquality"] / 2.55)
            body["Wifi"] = {"AP": 1, "SSId": "home", "RSSI": rssi, "Signal": round(rssi / 2) - 100, "LinkCount": 1}
        out = [Outgoing(f"tele/{t}/STATE", dumps(body))]
        sensor: dict[str, Any] = {}
        if device.type in (DeviceType.SENSOR, DeviceType.BINARY_SENSOR):
            sensor.update(_state_to_json(device, state))
        if telemetry.get("power") is not None:
            sensor["ENERGY"] = {"Power": telemetry["power"], "Voltage": 230, "Current": round(telemetry["power"] / 230, 3)}
        if sensor:
            out.append(Outgoing(f"tele/{t}/SENSOR", dumps({"Time": _now(), **sensor, "TempUnit": "C"})))
        return out

    def availability(self, device: Device, online: bool) -> list[Outgoing]:
        return [Outgoing(f"tele/{device.topics['topic']}/LWT", "Online" if online else "Offline", retain=True)]

    def announce(self, device: Device) -> list[Outgoing]:
        return []


CONVENTION = Tasmota()


def _shutter(device: Device) -> int:
    """Which shutter of the board (ShutterPosition<n>); 1 unless discovery said otherwise."""
    return int(device.topics.get("shutter") or 1)


def _now() -> str:
    return datetime.now().isoformat(timespec="seconds")


def _state_to_json(device: Device, st: dict[str, Any]) -> dict[str, Any]:
    t = device.type
    key = f"POWER{device.topics['relay']}" if device.topics.get("relay") else "POWER"
    if t is DeviceType.SWITCH:
        return {key: "ON" if st.get("state") == "on" else "OFF"}
    if t is DeviceType.LIGHT:
        out: dict[str, Any] = {key: "ON" if st.get("state") == "on" else "OFF",
                               "Dimmer": round((st.get("brightness") or 0) * 100 / 255)}
        if "color_temp" in st:
            out["CT"] = st["color_temp"]
        if st.get("hs_color"):
            h, s = st["hs_color"]
            out["HSBColor"] = f"{round(h)},{round(s)},{out['Dimmer']}"
        return out
    if t is DeviceType.FAN:
        pct = st.get("percentage", 0) if st.get("state") == "on" else 0
        return {"FanSpeed": 0 if not pct else 1 if pct <= 33 else 2 if pct <= 66 else 3}
    if t is DeviceType.COVER:
        direction = {"opening": 1, "closing": -1}.get(str(st.get("state")), 0)
        return {f"Shutter{_shutter(device)}": {"Position": st.get("current_position", 0), "Direction": direction,
                             "Target": st.get("target_position", st.get("current_position", 0)), "Tilt": 0}}
    if t is DeviceType.SENSOR:
        field = device.topics.get("field") or SENSOR_FIELDS.get(device.device_class or "", "Value")
        if device.device_class == "power" and not device.topics.get("field"):
            return {"ENERGY": {"Power": st.get("state")}}
        return {device.topics.get("sensor", "AM2301"): {field: st.get("state")}}
    if t is DeviceType.BINARY_SENSOR:
        return {device.topics.get("switch", "Switch1"): "ON" if st.get("state") == "on" else "OFF"}
    return {}


def _state_from_json(device: Device, topic: str, data: dict[str, Any]) -> dict[str, Any]:
    t, st = device.type, {}
    key = f"POWER{device.topics['relay']}" if device.topics.get("relay") else "POWER"
    if t in (DeviceType.SWITCH, DeviceType.LIGHT) and key in data:
        v = data[key]
        if not isinstance(v, str) or v.upper() not in ("ON", "OFF"):
            raise PayloadError(f"{key} on {topic} is neither ON nor OFF: {v!r}")
        st["state"] = v.lower()
    if t is DeviceType.LIGHT:
        dimmer = device.topics.get("dimmer_state", "Dimmer")
        if data.get(dimmer) is not None:
            st["brightness"] = round(number(topic, dimmer, data[dimmer]) * 255 / 100)
        if data.get("CT") is not None:
            st["color_temp"] = round(number(topic, "CT", data["CT"]))
        hsb = data.get("HSBColor")
        if isinstance(hsb, str) and hsb.count(",") == 2:
            h, s, _b = (number(topic, "HSBColor", p) for p in hsb.split(","))
            if s > 0:
                st["hs_color"] = [h, s]
    elif t is DeviceType.FAN and data.get("FanSpeed") is not None:
        speed = int(number(topic, "FanSpeed", data["FanSpeed"]))
        st["percentage"] = SPEED_PCT.get(speed, 0)
        st["state"] = "on" if speed else "off"
        if speed:
            st["preset_mode"] = {1: "low", 2: "medium", 3: "high"}.get(speed, "high")
    elif t is DeviceType.COVER and isinstance(data.get(f"Shutter{_shutter(device)}"), dict):
        sh = data[f"Shutter{_shutter(device)}"]
        pos = round(number(topic, "Position", sh.get("Position", 0)))
        direction = int(number(topic, "Direction", sh.get("Direction", 0)))
        st["current_position"] = pos
        st["state"] = "opening" if direction > 0 else "closing" if direction < 0 else ("closed" if pos == 0 else "open")
    elif t is DeviceType.SENSOR:
        field = device.topics.get("field") or SENSOR_FIELDS.get(device.device_class or "", "Value")
        if device.device_class == "power" and not device.topics.get("field"):
            energy = data.get("ENERGY")
            if isinstance(energy, dict) and energy.get("Power") is not None:
                st["state"] = number(topic, "Power", energy["Power"])
        else:
            block = data.get(device.topics.get("sensor", "AM2301"))
            if not isinstance(block, dict) and not device.topics.get("field"):
                block = next((v for v in data.values() if isinstance(v, dict) and field in v), None)
            if isinstance(block, dict) and block.get(field) is not None:
                st["state"] = number(topic, field, block[field])
                for k, v in block.items():
                    if k != field and isinstance(v, (int, float)) and not isinstance(v, bool):
                        st[k.lower()] = v
    elif t is DeviceType.BINARY_SENSOR:
        v = data.get(device.topics.get("switch", "Switch1"))
        if isinstance(v, str):
            st["state"] = "on" if v.upper() == "ON" else "off"
    return st
