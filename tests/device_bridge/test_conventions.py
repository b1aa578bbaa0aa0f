"""Every device type of every convention, commanded and read through a real
Mosquitto, against the simulator speaking Zigbee2MQTT, Home Assistant MQTT and Tasmota."""

from __future__ import annotations

import json

import pytest

from device_bridge.client import MqttConnection
from device_bridge.devices import Outcome
from tests.waiting import until

COMMANDS = [
    ("z_light", {"state": "on", "brightness": 200}, {"state": "on", "brightness": 200}),
    ("z_light", {"color_name": "blue"}, {"hs_color": [240.0, 100.0]}),
    ("z_light", {"color_temp_kelvin": 2700}, {"color_temp": 370}),
    ("z_switch", {"state": "on"}, {"state": "on"}),
    ("z_fan", {"percentage": 100}, {"state": "on", "preset_mode": "high"}),
    ("z_blind", {"position": 50}, {"current_position": 50}),
    ("z_blind", {"state": "open"}, {"state": "open", "current_position": 100}),
    ("z_thermostat", {"temperature": 23.5, "hvac_mode": "heat"}, {"temperature": 23.5}),
    ("z_lock", {"state": "unlock"}, {"state": "unlocked"}),
    ("h_light", {"brightness_pct": 50, "hs_color": [120, 80]}, {"state": "on", "brightness": 128}),
    ("h_plain_light", {"state": "on", "brightness": 60, "color_temp": 250}, {"brightness": 60, "color_temp": 250}),
    ("h_switch", {"state": "on"}, {"state": "on"}),
    ("h_fan", {"preset_mode": "medium"}, {"state": "on", "percentage": 66}),
    ("h_cover", {"position": 30}, {"current_position": 30}),
    ("h_thermostat", {"hvac_mode": "cool", "temperature": 19}, {"hvac_mode": "cool", "temperature": 19}),
    ("h_lock", {"state": "unlocked"}, {"state": "unlocked"}),
    ("h_tv", {"state": "playing", "volume_level": 0.6}, {"state": "playing", "volume_level": 0.6}),
    ("h_vacuum", {"state": "start"}, {"state": "cleaning"}),
    ("t_plug", {"state": "on"}, {"state": "on"}),
    ("t_relay_two", {"state": "on"}, {"state": "on"}),
    ("t_light", {"brightness": 128, "color_temp": 300}, {"state": "on", "color_temp": 300}),
    ("t_light", {"hs_color": [10, 90]}, {"hs_color": [10, 90]}),
    ("t_fan", {"percentage": 66}, {"state": "on", "percentage": 66}),
    ("t_shutter", {"position": 70}, {"current_position": 70}),
    ("t_shutter", {"state": "closed"}, {"state": "closed", "current_position": 0}),
]


def test_every_convention_and_type_obeys_and_confirms(home_rig) -> None:
    sim, bridge = home_rig
    failures = []
    for device_id, changes, truth in COMMANDS:
        result = bridge.set(device_id, changes, timeout=3)
        if result.outcome is not Outcome.CONFIRMED:
            failures.append((device_id, changes, result.outcome, result.reason, result.evidence))
            continue
        real = sim.state(device_id)
        for key, want in truth.items():
            got = real.get(key)
            if isinstance(want, list):
                assert [round(x) for x in got] == [round(x) for x in want], (device_id, key, got)
            elif isinstance(want, float):
                assert got == pytest.approx(want, abs=0.6), (device_id, key, got)
            else:
                assert got == want, (device_id, key, real)
        # what the bridge now reports agrees with the device
        assert result.evidence[0].startswith("sent "), result.evidence
        assert any(e.startswith("received ") for e in result.evidence), result.evidence
    assert not failures, failures
    # the two relays of one board are separate devices
    assert sim.state("t_relay_one")["state"] == "off"
    assert bridge.get("t_relay_one", refresh=True).state["state"] == "off"
    assert bridge.get("t_relay_two", refresh=True).state["state"] == "on"


def test_sensors_and_binary_sensors_report_readings_in_home_assistant_terms(home_rig) -> None:
    sim, bridge = home_rig
    assert bridge.get("z_temperature").state["state"] == 20.0
    assert bridge.get("h_humidity").state["state"] == 55.0
    assert bridge.get("t_temperature").state["state"] == 22.5
    events: list[tuple[str, dict]] = []
    bridge.add_listener(lambda e: events.append((e.device.id, e.changed)) if e.kind == "state" and e.device else None)
    # the world changes: a door opens, a room warms up
    sim.set_state("z_door", {"state": "on"})
    sim.set_state("h_window", {"state": "on"})
    sim.set_state("z_temperature", {"state": 24.25})
    sim.set_state("t_button", {"state": "on"})
    assert bridge.wait_for(lambda b: b.get("z_door").state.get("state") == "on"
                           and b.get("h_window").state.get("state") == "on"
                           and b.get("z_temperature").state.get("state") == 24.25, timeout=10)
    assert until(lambda: ("z_door", {"state": "on"}) in events and ("z_temperature", {"state": 24.25}) in events)
    # a Tasmota sensor does not retain or push here until its TelePeriod: ask it
    assert bridge.get("t_button", refresh=True).state["state"] == "on"


def test_zigbee_door_contact_means_closed(home_rig, broker) -> None:
    """Z2M reports contact=true for a closed door; Home Assistant's door is "off" then."""
    _sim, bridge = home_rig
    conn = MqttConnection(broker.url)
    assert conn.start(15), "could not reach the broker"
    conn.publish("zigbee2mqtt/z_door", json.dumps({"contact": False, "battery": 91, "linkquality": 80}))
    assert bridge.wait_for(lambda b: b.get("z_door").state.get("state") == "on", timeout=10)
    conn.publish("zigbee2mqtt/z_door", json.dumps({"contact": True}))
    assert bridge.wait_for(lambda b: b.get("z_door").state.get("state") == "off", timeout=10)
    assert bridge.get("z_door").telemetry.battery == 91
    conn.stop()


def test_telemetry_per_convention(home_rig) -> None:
    _sim, bridge = home_rig
    z = bridge.get("z_lock")
    assert z.telemetry.available is True and z.telemetry.battery == 87 and 0 < z.telemetry.linkquality <= 255
    assert z.telemetry.last_seen is not None and z.age_s is not None and z.age_s < 30
    h = bridge.get("h_switch")
    assert h.telemetry.available is True and h.telemetry.linkquality is not None
    bridge.set("t_plug", {"state": "on"})
    t = bridge.get("t_plug", refresh=True)
    assert t.telemetry.available is True
    assert t.telemetry.power == 1200.0  # ENERGY.Power from Status 10
    assert t.telemetry.linkquality is not None  # Wi-Fi RSSI on the LQI scale
    bridge.set("z_switch", {"state": "on"})
    assert bridge.get("z_switch").telemetry.power == 60.0


def test_get_refresh_asks_the_device(home_rig, broker) -> None:
    """With refresh the bridge publishes a read (Z2M /get, Tasmota State) and waits for the answer."""
    _sim, bridge = home_rig
    seen: list[str] = []
    conn = MqttConnection(broker.url)
    conn.subscribe("zigbee2mqtt/z_light/get", lambda m: seen.append(m.topic))
    conn.subscribe("cmnd/+/State", lambda m: seen.append(m.topic))
    assert conn.start(5)  # waits for the SUBACKs too
    before = bridge.get("z_light").updated_at
    fresh = bridge.get("z_light", refresh=True)
    assert fresh.updated_at is not None and fresh.updated_at > before
    bridge.get("t_light", refresh=True)
    assert until(lambda: "zigbee2mqtt/z_light/get" in seen and any(t.startswith("cmnd/tasmota_") for t in seen))
    conn.stop()


def test_registry_lists_areas_names_and_finds_by_alias(home_rig) -> None:
    _sim, bridge = home_rig
    ids = {d.id for d in bridge.devices()}
    assert {"z_light", "h_tv", "t_plug", "zigbee2mqtt_hub"} <= ids
    assert [a.name for a in bridge.areas()] == ["Lab"]
    assert sorted(d.id for d in bridge.find(area="lab", type="light")) == ["h_light", "z_light"]
    assert bridge.device("Z Light").id == "z_light"
