"""A cover command is confirmed as soon as the cover reports it is moving toward the target
(``moving_ok``), so the dialogue need not wait for the whole travel; a cover that does not move
is still not confirmed, and without ``moving_ok`` the bridge still waits for the arrival."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from device_bridge.bridge import DeviceBridge
from device_bridge.devices import Device, DeviceType, Outcome, underway
from device_bridge.simulator import Simulator

HOME = {
    "areas": ["Lounge"],
    "devices": [{"name": "Lounge Blind", "type": "cover", "area": "Lounge", "state": {"state": "closed", "current_position": 0}}],
}
TRAVEL_S = 2.0  # long enough that "on its way" and "arrived" are clearly apart


@pytest.fixture()
def slow_cover(broker, wipe) -> Iterator[tuple[Simulator, DeviceBridge]]:
    sim = Simulator(HOME, broker.url, cover_travel_s=TRAVEL_S).start()
    bridge = DeviceBridge(broker.url, HOME).start()
    assert bridge.wait_until_known(3)
    yield sim, bridge
    bridge.stop()
    sim.stop()
    wipe(broker.url)


def test_moving_cover_confirms_at_once_and_then_arrives(slow_cover) -> None:
    sim, bridge = slow_cover
    r = bridge.set("lounge_blind", {"state": "open"}, timeout=3, moving_ok=True)
    assert r.outcome is Outcome.CONFIRMED and r.in_progress, (r.outcome, r.reason)
    assert r.elapsed_s < TRAVEL_S / 2
    assert "on its way" in r.reason and "opening" in r.reason
    assert any(e.startswith("received ") for e in r.evidence)  # the device's own report is the evidence
    # it really arrives afterwards
    assert bridge.wait_for(lambda b: b.get("lounge_blind").state.get("current_position") == 100, TRAVEL_S + 2)
    # without moving_ok the bridge waits for the whole travel and reports the arrival
    r = bridge.set("lounge_blind", {"position": 0}, timeout=TRAVEL_S + 2)
    assert r.ok and not r.in_progress and r.elapsed_s >= TRAVEL_S * 0.7
    assert sim.state("lounge_blind")["current_position"] == 0


def test_cover_that_does_not_move_is_not_confirmed(slow_cover) -> None:
    sim, bridge = slow_cover
    sim.inject("lounge_blind", "stuck")
    r = bridge.set("lounge_blind", {"state": "open"}, timeout=1.0, moving_ok=True)
    assert r.outcome is Outcome.NOT_CONFIRMED and not r.in_progress
    assert sim.state("lounge_blind")["current_position"] == 0


def test_underway_needs_motion_toward_the_target() -> None:
    blind = Device("b", "Blind", DeviceType.COVER)
    closed = {"state": "closed", "current_position": 0}
    assert underway(blind, {"state": "open"}, {"state": "opening", "current_position": 0}, closed)
    assert underway(blind, {"position": 50}, {"state": "open", "current_position": 10}, closed)  # position moved up
    assert not underway(blind, {"state": "open"}, closed, closed)  # did not move
    assert not underway(blind, {"state": "closed"}, {"state": "opening", "current_position": 20}, closed)  # wrong way
    assert not underway(blind, {"position": 30}, {"state": "closing", "current_position": 40},
                        {"state": "open", "current_position": 20})  # moving away from 30
    assert not underway(blind, {"state": "stopped"}, {"state": "closing", "current_position": 40}, closed)
    light = Device("l", "Lamp", DeviceType.LIGHT)
    assert not underway(light, {"state": "on"}, {"state": "off"}, {"state": "off"})


def test_a_cover_put_somewhere_by_hand_stops_there(slow_cover) -> None:
    """Setting the position from outside (a test resetting the home, someone at the wall switch)
    ends the travel of the last command instead of the cover carrying on to its old target."""
    sim, bridge = slow_cover
    r = bridge.set("lounge_blind", {"state": "open"}, timeout=3, moving_ok=True)
    assert r.in_progress
    sim.set_state("lounge_blind", {"current_position": 0})
    assert bridge.wait_for(lambda b: b.get("lounge_blind").state == {"state": "closed", "current_position": 0}, 2)
    time.sleep(TRAVEL_S / 4)  # it would have travelled a quarter of the way by now
    assert sim.state("lounge_blind") == {"state": "closed", "current_position": 0}
