"""Control messages with bad values are refused with a log line; the simulator's ticker
(telemetry, moving covers) goes on for every device."""

from __future__ import annotations

import json
import logging
import threading

from device_bridge.client import MqttConnection
from device_bridge.simulator import Simulator
from tests.device_bridge.conftest import publish
from tests.waiting import until

HOME = {"areas": [{"name": "Hall"}], "devices": [
    {"name": "Hall Temperature", "type": "sensor", "device_class": "temperature", "area": "Hall", "state": {"state": 20.0}},
    {"name": "Hall Blind", "type": "cover", "area": "Hall"},
]}


def test_bad_fault_and_state_values_do_not_stop_the_ticker(broker, peer, wipe, caplog) -> None:
    sim = Simulator(HOME, broker.url, telemetry_interval_s=0.2, cover_travel_s=0.3).start()
    reports = threading.Semaphore(0)
    watcher = MqttConnection(broker.url)
    watcher.subscribe("zigbee2mqtt/hall_temperature", lambda m: reports.release())
    assert watcher.start(15), "could not reach the broker"
    try:
        with caplog.at_level(logging.WARNING):
            for topic, payload in (("hall_temperature/fault/set", {"type": "wrong_reading", "offset": "lots"}),
                                   ("hall_temperature/fault/set", {"type": "intermittent", "period_s": [1]}),
                                   ("hall_temperature/fault/set", {"type": "offline", "fixed_by": "magic"}),
                                   ("hall_blind/state/set", {"current_position": "halfway"}),
                                   ("hall_temperature/state/set", {"state": {"nested": True}})):
                publish(peer, f"voicebot-sim/{topic}", json.dumps(payload), retain=False)
            # a good control message after the bad ones: processed in order, so the bad ones were too
            publish(peer, "voicebot-sim/hall_temperature/state/set", json.dumps({"state": 23.5}), retain=False)
            deadline_ok = all(reports.acquire(timeout=5) for _ in range(3))
        assert deadline_ok, "the simulator stopped sending telemetry"
        assert sim.state("hall_temperature")["state"] == 23.5
        assert sim.faults("hall_temperature") == []
        text = caplog.text
        assert "offset must be a number, not 'lots'" in text and "period_s must be a number" in text
        assert "fixed_by must be a list of actions" in text
        assert "current_position of hall_blind must be a number, not 'halfway'" in text
        assert "simulator tick failed" not in text
        # the blind still moves: the ticker runs
        publish(peer, "zigbee2mqtt/hall_blind/set", json.dumps({"position": 100}), retain=False)
        assert until(lambda: sim.state("hall_blind").get("current_position") == 100, 10)
    finally:
        watcher.stop()
        sim.stop()
        wipe(broker.url)
