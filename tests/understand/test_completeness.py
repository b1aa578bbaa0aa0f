"""The understanding's end-of-turn judgement (voicebot/understand/completeness.py): is what the
caller said so far a complete request in THIS home and conversation? Our own small flat (two
lights in the living room, one in the kitchen, one thermostat), our own sentences, in English,
German and Spanish."""

from __future__ import annotations

import pytest

from device_bridge.devices import Area, Device, DeviceType
from voicebot.understand import ConversationContext, Understander
from voicebot.understand.completeness import UnderstandingJudge

AREAS = [Area("Living Room", aliases=["Wohnzimmer", "salón"]), Area("Kitchen", aliases=["Küche", "cocina"]),
         Area("Hallway", aliases=["Flur", "pasillo"])]
DEVICES = [
    Device(id="floor", name="Floor Lamp", aliases=["Stehlampe", "lámpara de pie"], type=DeviceType.LIGHT,
           area="Living Room"),
    Device(id="ceiling", name="Ceiling Light", aliases=["Deckenlampe", "luz del techo"], type=DeviceType.LIGHT,
           area="Living Room"),
    Device(id="kitchen", name="Kitchen Light", aliases=["Küchenlicht", "luz de la cocina"], type=DeviceType.LIGHT,
           area="Kitchen"),
    Device(id="thermostat", name="Thermostat", aliases=["termostato"], type=DeviceType.CLIMATE, area="Living Room"),
    Device(id="door", name="Front Door", aliases=["Haustür", "puerta principal"], type=DeviceType.LOCK,
           area="Hallway"),
]


@pytest.fixture(scope="module")
def understander() -> Understander:
    return Understander(lambda: DEVICES, lambda: AREAS, languages=["de", "es"])


@pytest.mark.parametrize(("text", "verdict"), [
    # a command whose device and values are all known, a question fully asked, a goodbye
    ("Turn on the kitchen light.", "complete"),
    ("Set the thermostat to 21 degrees.", "complete"),
    ("Dim the floor lamp.", "complete"),  # a step down is a value
    ("Is the front door locked?", "complete"),
    ("What can you do?", "complete"),
    ("Goodbye.", "complete"),
    ("Schalte das Küchenlicht ein.", "complete"),
    ("Ist die Haustür abgeschlossen?", "complete"),
    ("Enciende la luz de la cocina.", "complete"),
    ("Adiós.", "complete"),
    # the home is named but the request is not complete yet: which light? what temperature?
    ("Turn on the light.", "incomplete"),  # three lights
    ("Turn on the living room light.", "incomplete"),  # two there
    ("Set the thermostat.", "incomplete"),
    ("Is the front door.", "incomplete"),
    ("Schalte das Licht ein.", "incomplete"),
    ("Stell das Thermostat.", "incomplete"),
    ("Enciende la luz.", "incomplete"),
    # no opinion: the words and the voice decide as before
    ("Hello.", None),  # a greeting leads into the request
    ("Thank you.", None),  # "thanks, that's all"
    ("My floor lamp keeps flickering.", None),  # problem reports go on
    ("What time is it?", None),  # nothing of the home
    ("Yes.", None),  # nothing was asked
])
def test_complete_or_not_in_this_home(understander: Understander, text: str, verdict: str | None) -> None:
    assert UnderstandingJudge(understander).completeness(text) == verdict


def test_a_yes_answers_the_question_the_bot_just_asked(understander: Understander) -> None:
    context = ConversationContext()
    judge = UnderstandingJudge(understander, lambda: context)
    assert judge.completeness("Yes.") is None
    context.ask_yes_no(topic="confirm_unlock")  # read afresh at each pause
    assert [judge.completeness(t) for t in ("Yes.", "No.", "Ja.", "Sí.")] == ["complete"] * 4


def test_the_answer_to_which_one_completes_the_request(understander: Understander) -> None:
    context = ConversationContext()
    context.ask_which(["floor", "ceiling"], "HassTurnOn", {"domain": "light"})
    judge = UnderstandingJudge(understander, lambda: context)
    assert judge.completeness("The floor lamp.") == "complete"


def test_judging_changes_nothing_of_the_conversation(understander: Understander) -> None:
    """The dialogue reads the final turn against the same context as without the judgement."""
    context = ConversationContext()
    context.ask_which(["floor", "ceiling"], "HassTurnOn", {"domain": "light"})
    before = repr(context)
    judge = UnderstandingJudge(understander, lambda: context)
    for text in ("The floor lamp.", "Turn on the light.", "Goodbye."):
        judge.completeness(text)
    assert repr(context) == before
