"""What the bridge receives cannot crash it: malformed payloads are logged with
their topic and skipped, and the bridge goes on working."""

from __future__ import annotations

import json
import logging

from device_bridge.client import MqttConnection
from device_bridge.devices import Code, Outcome
from tests.waiting import until

BAD = [
    ("zigbee2mqtt/z_light", b"not json at all"),
    ("zigbee2mqtt/z_light", b"[1, 2, 3]"),
    ("zigbee2mqtt/z_light", json.dumps({"state": 42, "brightness": "bright"}).encode()),
    ("zigbee2mqtt/z_light", b"\xff\xfe\x00garbage"),
    ("zigbee2mqtt/z_light/availability", b"maybe"),
    ("zigbee2mqtt/z_temperature", json.dumps({"temperature": {"nested": True}}).encode()),
    ("zigbee2mqtt/z_door", json.dumps({"contact": "sometimes"}).encode()),
    ("zigbee2mqtt/z_light", b"{" + b'"x":"' + b"a" * 5_000_000 + b'"}'),  # 5 MB
    ("zigbee2mqtt/no_such_device", json.dumps({"state": "ON"}).encode()),
    ("zigbee2mqtt/bridge/devices", b"{broken"),
    ("zigbee2mqtt/bridge/devices", json.dumps([{"friendly_name": "no ieee"}, 7]).encode()),
    ("homeassistant/light/broken/config", b"not json"),
    ("homeassistant/light/nocmd/config", json.dumps({"name": "No command", "state_topic": "x/state"}).encode()),
    ("homeassistant/climate/notopics/config", json.dumps({"name": "Bare"}).encode()),
    ("homeassistant/device/nocmps/config", json.dumps({"dev": {"ids": "a"}}).encode()),
    ("homeassistant/sensor/badtpl/config", json.dumps({"state_topic": "bad/tpl", "unique_id": "badtpl",
                                                        "value_template": "{{ value_json.a.b.c | int(",
                                                        "device_class": "temperature"}).encode()),
    ("home/h_thermostat/mode", b"volcano"),
    ("home/h_lock/state", b"HALF"),
    ("home/h_humidity/state", b'{"humidity": "wet"}'),
    ("stat/tasmota_61CD21/RESULT", b'{"POWER": 12}'),
    ("tele/tasmota_61CD21/LWT", b"Sleeping"),
]


def test_malformed_messages_are_logged_with_their_topic_and_skipped(home_rig, broker, caplog) -> None:
    _sim, bridge = home_rig
    before = bridge.get("z_light").state
    conn = MqttConnection(broker.url)
    assert conn.start(15), "could not reach the broker"
    with caplog.at_level(logging.WARNING):
        for topic, payload in BAD:
            conn.publish(topic, payload).wait(2)
        # a config with a broken template is accepted; its state messages are not
        assert bridge.wait_for(lambda b: b.registry.get("badtpl") is not None, 10)
        # retained: the bridge's subscription to bad/tpl may reach the broker after this publish
        conn.publish("bad/tpl", b'{"a": 1}', retain=True).wait(2)
        assert until(lambda: "bad/tpl" in caplog.text, 10)
        # the bridge still works: a real command round trip after the garbage
        r = bridge.set("z_light", {"state": "on"})
    conn.stop()
    assert r.outcome is Outcome.CONFIRMED, r.reason
    assert bridge.get("z_light").state["brightness"] == before["brightness"]
    text = caplog.text
    for topic in ("zigbee2mqtt/z_light", "zigbee2mqtt/z_light/availability", "zigbee2mqtt/z_door",
                  "homeassistant/light/broken/config", "homeassistant/light/nocmd/config",
                  "homeassistant/climate/notopics/config", "homeassistant/device/nocmps/config", "bad/tpl",
                  "home/h_thermostat/mode", "home/h_lock/state", "stat/tasmota_", "tele/tasmota_"):
        assert topic in text, f"nothing logged for {topic}"
    assert "larger than" in text  # the 5 MB payload
    assert bridge.registry.get("nocmd") is None and bridge.registry.get("notopics") is None
    assert bridge.messages_skipped >= 8
    assert bridge.get("h_lock").state["state"] in ("locked", "unlocked")


def test_commands_that_make_no_sense_are_rejected_with_their_facts(home_rig) -> None:
    _sim, bridge = home_rig
    cases = [
        ("z_switch", {"brightness": 100}, Code.UNSUPPORTED, {"attribute": "brightness"}),
        ("z_light", {"brightness": 400}, Code.OUT_OF_RANGE, {"attribute": "brightness", "value": 400, "low": 0, "high": 255}),
        ("z_lock", {"state": "open"}, Code.NOT_ALLOWED, {"attribute": "state", "value": "open", "allowed": ["locked", "unlocked"]}),
        ("z_temperature", {"state": 30}, Code.READ_ONLY, {}),
        ("z_light", {"color_name": "plaid"}, Code.UNKNOWN_COLOUR, {"value": "plaid"}),
        ("z_thermostat", {"temperature": "warm"}, Code.NOT_A_NUMBER, {"attribute": "temperature", "value": "warm"}),
        ("z_blind", {}, Code.NOTHING_TO_CHANGE, {}),
    ]
    for device, changes, code, facts in cases:
        r = bridge.set(device, changes)
        assert r.outcome is Outcome.REJECTED and (r.code, r.facts) == (code, facts), (device, r.reason)
        assert r.evidence == [] and r.elapsed_s < 0.2  # nothing was published
