"""A customer who was contacted about a finding hears it first in their next conversation, on the
phone line and on the speaker, and a yes starts the finding's playbook from its evidence."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from device_bridge.simulator import Simulator
from tests.proactive.conftest import HOME
from voicebot.config import Settings
from voicebot.runtime import Runtime, build_runtime

FINDING = "The back door sensor's battery is at 4%."


@pytest.fixture()
def contacted(run, sim: Simulator, mosquitto) -> Iterator[Callable[[], Runtime]]:  # type: ignore[no-untyped-def]
    """Anna was contacted about the back door sensor's battery; runtime() is a voicebot (as the
    phone line and the speaker run it) on the same store."""
    service, contacts = run()
    sim.inject("back_door_sensor", "low_battery")
    contacts.wait_for("back_door_sensor", timeout=30)
    runtimes: list[Runtime] = []

    def runtime() -> Runtime:
        rt = build_runtime(Settings(), broker=mosquitto.url, home=HOME, store_path=Path(service.store_location),
                           models=False)
        runtimes.append(rt)
        return rt

    yield runtime
    for rt in runtimes:
        rt.close()


def test_the_phone_line_opens_with_the_finding_and_yes_starts_its_playbook(contacted) -> None:  # type: ignore[no-untyped-def]
    rt = contacted()
    conv = rt.conversation(channel="phone", caller="+4930555000")  # Anna's number
    greeting = conv.greet().text
    assert greeting == f"Hello, Anna! I'm the automated home assistant. Before we start: {FINDING} " \
                       "Shall I walk you through changing it?"
    reply = conv.handle("yes please")
    assert "battery is at 4%" in reply.text and "replace the batteries" in reply.text
    assert not reply.escalated
    conv.end("abandoned")
    # offered once: the next conversation does not start with it again
    again = rt.conversation(channel="phone", caller="+4930555000")
    assert FINDING not in again.greet().text
    again.end("abandoned")


def test_the_speaker_opens_with_the_finding(contacted) -> None:  # type: ignore[no-untyped-def]
    rt = contacted()
    conv = rt.conversation(channel="speaker", speaker_area="Hallway")  # no customer: the home's speaker
    assert f"Before we start: {FINDING} Shall I walk you through changing it?" in conv.greet().text
    assert "replace the batteries" in conv.handle("yes").text
    conv.end("abandoned")


def test_a_speaker_woken_without_a_greeting_says_it_after_the_first_answer(contacted) -> None:  # type: ignore[no-untyped-def]
    rt = contacted()
    conv = rt.conversation(channel="speaker", speaker_area="Hallway")
    reply = conv.handle("turn on the hallway plug")
    assert reply.actions and reply.actions[0].device_id == "hallway_plug"
    assert reply.text.endswith(f"One more thing: {FINDING} Shall I walk you through changing it?")
    assert "replace the batteries" in conv.handle("yes").text
    conv.end("abandoned")


def test_nothing_is_offered_once_it_was_fixed(contacted, sim: Simulator) -> None:  # type: ignore[no-untyped-def]
    rt = contacted()
    sim.customer_action("back_door_sensor", "replace_battery")
    store = rt.engine.openers[0].store  # type: ignore[attr-defined]
    from tests.waiting import until

    assert until(lambda: not store.findings(None, {"back_door_sensor"}), 10)
    conv = rt.conversation(channel="phone", caller="+4930555000")
    assert "battery" not in conv.greet().text
    conv.end("abandoned")
