"""Emergencies are flagged whatever else the sentence is about."""

from __future__ import annotations

import pytest

from voicebot.understand import Understander


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("I can smell gas in the kitchen", "gas"),
        ("the smoke alarm is going off", "smoke"),
        ("there's smoke coming from the TV", "smoke"),
        ("something is burning in the kitchen", "fire"),
        ("there's water all over the bathroom floor", "water_leak"),
        ("the dishwasher is leaking", "water_leak"),
        ("I'm locked out of my house", "locked_out"),
        ("the carbon monoxide alarm keeps beeping", "carbon_monoxide"),
        ("my kitchen light won't turn on and I smell burning", "fire"),
    ],
)
def test_emergency_is_flagged(nlu: Understander, text: str, kind: str) -> None:
    u = nlu.understand(text)
    assert u.slots.get("safety") == kind
    assert u.intent is not None  # always something the dialogue acts on (escalation)


def test_device_request_keeps_its_intent_with_the_flag(nlu: Understander) -> None:
    u = nlu.understand("the front door won't unlock and I'm locked out")
    assert (u.intent, u.slots["safety"], u.device_ids) == ("ReportProblem", "locked_out", ["front_door_lock"])


@pytest.mark.parametrize(
    "text",
    ["the smoke detector keeps chirping", "the leak sensor is offline", "turn on the kitchen light",
     "set the heating to 21 degrees"],
)
def test_no_false_alarm(nlu: Understander, text: str) -> None:
    assert "safety" not in nlu.understand(text).slots


@pytest.mark.parametrize(
    "text",
    ["turn on the flood light", "fire up the coffee machine", "I can't get into the app",
     "turn on the fire tv", "the leak sensor battery is low"],
)
def test_everyday_words_are_not_emergencies(nlu: Understander, text: str) -> None:
    assert "safety" not in nlu.understand(text).slots


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("smoke is coming out of the toaster", "smoke"),
        ("Smoke is pouring out of the toaster!", "smoke"),
        ("there's smoke coming from the oven", "smoke"),
        ("there is smoke coming from behind the TV", "smoke"),
        ("I see smoke in the hallway", "smoke"),
        ("I smell gas", "gas"),
        ("it smells like rotten eggs in the kitchen", "gas"),
        ("water everywhere in the basement", "water_leak"),
        ("sparks from the socket", "fire"),
        ("the coffee machine plug is sparking", "fire"),
        ("burning smell", "fire"),
        ("there's a burning smell from the heater", "fire"),
        ("it smells like burnt plastic in here", "fire"),
        ("the plug looks scorched", "fire"),
    ],
)
def test_emergencies_said_plainly(nlu: Understander, text: str, kind: str) -> None:
    u = nlu.understand(text)
    assert u.slots.get("safety") == kind
    assert u.intent == "ReportProblem"
    assert u.confidence >= 0.9


@pytest.mark.parametrize(
    "text",
    ["the smoke detector battery is low", "my smoke alarm keeps chirping", "the smoke sensor is offline",
     "test the smoke alarms"],
)
def test_a_smoke_alarm_is_not_smoke(nlu: Understander, text: str) -> None:
    assert "safety" not in nlu.understand(text).slots


def test_smoke_from_a_device_is_an_emergency_report_about_it(nlu: Understander) -> None:
    u = nlu.understand("there's smoke coming out of the coffee machine")
    assert (u.intent, u.slots.get("safety"), u.device_ids) == ("ReportProblem", "smoke", ["coffee_machine"])
