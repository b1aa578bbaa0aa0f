"""One customer across channels: a conversation on one channel picks up where the customer's last
one, on another channel, left off. A real simulated home on a real broker; the dialogue engine
with its store on a SQLite file, as the services share it."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.waiting import COMMAND_TIMEOUT_S
from voicebot.customers import follow_customer
from voicebot.customers.settings import CustomerSettings
from voicebot.dialogue.engine import DialogueEngine
from voicebot.dialogue.rules import Pending
from voicebot.dialogue.settings import DialogueSettings
from voicebot.store import Store
from voicebot.testing.scenario import Home, simulated_home, standard_customers

HOME = Path(__file__).resolve().parents[1] / "scenarios" / "home.yaml"


@pytest.fixture(scope="module")
def home(mosquitto) -> Iterator[Home]:  # type: ignore[no-untyped-def]
    with simulated_home(mosquitto.url, HOME) as h:
        yield h


@pytest.fixture()
def engine(home: Home, tmp_path: Path) -> Iterator[DialogueEngine]:
    home.reset()
    store = Store(tmp_path / "voicebot.sqlite3")
    standard_customers(store)
    settings = DialogueSettings(command_timeout_s=COMMAND_TIMEOUT_S, languages=["en", "de"])
    yield DialogueEngine(home.bridge, store, settings, understander=home.understander(settings))
    store.close()


def _start(engine: DialogueEngine, channel: str, customer: str | None = None, caller: str | None = None,
           settings: CustomerSettings | None = None, clock: Any = time.time) -> Any:
    conv = engine.conversation(channel, customer_id=customer, caller=caller)
    wrapped = follow_customer(conv, engine.store, clock=clock)
    if settings is not None and wrapped is not conv:
        wrapped.settings = settings
    return wrapped


def test_a_problem_reported_in_the_chat_is_brought_up_on_the_phone_and_troubleshot(engine: DialogueEngine) -> None:
    chat = _start(engine, "web", customer="alice")
    chat.greet()
    first = chat.handle("the hallway light won't come on")
    assert "hallway light" in first.text.lower()
    chat.end("abandoned")  # the customer closed the chat in the middle of the troubleshooting

    call = _start(engine, "phone", caller="+49 30 111111")  # alice's number
    greeting = call.greet().text
    assert greeting.startswith("Hello, Alice Example!")
    assert "You wrote to us a few minutes ago about the hallway light. Is it still not working?" in greeting
    again = call.handle("yes, it's still off")
    assert "hallway light" in again.text.lower(), again.text
    assert call.rules.caps.run is not None and call.rules.caps.run.device.id == "hallway_light"
    call.end("abandoned")


def test_no_it_works_now_lets_the_problem_rest(engine: DialogueEngine) -> None:
    chat = _start(engine, "web", customer="alice")
    chat.greet()
    chat.handle("the hallway light won't come on")
    chat.end("abandoned")
    call = _start(engine, "phone", customer="alice")
    assert "hallway light" in call.greet().text
    answer = call.handle("no, it works now")
    assert answer.intent == "No" and call.rules.caps.run is None
    call.end("resolved")
    later = _start(engine, "speaker", customer="alice")
    assert "hallway" not in later.greet().text.lower()
    later.end("abandoned")


def test_the_device_last_talked_about_is_what_it_means_on_the_next_channel(engine: DialogueEngine, home: Home) -> None:
    chat = _start(engine, "web", customer="bob")
    chat.greet()
    on = chat.handle("turn on the coffee machine")
    assert on.actions and on.actions[0].device_id == "coffee_machine"
    chat.end("resolved")
    speaker = _start(engine, "speaker", customer="bob")
    greeting = speaker.greet().text
    assert "coffee" not in greeting.lower()  # nothing is wrong with it: nothing to bring up
    off = speaker.handle("turn it off")
    assert [a.device_id for a in off.actions] == ["coffee_machine"], off.text
    speaker.end("resolved")


def test_a_fixed_problem_is_not_brought_up(engine: DialogueEngine) -> None:
    chat = _start(engine, "web", customer="alice")
    chat.greet()
    chat.handle("the hallway light won't come on")
    # answer the troubleshooting until it ends, one way or the other; it is fixed when a step works
    for _ in range(6):
        if chat.rules.caps.run is None:
            break
        chat.handle("yes")
    assert chat.rules.caps.finished_runs and chat.rules.caps.finished_runs[-1].finished == "resolved"
    chat.end("resolved")
    call = _start(engine, "phone", customer="alice")
    assert "hallway" not in call.greet().text.lower()
    call.end("abandoned")


def test_an_old_conversation_is_not_brought_up(engine: DialogueEngine) -> None:
    chat = _start(engine, "web", customer="alice")
    chat.greet()
    chat.handle("the hallway light won't come on")
    chat.end("abandoned")
    next_day = time.time() + 86400 + 60
    call = _start(engine, "phone", customer="alice", clock=lambda: next_day)
    assert "You wrote to us yesterday about the hallway light." in call.greet().text
    call.end("abandoned")  # left unanswered: still open, now as of this call
    four_days_later = next_day + 4 * 86400
    call = _start(engine, "phone", customer="alice", clock=lambda: four_days_later)
    assert "hallway" not in call.greet().text.lower()  # carry_over_hours is 72 by default
    call.end("abandoned")


def test_the_language_the_customer_last_spoke_follows_them(engine: DialogueEngine) -> None:
    chat = _start(engine, "web", customer="bob")
    chat.greet()
    reply = chat.handle("Das Licht im Flur geht nicht an")
    assert reply.language == "de", reply.text
    chat.end("abandoned")
    call = _start(engine, "phone", customer="bob")
    greeting = call.greet().text
    assert "Sie haben uns vor ein paar Minuten wegen" in greeting and "geschrieben" in greeting, greeting
    assert call.rules.language == "de"
    call.end("abandoned")


def test_an_unknown_caller_has_no_thread(engine: DialogueEngine) -> None:
    conv = engine.conversation("phone", caller="+1 999 000")
    assert follow_customer(conv, engine.store) is conv
    conv.end("abandoned")


def test_without_a_greeting_the_problem_follows_the_first_answer_that_leaves_nothing_open(engine: DialogueEngine) -> None:
    """A speaker woken by its wake word says no greeting: the open problem comes after the first answer."""
    chat = _start(engine, "web", customer="alice")
    chat.greet()
    chat.handle("the hallway light won't come on")
    chat.end("abandoned")
    speaker = _start(engine, "speaker", customer="alice")
    first = speaker.handle("turn on the floor lamp")
    assert first.actions and first.actions[0].device_id == "floor_lamp"
    assert first.text.endswith("You wrote to us a few minutes ago about the hallway light. Is it still not working?"), first.text
    again = speaker.handle("yes")
    assert speaker.rules.caps.run is not None and speaker.rules.caps.run.device.id == "hallway_light", again.text
    speaker.end("abandoned")


def test_a_question_already_open_in_the_greeting_goes_first(engine: DialogueEngine) -> None:
    """Something else the greeting asks (a proactive finding's offer) is answered before the history comes up."""
    chat = _start(engine, "web", customer="alice")
    chat.greet()
    chat.handle("the hallway light won't come on")
    chat.end("abandoned")
    call = _start(engine, "phone", customer="alice")
    call.rules.pending = Pending("troubleshoot", device_id="front_door_lock", symptom="low_battery")  # asked first
    greeting = call.greet().text
    assert "hallway" not in greeting.lower()
    declined = call.handle("no thanks")
    assert declined.text == "All right. You wrote to us a few minutes ago about the hallway light. Is it still not working?"
    call.end("abandoned")


def test_a_problem_whose_ticket_an_agent_closed_is_not_brought_up(engine: DialogueEngine) -> None:
    chat = _start(engine, "web", customer="alice")
    chat.greet()
    chat.handle("the hallway light won't come on")
    handed = chat.handle("I want to talk to a person")
    assert handed.ticket_id
    chat.end("escalated")
    call = _start(engine, "phone", customer="alice")
    greeting = call.greet().text
    assert f"about the hallway light. Your ticket number {handed.ticket_id} is open" in greeting, greeting
    call.end("abandoned")
    engine.store.update_ticket(handed.ticket_id, "closed", "replaced the bulb")
    later = _start(engine, "phone", customer="alice")
    assert "hallway" not in later.greet().text.lower()
    later.end("abandoned")
