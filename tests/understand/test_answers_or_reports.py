"""A short answer (Yes/No) wins only when the sentence is the answer, not when its first word
opens a problem report: "no sound from the kitchen speaker" is a report about the speaker."""

from __future__ import annotations

import pytest

from voicebot.understand import ConversationContext, Understander


def _asked_yes_no() -> ConversationContext:
    ctx = ConversationContext()
    ctx.ask_yes_no(topic="did_that_fix_it")
    return ctx


@pytest.mark.parametrize("asked", [False, True])
@pytest.mark.parametrize(
    ("text", "symptom", "devices"),
    [
        ("no sound from the kitchen speaker", "no_sound", ["kitchen_speaker"]),
        ("No sound from the TV.", "no_sound", ["tv"]),
        ("no audio on the television", "no_sound", ["tv"]),
        ("the sound keeps cutting out on the kitchen speaker", "no_sound", ["kitchen_speaker"]),
        ("no picture on the tv", "no_picture", ["tv"]),
        ("nothing happens when I press the kitchen light switch", "not_responding", ["kitchen_light"]),
        ("no power to the coffee machine", "wont_turn_on", ["coffee_machine"]),
    ],
)
def test_a_report_that_starts_like_an_answer(nlu: Understander, text: str, symptom: str, devices: list[str],
                                            asked: bool) -> None:
    u = nlu.understand(text, _asked_yes_no() if asked else None)
    assert (u.intent, u.slots.get("symptom"), u.device_ids) == ("ReportProblem", symptom, devices)


@pytest.mark.parametrize(
    ("text", "intent"),
    [("no", "No"), ("nope", "No"), ("no, it's still not working", "No"), ("no it isn't", "No"),
     ("yes", "Yes"), ("yeah it's still off", "Yes"), ("nope, no sound", "No"), ("not really", "No")],
)
def test_the_answer_itself_is_still_an_answer(nlu: Understander, text: str, intent: str) -> None:
    assert nlu.understand(text, _asked_yes_no()).intent == intent


def test_no_sound_in_a_room_with_no_speaker_acts_on_nothing_else(nlu: Understander) -> None:
    u = nlu.understand("no sound from the bathroom speaker")
    assert u.intent == "ReportProblem" and u.slots.get("symptom") == "no_sound"
    assert u.device_ids == []
