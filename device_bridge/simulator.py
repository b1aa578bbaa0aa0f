"""A virtual home on a real broker, speaking Zigbee2MQTT, Home Assistant discovery and
Tasmota exactly as real devices and hubs do, with faults troubleshooting can meet.

Run it in-process (``Simulator(home, url).start()``, a background thread) or as
``device-bridge simulate --home FILE [--broker URL]``.

What it publishes: Z2M ``bridge/state``, ``bridge/devices`` (retained, with exposes),
device state (retained), ``availability``; Home Assistant discovery configs (retained,
abbreviated, with ``~``), state, availability and a ``json_attributes_topic`` with
link quality, battery and power; Tasmota ``tele/…/LWT`` (retained), ``stat/…/RESULT``,
``stat/…/POWER``, periodic ``tele/…/STATE`` and ``tele/…/SENSOR``, and Tasmota's own
discovery (``tasmota/discovery/<MAC>/config`` and ``/sensors``, retained, one pair per
board, i.e. per Tasmota topic, as firmware with ``SetOption19 0`` does; cleared with
empty payloads when the last device of a board is removed).

Faults (per device, from the home file ``faults: [...]``, over MQTT, or from Python):

- ``offline``: availability offline; ignores everything.
- ``unresponsive``: online, but ignores commands and reads.
- ``stuck``: acknowledges commands by reporting its old state unchanged (a lock
  reports itself jammed).
- ``weak_signal``: link quality ~10 (Tasmota RSSI ~4 %) and every other command is
  lost on the air (the 1st, 3rd, … are dropped).
- ``low_battery``: battery 4 % (``level``), otherwise works.
- ``wrong_reading``: sensors (and a thermostat's current temperature) report
  ``offset`` (default +6) away from the truth.
- ``intermittent``: availability drops for ``off_s`` (default 2 s) every ``period_s``
  (default 6 s); commands sent while it is away are lost.

Rooms have temperatures: every ``thermal_interval_s`` a thermostat calling for heat
(or cooling) moves its own current temperature and the temperature sensors of its
area by ``thermal_step_c``. It decides by its own reading, so a thermostat with a
``wrong_reading`` stops heating a room that is still cold, as real ones do.

Each fault is cleared by what a person would do (``customer_action``):
``power_cycle`` (offline, unresponsive, stuck, intermittent), ``replace_battery``
(low_battery, and offline on battery devices), ``move_closer`` / ``add_repeater``
(weak_signal, intermittent), ``re_pair`` (offline, unresponsive, weak_signal),
``recalibrate`` / ``clean_sensor`` (wrong_reading), ``restart_hub`` (a hub's faults).
A fault may name its own cure: ``{type: offline, fixed_by: [replace_battery]}``.
Other actions: ``toggle`` (someone flips the device by hand).

MQTT control topics (``<prefix>`` = ``voicebot-sim``; ``<id>`` = the device id, the
slug of its name):

- ``<prefix>/<id>/fault/set``: ``offline`` or ``{"type": "wrong_reading", "offset": 5}``
  or a JSON list of those: adds faults.
- ``<prefix>/<id>/fault/clear``: empty (all faults) or a fault type.
- ``<prefix>/<id>/action``: ``power_cycle`` or ``{"action": "power_cycle"}``.
- ``<prefix>/<id>/state/set``: JSON of Home Assistant attributes: the world changes
  (the room warms up, someone opens the door).
- The simulator publishes ``<prefix>/<id>/faults`` (retained JSON list) after every
  change, and ``<prefix>/<id>/event`` (``{"action": ..., "cleared": [...]}``).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import queue
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from device_bridge.client import Message, MqttConnection
from device_bridge.conventions import QUERY, Outgoing, PayloadError, dumps
from device_bridge.conventions import get as convention
from device_bridge.conventions import tasmota_discovery as tdisc
from device_bridge.conventions import zigbee2mqtt as z2m
from device_bridge.conventions.tasmota import Tasmota
from device_bridge.devices import STATELESS, DeviceType
from device_bridge.home import FAULTS, Home, HomeDevice, load_home, parse_fault

log = logging.getLogger(__name__)

CURES: dict[str, set[str]] = {
    "power_cycle": {"offline", "unresponsive", "stuck", "intermittent"},
    "replace_battery": {"low_battery"},
    "move_closer": {"weak_signal", "intermittent"},
    "add_repeater": {"weak_signal", "intermittent"},
    "re_pair": {"offline", "unresponsive", "weak_signal"},
    "recalibrate": {"wrong_reading"},
    "clean_sensor": {"wrong_reading"},
    "restart_hub": {"offline", "unresponsive", "stuck", "intermittent"},
}
ACTIONS = (*CURES, "toggle")


@dataclass
class VirtualDevice:
    home: HomeDevice
    state: dict[str, Any]
    faults: list[dict[str, Any]] = field(default_factory=list)
    link_up: bool = True  # false while an intermittent fault has it away
    commands_seen: int = 0
    commands_obeyed: int = 0
    target_position: int | None = None
    next_flip: float = 0.0
    activations: int = 0  # a scene or script: how often it was run (it has no state to show it)

    @property
    def id(self) -> str:
        return self.home.device.id

    def has(self, fault: str) -> bool:
        return any(f["type"] == fault for f in self.faults)

    def fault(self, fault: str) -> dict[str, Any]:
        return next(f for f in self.faults if f["type"] == fault)


class Simulator:
    def __init__(
        self,
        home: Path | str | dict | Home,
        broker_url: str,
        *,
        telemetry_interval_s: float = 30.0,
        cover_travel_s: float = 1.5,
        response_delay_s: float = 0.0,
        thermal_interval_s: float | None = 60.0,
        thermal_step_c: float = 0.2,
        prefix: str = "voicebot-sim",
        client_id: str | None = None,
        tasmota_discovery_prefix: str | None = tdisc.DEFAULT_PREFIX,  # None: publish no Tasmota discovery
    ) -> None:
        self.tasmota_discovery_prefix = tasmota_discovery_prefix
        self.home = home if isinstance(home, Home) else load_home(home)
        self.broker_url = broker_url
        self.telemetry_interval_s = telemetry_interval_s
        self.cover_travel_s = cover_travel_s
        self.response_delay_s = response_delay_s
        self.thermal_interval_s = thermal_interval_s
        self.thermal_step_c = thermal_step_c
        self.prefix = prefix
        self._lock = threading.RLock()
        # Held from computing a report to publishing it (always taken before _lock): without it
        # the ticker could publish a cover's travel report computed just before a state was set
        # by hand, after that state's own report, and leave the bridge with the stale one.
        self._order = threading.RLock()
        self._devices: dict[str, VirtualDevice] = {}
        for hd in self.home.devices:
            self._devices[hd.device.id] = VirtualDevice(hd, dict(hd.state), [dict(f) for f in hd.faults])
        self._topic_owner: dict[str, list[str]] = {}  # several for multi-relay Tasmota boards
        self._work: queue.Queue[tuple[str, Message] | None] = queue.Queue()
        self._announced = threading.Event()  # the home has announced itself at least once
        self._threads: list[threading.Thread] = []
        self._running = False
        self.conn = MqttConnection(broker_url, client_id=client_id or f"voicebot-sim-{int(time.time() * 1000) % 10**8}")
        self.commands_received = 0

    # -- life cycle -------------------------------------------------------------------

    def start(self, wait: float = 10.0) -> Simulator:
        self._running = True
        self.conn.add_connection_listener(self._on_connection)
        topics: list[str] = []
        with self._lock:
            for vd in self._devices.values():
                for t in convention(vd.home.device.convention).device_subscriptions(vd.home.device):
                    self._topic_owner.setdefault(t, []).append(vd.id)
                    topics.append(t)
        self.conn.subscribe_many(topics, self._on_command)
        self.conn.subscribe_many([f"{self.prefix}/+/fault/set", f"{self.prefix}/+/fault/clear",
                                  f"{self.prefix}/+/action", f"{self.prefix}/+/state/set"], self._on_control)
        # Home Assistant's birth message: devices answer it by announcing themselves again
        self.conn.subscribe("homeassistant/status", self._on_ha_status)
        for name, target in (("sim-worker", self._worker), ("sim-ticker", self._ticker)):
            t = threading.Thread(target=target, name=name, daemon=True)
            t.start()
            self._threads.append(t)
        if not self.conn.start(wait=wait):
            self.stop()
            raise ConnectionError(f"simulator cannot reach the broker at {self.broker_url}")
        return self

    def stop(self) -> None:
        self._running = False
        self._work.put(None)
        if self.conn.connected:
            # A simulated home that stops takes its retained discovery with it: otherwise the next
            # bridge on this broker (another home, a test) finds ghost devices, and a real Home
            # Assistant keeps them for good.
            deliveries = [self.conn.publish(o.topic, "", 1, True) for o in self._discovery_topics()]
            for d in deliveries:
                d.wait(1.0)
        self.conn.stop()
        for t in self._threads:
            t.join(timeout=2)
        self._threads = []

    def __enter__(self) -> Simulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _on_connection(self, up: bool) -> None:
        if up:
            # after a broker restart nothing retained survives (persistence off): say it all again
            self._work.put(("announce", Message("")))

    # -- the Python API ------------------------------------------------------------------

    def wait_announced(self, timeout: float = 60.0) -> bool:
        """Wait until the home has said everything it had to (its announcement after connecting,
        answers to commands) and the broker has acknowledged all of it: a big home's announcement
        of thousands of QoS 1 messages goes out through the client's window of unacknowledged
        ones long after the last of them was handed over, and the answer to a command published
        meanwhile queues behind it. A running home, as a bridge meets it, has finished this."""
        deadline = time.monotonic() + timeout
        if not self._announced.wait(timeout):
            return False
        with self._work.all_tasks_done:
            if not self._work.all_tasks_done.wait_for(lambda: self._work.unfinished_tasks == 0,
                                                      max(0.0, deadline - time.monotonic())):
                return False
        while self.conn.unacknowledged() or self.conn.queued:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.02)  # paho gives no event for "outbox empty"; this polls that condition
        return True

    def device_ids(self) -> list[str]:
        return list(self._devices)

    def _vd(self, device: str) -> VirtualDevice:
        if device in self._devices:
            return self._devices[device]
        return self._devices[self.home.device(device).device.id]

    def state(self, device: str) -> dict[str, Any]:
        """The device's true state (what a person standing next to it would see)."""
        with self._lock:
            return dict(self._vd(device).state)

    def activations(self, device: str) -> int:
        """How often a scene or script was run."""
        with self._lock:
            return self._vd(device).activations

    def faults(self, device: str) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(f) for f in self._vd(device).faults]

    def inject(self, device: str, fault: str | dict[str, Any]) -> None:
        with self._order:
            spec = parse_fault(fault, f"fault for {device}")
            with self._lock:
                vd = self._vd(device)
                vd.faults = [f for f in vd.faults if f["type"] != spec["type"]] + [spec]
                if spec["type"] == "intermittent":
                    vd.next_flip = time.monotonic() + float(spec.get("period_s", 6.0)) - float(spec.get("off_s", 2.0))
            log.info("fault %s injected into %s", spec["type"], vd.id)
            if spec["type"] in ("unresponsive", "stuck"):
                # nothing shows from outside until someone sends it a command
                self._publish_all([Outgoing(f"{self.prefix}/{vd.id}/faults", dumps(vd.faults), retain=True)])
            else:
                self._publish_all(self._refresh(vd))

    def clear(self, device: str, fault: str | None = None) -> None:
        with self._order:
            with self._lock:
                vd = self._vd(device)
                vd.faults = [f for f in vd.faults if fault is not None and f["type"] != fault]
                if not vd.has("intermittent"):
                    vd.link_up = True
                    vd.next_flip = 0.0
            self._publish_all(self._refresh(vd))

    def customer_action(self, device: str, action: str) -> list[str]:
        """What the customer did at a troubleshooting step's request; returns the fault
        types it cleared (and publishes ``<prefix>/<id>/event``)."""
        with self._order:
            if action not in ACTIONS:
                raise ValueError(f"unknown action {action!r}: one of {', '.join(ACTIONS)}")
            out: list[Outgoing] = []
            with self._lock:
                vd = self._vd(device)
                if action == "toggle":
                    if "state" in vd.state and vd.state["state"] in ("on", "off"):
                        vd.state["state"] = "off" if vd.state["state"] == "on" else "on"
                    cleared: list[str] = []
                else:
                    cures = set(CURES[action])
                    if action == "replace_battery" and vd.home.battery:
                        cures.add("offline")
                    if action == "restart_hub" and vd.home.device.topics.get("role") != "hub":
                        cures = set()
                    cleared = [f["type"] for f in vd.faults if action in f.get("fixed_by", ()) or
                               ("fixed_by" not in f and f["type"] in cures)]
                    vd.faults = [f for f in vd.faults if f["type"] not in cleared]
                    if "intermittent" in cleared:
                        vd.link_up = True
                out += self._refresh(vd)
                out.append(Outgoing(f"{self.prefix}/{vd.id}/event", dumps({"action": action, "cleared": cleared})))
            log.info("customer did %s on %s; cleared %s", action, vd.id, cleared or "nothing")
            self._publish_all(out)
            return cleared

    def set_state(self, device: str, changes: dict[str, Any]) -> None:
        """The world changes the device (a reading moves, someone opens a door). A number
        (position, temperature, brightness…) must stay a number: ValueError otherwise."""
        with self._order:
            with self._lock:
                vd = self._vd(device)
                for key, value in changes.items():
                    now = vd.state.get(key)
                    if (isinstance(now, (int, float)) and not isinstance(now, bool) and key != "state"
                            and (isinstance(value, bool) or not isinstance(value, (int, float)))):
                        raise ValueError(f"{key} of {vd.id} must be a number, not {value!r}")
                if vd.target_position is not None and "current_position" in changes:
                    # a cover put somewhere by hand stops where it is put, instead of
                    # travelling on to the target of the last command
                    vd.target_position = None
                    if "state" not in changes:
                        changes = {**changes, "state": "closed" if changes["current_position"] == 0 else "open"}
                vd.state.update(changes)
                out = self._report(vd) if self._online(vd) else []
            self._publish_all(out)

    def add_device(self, spec: dict[str, Any]) -> str:
        """A device joins the home while running (pairing): announced like real ones."""
        areas = [{"name": a.name, "floor": a.floor} for a in self.home.areas]
        single = load_home({"areas": areas, "devices": [spec]})
        hd = next(h for h in single.devices if h.device.topics.get("role") != "hub")
        hub = next((d.home.device.id for d in self._devices.values() if d.home.device.topics.get("role") == "hub"
                    and d.home.device.topics.get("base_topic") == hd.device.topics.get("base_topic")), None)
        hd.device.hub = hub if hd.device.convention == "zigbee2mqtt" else None
        with self._lock:
            if hd.device.id in self._devices:
                raise ValueError(f"a device with id {hd.device.id} exists already")
            vd = self._devices[hd.device.id] = VirtualDevice(hd, dict(hd.state), list(hd.faults))
            self.home.devices.append(hd)
            topics = convention(hd.device.convention).device_subscriptions(hd.device)
            for t in topics:
                self._topic_owner.setdefault(t, []).append(vd.id)
        self.conn.subscribe_many(topics, self._on_command)
        out = self._announcements(vd) + self._refresh(vd)
        if hd.device.convention == "zigbee2mqtt":
            out.insert(0, Outgoing(f"{hd.device.topics['base_topic']}/bridge/event", dumps(
                {"type": "device_joined", "data": {"friendly_name": hd.device.topics["friendly_name"],
                                                   "ieee_address": hd.device.topics["ieee_address"]}})))
        self._publish_all(out)
        return vd.id

    def remove_device(self, device: str) -> None:
        """A device leaves (removed from Z2M, discovery config deleted)."""
        with self._lock:
            vd = self._vd(device)
            del self._devices[vd.id]
            self.home.devices = [h for h in self.home.devices if h.device.id != vd.id]
            dev = vd.home.device
            out: list[Outgoing] = []
            if dev.convention == "homeassistant":
                out.append(Outgoing(dev.topics["discovery_topic"], "", retain=True))
            elif dev.convention == "tasmota" and self.tasmota_discovery_prefix:
                board = dev.topics["topic"]
                if any(v.home.device.convention == "tasmota" and v.home.device.topics.get("topic") == board
                       for v in self._devices.values()):
                    out += self._tasmota_discovery({board})  # the board stays, with one output fewer
                else:
                    p, mac = self.tasmota_discovery_prefix, tdisc.mac_for(board)
                    out += [Outgoing(f"{p}/{mac}/config", "", retain=True), Outgoing(f"{p}/{mac}/sensors", "", retain=True)]
            elif dev.convention == "zigbee2mqtt":
                out.append(Outgoing(f"{dev.topics['base_topic']}/bridge/event", dumps(
                    {"type": "device_leave", "data": {"friendly_name": dev.topics["friendly_name"],
                                                      "ieee_address": dev.topics["ieee_address"]}})))
                out.append(self._bridge_devices(dev.topics["base_topic"]))
            # clear the retained messages a removed device leaves behind
            for o in convention(dev.convention).availability(dev, True) + self._report(vd):
                if o.retain:
                    out.append(Outgoing(o.topic, "", retain=True))
        self._publish_all(out)

    # -- behaviour ---------------------------------------------------------------------------

    def _hub_of(self, vd: VirtualDevice) -> VirtualDevice | None:
        hub = vd.home.device.hub
        return self._devices.get(hub) if hub else None

    def _online(self, vd: VirtualDevice) -> bool:
        if vd.has("offline") or not vd.link_up:
            return False
        hub = self._hub_of(vd)
        return hub is None or self._online(hub)

    def _telemetry(self, vd: VirtualDevice) -> dict[str, Any]:
        dev = vd.home.device
        tel: dict[str, Any] = {"last_seen": time.time()}
        if dev.topics.get("role") == "hub":
            return tel
        base_lqi = 100 + int(hashlib.sha1(dev.id.encode()).hexdigest()[:2], 16) // 2  # 100-227, stable per device
        tel["linkquality"] = int(vd.fault("weak_signal").get("linkquality", 10)) if vd.has("weak_signal") else base_lqi
        if vd.home.battery:
            tel["battery"] = int(vd.fault("low_battery").get("level", 4)) if vd.has("low_battery") else 87
        elif vd.has("low_battery"):
            tel["battery"] = int(vd.fault("low_battery").get("level", 4))
        if dev.type is DeviceType.SWITCH and (vd.home.power_w is not None or dev.convention == "tasmota"):
            on = vd.state.get("state") == "on"
            tel["power"] = float(vd.home.power_w or 0.0) if on else 0.4
        return tel

    def _reported_state(self, vd: VirtualDevice) -> dict[str, Any]:
        st = dict(vd.state)
        if vd.has("wrong_reading"):
            offset = float(vd.fault("wrong_reading").get("offset", 6.0))
            if vd.home.device.type is DeviceType.SENSOR and isinstance(st.get("state"), (int, float)):
                st["state"] = round(st["state"] + offset, 2)
            if isinstance(st.get("current_temperature"), (int, float)):
                st["current_temperature"] = round(st["current_temperature"] + offset, 2)
        return st

    def _report(self, vd: VirtualDevice) -> list[Outgoing]:
        dev = vd.home.device
        conv = convention(dev.convention)
        return conv.report(dev, self._reported_state(vd), self._telemetry(vd))

    def _availability(self, vd: VirtualDevice) -> list[Outgoing]:
        dev = vd.home.device
        if dev.topics.get("role") == "hub":
            return convention("zigbee2mqtt").availability(dev, self._online(vd))
        # Z2M's own availability is not updated while the hub itself is down
        own = not vd.has("offline") and vd.link_up
        return convention(dev.convention).availability(dev, own)

    def _refresh(self, vd: VirtualDevice) -> list[Outgoing]:
        out = self._availability(vd)
        if vd.home.device.topics.get("role") == "hub":
            for other in self._devices.values():
                if other.home.device.hub == vd.id and self._online(other):
                    out += self._report(other)
        elif self._online(vd):
            out += self._report(vd)
            if vd.home.device.convention == "tasmota":
                out += Tasmota().telemetry_report(vd.home.device, self._reported_state(vd), self._telemetry(vd))
        out.append(Outgoing(f"{self.prefix}/{vd.id}/faults", dumps(vd.faults), retain=True))
        return out

    def _apply(self, vd: VirtualDevice, changes: dict[str, Any]) -> None:
        t = vd.home.device.type
        for key, value in changes.items():
            if key == "state" and value == "toggle":
                value = "off" if vd.state.get("state") == "on" else "on"
            if t is DeviceType.COVER and key in ("state", "position"):
                if key == "position":
                    target = int(value)
                elif value == "stopped":
                    vd.target_position = None
                    pos = vd.state.get("current_position", 0)
                    vd.state["state"] = "closed" if pos == 0 else "open"
                    continue
                else:
                    target = 100 if value == "open" else 0
                if self.cover_travel_s <= 0 or target == vd.state.get("current_position"):
                    vd.state["current_position"] = target
                    vd.state["state"] = "closed" if target == 0 else "open"
                    vd.target_position = None
                else:
                    vd.target_position = target
                    vd.state["state"] = "opening" if target > vd.state.get("current_position", 0) else "closing"
                continue
            if t is DeviceType.CLIMATE and key == "hvac_mode":
                vd.state["state"] = value
            if t is DeviceType.FAN and key == "percentage":
                vd.state["preset_mode"] = "low" if value <= 33 else "medium" if value <= 66 else "high"
            if t is DeviceType.FAN and key == "preset_mode" and value in ("low", "medium", "high"):
                vd.state["percentage"] = {"low": 33, "medium": 66, "high": 100}[value]
            if t is DeviceType.LIGHT and key == "color_temp":
                vd.state.pop("hs_color", None)
            vd.state[key] = value

    def _handle_command(self, msg: Message) -> None:
        owners = self._topic_owner.get(msg.topic)
        if owners is None:
            # Tasmota devices subscribe cmnd/<topic>/+
            owners = self._topic_owner.get(msg.topic.rsplit("/", 1)[0] + "/+", [])
        for device_id in owners:
            self._device_command(device_id, msg)

    def _device_command(self, device_id: str, msg: Message) -> None:
        with self._lock:
            vd = self._devices.get(device_id)
            if vd is None:
                return
            self.commands_received += 1
            dev = vd.home.device
            try:
                decoded = convention(dev.convention).decode_command(dev, msg.topic, msg.payload)  # type: ignore[arg-type]
            except (PayloadError, ValueError, TypeError, KeyError) as exc:
                log.warning("device %s ignored a malformed command on %s: %s", dev.id, msg.topic, exc)
                return
            if decoded is None:
                return
            if not self._online(vd) or vd.has("unresponsive"):
                return
            vd.commands_seen += 1
            if vd.has("weak_signal") and vd.commands_seen % 2 == 1:
                log.info("device %s lost a command on the air (weak signal)", dev.id)
                return
            if self.response_delay_s:
                time.sleep(self.response_delay_s)
            if (decoded == QUERY and vd.home.battery and dev.convention == "zigbee2mqtt"
                    and dev.type in (DeviceType.SENSOR, DeviceType.BINARY_SENSOR)):
                return  # a sleeping end device does not hear reads; it reports when it wakes
            if decoded == QUERY and dev.convention == "tasmota":
                out = Tasmota().query_reply(dev, msg.topic, self._reported_state(vd), self._telemetry(vd))
            elif decoded == QUERY:
                out = self._report(vd)
            elif vd.has("stuck"):
                if dev.type is DeviceType.LOCK:
                    vd.state["state"] = "jammed"
                out = self._report(vd)
            elif dev.type in STATELESS:
                vd.commands_obeyed += 1
                vd.activations += 1
                log.info("%s %s activated", dev.type.value, dev.id)
                out = []
            else:
                vd.commands_obeyed += 1
                self._apply(vd, decoded)  # type: ignore[arg-type]
                out = self._report(vd)
        self._publish_all(out)

    def _handle_control(self, msg: Message) -> None:
        parts = msg.topic.split("/")
        device, verb = parts[1], "/".join(parts[2:])
        raw = msg.text.strip()
        try:
            if verb == "fault/set":
                data: Any = raw
                if raw.startswith(("{", "[", '"')):
                    data = json.loads(raw)
                for spec in data if isinstance(data, list) else [data]:
                    self.inject(device, spec)
            elif verb == "fault/clear":
                self.clear(device, raw or None)
            elif verb == "action":
                action = json.loads(raw).get("action") if raw.startswith("{") else raw
                self.customer_action(device, str(action))
            elif verb == "state/set":
                data = json.loads(raw)
                if not isinstance(data, dict):
                    raise ValueError("state/set takes a JSON object")
                self.set_state(device, data)
        except (KeyError, ValueError) as exc:
            log.warning("simulator ignored %s: %s", msg.topic, exc)

    # -- threads and publishing ---------------------------------------------------------------

    def _on_command(self, msg: Message) -> None:
        self._work.put(("command", msg))

    def _on_control(self, msg: Message) -> None:
        self._work.put(("control", msg))

    def _on_ha_status(self, msg: Message) -> None:
        if msg.text.strip() == "online":
            self._work.put(("announce", msg))

    def _worker(self) -> None:
        while True:
            item = self._work.get()
            if item is None:
                self._work.task_done()
                return
            kind, msg = item
            try:
                if kind == "command":
                    self._handle_command(msg)
                elif kind == "control":
                    self._handle_control(msg)
                elif kind == "announce":
                    self._announce_all()
                    self._announced.set()
            except Exception:
                log.exception("simulator failed on %s", msg.topic)
            finally:
                self._work.task_done()  # wait_announced() counts on it

    def _announcements(self, vd: VirtualDevice) -> list[Outgoing]:
        dev = vd.home.device
        if dev.convention == "zigbee2mqtt":
            return [self._bridge_devices(dev.topics["base_topic"])]
        if dev.convention == "tasmota":
            return self._tasmota_discovery({dev.topics["topic"]})
        return convention(dev.convention).announce(dev)

    def _discovery_topics(self) -> list[Outgoing]:
        """Every retained discovery message this home publishes (Home Assistant configs,
        Tasmota config and sensors), as announced now."""
        with self._lock:
            out = [o for vd in self._devices.values() if vd.home.device.convention == "homeassistant"
                   for o in convention("homeassistant").announce(vd.home.device)]
            out += self._tasmota_discovery()
        return [o for o in out if o.retain]

    def _tasmota_discovery(self, boards: set[str] | None = None) -> list[Outgoing]:
        """Tasmota's own discovery for the given boards (Tasmota topics), or all of them:
        a retained config and sensors message per board, as the firmware publishes."""
        if not self.tasmota_discovery_prefix:
            return []
        p, out = self.tasmota_discovery_prefix, []
        by_board: dict[str, list[VirtualDevice]] = {}
        for vd in self._devices.values():
            t = vd.home.device.topics.get("topic")
            if vd.home.device.convention == "tasmota" and (boards is None or t in boards):
                by_board.setdefault(t, []).append(vd)
        tas = Tasmota()
        for board, vds in sorted(by_board.items()):
            mac = tdisc.mac_for(board)
            config = tdisc.board_config(board, [vd.home.device for vd in vds])
            readings: dict[str, Any] = {}
            for vd in vds:
                for o in tas.telemetry_report(vd.home.device, self._reported_state(vd), self._telemetry(vd)):
                    if o.topic.endswith("/SENSOR"):
                        body = json.loads(o.payload)
                        body.pop("Time", None)
                        readings.update(body)
            out.append(Outgoing(f"{p}/{mac}/config", dumps(config), retain=True))
            out.append(Outgoing(f"{p}/{mac}/sensors", dumps(tdisc.board_sensors(readings, _now_text())), retain=True))
        return out

    def _bridge_devices(self, base: str) -> Outgoing:
        entries = [{"ieee_address": "0x00124b0000000001", "type": "Coordinator", "network_address": 0,
                    "supported": True, "friendly_name": "Coordinator", "definition": None,
                    "power_source": None, "interviewing": False, "interview_completed": True}]
        for vd in self._devices.values():
            dev = vd.home.device
            if dev.convention == "zigbee2mqtt" and dev.topics.get("base_topic") == base and dev.topics.get("role") != "hub":
                entries.append(z2m.bridge_device_entry(dev, vd.home.battery))
        return Outgoing(f"{base}/bridge/devices", dumps(entries), retain=True)

    def _announce_all(self) -> None:
        out: list[Outgoing] = []
        with self._lock:
            bases = {vd.home.device.topics["base_topic"] for vd in self._devices.values()
                     if vd.home.device.convention == "zigbee2mqtt"}
            for base in sorted(bases):
                out.append(self._bridge_devices(base))
            for vd in self._devices.values():
                if vd.home.device.convention != "zigbee2mqtt":
                    out += convention(vd.home.device.convention).announce(vd.home.device)
            out += self._tasmota_discovery()
            # hubs first, so devices are never reported behind a hub nobody has heard of
            ordered = sorted(self._devices.values(), key=lambda v: v.home.device.topics.get("role") != "hub")
            for vd in ordered:
                out += self._refresh(vd)
        self._publish_all(out)

    def _publish_all(self, out: list[Outgoing]) -> None:
        for o in out:
            self.conn.publish(o.topic, o.payload, o.qos, o.retain)

    def _thermal(self) -> list[Outgoing]:
        """Heating and cooling move the room: each thermostat that calls for heat (by
        its own reading, which a wrong_reading fault skews) warms its current
        temperature and the temperature sensors of its area by one step."""
        out: list[Outgoing] = []
        for vd in list(self._devices.values()):
            dev = vd.home.device
            if dev.type is not DeviceType.CLIMATE:
                continue
            st, seen = vd.state, self._reported_state(vd)
            mode, target, current = st.get("hvac_mode"), st.get("temperature"), seen.get("current_temperature")
            if not isinstance(target, (int, float)) or not isinstance(current, (int, float)):
                continue
            delta = 0.0
            if mode in ("heat", "auto") and current < target - 0.05:
                delta = self.thermal_step_c
            elif mode in ("cool", "auto") and current > target + 0.05:
                delta = -self.thermal_step_c
            if not delta:
                continue
            room = [vd] + [o for o in self._devices.values() if o is not vd and dev.area and o.home.device.area == dev.area
                           and o.home.device.type is DeviceType.SENSOR and o.home.device.device_class == "temperature"]
            for o in room:
                key = "current_temperature" if o is vd else "state"
                if isinstance(o.state.get(key), (int, float)):
                    o.state[key] = round(o.state[key] + delta, 2)
                    if self._online(o):
                        out += self._report(o)
        return out

    def _ticker(self) -> None:
        last_tele = last_thermal = time.monotonic()
        step = 0.05
        while self._running:
            time.sleep(step)
            try:
                with self._order:
                    last_tele, last_thermal = self._tick(step, last_tele, last_thermal)
            except Exception:  # one device's bad value must not stop every device's telemetry
                log.exception("simulator tick failed; going on")

    def _tick(self, step: float, last_tele: float, last_thermal: float) -> tuple[float, float]:
        now = time.monotonic()
        out: list[Outgoing] = []
        with self._lock:
            for vd in self._devices.values():
                if vd.target_position is not None:
                    out += self._move_cover(vd, step)
                if vd.has("intermittent") and not vd.next_flip:
                    f = vd.fault("intermittent")
                    vd.next_flip = now + float(f.get("period_s", 6.0)) - float(f.get("off_s", 2.0))
                if vd.has("intermittent") and now >= vd.next_flip:
                    f = vd.fault("intermittent")
                    period, off = float(f.get("period_s", 6.0)), float(f.get("off_s", 2.0))
                    vd.link_up = not vd.link_up
                    vd.next_flip = now + (period - off if vd.link_up else off)
                    out += self._refresh(vd)
            if self.thermal_interval_s and now - last_thermal >= self.thermal_interval_s:
                last_thermal = now
                out += self._thermal()
            if now - last_tele >= self.telemetry_interval_s:
                last_tele = now
                for vd in self._devices.values():
                    if self._online(vd) and vd.home.device.topics.get("role") != "hub":
                        if vd.home.device.convention == "tasmota":
                            out += Tasmota().telemetry_report(vd.home.device, self._reported_state(vd),
                                                              self._telemetry(vd))
                        else:
                            out += self._report(vd)
        with contextlib.suppress(Exception):
            self._publish_all(out)
        return last_tele, last_thermal

    def _move_cover(self, vd: VirtualDevice, step: float) -> list[Outgoing]:
        target = vd.target_position
        assert target is not None
        pos = float(vd.state.get("current_position", 0))
        speed = 100.0 / max(self.cover_travel_s, 0.01) * step
        before = round(pos)
        pos = min(target, pos + speed) if target > pos else max(target, pos - speed)
        vd.state["current_position"] = round(pos)
        if round(pos) == target:
            vd.target_position = None
            vd.state["state"] = "closed" if target == 0 else "open"
            return self._report(vd) if self._online(vd) else []
        # report progress in steps of about a tenth, as real covers do
        if self._online(vd) and abs(round(pos) // 10 - before // 10) >= 1:
            return self._report(vd)
        return []

    # -- inspection ------------------------------------------------------------------------

    def summary(self) -> list[dict[str, Any]]:
        with self._lock:
            return [{"id": vd.id, "name": vd.home.device.name, "type": vd.home.device.type.value,
                     "convention": vd.home.device.convention, "state": dict(vd.state),
                     "faults": [f["type"] for f in vd.faults], "online": self._online(vd)}
                    for vd in self._devices.values()]


__all__ = ["ACTIONS", "CURES", "FAULTS", "Simulator"]


def _now_text() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S")
