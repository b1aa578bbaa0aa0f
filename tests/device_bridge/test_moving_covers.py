"""Truthful outcomes for devices that travel: a cover reports ``moving`` as soon as it is on its
way toward the target (``moving_ok``), then ``follow`` gives the final fact: arrived, stopped
short at a position, or never moved. A cover whose motor is stuck is never reported as done."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from device_bridge.bridge import DeviceBridge
from device_bridge.devices import Code, Device, DeviceType, Outcome, underway
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
    assert bridge.wait_until_known(15)
    yield sim, bridge
    bridge.stop()
    sim.stop()
    wipe(broker.url)


def test_moving_cover_reports_moving_at_once_and_then_arrives(slow_cover) -> None:
    sim, bridge = slow_cover
    r = bridge.set("lounge_blind", {"state": "open"}, timeout=3, moving_ok=True)
    assert r.outcome is Outcome.MOVING and r.code is Code.MOVING and not r.ok, r.reason
    assert r.in_progress and r.facts["state"] == "opening" and r.facts["target"] == 100
    assert r.elapsed_s < TRAVEL_S / 2
    assert any(e.startswith("received ") for e in r.evidence)  # the device's own report is the evidence
    # the final fact: it arrived
    final = bridge.follow(r, timeout=TRAVEL_S + 3)
    assert final.outcome is Outcome.CONFIRMED and final.ok, final.reason
    assert final.observed["current_position"] == 100 == sim.state("lounge_blind")["current_position"]
    # without moving_ok the bridge waits for the whole travel and reports the arrival
    r = bridge.set("lounge_blind", {"position": 0}, timeout=TRAVEL_S + 2)
    assert r.ok and not r.in_progress and r.elapsed_s >= TRAVEL_S * 0.7
    assert sim.state("lounge_blind")["current_position"] == 0


@pytest.mark.parametrize("moving_ok", [True, False])
def test_a_stuck_cover_is_never_reported_closed(slow_cover, moving_ok: bool) -> None:
    """The simulator's ``stuck`` fault on a real broker: the motor does not run, the cover answers
    with its old state. Closing it must come back as ``never_moved``, never as done or moving."""
    sim, bridge = slow_cover
    sim.set_state("lounge_blind", {"state": "open", "current_position": 100})
    assert bridge.wait_for(lambda b: b.get("lounge_blind").state.get("current_position") == 100, 10)
    sim.inject("lounge_blind", "stuck")
    r = bridge.set("lounge_blind", {"state": "closed"}, timeout=1.0, moving_ok=moving_ok)
    assert r.outcome is Outcome.NOT_CONFIRMED and r.code is Code.NEVER_MOVED, r.reason
    assert not r.ok and not r.in_progress
    assert r.facts == {"state": "open", "position": 100, "target": 0}
    assert any(e.startswith("received ") for e in r.evidence)  # it answered: the broker and the device are there
    assert bridge.follow(r) is r  # nothing to follow: it never started
    assert sim.state("lounge_blind")["current_position"] == 100


def test_a_cover_that_stops_half_way_is_reported_stopped_short(slow_cover) -> None:
    """Started, then stopped before the target (someone at the wall switch, an obstacle): the
    final fact is ``stopped_short`` at the position it reports, not ``confirmed``."""
    sim, bridge = slow_cover
    r = bridge.set("lounge_blind", {"state": "open"}, timeout=3, moving_ok=True)
    assert r.outcome is Outcome.MOVING
    assert bridge.wait_for(lambda b: (b.get("lounge_blind").state.get("current_position") or 0) >= 10, TRAVEL_S)
    sim.set_state("lounge_blind", {"state": "stopped", "current_position": 30})
    final = bridge.follow(r, timeout=TRAVEL_S + 3)
    assert final.outcome is Outcome.NOT_CONFIRMED and final.code is Code.STOPPED_SHORT, final.reason
    assert (final.facts["position"], final.facts["target"]) == (30, 100)


def test_underway_needs_motion_toward_the_target() -> None:
    blind = Device("b", "Blind", DeviceType.COVER)
    closed = {"state": "closed", "current_position": 0}
    assert underway(blind, {"state": "open"}, {"state": "opening", "current_position": 0}, closed)
    lock = Device("k", "Lock", DeviceType.LOCK)
    assert underway(lock, {"state": "locked"}, {"state": "locking"}, {"state": "unlocked"})
    assert not underway(lock, {"state": "locked"}, {"state": "unlocking"}, {"state": "unlocked"})
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
    assert bridge.wait_for(lambda b: b.get("lounge_blind").state == {"state": "closed", "current_position": 0}, 10)
    time.sleep(TRAVEL_S / 4)  # it would have travelled a quarter of the way by now
    assert sim.state("lounge_blind") == {"state": "closed", "current_position": 0}
