"""The store keeps customers, conversations, tickets and the trace across restarts, on SQLite
and on PostgreSQL (the ``store_location`` fixture runs each test on both)."""

from __future__ import annotations

import pytest

from voicebot.store import Customer, Store


def test_tickets_survive_a_restart_and_are_found_by_customer(store_location: str) -> None:
    path = store_location
    store = Store(path)
    conv = store.start_conversation("phone", "c1", "+49 30 1234567")
    ticket = store.create_ticket(conv, "c1", "asked", "kitchen light dead", {"steps": [1, 2]})
    store.add_turn(conv, "my [NAME] light", "ok", "ReportProblem", {"name": "Kitchen Light"}, [], -0.4, "en", "rules", {"total_s": 0.1})
    store.close()

    again = Store(path)
    found = again.tickets_for_customer("c1")
    assert [t.id for t in found] == [ticket.id]
    assert found[0].summary == {"steps": [1, 2]}
    assert again.turns(conv)[0]["slots"] == {"name": "Kitchen Light"}
    updated = again.update_ticket(ticket.id, "in_progress", note="Technician booked for Tuesday")
    assert updated.status == "in_progress" and updated.note.startswith("Technician")


def test_customer_is_found_by_any_spelling_of_their_number(store_location: str) -> None:
    store = Store(store_location)
    store.save_customer(Customer("c7", "Ana", ["+49 (30) 1234-567", "sip:+4917000001@carrier.example"]))
    assert store.customer_by_phone("+49301234567").customer_id == "c7"  # type: ignore[union-attr]
    assert store.customer_by_phone("tel:+4917000001").customer_id == "c7"  # type: ignore[union-attr]
    assert store.customer_by_phone("+4930999") is None


def test_unknown_ticket_status_is_refused(store_location: str) -> None:
    store = Store(store_location)
    t = store.create_ticket(None, None, "asked", "x", {})
    with pytest.raises(ValueError, match="unknown ticket status"):
        store.update_ticket(t.id, "solved-ish")
    with pytest.raises(KeyError):
        store.update_ticket("999", "closed")


def test_trace_is_scoped_to_conversation_or_customer(store_location: str) -> None:
    store = Store(store_location)
    store.add_trace("a", "c1", "command", "light1", {"why": "you asked"})
    store.add_trace("b", "c2", "command", "light2", {"why": "other"})
    store.add_trace("c", "c1", "command", "light3", {"why": "earlier call"})
    assert {e.device_id for e in store.trace("a", "c1")} == {"light1", "light3"}
    assert {e.device_id for e in store.trace("b")} == {"light2"}


def test_spoken_turn_timings_land_in_the_turn_row(store_location: str) -> None:
    """The store follows a session's stage events (voicebot.turns.store_timings): each spoken
    turn's timings reach ``set_turn_timings`` once the turn is done and join the row the dialogue
    stored for that turn."""
    from voicebot.events import EventBus, Phase, Stage, emit, scope
    from voicebot.turns import TurnRecord, TurnTimings, store_timings

    path = store_location
    store = Store(path)
    conv = store.start_conversation("speaker", "c1", None)
    spoken = {"speech_start": 1.2, "speech_end": 2.9, "endpoint": 0.3, "end_reason": "finished", "transcript": 0.31,
              "reply_text": 0.34, "first_audio": 0.41}
    store.add_turn(conv, "turn on the kitchen light", "Done, the kitchen light is on.", "HassTurnOn",
                   timings={"total_s": 0.02})
    # the event the session emits when a turn is done, on a real store
    bus = EventBus()
    store_timings(bus, store)
    with scope(bus, conv):
        emit(Stage.TURN, Phase.END, 1, record=TurnRecord(1, "turn on the kitchen light", 1.2, 2.9, TurnTimings(**spoken)))
        store.add_turn(conv, "thanks", "You're welcome! Anything else?", "Thanks", timings={"total_s": 0.01})
        emit(Stage.TURN, Phase.END, 2, record=TurnRecord(2, "thanks", 4.0, 4.6, TurnTimings(**{**spoken, "first_audio": 0.52})))
    store.close()

    rows = Store(path).turns(conv)
    assert rows[0]["timings"] == {"total_s": 0.02, "turn": 1, **spoken}  # the dialogue's and the session's
    assert rows[1]["timings"]["first_audio"] == 0.52 and rows[1]["timings"]["turn"] == 2
    assert Store(path).trace(conversation_id=conv, kind="turn_timings") == []  # no longer only a trace entry


def test_turn_timings_without_a_stored_turn_are_kept_in_the_trace(store_location: str) -> None:
    store = Store(store_location)
    conv = store.start_conversation("speaker", None, None)
    assert store.set_turn_timings(conv, {"turn": 1, "user": "hello", "first_audio": 0.4}) is False
    [entry] = store.trace(conversation_id=conv, kind="turn_timings")
    assert entry.data["first_audio"] == 0.4
    # a second call for a turn already timed does not overwrite it
    store.add_turn(conv, "hello", "Hi!", timings={})
    assert store.set_turn_timings(conv, {"turn": 2, "speech_end": 1.0, "first_audio": 0.5}) is True
    assert store.set_turn_timings(conv, {"turn": 3, "speech_end": 2.0, "first_audio": 0.9}) is False
    assert store.turns(conv)[0]["timings"]["first_audio"] == 0.5
