"""Fixtures for the device bridge: a broker of this area's own (simulated homes
publish retained messages, which must not leak into other areas' tests), a
simulated home and a bridge connected to it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from device_bridge.bridge import DeviceBridge
from device_bridge.broker import MosquittoBroker
from device_bridge.client import MqttConnection
from device_bridge.simulator import Simulator

# One device of every type each convention supports, with sensors beside them.
EVERY_KIND: dict[str, Any] = {
    "areas": [{"name": "Lab", "floor": "Ground"}],
    "devices": [
        {"name": "Z Light", "type": "light", "area": "Lab", "state": {"state": "off", "brightness": 100}},
        {"name": "Z Switch", "type": "switch", "area": "Lab", "power": 60},
        {"name": "Z Fan", "type": "fan", "area": "Lab"},
        {"name": "Z Blind", "type": "cover", "area": "Lab", "battery": True},
        {"name": "Z Thermostat", "type": "climate", "area": "Lab"},
        {"name": "Z Lock", "type": "lock", "area": "Lab", "battery": True},
        {"name": "Z Temperature", "type": "sensor", "device_class": "temperature", "area": "Lab", "state": {"state": 20.0}},
        {"name": "Z Door", "type": "binary_sensor", "device_class": "door", "area": "Lab"},
        {"name": "Z Motion", "type": "binary_sensor", "device_class": "motion", "area": "Lab"},
        {"name": "H Light", "type": "light", "convention": "homeassistant", "area": "Lab"},
        {"name": "H Plain Light", "type": "light", "convention": "homeassistant", "topics": {"schema": "default"}},
        {"name": "H Switch", "type": "switch", "convention": "homeassistant"},
        {"name": "H Fan", "type": "fan", "convention": "homeassistant"},
        {"name": "H Cover", "type": "cover", "convention": "homeassistant"},
        {"name": "H Thermostat", "type": "climate", "convention": "homeassistant",
         "state": {"hvac_mode": "heat", "temperature": 20.0, "current_temperature": 18.0}},
        {"name": "H Lock", "type": "lock", "convention": "homeassistant"},
        {"name": "H Humidity", "type": "sensor", "device_class": "humidity", "unit": "%", "convention": "homeassistant",
         "state": {"state": 55}},
        {"name": "H Window", "type": "binary_sensor", "device_class": "window", "convention": "homeassistant"},
        {"name": "H TV", "type": "media_player", "convention": "homeassistant"},
        {"name": "H Vacuum", "type": "vacuum", "convention": "homeassistant"},
        {"name": "T Plug", "type": "switch", "convention": "tasmota", "power": 1200},
        {"name": "T Relay One", "type": "switch", "convention": "tasmota", "topics": {"topic": "tasmota_DUAL01", "relay": 1}},
        {"name": "T Relay Two", "type": "switch", "convention": "tasmota", "topics": {"topic": "tasmota_DUAL01", "relay": 2}},
        {"name": "T Light", "type": "light", "convention": "tasmota"},
        {"name": "T Fan", "type": "fan", "convention": "tasmota"},
        {"name": "T Shutter", "type": "cover", "convention": "tasmota"},
        {"name": "T Temperature", "type": "sensor", "device_class": "temperature", "convention": "tasmota",
         "state": {"state": 22.5}},
        {"name": "T Button", "type": "binary_sensor", "convention": "tasmota"},
    ],
}


@pytest.fixture(scope="module")
def broker() -> Iterator[MosquittoBroker]:
    with MosquittoBroker() as b:
        yield b


@pytest.fixture()
def home_rig(broker: MosquittoBroker) -> Iterator[tuple[Simulator, DeviceBridge]]:
    """The EVERY_KIND home simulated on the module's broker, and a bridge on it.
    Retained messages are wiped afterwards so the next test starts clean."""
    sim = Simulator(EVERY_KIND, broker.url, cover_travel_s=0.3).start()
    bridge = DeviceBridge(broker.url, EVERY_KIND).start()
    assert bridge.wait_until_known(15), "not every simulated device reported a state"
    try:
        yield sim, bridge
    finally:
        bridge.stop()
        sim.stop()
        wipe_retained(broker.url)


def wipe_retained(url: str) -> None:
    """Delete every retained message on the broker (publish empty retained payloads)."""
    import threading
    import uuid

    seen: set[str] = set()
    marker = f"voicebot-test/wipe/{uuid.uuid4().hex}"
    all_retained = threading.Event()

    def on_message(m: Any) -> None:
        if m.topic == marker:
            all_retained.set()
        elif m.retain and m.payload:
            seen.add(m.topic)

    conn = MqttConnection(url)
    conn.subscribe("#", on_message, qos=0)  # one QoS: the broker's messages to us keep their order
    assert conn.start(15), "could not reach the broker to wipe it"
    # A new subscription's retained messages come before anything published after it: once our own
    # marker is back, every retained message has been seen (a sleep missed some on a busy machine).
    conn.publish(marker, b"x", qos=0)
    assert all_retained.wait(15), "the broker did not route the wipe's marker back"
    for topic in list(seen):
        assert conn.publish(topic, b"", retain=True, qos=1).wait(10) != "expired", topic
    conn.stop()


@pytest.fixture(name="wipe")
def _wipe() -> Any:
    """wipe(url): delete every retained message on a broker."""
    return wipe_retained


@pytest.fixture()
def peer(broker: MosquittoBroker, wipe: Any) -> Iterator[MqttConnection]:
    """A device-side MQTT client to publish discovery, state and answers by hand."""
    conn = MqttConnection(broker.url)
    assert conn.start(15), "could not reach the broker"
    yield conn
    conn.stop()
    wipe(broker.url)


@pytest.fixture()
def bridge(broker: MosquittoBroker, peer: MqttConnection) -> Iterator[DeviceBridge]:
    """A bridge with no home file: everything it knows comes from discovery."""
    b = DeviceBridge(broker.url).start()
    yield b
    b.stop()


def publish(conn: MqttConnection, topic: str, payload: object, retain: bool = True) -> None:
    """Publish (retained by default) text, bytes or an object as JSON, and wait until it is sent."""
    conn.publish(topic, payload if isinstance(payload, (str, bytes)) else json.dumps(payload), retain=retain).wait(2)
