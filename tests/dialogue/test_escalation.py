"""What the bot promises after a hand-over comes from the configuration and nowhere else."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from voicebot.dialogue.escalation import what_happens_next
from voicebot.dialogue.replies import default_replies
from voicebot.dialogue.safety import detect_danger
from voicebot.dialogue.settings import DialogueSettings

BERLIN = ZoneInfo("Europe/Berlin")
WINDOWS = {"timezone": "Europe/Berlin", "callback_windows": [{"days": ["mon", "tue", "wed", "thu", "fri"], "start": "08:00", "end": "18:00"}]}


def _next(settings: dict, when: dt.datetime, phone: bool = False, number: bool = True) -> str:
    s = DialogueSettings.model_validate(settings)
    return what_happens_next(s, "42", phone, number, default_replies(), "en", when).text


def test_no_configuration_promises_no_time() -> None:
    text = _next({}, dt.datetime(2026, 11, 20, 10, 0, tzinfo=BERLIN))
    assert "ticket number 42" in text and "can't promise you a time" in text
    assert "call you back" not in text


def test_callback_inside_and_outside_the_window() -> None:
    friday_morning = dt.datetime(2026, 11, 20, 10, 0, tzinfo=BERLIN)
    assert "call you back today, before 18:00" in _next(WINDOWS, friday_morning)
    friday_night = dt.datetime(2026, 11, 20, 19, 30, tzinfo=BERLIN)
    assert "call you back on Monday between 08:00 and 18:00" in _next(WINDOWS, friday_night)
    thursday_night = dt.datetime(2026, 11, 19, 20, 0, tzinfo=BERLIN)
    assert "tomorrow between 08:00 and 18:00" in _next(WINDOWS, thursday_night)


def test_no_number_means_no_callback_promise() -> None:
    text = _next(WINDOWS, dt.datetime(2026, 11, 20, 10, 0, tzinfo=BERLIN), number=False)
    assert "can't call you back" in text and "mention ticket 42" in text


def test_live_transfer_only_on_the_phone_during_agent_hours() -> None:
    cfg = {**WINDOWS, "live_transfer": True, "agent_hours": WINDOWS["callback_windows"]}
    monday = dt.datetime(2026, 11, 23, 9, 0, tzinfo=BERLIN)
    assert "putting you through" in _next(cfg, monday, phone=True)
    assert "putting you through" not in _next(cfg, monday, phone=False)
    assert "putting you through" not in _next(cfg, monday.replace(hour=20), phone=True)


def test_danger_words_and_their_harmless_lookalikes() -> None:
    assert detect_danger("I can smell gas in the kitchen").kind == "gas"  # type: ignore[union-attr]
    assert detect_danger("there's smoke coming from the socket").kind == "fire"  # type: ignore[union-attr]
    assert detect_danger("water everywhere under the sink").kind == "water"  # type: ignore[union-attr]
    assert detect_danger("I'm locked out of my house").kind == "locked_out"  # type: ignore[union-attr]
    assert detect_danger("my smoke alarm keeps chirping, low battery I think") is None
    assert detect_danger("the leak sensor battery is low") is None
    assert detect_danger("turn on the fire tv") is None


def test_a_window_to_midnight_covers_the_last_second() -> None:
    cfg = {"timezone": "Europe/Berlin", "callback_windows": [{"days": ["fri"], "start": "00:00", "end": "24:00"}]}
    text = _next(cfg, dt.datetime(2026, 11, 20, 23, 59, 59, 900000, tzinfo=BERLIN))
    assert "call you back today, before 24:00" in text
