"""Movement that takes time is announced as started, then followed up in the same conversation:
the customer hears when a cover stops short or never moves, and troubleshooting is offered.
A real simulator on a real broker, with covers slow enough to be stopped on the way."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from voicebot.dialogue.engine import DialogueEngine
from voicebot.dialogue.settings import DialogueSettings
from voicebot.store import Store
from voicebot.testing.scenario import Home, simulated_home, standard_customers

HOME = Path(__file__).resolve().parents[1] / "scenarios" / "home.yaml"
BLINDS = "living_room_blinds"


@pytest.fixture(scope="module")
def slow_home(mosquitto) -> Iterator[Home]:  # type: ignore[no-untyped-def]
    with simulated_home(mosquitto.url, HOME, cover_travel_s=6.0) as h:
        yield h


@pytest.fixture()
def conv(slow_home: Home):  # type: ignore[no-untyped-def]
    slow_home.reset()
    store = Store(":memory:")
    standard_customers(store)
    engine = DialogueEngine(slow_home.bridge, store, DialogueSettings(command_timeout_s=2.0))
    c = engine.conversation("chat", customer_id="alice")
    c.greet()
    yield c
    c.end("abandoned")
    store.close()


def _stop_at(home: Home, position: int) -> None:
    """Someone (or an obstacle) stops the blinds where they are."""
    home.simulator.set_state(BLINDS, {"current_position": position})
    assert home.bridge.wait_for(
        lambda b: b.get(BLINDS).state.get("current_position") == position
        and b.get(BLINDS).state.get("state") not in ("opening", "closing"),
        timeout=15.0,
    )


def test_a_cover_that_stops_short_is_reported_and_troubleshooting_offered(conv, slow_home: Home) -> None:  # type: ignore[no-untyped-def]
    first = conv.handle("close the living room blinds")
    assert "closing" in first.text.lower() and len(first.actions) == 1
    assert conv.follow_up() is None  # still on its way: nothing to say yet
    _stop_at(slow_home, 40)
    notice = conv.follow_up()
    assert notice is not None
    assert "stopped at 40%" in notice.text and "find out why" in notice.text
    assert conv.follow_up() is None  # said once
    reply = conv.handle("yes please")
    assert "blinds" in reply.text.lower() and not reply.escalated


def test_a_cover_that_never_moves_is_said_on_the_next_turn(conv, slow_home: Home) -> None:  # type: ignore[no-untyped-def]
    first = conv.handle("close the living room blinds")
    assert "closing" in first.text.lower()
    _stop_at(slow_home, 100)
    reply = conv.handle("thanks")
    assert "has not moved" in reply.text
    assert "find out why" in reply.text


def test_a_cover_that_arrives_needs_no_follow_up(conv, slow_home: Home) -> None:  # type: ignore[no-untyped-def]
    conv.handle("close the living room blinds")
    assert slow_home.bridge.wait_for(lambda b: b.get(BLINDS).state.get("state") == "closed", timeout=15.0)
    assert conv.follow_up() is None
    reply = conv.handle("thanks")
    assert "stopped" not in reply.text and "has not moved" not in reply.text
