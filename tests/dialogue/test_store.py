"""The store keeps customers, conversations, tickets and the trace across restarts."""

from __future__ import annotations

from pathlib import Path

import pytest

from voicebot.store import Customer, Store


def test_tickets_survive_a_restart_and_are_found_by_customer(tmp_path: Path) -> None:
    path = tmp_path / "voicebot.sqlite3"
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


def test_customer_is_found_by_any_spelling_of_their_number() -> None:
    store = Store()
    store.save_customer(Customer("c7", "Ana", ["+49 (30) 1234-567", "sip:+4917000001@carrier.example"]))
    assert store.customer_by_phone("+49301234567").customer_id == "c7"  # type: ignore[union-attr]
    assert store.customer_by_phone("tel:+4917000001").customer_id == "c7"  # type: ignore[union-attr]
    assert store.customer_by_phone("+4930999") is None


def test_unknown_ticket_status_is_refused() -> None:
    store = Store()
    t = store.create_ticket(None, None, "asked", "x", {})
    with pytest.raises(ValueError, match="unknown ticket status"):
        store.update_ticket(t.id, "solved-ish")
    with pytest.raises(KeyError):
        store.update_ticket("999", "closed")


def test_trace_is_scoped_to_conversation_or_customer() -> None:
    store = Store()
    store.add_trace("a", "c1", "command", "light1", {"why": "you asked"})
    store.add_trace("b", "c2", "command", "light2", {"why": "other"})
    store.add_trace("c", "c1", "command", "light3", {"why": "earlier call"})
    assert {e.device_id for e in store.trace("a", "c1")} == {"light1", "light3"}
    assert {e.device_id for e in store.trace("b")} == {"light2"}
