"""Tasmota's own discovery (``tasmota/discovery/<MAC>/config`` and ``/sensors``, firmware
default ``SetOption19 0``): devices appear, obey, change and disappear while the bridge
runs; bad messages are skipped; home-file devices on the same topic are not duplicated;
the simulator publishes the same messages as real firmware."""

from __future__ import annotations

import json
import logging
import threading
from typing import Any

from device_bridge.bridge import DeviceBridge
from device_bridge.client import Message, MqttConnection
from device_bridge.devices import DeviceType, Outcome
from tests.device_bridge.conftest import EVERY_KIND, publish
from tests.waiting import until

PREFIX = "tasmota/discovery"


def firmware_config(mac: str, topic: str, *, dn: str, fn: list[str | None], rl: list[int], lt_st: int = 0,
                    ifan: int = 0, md: str = "Generic", **over: Any) -> dict[str, Any]:
    """A config message in the shape Tasmota 13 sends (every key it publishes)."""
    cfg = {
        "ip": "192.168.1.50", "dn": dn, "fn": fn + [None] * (8 - len(fn)), "hn": f"{topic}-0001", "mac": mac,
        "md": md, "ty": 0, "if": ifan, "ofln": "Offline", "onln": "Online", "state": ["OFF", "ON", "TOGGLE", "HOLD"],
        "sw": "13.1.0", "t": topic, "ft": "%prefix%/%topic%/", "tp": ["cmnd", "stat", "tele"],
        "rl": rl + [0] * (8 - len(rl)), "swc": [-1] * 8, "swn": [None] * 8, "btn": [0] * 8,
        "so": {"4": 0, "11": 0, "13": 0, "17": 0, "20": 0, "30": 0, "68": 0, "73": 0, "82": 0, "114": 0, "117": 0},
        "lk": 1, "lt_st": lt_st, "bat": 0, "dslp": 0, "sho": [0, 0, 0, 0], "sht": [], "ver": 1,
    }
    cfg.update(over)
    return cfg


class FakeTasmota:
    """A device-side peer: answers ``cmnd/<topic>/…`` on ``stat/<topic>/RESULT`` as firmware does."""

    def __init__(self, conn: MqttConnection, topic: str, state: dict[str, Any]) -> None:
        self.conn, self.topic, self.state = conn, topic, state
        self.received: list[tuple[str, str]] = []
        self._lock = threading.Lock()
        conn.subscribe(f"cmnd/{topic}/+", self._on, wait=5)

    def _on(self, msg: Message) -> None:
        command, value = msg.topic.rsplit("/", 1)[-1], msg.text
        with self._lock:
            self.received.append((command, value))
            if command.lower() == "status":
                return
            if value == "" and command.lower() in ("state", "power", "power1", "power2"):
                self._result(dict(self.state))
                return
            if command.upper().startswith("POWER"):
                self.state[command.upper()] = value.upper()
                self._result({command.upper(): value.upper()})
            elif command == "Dimmer":
                self.state["Dimmer"] = int(value)
                self._result({"Dimmer": int(value)})
            elif command.startswith("ShutterPosition") and value:
                n = command[len("ShutterPosition"):]
                self.state[f"Shutter{n}"] = {"Position": int(value), "Direction": 0, "Target": int(value), "Tilt": 0}
                self._result({f"Shutter{n}": self.state[f"Shutter{n}"]})

    def _result(self, body: dict[str, Any]) -> None:
        self.conn.publish(f"stat/{self.topic}/RESULT", json.dumps(body))


def _on_topic(bridge: DeviceBridge, topic: str) -> list:
    return sorted((d for d in bridge.devices() if d.convention == "tasmota" and d.topics.get("topic") == topic),
                  key=lambda d: d.id)


def test_relay_and_dimmer_light_board_appears_and_obeys(bridge, peer) -> None:
    fake = FakeTasmota(peer, "tasmota_AA0001", {"POWER1": "OFF", "POWER2": "OFF", "Dimmer": 10})
    publish(peer, f"{PREFIX}/DC4F22AA0001/config",
             firmware_config("DC4F22AA0001", "tasmota_AA0001", dn="Porch Board", fn=["Porch Fan", "Porch Lamp"],
                             rl=[1, 2], lt_st=1, md="Sonoff Dual R2"))
    assert bridge.wait_for(lambda b: len(_on_topic(b, "tasmota_AA0001")) == 2, 10)
    by_type = {d.type: d for d in _on_topic(bridge, "tasmota_AA0001")}
    switch, light = by_type[DeviceType.SWITCH], by_type[DeviceType.LIGHT]
    assert (switch.name, switch.topics["relay"]) == ("Porch Fan", 1)
    assert (light.name, light.topics["relay"]) == ("Porch Lamp", 2)
    assert light.features == ["state", "brightness"]  # lt_st 1: a dimmer, no colour
    assert (light.model, light.manufacturer, light.topics["sw_version"]) == ("Sonoff Dual R2", "Tasmota", "13.1.0")
    # the bridge asked the new devices for their state (Tasmota retains none)
    assert until(lambda: ("State", "") in fake.received, 10)
    r = bridge.set(light.id, {"state": "on", "brightness_pct": 40})
    assert r.outcome is Outcome.CONFIRMED, r.reason
    assert "sent cmnd/tasmota_AA0001/Dimmer 40" in r.evidence and "sent cmnd/tasmota_AA0001/POWER2 ON" in r.evidence
    r = bridge.set(switch.id, {"state": "on"})
    assert r.outcome is Outcome.CONFIRMED and r.evidence[0] == "sent cmnd/tasmota_AA0001/POWER1 ON"
    assert fake.state["POWER1"] == "ON" and bridge.get(light.id).state["state"] == "on"
    assert bridge.set(light.id, {"hs_color": [30, 80]}).outcome is Outcome.REJECTED  # no colour channel


def test_single_light_shutter_and_sensor_readings(bridge, peer) -> None:
    lamp = FakeTasmota(peer, "tasmota_AA0002", {"POWER": "OFF", "Dimmer": 50})
    blind = FakeTasmota(peer, "tasmota_AA0003", {"Shutter1": {"Position": 100, "Direction": 0, "Target": 100}})
    publish(peer, f"{PREFIX}/DC4F22AA0002/config",
             firmware_config("DC4F22AA0002", "tasmota_AA0002", dn="Desk Lamp", fn=["Desk Lamp"], rl=[2], lt_st=2))
    publish(peer, f"{PREFIX}/DC4F22AA0003/config",
             firmware_config("DC4F22AA0003", "tasmota_AA0003", dn="Study Blind", fn=["Tasmota", "Tasmota2"], rl=[3, 3],
                             md="Shelly 2.5"))
    publish(peer, f"{PREFIX}/DC4F22AA0004/config",
             firmware_config("DC4F22AA0004", "tasmota_AA0004", dn="Attic Climate", fn=[None], rl=[]))
    publish(peer, f"{PREFIX}/DC4F22AA0004/sensors",
             {"sn": {"Time": "2024-05-01T10:00:00", "AM2301": {"Temperature": 21.3, "Humidity": 40, "DewPoint": 7.2},
                     "BH1750": {"Illuminance": 120}, "TempUnit": "C"}, "ver": 1})
    assert bridge.wait_for(lambda b: len(_on_topic(b, "tasmota_AA0004")) == 4 and _on_topic(b, "tasmota_AA0003")
                           and _on_topic(b, "tasmota_AA0002"), 10)
    (light,) = _on_topic(bridge, "tasmota_AA0002")
    assert light.type is DeviceType.LIGHT and light.topics["relay"] is None  # one output: plain POWER
    assert light.features == ["state", "brightness", "color_temp"] and light.ranges["color_temp"] == (153, 500)
    r = bridge.set(light.id, {"state": "on"})
    assert r.outcome is Outcome.CONFIRMED and r.evidence[0] == "sent cmnd/tasmota_AA0002/POWER ON"
    assert lamp.state["POWER"] == "ON"
    (cover,) = _on_topic(bridge, "tasmota_AA0003")
    assert cover.type is DeviceType.COVER and cover.name == "Study Blind"
    r = bridge.set(cover.id, {"position": 30})
    assert r.outcome is Outcome.CONFIRMED and r.evidence[0] == "sent cmnd/tasmota_AA0003/ShutterPosition1 30"
    assert blind.state["Shutter1"]["Position"] == 30
    sensors = {d.topics["field"]: d for d in _on_topic(bridge, "tasmota_AA0004")}
    assert set(sensors) == {"Temperature", "Humidity", "DewPoint", "Illuminance"}
    t, h, lux = sensors["Temperature"], sensors["Humidity"], sensors["Illuminance"]
    assert (t.type, t.device_class, t.unit, t.name) == (DeviceType.SENSOR, "temperature", "°C", "Attic Climate Temperature")
    assert (h.device_class, h.unit) == ("humidity", "%") and (lux.device_class, lux.unit) == ("illuminance", "lux")
    # readings arrive on tele/<topic>/SENSOR, each sensor takes its own
    publish(peer, "tele/tasmota_AA0004/SENSOR",
             {"Time": "2024-05-01T10:05:00", "AM2301": {"Temperature": 22.4, "Humidity": 45, "DewPoint": 9.9},
              "BH1750": {"Illuminance": 300}, "TempUnit": "C"}, retain=False)
    assert bridge.wait_for(lambda b: b.snapshot(t.id).state.get("state") == 22.4
                           and b.snapshot(h.id).state.get("state") == 45
                           and b.snapshot(lux.id).state.get("state") == 300, 10)


def test_new_config_changes_devices_and_empty_payload_removes_them(bridge, peer) -> None:
    topic = f"{PREFIX}/DC4F22AA0005/config"
    publish(peer, topic, firmware_config("DC4F22AA0005", "tasmota_AA0005", dn="Shed", fn=["Shed Light", "Shed Pump"],
                                          rl=[1, 1]))
    publish(peer, f"{PREFIX}/DC4F22AA0005/sensors",
             {"sn": {"Time": "2024-05-01T10:00:00", "DS18B20": {"Temperature": 12.5}, "TempUnit": "C"}, "ver": 1})
    assert bridge.wait_for(lambda b: len(_on_topic(b, "tasmota_AA0005")) == 3, 10)
    events: list[tuple[str, str]] = []
    bridge.add_listener(lambda e: events.append((e.kind, e.device.id)) if e.device else None)
    # renamed, and the second relay is gone
    publish(peer, topic, firmware_config("DC4F22AA0005", "tasmota_AA0005", dn="Shed", fn=["Shed Lamp"], rl=[1]))
    assert bridge.wait_for(lambda b: [d.name for d in _on_topic(b, "tasmota_AA0005") if d.type is DeviceType.SWITCH]
                           == ["Shed Lamp"], 10)
    (switch,) = [d for d in _on_topic(bridge, "tasmota_AA0005") if d.type is DeviceType.SWITCH]
    assert switch.topics["relay"] is None  # a single relay now: plain POWER
    assert until(lambda: any(k == "removed" for k, _ in events) and any(k == "changed" for k, _ in events), 10)
    # the sensors message alone goes: the switch stays
    publish(peer, f"{PREFIX}/DC4F22AA0005/sensors", "")
    assert bridge.wait_for(lambda b: [d.type for d in _on_topic(b, "tasmota_AA0005")] == [DeviceType.SWITCH], 10)
    # the device leaves: everything goes
    publish(peer, topic, "")
    assert bridge.wait_for(lambda b: not _on_topic(b, "tasmota_AA0005"), 10)


def test_malformed_discovery_is_skipped_with_a_log_line(bridge, peer, caplog) -> None:
    caplog.set_level(logging.WARNING, logger="device_bridge")
    good = firmware_config("DC4F22AA0006", "tasmota_AA0006", dn="Good Plug", fn=["Good Plug"], rl=[1])
    missing = dict(good, mac="DC4F22AA0008", t="tasmota_AA0008")
    del missing["rl"]
    bad = {
        f"{PREFIX}/DC4F22AA0007/config": b"{not json",
        f"{PREFIX}/DC4F22AA0008/config": json.dumps(missing),
        f"{PREFIX}/DC4F22AA0009/config": json.dumps(dict(good, mac="DC4F22AA0009", t="tasmota_AA0009", rl="one")),
        f"{PREFIX}/DC4F22AA000A/config": json.dumps([1, 2, 3]),
        f"{PREFIX}/DC4F22AA000B/config": json.dumps(dict(good, t="tasmota_AA000B")),  # MAC of another device
        f"{PREFIX}/DC4F22AA000C/sensors": b"\xff\xfe",
        f"{PREFIX}/DC4F22AA000D/sensors": json.dumps({"sn": "warm", "ver": 1}),
    }
    for topic, payload in bad.items():
        publish(peer, topic, payload)
    custom = dict(good, mac="DC4F22AA000E", t="tasmota_AA000E", ft="home/%topic%/%prefix%/")
    publish(peer, f"{PREFIX}/DC4F22AA000E/config", custom)
    publish(peer, f"{PREFIX}/DC4F22AA000E/sensors", {"sn": {"Time": "x", "SI7021": {"Temperature": 20}}, "ver": 1})
    publish(peer, f"{PREFIX}/DC4F22AA0006/config", good)
    fake = FakeTasmota(peer, "tasmota_AA0006", {"POWER": "OFF"})
    assert bridge.wait_for(lambda b: len(_on_topic(b, "tasmota_AA0006")) == 1, 10)
    assert until(lambda: all(any(t in r.getMessage() for r in caplog.records) for t in bad), 10), caplog.text
    assert not [d for d in bridge.devices() if d.convention == "tasmota" and d.topics.get("topic") != "tasmota_AA0006"]
    # the unaddressable FullTopic is said once, with its reason, though two messages came
    fulltopic = [r for r in caplog.records if "DC4F22AA000E" in r.getMessage()]
    assert len(fulltopic) == 1 and "FullTopic" in fulltopic[0].getMessage()
    # and the good device still works
    (plug,) = _on_topic(bridge, "tasmota_AA0006")
    r = bridge.set(plug.id, {"state": "on"})
    assert r.outcome is Outcome.CONFIRMED and fake.state["POWER"] == "ON"


def test_home_file_device_on_the_same_topic_is_enriched_not_duplicated(broker, peer) -> None:
    home = {"areas": [{"name": "Office"}],
            "devices": [{"name": "Office Lamp", "type": "light", "area": "Office", "convention": "tasmota",
                         "topics": {"topic": "tasmota_BB0001"}}]}
    fake = FakeTasmota(peer, "tasmota_BB0001", {"POWER": "OFF", "Dimmer": 30, "CT": 300})
    with DeviceBridge(broker.url, home).start() as bridge:
        assert bridge.device("office_lamp").features == []  # the home file says nothing of its abilities
        publish(peer, f"{PREFIX}/DC4F22BB0001/config",
                 firmware_config("DC4F22BB0001", "tasmota_BB0001", dn="Tasmota", fn=["Tasmota"], rl=[2], lt_st=2,
                                 md="Athom LB01"))
        assert bridge.wait_for(lambda b: b.device("office_lamp").topics.get("mac") == "DC4F22BB0001", 10)
        assert bridge.settle(0.3)
        (lamp,) = _on_topic(bridge, "tasmota_BB0001")
        assert (lamp.id, lamp.name, lamp.area, lamp.source) == ("office_lamp", "Office Lamp", "Office", "home")
        assert lamp.features == ["state", "brightness", "color_temp"] and lamp.model == "Athom LB01"
        r = bridge.set("office lamp", {"state": "on"})
        assert r.outcome is Outcome.CONFIRMED and r.evidence[0] == "sent cmnd/tasmota_BB0001/POWER ON"
        assert fake.state["POWER"] == "ON"
        # and when the device's discovery goes, the home-file device stays
        publish(peer, f"{PREFIX}/DC4F22BB0001/config", "")
        assert bridge.settle(0.3) and [d.id for d in _on_topic(bridge, "tasmota_BB0001")] == ["office_lamp"]


def test_simulator_publishes_firmware_discovery_and_bridge_keeps_one_device_each(home_rig, broker) -> None:
    sim, bridge = home_rig
    seen: dict[str, Any] = {}
    watcher = MqttConnection(broker.url)
    watcher.subscribe(f"{PREFIX}/#", lambda m: seen.__setitem__(m.topic, m.payload), wait=5)
    assert watcher.start(15), "could not reach the broker"
    try:
        # list(): the watcher's thread adds to seen while this one reads it
        assert until(lambda: sum(t.endswith("/config") for t in list(seen)) >= 7, 10)
        configs = {json.loads(p)["t"]: json.loads(p) for t, p in list(seen.items()) if t.endswith("/config") and p}
        dual = configs["tasmota_DUAL01"]
        assert dual["rl"][:3] == [1, 1, 0] and dual["fn"][:2] == ["T Relay One", "T Relay Two"]
        assert configs[bridge.device("t_shutter").topics["topic"]]["rl"][:2] == [3, 3]
        assert configs[bridge.device("t_fan").topics["topic"]]["if"] == 1
        # every simulated Tasmota device is known once, as the home-file device, enriched by discovery
        # (the bridge reads the discovery the watcher saw on its own connection: it may be later)
        home_ids = {d["name"].lower().replace(" ", "_") for d in EVERY_KIND["devices"] if d.get("convention") == "tasmota"}

        def enriched(b: DeviceBridge) -> bool:
            return all(d.topics.get("mac") for d in b.devices()
                       if d.convention == "tasmota" and d.type is not DeviceType.BINARY_SENSOR)

        assert bridge.wait_for(enriched, 10)
        assert {d.id for d in bridge.devices() if d.convention == "tasmota"} == home_ids
        # a device that leaves clears its retained discovery
        plug_mac = bridge.device("t_plug").topics["mac"]
        sim.remove_device("t_plug")
        assert until(lambda: seen.get(f"{PREFIX}/{plug_mac}/config") == b"", 10)
        assert bridge.wait_for(lambda b: b.registry.get("t_plug") is not None, 10)  # the home file still names it
    finally:
        watcher.stop()


def test_a_stopped_simulated_home_leaves_no_ghost_devices(broker) -> None:
    """Two homes on one broker, one after the other (tests, demos, a support bench): the first
    home's retained discovery (Home Assistant and Tasmota) must not make devices appear in the
    second one's bridge."""
    from device_bridge.simulator import Simulator

    first = {"areas": ["Den"], "devices": [
        {"name": "Den Lamp", "area": "Den", "type": "light", "convention": "tasmota"},
        {"name": "Den Heater", "area": "Den", "type": "climate", "convention": "homeassistant"},
    ]}
    second = {"areas": ["Hall"], "devices": [{"name": "Hall Light", "area": "Hall", "type": "light"}]}
    sim = Simulator(first, broker.url).start()
    seen = DeviceBridge(broker.url, {"areas": [], "devices": []}).start()
    try:  # the first home really was discovered from its retained messages
        assert seen.wait_for(lambda b: {d.name for d in b.devices()} >= {"Den Lamp", "Den Heater"}, 10)
    finally:
        seen.stop()
        sim.stop()
    sim2 = Simulator(second, broker.url).start()
    bridge = DeviceBridge(broker.url, second).start()
    try:
        assert bridge.wait_until_known(15)
        bridge.settle(quiet_s=0.5, timeout=3)
        names = {d.name for d in bridge.devices()}
        assert "Hall Light" in names and not names & {"Den Lamp", "Den Heater"}, names
    finally:
        bridge.stop()
        sim2.stop()
