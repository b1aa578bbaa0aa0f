"""Every simulated fault, seen through the bridge the way troubleshooting sees it,
and cured by what the customer is asked to do."""

from __future__ import annotations

import json
import time

import pytest

from device_bridge.bridge import DeviceBridge
from device_bridge.client import MqttConnection
from device_bridge.devices import Code, Outcome
from device_bridge.simulator import Simulator
from tests.waiting import until

HOME = {
    "areas": ["Hall", "Kitchen"],
    "devices": [
        {"name": "Hall Light", "type": "light", "area": "Hall"},
        {"name": "Front Door Lock", "type": "lock", "area": "Hall", "battery": True},
        {"name": "Kitchen Plug", "type": "switch", "convention": "tasmota", "area": "Kitchen"},
        {"name": "Kitchen Heating", "type": "climate", "convention": "homeassistant", "area": "Kitchen",
         "state": {"hvac_mode": "heat", "temperature": 21, "current_temperature": 20.5}},
        {"name": "Kitchen Temperature", "type": "sensor", "device_class": "temperature", "area": "Kitchen",
         "state": {"state": 20.4}},
        {"name": "Hall Motion", "type": "binary_sensor", "device_class": "motion", "area": "Hall",
         "faults": ["low_battery"]},
        {"name": "Porch Light", "type": "switch", "convention": "homeassistant", "area": "Hall",
         "faults": [{"type": "offline", "fixed_by": ["replace_battery"]}]},
    ],
}


@pytest.fixture()
def rig(broker, wipe):
    sim = Simulator(HOME, broker.url, cover_travel_s=0.2).start()
    bridge = DeviceBridge(broker.url, HOME).start()
    assert bridge.wait_until_known(15), "not every simulated device reported a state"
    yield sim, bridge
    bridge.stop()
    sim.stop()
    wipe(broker.url)


@pytest.mark.parametrize("device", ["hall_light", "kitchen_plug", "kitchen_heating"])
def test_offline_devices_are_not_sent_commands(rig, device) -> None:
    sim, bridge = rig
    sim.inject(device, "offline")
    assert bridge.wait_for(lambda b: b.get(device).telemetry.available is False, 10)
    r = bridge.set(device, {"state": "on"} if device != "kitchen_heating" else {"temperature": 23})
    assert r.outcome is Outcome.OFFLINE
    assert r.code is Code.DEVICE_OFFLINE and r.facts["last_seen"] is not None
    assert r.elapsed_s < 0.5  # nothing to wait for
    cleared = sim.customer_action(device, "power_cycle")
    assert cleared == ["offline"]
    assert bridge.wait_for(lambda b: b.get(device).telemetry.available is True, 10)
    assert bridge.set(device, {"state": "on"} if device != "kitchen_heating" else {"temperature": 23}).ok


def test_unresponsive_device_is_not_confirmed_until_power_cycled(rig) -> None:
    sim, bridge = rig
    sim.inject("hall_light", "unresponsive")
    r = bridge.set("hall_light", {"state": "on"}, timeout=0.8)
    assert r.outcome is Outcome.NOT_CONFIRMED
    assert r.code is Code.NO_RESPONSE  # the broker is fine: the device is the one that is silent
    assert bridge.get("hall_light").telemetry.available is True  # online all the same
    assert sim.state("hall_light")["state"] == "off"
    assert sim.customer_action("hall_light", "move_closer") == []  # the wrong cure changes nothing
    assert sim.customer_action("hall_light", "power_cycle") == ["unresponsive"]
    assert bridge.set("hall_light", {"state": "on"}).ok


def test_stuck_lock_answers_jammed(rig) -> None:
    sim, bridge = rig
    sim.inject("front_door_lock", "stuck")
    r = bridge.set("front_door_lock", {"state": "unlocked"}, timeout=1)
    assert r.outcome is Outcome.NOT_CONFIRMED
    assert r.code is Code.UNCHANGED and r.facts == {"state": "jammed"}
    assert any("not_fully_locked" in e for e in r.evidence)
    sim.customer_action("front_door_lock", "power_cycle")
    assert bridge.set("front_door_lock", {"state": "unlocked"}).ok


def test_stuck_switch_reports_its_old_state(rig) -> None:
    sim, bridge = rig
    sim.inject("kitchen_plug", "stuck")
    r = bridge.set("kitchen_plug", {"state": "on"}, timeout=1)
    assert r.outcome is Outcome.NOT_CONFIRMED and r.code is Code.UNCHANGED and r.facts == {"state": "off"}
    assert any("stat/" in e and '"POWER":"OFF"' in e for e in r.evidence)


def test_weak_signal_loses_every_other_command(rig) -> None:
    sim, bridge = rig
    sim.inject("hall_light", "weak_signal")
    assert bridge.wait_for(lambda b: (b.get("hall_light").telemetry.linkquality or 255) <= 15, 10)
    first = bridge.set("hall_light", {"state": "on"}, timeout=0.8)
    second = bridge.set("hall_light", {"state": "on"}, timeout=10)  # delivered: confirmed however busy the machine
    assert first.outcome is Outcome.NOT_CONFIRMED and second.outcome is Outcome.CONFIRMED
    assert sim.customer_action("hall_light", "add_repeater") == ["weak_signal"]
    assert bridge.wait_for(lambda b: b.get("hall_light").telemetry.linkquality > 50, 10)


def test_low_battery_shows_in_telemetry_and_replacing_it_helps(rig) -> None:
    sim, bridge = rig
    assert bridge.get("hall_motion").telemetry.battery == 4
    assert sim.customer_action("hall_motion", "replace_battery") == ["low_battery"]
    assert bridge.wait_for(lambda b: b.get("hall_motion").telemetry.battery == 87, 10)


def test_wrong_reading_disagrees_with_the_room(rig) -> None:
    sim, bridge = rig
    sim.inject("kitchen_temperature", {"type": "wrong_reading", "offset": 7.5})
    sim.inject("kitchen_heating", {"type": "wrong_reading", "offset": -4})
    assert bridge.wait_for(lambda b: b.get("kitchen_temperature").state["state"] == pytest.approx(27.9), 10)
    assert bridge.wait_for(lambda b: b.get("kitchen_heating").state["current_temperature"] == pytest.approx(16.5), 10)
    assert sim.state("kitchen_temperature")["state"] == 20.4  # the truth is unchanged
    sim.customer_action("kitchen_temperature", "recalibrate")
    assert bridge.wait_for(lambda b: b.get("kitchen_temperature").state["state"] == pytest.approx(20.4), 10)


def test_intermittent_device_comes_and_goes(rig) -> None:
    sim, bridge = rig
    changes: list[bool] = []
    bridge.add_listener(lambda e: changes.append(e.changed["available"])
                        if e.kind == "availability" and e.device and e.device.id == "kitchen_plug" else None)
    sim.inject("kitchen_plug", {"type": "intermittent", "period_s": 0.6, "off_s": 0.3})
    assert bridge.wait_for(lambda b: len(changes) >= 3, 10), changes
    assert changes[:3] == [False, True, False]
    sim.customer_action("kitchen_plug", "move_closer")
    assert bridge.wait_for(lambda b: b.get("kitchen_plug").telemetry.available is True, 10)
    assert bridge.set("kitchen_plug", {"state": "on"}).ok


def test_fault_with_its_own_cure_from_the_home_file(rig) -> None:
    sim, bridge = rig
    assert bridge.get("porch_light").telemetry.available is False
    assert sim.customer_action("porch_light", "power_cycle") == []
    assert sim.customer_action("porch_light", "replace_battery") == ["offline"]
    assert bridge.wait_for(lambda b: b.get("porch_light").telemetry.available is True, 10)


def test_faults_and_customer_actions_over_mqtt(rig, broker) -> None:
    sim, bridge = rig
    events: list[dict] = []
    conn = MqttConnection(broker.url)
    conn.subscribe("voicebot-sim/+/event", lambda m: events.append(json.loads(m.payload)))
    assert conn.start(15), "could not reach the broker"
    conn.publish("voicebot-sim/hall_light/fault/set", json.dumps({"type": "offline"}))
    assert bridge.wait_for(lambda b: b.get("hall_light").telemetry.available is False, 10)
    conn.publish("voicebot-sim/hall_light/action", "power_cycle")
    assert bridge.wait_for(lambda b: b.get("hall_light").telemetry.available is True, 10)
    assert until(lambda: events, 10)
    assert events == [{"action": "power_cycle", "cleared": ["offline"]}]
    conn.publish("voicebot-sim/kitchen_plug/fault/set", '["unresponsive", "weak_signal"]')
    assert until(lambda: len(sim.faults("kitchen_plug")) >= 2, 10)
    assert [f["type"] for f in sim.faults("kitchen_plug")] == ["unresponsive", "weak_signal"]
    conn.publish("voicebot-sim/kitchen_plug/fault/clear", "")
    assert until(lambda: sim.faults("kitchen_plug") == [], 10)
    conn.stop()


def test_hub_offline_takes_its_zigbee_devices_with_it(rig) -> None:
    sim, bridge = rig
    seen: list[str] = []
    bridge.add_listener(lambda e: seen.append(e.device.id) if e.kind == "availability" and e.device else None)
    sim.inject("zigbee2mqtt_hub", "offline")
    assert bridge.wait_for(lambda b: b.get("hall_light").telemetry.available is False, 10)
    assert bridge.get("kitchen_plug").telemetry.available is True  # Tasmota is Wi-Fi
    r = bridge.set("front_door_lock", {"state": "unlocked"})
    assert r.outcome is Outcome.OFFLINE
    assert r.code is Code.HUB_OFFLINE and r.facts["hub"] == "Zigbee hub"
    assert sim.customer_action("zigbee2mqtt_hub", "restart_hub") == ["offline"]
    assert bridge.wait_for(lambda b: b.get("hall_light").telemetry.available is True, 10)
    assert bridge.set("front_door_lock", {"state": "unlocked"}).ok
    assert until(lambda: {"zigbee2mqtt_hub", "hall_light", "front_door_lock"} <= set(seen), 10), seen


def test_a_device_that_died_long_ago_is_not_mistaken_for_fresh(broker, wipe) -> None:
    """A retained state message is as old as the device says, not as old as the bridge's start."""
    home = {"devices": [{"name": "Shed Light", "type": "light"}]}
    conn = MqttConnection(broker.url)
    assert conn.start(15), "could not reach the broker"
    three_hours_ago = time.time() - 3 * 3600
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(three_hours_ago))
    conn.publish("zigbee2mqtt/shed_light", json.dumps({"state": "ON", "brightness": 80, "last_seen": stamp}),
                 retain=True).wait(2)
    conn.publish("zigbee2mqtt/shed_light/availability", '{"state":"offline"}', retain=True).wait(2)
    conn.stop()
    with DeviceBridge(broker.url, home) as bridge:
        assert bridge.wait_for(lambda b: b.get("shed_light").telemetry.available is False, 10)
        s = bridge.get("shed_light")
        assert s.state["state"] == "on" and abs(s.telemetry.last_seen - three_hours_ago) < 2
        assert s.age_s is not None and s.age_s > 3 * 3600 - 5
        r = bridge.set("shed_light", {"state": "off"})
        assert r.code is Code.DEVICE_OFFLINE and abs(r.facts["last_seen"] - three_hours_ago) < 2
    wipe(broker.url)


def test_a_thermostat_reading_too_high_leaves_the_room_cold(broker, wipe) -> None:
    """The plausibility check troubleshooting relies on: the room sensor disagrees."""
    home = {"areas": ["Lounge"], "devices": [
        {"name": "Thermostat", "type": "climate", "convention": "homeassistant", "area": "Lounge",
         "state": {"hvac_mode": "heat", "temperature": 22, "current_temperature": 19}},
        {"name": "Lounge Temperature", "type": "sensor", "device_class": "temperature", "area": "Lounge",
         "state": {"state": 19.0}},
    ]}
    sim = Simulator(home, broker.url, thermal_interval_s=0.05, thermal_step_c=0.5).start()
    try:
        with DeviceBridge(broker.url, home) as bridge:
            # a healthy thermostat warms the room, and the room sensor sees it
            assert bridge.wait_for(lambda b: (b.get("lounge_temperature").state.get("state") or 0) >= 21.5, 10)
            assert bridge.wait_for(lambda b: b.get("thermostat").state.get("current_temperature") == 22, 10)
            # the fault first: a thermal step between cooling the room and skewing the reading
            # would warm it (the simulator steps every 0.05 s)
            sim.inject("thermostat", {"type": "wrong_reading", "offset": 5})
            sim.set_state("thermostat", {"current_temperature": 18.0})
            sim.set_state("lounge_temperature", {"state": 18.0})
            assert bridge.wait_for(lambda b: b.get("thermostat").state.get("current_temperature") == 23.0
                                   and b.get("lounge_temperature").state.get("state") == 18.0, 10)
            time.sleep(0.5)  # ten thermal steps pass: it thinks it is warm, so the room stays cold
            thermostat, room = bridge.get("thermostat").state, bridge.get("lounge_temperature").state
            assert thermostat["current_temperature"] == 23.0 and room["state"] == 18.0
            assert sim.customer_action("thermostat", "recalibrate") == ["wrong_reading"]
            assert bridge.wait_for(lambda b: b.get("lounge_temperature").state["state"] >= 20, 10)
    finally:
        sim.stop()
        wipe(broker.url)
