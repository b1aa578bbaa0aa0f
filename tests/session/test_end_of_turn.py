"""The live session's end of turn asks the dialogue's understanding whether the words so far are
a complete request in this home and conversation (voicebot/understand/completeness.py)."""

from __future__ import annotations

from voicebot.channels.virtual import Cue
from voicebot.session import SessionSettings


def test_a_complete_command_and_the_answer_to_the_bots_question_end_on_the_complete_rule(call, say, home) -> None:
    """"Unlock the front door." is complete in the demo home (one front door lock); the bot asks to
    confirm, and "Yes." is then a complete answer (it would have no opinion on a "yes" out of the
    blue). The dialogue acts as before."""
    cues = [
        Cue(say("Unlock the front door."), "asks to confirm", delay_s=0.3),
        Cue(say("Yes."), "answers the yes/no question", delay_s=0.3),
    ]
    # the voice's signal off (a "yes" said held up would wait as before), and a long endpointer
    # silence so that a slow transcription on a busy machine still lands inside the turn
    done = call(cues, opts=SessionSettings(greet=False, fell_end_ms=0, end_silence_ms=3000))
    turns = done.answered()
    assert [t.timings.end_reason for t in turns] == ["complete", "complete"], [t.as_dict() for t in done.result.turns]
    assert home.simulator.state("front_door_lock")["state"] == "unlocked"
