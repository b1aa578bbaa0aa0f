"""Personal data never reaches stored text; the rest of the sentence survives."""

from __future__ import annotations

import pytest

from voicebot.privacy.redact import redact


@pytest.mark.parametrize(
    ("text", "gone", "kept"),
    [
        ("Hi, my name is Sarah Johnson and the heater is broken.", ["Sarah", "Johnson"], ["heater is broken"]),
        ("my name is peter and this heater is useless", ["peter"], ["heater is useless"]),
        ("I asked Peter and Mr. Smith about it.", ["Peter", "Smith"], ["I asked"]),
        ("The technician Maria Garcia came on Tuesday.", ["Maria", "Garcia"], ["technician", "Tuesday"]),
        ("Call me on 555-867-5309 please.", ["867", "5309"], ["Call me on", "please"]),
        ("My number is +44 20 7946 0958.", ["7946"], ["My number is"]),
        ("Ruf mich an: +49 30 1234567.", ["1234567"], ["Ruf mich an"]),
        ("Call me back on 07700 900123 tomorrow", ["900123"], ["tomorrow"]),
        ("(415) 555-2671 is my cell", ["2671"], ["is my cell"]),
        ("Email sarah.j@example.com now", ["sarah.j", "example.com"], ["Email", "now"]),
        ("it is john dot smith at gmail dot com", ["john", "smith", "gmail"], ["it is"]),
        ("I live at 42 Main Street, Springfield, IL 62704 and it broke.", ["42 Main", "62704"], ["it broke"]),
        ("Send it to 7b Old Mill Rd., Apt 3 please", ["Old Mill", "Apt 3"], ["please"]),
        ("we are at 12 baker street now", ["12 baker street"], ["now"]),
        ("Ich wohne in der Hauptstraße 5, 10115 Berlin.", ["Hauptstraße 5", "10115"], ["Ich wohne"]),
        ("The postcode is SW1A 1AA.", ["SW1A 1AA"], ["postcode"]),
        ("Pay with 4111 1111 1111 1111 again", ["4111"], ["Pay with", "again"]),
        ("card 5500-0000-0000-0004 expired", ["5500"], ["expired"]),
        ("My IBAN is DE89 3704 0044 0532 0130 00.", ["DE89", "3704"], ["My IBAN is"]),
        ("iban GB82WEST12345698765432 thanks", ["GB82WEST"], ["thanks"]),
        ("my number is five five five, eight six seven, five three oh nine ok", ["eight six seven"], ["ok"]),
        ("call 0 7 7 0 0 9 0 0 1 2 3 after six", ["0 7 7 0 0"], ["after six"]),
        ("Mike here, the blinds are stuck.", ["Mike"], ["here, the blinds are stuck"]),
        ("Mein Name ist Jürgen Weber und die Heizung ist kaputt.", ["Jürgen", "Weber"], ["Heizung ist kaputt"]),
        ("Bonjour, je m'appelle Émilie, le thermostat ne marche pas.", ["Émilie"], ["thermostat"]),
    ],
)
def test_personal_data_is_replaced_by_a_tag(text: str, gone: list[str], kept: list[str]) -> None:
    out = redact(text)
    for piece in gone:
        assert piece not in out, out
    for piece in kept:
        assert piece in out, out
    assert "[" in out


@pytest.mark.parametrize(
    "text",
    [
        "I turned it off 3 times in a row and the thermostat is still broken.",
        "Firmware 1.2.3 on model T-2000, made 2024-05-01, set to 21.5 degrees.",
        "Will it work? Grace period is over and I hope it gets fixed in May.",
        "Alexa and the Hue lights stopped working, Google Home too.",
        "And so my fellow Americans, ask not what your country can do for you.",
        "It has been 10 minutes and the kitchen light is still on at 7:30.",
        "Serial number 1234 5678 9012 3456 is printed on the back.",  # fails Luhn: not a card
        "I'm happy with it, this is great. My name is not important.",
        "Drive the blinds down 2 steps, the fan runs at 1200 rpm.",
        "I pressed the button one two three times and waited five minutes.",
        "Ich heiße nicht gut, dass die Heizung kalt bleibt.",
    ],
)
def test_ordinary_feedback_is_left_alone(text: str) -> None:
    assert redact(text) == text


def test_redaction_is_idempotent_and_keeps_empty_text() -> None:
    once = redact("my name is Anna Berg, call 555-867-5309 or anna@example.org")
    assert redact(once) == once
    assert once.count("[NAME]") == 1 and "[PHONE]" in once and "[EMAIL]" in once
    assert redact("") == ""


def test_several_kinds_in_one_transcript() -> None:
    out = redact(
        "This is Michael from 12 Elm Avenue, my card 4012 8888 8888 1881 was charged twice, "
        "reach me at michael@example.net or 415-555-2671."
    )
    assert out == (
        "This is [NAME] from [ADDRESS], my card [CARD] was charged twice, "
        "reach me at [EMAIL] or [PHONE]."
    )


def test_the_census_lists_are_held_compactly() -> None:
    """A service keeps the name lists for its life: as strings, not as sets of ~25 000 objects
    (~5 MB resident in every phone process after its first call)."""
    import sys

    from voicebot.privacy.redact import _first_names, _last_names

    firsts, lasts = _first_names(), _last_names()
    assert len(lasts) == 20000 and "smith" in lasts and "Smith" not in lasts and "" not in lasts
    assert "mary" in firsts and "the" not in firsts
    held = sum(sys.getsizeof(text) for words in (firsts, lasts) for text in vars(words)["_text"].values())
    assert held < 1_000_000
