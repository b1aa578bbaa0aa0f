"""Devices appear, change and disappear while the bridge runs: Home Assistant MQTT
discovery (abbreviations, ``~``, device discovery with ``cmps``, removal) and
Zigbee2MQTT's retained bridge/devices."""

from __future__ import annotations

from device_bridge.bridge import DeviceBridge
from device_bridge.devices import Code, DeviceType, Outcome
from device_bridge.simulator import Simulator
from tests.device_bridge.conftest import publish
from tests.waiting import until


def test_abbreviated_switch_with_tilde_appears_and_obeys(bridge, peer) -> None:
    publish(peer, "homeassistant/switch/irrigation/config",
             {"~": "homeassistant/switch/irrigation", "name": "garden", "cmd_t": "~/set", "stat_t": "~/state",
              "uniq_id": "irr01ad", "dev": {"ids": ["garden01ad"], "name": "Garden", "sa": "Garden"}})
    assert bridge.wait_for(lambda b: b.registry.get("irr01ad") is not None, 10)
    dev = bridge.device("irr01ad")
    assert dev.type is DeviceType.SWITCH and dev.name == "Garden garden" and dev.area == "Garden"
    assert dev.topics["config"]["command_topic"] == "homeassistant/switch/irrigation/set"
    # a real device answering the command on its state topic
    peer.subscribe("homeassistant/switch/irrigation/set",
                   lambda m: peer.publish("homeassistant/switch/irrigation/state", m.payload, retain=True), wait=5)
    r = bridge.set("irr01ad", {"state": "on"})
    assert r.outcome is Outcome.CONFIRMED and r.evidence[0] == "sent homeassistant/switch/irrigation/set ON"


def test_value_templates_plain_light_climate_and_lock_payloads(bridge, peer) -> None:
    publish(peer, "homeassistant/sensor/sensorBedroomT/config",
             {"device_class": "temperature", "state_topic": "homeassistant/sensor/sensorBedroom/state",
              "unit_of_measurement": "°C", "value_template": "{{ value_json.temperature}}", "unique_id": "temp01ae",
              "device": {"identifiers": ["bedroom01ae"], "name": "Bedroom"}})
    publish(peer, "homeassistant/sensor/sensorBedroom/state", {"temperature": 23.20, "humidity": 43.70})
    publish(peer, "homeassistant/climate/hvac/config",
             {"name": "Hall HVAC", "unique_id": "hvac1", "temperature_command_topic": "hvac/target/set",
              "temperature_state_topic": "hvac/state", "temperature_state_template": "{{ value_json.target }}",
              "current_temperature_topic": "hvac/state", "current_temperature_template": "{{ value_json.current }}",
              "mode_command_topic": "hvac/mode/set", "mode_state_topic": "hvac/state",
              "mode_state_template": "{{ value_json.mode }}", "modes": ["off", "heat"], "min_temp": 10, "max_temp": 25})
    publish(peer, "hvac/state", {"target": 20, "current": 18.5, "mode": "heat"})
    publish(peer, "homeassistant/lock/gate/config",
             {"name": "Gate", "unique_id": "gate1", "command_topic": "gate/cmd", "state_topic": "gate/state",
              "payload_lock": "CLOSE_IT", "payload_unlock": "OPEN_IT", "state_locked": "SHUT", "state_unlocked": "AJAR"})
    publish(peer, "gate/state", "SHUT")
    assert bridge.wait_for(lambda b: all(b.registry.get(i) for i in ("temp01ae", "hvac1", "gate1"))
                           and b.snapshot("gate1").state.get("state") == "locked"
                           and b.snapshot("temp01ae").state.get("state") == 23.2
                           and b.snapshot("hvac1").state.get("current_temperature") == 18.5, 10)
    assert bridge.get("hvac1").state["hvac_mode"] == "heat"
    # ranges from the config: 30 degrees is refused before anything is published
    r = bridge.set("hvac1", {"temperature": 30})
    assert r.outcome is Outcome.REJECTED and (r.facts["low"], r.facts["high"]) == (10, 25)
    assert bridge.set("hvac1", {"hvac_mode": "cool"}).outcome is Outcome.REJECTED  # not in its modes
    sent: list[tuple[str, str]] = []
    peer.subscribe("gate/cmd", lambda m: (sent.append((m.topic, m.text)), peer.publish("gate/state", "AJAR")), wait=5)
    peer.subscribe("hvac/target/set", lambda m: sent.append((m.topic, m.text)), wait=5)
    assert bridge.set("gate1", {"state": "unlock"}).ok
    r = bridge.set("hvac1", {"temperature": 22.5}, timeout=0.5)  # nobody answers for the HVAC here
    assert r.outcome is Outcome.NOT_CONFIRMED and r.code is Code.NO_RESPONSE
    assert ("gate/cmd", "OPEN_IT") in sent and ("hvac/target/set", "22.5") in sent


def test_device_discovery_with_components_and_removal(bridge, peer) -> None:
    config = {
        "dev": {"ids": "ea334450945afc", "name": "Kitchen", "mf": "Bla electronics", "mdl": "xya"},
        "o": {"name": "bla2mqtt", "sw": "2.1"},
        "cmps": {
            "light1": {"p": "light", "unique_id": "kitchen_light_1", "name": "Spot", "schema": "json",
                       "cmd_t": "kitchen/spot/set", "stat_t": "kitchen/spot/state", "brightness": True,
                       "sup_clrm": ["brightness"]},
            "temp": {"p": "sensor", "device_class": "temperature", "unit_of_measurement": "°C",
                     "value_template": "{{ value_json.temperature }}", "unique_id": "kitchen_temp",
                     "stat_t": "kitchen/sensors"},
            "button": {"p": "button", "unique_id": "kitchen_button", "cmd_t": "kitchen/button"},
        },
        "state_topic": "kitchen/sensors",
    }
    publish(peer, "homeassistant/device/kitchen01/config", config)
    assert bridge.wait_for(lambda b: b.registry.get("kitchen_light_1") and b.registry.get("kitchen_temp"), 10)
    light = bridge.device("kitchen_light_1")
    assert light.name == "Kitchen Spot" and light.manufacturer == "Bla electronics"
    assert bridge.set("kitchen_light_1", {"color_name": "red"}).outcome is Outcome.REJECTED  # brightness only
    assert bridge.registry.get("kitchen_button") is None  # buttons are not devices the assistant controls
    removed: list[str] = []
    bridge.add_listener(lambda e: removed.append(e.device.id) if e.kind == "removed" else None)
    publish(peer, "homeassistant/device/kitchen01/config", "")
    assert bridge.wait_for(lambda b: b.registry.get("kitchen_light_1") is None and b.registry.get("kitchen_temp") is None, 10)
    assert until(lambda: sorted(removed) == ["kitchen_light_1", "kitchen_temp"]), removed


def test_zigbee2mqtt_bridge_devices_exposes_become_capabilities(bridge, peer) -> None:
    devices = [
        {"ieee_address": "0x00124b0000000001", "type": "Coordinator", "friendly_name": "Coordinator", "definition": None},
        {"ieee_address": "0x000b57fffec6a5b2", "type": "Router", "friendly_name": "living/bulb", "supported": True,
         "definition": {"model": "LED1545G12", "vendor": "IKEA", "exposes": [
             {"type": "light", "features": [
                 {"type": "binary", "name": "state", "property": "state", "access": 7, "value_on": "ON", "value_off": "OFF"},
                 {"type": "numeric", "name": "brightness", "property": "brightness", "access": 7, "value_min": 0, "value_max": 254},
                 {"type": "numeric", "name": "color_temp", "property": "color_temp", "access": 7, "value_min": 250, "value_max": 454}]},
             {"type": "numeric", "name": "linkquality", "property": "linkquality", "access": 1}]}},
        {"ieee_address": "0x00158d00018255df", "type": "EndDevice", "friendly_name": "0x00158d00018255df",
         "definition": {"model": "WSDCGQ01LM", "vendor": "Xiaomi", "exposes": [
             {"type": "numeric", "name": "temperature", "property": "temperature", "access": 1, "unit": "°C"},
             {"type": "numeric", "name": "humidity", "property": "humidity", "access": 1, "unit": "%"}]}},
        {"ieee_address": "0x0017880104e45522", "type": "EndDevice", "friendly_name": "remote", "definition": {
            "model": "WXKG01LM", "vendor": "Xiaomi", "exposes": [{"type": "enum", "name": "action", "property": "action",
                                                                  "access": 1, "values": ["single"]}]}},
        {"ieee_address": "0x0017880104e45523", "type": "EndDevice", "friendly_name": "unknown", "supported": False,
         "definition": None},
    ]
    # Z2M's own Home Assistant discovery for the same bulb must not make a second device
    publish(peer, "homeassistant/light/0x000b57fffec6a5b2/light/config",
             {"brightness": True, "brightness_scale": 254, "supported_color_modes": ["color_temp"],
              "command_topic": "zigbee2mqtt/living/bulb/set", "schema": "json", "state_topic": "zigbee2mqtt/living/bulb",
              "name": None, "unique_id": "0x000b57fffec6a5b2_light_zigbee2mqtt", "origin": {"name": "Zigbee2MQTT"},
              "availability": [{"topic": "zigbee2mqtt/bridge/state", "value_template": "{{ value_json.state }}"}]})
    publish(peer, "zigbee2mqtt/bridge/devices", devices)
    assert bridge.wait_for(lambda b: b.registry.get("0x000b57fffec6a5b2") is not None, 10)
    assert [d.id for d in bridge.devices() if d.type is DeviceType.LIGHT] == ["0x000b57fffec6a5b2"]
    bulb = bridge.device("0x000b57fffec6a5b2")
    assert bulb.type is DeviceType.LIGHT and bulb.features == ["state", "brightness", "color_temp"]
    assert bulb.name == "living bulb" and bulb.model == "LED1545G12"
    sensor = bridge.device("0x00158d00018255df")
    assert sensor.type is DeviceType.SENSOR and sensor.device_class == "temperature" and sensor.unit == "°C"
    assert bridge.registry.get("0x0017880104e45522") is None  # a remote has nothing to control or read
    assert bridge.set(bulb.id, {"color_temp": 200}).outcome is Outcome.REJECTED  # below the bulb's 250 mireds
    publish(peer, "zigbee2mqtt/living/bulb", {"state": "ON", "brightness": 254, "color_temp": 300, "linkquality": 99})
    assert bridge.wait_for(lambda b: b.snapshot(bulb.id).state.get("brightness") == 255, 10)
    # renamed in Z2M, then removed
    devices[1]["friendly_name"] = "lounge/bulb"
    publish(peer, "zigbee2mqtt/bridge/devices", devices)
    assert bridge.wait_for(lambda b: b.device(bulb.id).topics["friendly_name"] == "lounge/bulb", 10)
    publish(peer, "zigbee2mqtt/lounge/bulb", {"state": "OFF"})
    assert bridge.wait_for(lambda b: b.snapshot(bulb.id).state.get("state") == "off", 10)
    publish(peer, "zigbee2mqtt/bridge/devices", [devices[0], devices[2]])
    assert bridge.wait_for(lambda b: b.registry.get(bulb.id) is None, 10)


def test_simulated_devices_join_and_leave_while_running(broker, peer) -> None:
    home = {"devices": [{"name": "Lamp", "type": "light"}]}
    sim = Simulator(home, broker.url).start()
    bridge = DeviceBridge(broker.url).start()  # no home file: everything from discovery
    try:
        assert bridge.wait_for(lambda b: b.registry.resolve("lamp") is not None, 10)
        sim.add_device({"name": "Porch Switch", "type": "switch", "convention": "homeassistant"})
        sim.add_device({"name": "Shed Sensor", "type": "binary_sensor", "device_class": "door"})
        assert bridge.wait_for(lambda b: b.registry.resolve("porch_switch") and b.registry.resolve("shed sensor"), 10)
        assert bridge.set("porch_switch", {"state": "on"}).ok
        sim.remove_device("porch_switch")
        sim.remove_device("shed_sensor")
        assert bridge.wait_for(lambda b: not b.registry.resolve("porch_switch") and not b.registry.resolve("shed sensor"), 10)
        assert bridge.set("lamp", {"state": "on"}).ok
    finally:
        bridge.stop()
        sim.stop()
