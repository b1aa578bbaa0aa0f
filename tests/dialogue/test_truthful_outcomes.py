"""What the customer hears about a command is what the device (or the broker) did: a broker that
stops routing is named as the hub, a moving cover is announced as started and then followed to
its final fact, a stuck one is never reported done. Real Mosquitto, real simulator."""

from __future__ import annotations

import signal
from pathlib import Path

from tests.waiting import COMMAND_TIMEOUT_S
from voicebot.dialogue.engine import DialogueEngine
from voicebot.dialogue.settings import DialogueSettings
from voicebot.store import Store
from voicebot.testing.scenario import simulated_home, standard_customers

HOME = Path(__file__).resolve().parents[1] / "scenarios" / "home.yaml"


def test_a_hung_broker_is_said_to_be_the_hub_in_every_language(own_mosquitto) -> None:  # type: ignore[no-untyped-def]
    """The broker stops routing while the connection still looks up (what a broker that has just
    died looks like until the keep-alive notices): the customer hears that the hub cannot be
    reached, never that the light did not respond."""
    with simulated_home(own_mosquitto.url, HOME) as h:
        store = Store()
        standard_customers(store)
        engine = DialogueEngine(h.bridge, store, DialogueSettings(command_timeout_s=1.0))
        proc = own_mosquitto._proc
        assert proc is not None
        proc.send_signal(signal.SIGSTOP)
        try:
            en = engine.conversation("phone", customer_id="alice").handle("turn on the kitchen light")
            de = engine.conversation("phone", customer_id="alice", language="de").handle("mach das Küchenlicht an")
        finally:
            proc.send_signal(signal.SIGCONT)
        assert "can't reach your home's hub" in en.text and "did not respond" not in en.text, en.text
        assert [a.outcome for a in en.actions] == ["broker_down"]
        if de.actions:  # understood: the German words say the same
            assert "Hauszentrale" in de.text and "reagiert" not in de.text, de.text


def test_a_moving_cover_is_announced_then_followed_to_its_arrival(mosquitto) -> None:  # type: ignore[no-untyped-def]
    with simulated_home(mosquitto.url, HOME, cover_travel_s=2.0) as h:
        h.reset()
        engine = DialogueEngine(h.bridge, Store(), DialogueSettings(command_timeout_s=COMMAND_TIMEOUT_S))
        conv = engine.conversation("chat")
        caps = conv.caps  # type: ignore[attr-defined]
        out = caps.set_state("living_room_blinds", {"state": "closed"}, "test")
        if out.status == "confirmed":  # already closed in this home: open it first
            caps.set_state("living_room_blinds", {"state": "open"}, "test", moving_ok=False)
            out = caps.set_state("living_room_blinds", {"state": "closed"}, "test")
        assert out.status == "moving" and not out.ok, out.text
        assert out.text == "Closing the living room blinds."
        final = caps.follow_movement(out, timeout=30.0)  # ends on the arrival; slower on a busy machine
        assert final.ok and final.text == "The living room blinds are closed now.", final.text


def test_a_stuck_cover_is_never_said_to_be_closed(mosquitto) -> None:  # type: ignore[no-untyped-def]
    with simulated_home(mosquitto.url, HOME, cover_travel_s=1.0) as h:
        h.reset()
        engine = DialogueEngine(h.bridge, Store(), DialogueSettings(command_timeout_s=1.0))
        conv = engine.conversation("chat")
        caps = conv.caps  # type: ignore[attr-defined]
        caps.set_state("living_room_blinds", {"state": "open"}, "test", moving_ok=False)
        h.inject("Living Room Blinds", "stuck")
        out = caps.set_state("living_room_blinds", {"state": "closed"}, "test")
        assert out.status == "not_confirmed" and out.code == "never_moved", out.text
        assert out.text == "I sent the command, but the living room blinds did not move: it is still open."
        assert caps.follow_movement(out) is out
