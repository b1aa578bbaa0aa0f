"""Valves, scenes and scripts operated, and the read-only Home Assistant domains answered, through a
real Mosquitto against the simulator, in the Zigbee2MQTT and Home Assistant conventions (issue 12)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from device_bridge.bridge import DeviceBridge
from device_bridge.broker import MosquittoBroker
from device_bridge.devices import Code, Outcome
from device_bridge.simulator import Simulator
from tests.device_bridge.conftest import wipe_retained

HOME: dict[str, Any] = {
    "areas": [{"name": "Utility Room", "floor": "Ground"}, {"name": "Living Room", "floor": "Ground"}],
    "devices": [
        {"name": "Z Water Valve", "type": "valve", "device_class": "water", "area": "Utility Room", "battery": True},
        {"name": "H Gas Valve", "type": "valve", "device_class": "gas", "convention": "homeassistant",
         "state": {"state": "open"}},
        {"name": "Movie Night", "type": "scene", "convention": "homeassistant", "area": "Living Room"},
        {"name": "Z Evening", "type": "scene", "topics": {"scene_id": 3}},
        {"name": "Goodnight", "type": "script", "convention": "homeassistant"},
        {"name": "Joseph", "type": "person", "convention": "homeassistant", "state": {"state": "not_home"}},
        {"name": "Z Joseph", "type": "person", "state": {"state": "home"}},
        {"name": "Forecast", "type": "weather", "convention": "homeassistant", "state": {"state": "rainy"}},
        {"name": "Guest Mode", "type": "input_boolean", "convention": "homeassistant", "state": {"state": "on"}},
    ],
}


@pytest.fixture(scope="module")
def rig() -> Iterator[tuple[Simulator, DeviceBridge]]:
    with MosquittoBroker() as broker:
        sim = Simulator(HOME, broker.url).start()
        bridge = DeviceBridge(broker.url, HOME).start()
        try:
            yield sim, bridge
        finally:
            bridge.stop()
            sim.stop()
            wipe_retained(broker.url)


@pytest.mark.parametrize("device_id", ["z_water_valve", "h_gas_valve"])
def test_a_valve_opens_and_closes_and_only_a_report_confirms_it(rig, device_id: str) -> None:
    sim, bridge = rig
    for asked, want in (("open", "open"), ("close", "closed"), ("on", "open"), ("off", "closed")):
        result = bridge.set(device_id, {"state": asked}, timeout=3)
        assert result.outcome is Outcome.CONFIRMED, (asked, result.reason, result.evidence)
        assert sim.state(device_id)["state"] == want
        assert bridge.get(device_id).state["state"] == want
    sim.inject(device_id, "unresponsive")
    try:
        result = bridge.set(device_id, {"state": "open"}, timeout=1)
        assert result.outcome is Outcome.NOT_CONFIRMED and sim.state(device_id)["state"] == "closed"
    finally:
        sim.clear(device_id)


@pytest.mark.parametrize("device_id", ["movie_night", "z_evening", "goodnight"])
def test_scenes_and_scripts_run_once_per_command_and_claim_no_state(rig, device_id: str) -> None:
    sim, bridge = rig
    before = sim.activations(device_id)
    result = bridge.set(device_id, {"state": "on"}, timeout=3)
    assert result.code is Code.ACCEPTED and result.ok, (result.reason, result.evidence)
    from tests.waiting import until

    assert until(lambda: sim.activations(device_id) == before + 1, timeout=10)
    assert "state" not in sim.state(device_id) or device_id == "goodnight"


def test_a_scene_cannot_be_switched_off(rig) -> None:
    _sim, bridge = rig
    result = bridge.set("movie_night", {"state": "off"})
    assert result.outcome is Outcome.REJECTED and result.code is Code.NOT_ALLOWED


@pytest.mark.parametrize(("device_id", "state"), [("joseph", "not_home"), ("z_joseph", "home"), ("forecast", "rainy"),
                                                  ("guest_mode", "on")])
def test_read_only_domains_report_their_state(rig, device_id: str, state: str) -> None:
    from tests.waiting import until

    _sim, bridge = rig
    assert until(lambda: bridge.get(device_id).state.get("state") == state, timeout=10)
    assert bridge.set(device_id, {"state": "off"}).code is Code.READ_ONLY
