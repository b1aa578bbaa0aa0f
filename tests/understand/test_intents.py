"""Each intent is recognised from the way people say it, not only from templates."""

from __future__ import annotations

import pytest

from voicebot.understand import DEVICE_INTENTS, SUPPORT_INTENTS, Understander

CASES = [
    ("Turn on the floor lamp.", "HassTurnOn"),
    ("could you switch the hall light off please", "HassTurnOff"),
    ("kitchen light on", "HassTurnOn"),
    ("toggle the desk lamp", "HassToggle"),
    ("dim the bedside lamp to 30%", "HassLightSet"),
    ("can you make it a bit darker in here", "HassLightSet"),
    ("set the thermostat to twenty one degrees", "HassClimateSetTemperature"),
    ("it's freezing in the bedroom", "HassClimateSetTemperature"),
    ("what's the temperature in the kitchen?", "HassClimateGetTemperature"),
    ("is the front door locked?", "HassGetState"),
    ("did I leave the garage door open", "HassGetState"),
    ("set the living room blinds to 40 percent", "HassSetPosition"),
    ("pause the TV", "HassMediaPause"),
    ("resume the music on the kitchen speaker", "HassMediaUnpause"),
    ("skip this song on the kitchen speaker", "HassMediaNext"),
    ("previous track on the tv", "HassMediaPrevious"),
    ("set the TV volume to 20%", "HassSetVolume"),
    ("start vacuuming", "HassVacuumStart"),
    ("send the roomba back to its dock", "HassVacuumReturnToBase"),
    ("lock the front door", "HassTurnOn"),  # Home Assistant: turning a lock on locks it
    ("unlock the back door", "HassTurnOff"),
    ("open the garage door", "HassTurnOn"),  # covers: open = on, as Home Assistant does
    ("close the bedroom curtains", "HassTurnOff"),
    ("my kitchen lights won't come on", "ReportProblem"),
    ("the hallway thing is off again", "ReportProblem"),
    ("can I talk to a real person", "AskHuman"),
    ("any update on my ticket?", "TicketStatus"),
    ("I'd like to give some feedback", "GiveFeedback"),
    ("what can you do?", "Help"),
    ("yeah", "Yes"),
    ("nope", "No"),
    ("sorry, say that again?", "Repeat"),
    ("never mind", "Cancel"),
    ("are you a robot?", "AskIfBot"),
    ("why did you turn off the kitchen light?", "AskWhy"),
    ("good morning", "Greeting"),
    ("thanks a lot", "Thanks"),
    ("bye", "Goodbye"),
]


@pytest.mark.parametrize(("text", "intent"), CASES)
def test_intent(nlu: Understander, text: str, intent: str) -> None:
    u = nlu.understand(text)
    assert u.intent == intent, (text, u.intent, u.slots)
    assert u.confidence >= 0.5


def test_every_intent_is_covered() -> None:
    covered = {intent for _, intent in CASES}
    assert set(DEVICE_INTENTS) <= covered
    assert set(SUPPORT_INTENTS) <= covered


@pytest.mark.parametrize(
    "text",
    ["What's the weather like tomorrow?", "Tell me a joke.", "Blah blah bedroom banana", "order a pizza", ""],
)
def test_unknown_input_has_no_intent_and_never_a_device(nlu: Understander, text: str) -> None:
    u = nlu.understand(text)
    assert u.intent is None
    assert u.confidence <= 0.2
    assert u.device_ids == [] and u.candidates == []


def test_a_greeting_before_a_request_does_not_hide_it(nlu: Understander) -> None:
    assert nlu.understand("Hi! Could you turn off the TV?").intent == "HassTurnOff"
    assert nlu.understand("hello, my desk lamp isn't working").intent == "ReportProblem"


def test_whisper_transcript_forms(nlu: Understander) -> None:
    u = nlu.understand("Um, set the thermostat to 21°C, please.")
    assert (u.intent, u.slots["temperature"]) == ("HassClimateSetTemperature", 21)
    u = nlu.understand("Turn of the kitchen light.")  # Whisper's frequent "of" for "off"
    assert (u.intent, u.device_ids) == ("HassTurnOff", ["kitchen_light"])
    u = nlu.understand("SET THE FLOOR LAMP TO 45%!")
    assert (u.intent, u.slots["brightness"]) == ("HassLightSet", 45)


@pytest.mark.parametrize(
    "text",
    [
        "Don't turn off the TV.",
        "please don't unlock the front door",
        "I switched the coffee machine on this morning.",
        "I turned off the heating yesterday and now it won't come back on.",
        "the bedroom temperature sensor is way off",
        "no, leave it on",
    ],
)
def test_negations_and_stories_never_command_a_device(nlu: Understander, text: str) -> None:
    u = nlu.understand(text)
    assert u.intent not in ("HassTurnOn", "HassTurnOff", "HassToggle"), (u.intent, u.slots)


def test_a_very_long_transcript_is_handled(nlu: Understander) -> None:
    u = nlu.understand("blah " * 3000 + "turn on the kitchen light")
    assert u.intent is None or u.device_ids in ([], ["kitchen_light"])


def test_home_assistant_template_phrasing_is_understood(nlu: Understander) -> None:
    """Home Assistant's own English sentences back the rules up when they understand nothing."""
    u = nlu.understand("how many lights are on")
    assert (u.intent, u.slots.get("state"), u.slots.get("domain")) == ("HassGetState", "on", "light")
    u = nlu.understand("set the hall to min brightness")
    assert (u.intent, u.device_ids) == ("HassLightSet", ["hallway_light"])


def test_people_in_a_request_are_not_a_request_for_a_human(nlu: Understander) -> None:
    assert nlu.understand("I want the heating on when somebody is home").intent != "AskHuman"
    assert nlu.understand("turn on the lights, people are coming over").intent == "HassTurnOn"
    assert nlu.understand("I need someone to come out and fix it").intent == "AskHuman"
