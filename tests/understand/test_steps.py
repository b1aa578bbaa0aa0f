"""Relative requests become absolute values from the device's current state."""

from __future__ import annotations

from voicebot.understand import Understander
from voicebot.understand.steps import absolute


def test_a_bit_darker_from_the_current_brightness(nlu: Understander) -> None:
    u = nlu.understand("make the floor lamp a bit darker")
    assert absolute(u.slots, {"state": "on", "brightness": 153})["brightness"] == 50  # 60 % - 10


def test_brighter_on_a_light_that_is_off_starts_from_zero() -> None:
    assert absolute({"brightness_step": 20}, {"state": "off"}) == {"brightness": 20}


def test_limits() -> None:
    assert absolute({"brightness_step": -40}, {"state": "on", "brightness": 25})["brightness"] == 1
    assert absolute({"volume_step": 20}, {"volume_level": 0.9})["volume_level"] == 100
    assert absolute({"temperature_step": 2}, {"temperature": 34.5})["temperature"] == 35
    assert absolute({"position_step": -25}, {"current_position": 10})["position"] == 0


def test_warmer_from_the_target_temperature(nlu: Understander) -> None:
    u = nlu.understand("it's freezing in the bedroom")
    out = absolute(u.slots, {"hvac_mode": "heat", "temperature": 19.5, "current_temperature": 17})
    assert out["temperature"] == 21.5 and "temperature_step" not in out


def test_unknown_start_leaves_the_step_for_a_question() -> None:
    assert absolute({"position_step": 10}, {}) == {"position_step": 10}
    assert absolute({"brightness": 40, "brightness_step": 10}, {"brightness": 10}) == {
        "brightness": 40, "brightness_step": 10}
