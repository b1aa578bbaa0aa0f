"""The bot's suggestions to an agent, from the bundled playbooks and resolved tickets."""

from __future__ import annotations

from voicebot.console.db import Resolution
from voicebot.console.suggest import next_steps, similar_resolved, steps_after, suggested_reply
from voicebot.dialogue.playbook import load_playbooks
from voicebot.store import Customer, Ticket


def ticket(tid: str, problem: str, reason: str = "playbook_exhausted", **summary: object) -> Ticket:
    return Ticket(tid, None, "c-1", 1.0, 1.0, "open", reason, problem, dict(summary))


def test_next_steps_are_the_playbook_steps_not_tried_with_the_device_named() -> None:
    books = load_playbooks()
    t = ticket("1", "flickers", playbooks=["bulb_flickers"],
               steps=[{"playbook": "bulb_flickers", "step": "online"}],
               devices={"light.kitchen": {"name": "Kitchen Light"}})
    steps = next_steps(t, books)
    assert steps and all(s.step != "online" for s in steps)
    assert all("{device}" not in s.text for s in steps)
    assert any("kitchen light" in s.text for s in steps)
    later = steps_after(books, "bulb_flickers", steps[0].step, device="the lamp")
    assert steps[0].step not in [s.step for s in later]


def test_similar_resolved_tickets_come_first_with_how_they_were_solved() -> None:
    now = ticket("5", "Bulb flickers or buzzes (the hallway light)")
    done = [ticket("2", "Bulb flickers or buzzes (the kitchen light)"), ticket("3", "The garage door will not open"),
            ticket("4", "Bulb flickers or buzzes (the porch light)")]
    resolutions = {"2": Resolution("2", "bob", 1.0, "Replaced the dimmer"), "3": Resolution("3", "bob", 1.0, "Reset")}
    similar = similar_resolved(now, done, resolutions)
    assert [s.ticket.id for s in similar] == ["2"]  # 4 is alike but unresolved, 3 is resolved but unlike
    reply = suggested_reply(now, Customer("c-1", "Dana"), "alice", [], similar)
    assert reply.startswith("Hello Dana, this is alice") and "Replaced the dimmer" in reply
