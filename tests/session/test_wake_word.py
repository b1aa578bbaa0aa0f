"""The smart speaker's wake word: turns without it are not answered."""

from __future__ import annotations

from voicebot.channels.virtual import Cue
from voicebot.session import SessionSettings
from voicebot.turn_taking import strip_wake_word


def test_only_turns_that_start_with_the_wake_word_are_answered(call, say, home) -> None:
    cues = [
        Cue(say("Turn on the kitchen light."), "no wake word", delay_s=0.3),
        Cue(say("Hey computer, turn on the hallway light."), "with wake word", delay_s=2.0),
    ]
    done = call(cues, opts=SessionSettings(wake_word="hey computer", greet=False))
    turns = done.result.turns
    assert len(turns) == 2, [t.as_dict() for t in turns]
    assert turns[0].ignored and "wake word" in turns[0].ignored
    assert not turns[0].actions and home.simulator.state("kitchen_light")["state"] == "off"
    assert turns[1].ignored is None
    assert [(a["device_id"], a["outcome"]) for a in turns[1].actions] == [("hallway_light", "confirmed")]


def test_wake_word_matching_forgives_spelling() -> None:
    assert strip_wake_word("Hey, Voicebot! Turn on the lamp.", "hey voicebot") == "turn on the lamp"
    assert strip_wake_word("Hey voice bot turn on the lamp", "hey voicebot") is not None
    assert strip_wake_word("Hey computer.", "hey computer") == ""
    assert strip_wake_word("Turn on the lamp", "hey voicebot") is None
