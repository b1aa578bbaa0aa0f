"""A full spoken conversation through the session with the real models, devices and dialogue."""

from __future__ import annotations

import numpy as np

from voicebot.audio import read_audio
from voicebot.channels.virtual import Cue
from voicebot.turn_taking import sounds_finished


def test_spoken_troubleshooting_call_end_to_end(home, call, say, transcriber, shared_audio) -> None:
    sim = home.simulator
    sim.inject("kitchen_light", "offline")
    cues = [
        Cue(say("Hi. My kitchen light won't turn on."), "problem"),
        Cue(say("Okay, I have done that."), "done", on_start=lambda: sim.customer_action("kitchen_light", "power_cycle")),
        Cue(say("Yes, it works now."), "fixed"),
        Cue(read_audio(shared_audio / "would_you_please_turn_on_living_room_lamp.wav"), "lamp (real recording)"),
        Cue(say("Thanks, goodbye."), "bye"),
    ]
    done = call(cues)
    turns = done.answered()
    said = [t.user_text.lower() for t in turns]

    assert len(turns) == 5, [(t.user_text, t.ignored) for t in done.result.turns]
    assert "kitchen light" in said[0]
    assert "living room lamp" in said[3]
    # The bot found the light offline from its telemetry, then switched it on with confirmation.
    assert "offline" in turns[0].reply_text.lower()
    assert [(a["device_id"], a["outcome"]) for a in turns[1].actions] == [("kitchen_light", "confirmed")]
    assert sim.state("kitchen_light")["state"] == "on"
    # Which device "the living room lamp" means is the understanding stage's call (tests/understand);
    # here: the real recording was heard right and led to a command the device confirmed.
    assert turns[3].actions and all(a["outcome"] == "confirmed" for a in turns[3].actions), turns[3].as_dict()
    story = [(t.user_text, t.reply_text[:70], t.ignored, t.interrupted) for t in done.result.turns]
    assert done.result.ended_by == "dialogue", story  # the goodbye ended the call, not the line
    assert done.result.outcome == "resolved", story

    # Every answered turn carries its stage timings, in order, and they reached metrics and the store.
    for t in turns:
        tm = t.timings
        assert tm.endpoint is not None and tm.transcript is not None and tm.reply_text is not None
        assert tm.first_audio is not None
        assert 0 < tm.endpoint <= tm.transcript <= tm.reply_text <= tm.first_audio, tm
        assert tm.understand_s is not None and 0 < tm.understand_s <= (tm.dialogue_s or 0), tm  # from the engine
    assert done.metrics.summary()["first_audio"]["count"] == 5
    rows = home.store.turns(done.result.conversation_id)
    # each turn's row in the store holds that turn's timings (not only a trace entry)
    assert [r["timings"].get("first_audio") for r in rows] == [t.timings.first_audio for t in turns], rows

    # What the speaker sounded is the bot's answers: transcribe it back.
    heard = transcriber.transcribe(np.concatenate(turns[1].reply_audio)).text.lower()
    assert "kitchen" in heard and "reports that it is on" in heard, heard


def test_a_pause_inside_a_sentence_does_not_end_the_turn(call, say) -> None:
    first, second = say("Please turn on the"), say("hallway light.")
    pause = np.zeros(int(16000 * 0.7), np.int16)  # 700 ms: longer than a finished sentence needs
    turns = call([Cue(np.concatenate([first, pause, second]), "paused")]).answered()
    assert len(turns) == 1, [t.user_text for t in turns]
    assert "turn on the hallway light" in turns[0].user_text.lower()
    assert [(a["device_id"], a["outcome"]) for a in turns[0].actions] == [("hallway_light", "confirmed")]


def test_a_finished_sentence_ends_the_turn_early() -> None:
    assert sounds_finished("Turn on the kitchen light.")
    assert sounds_finished("Yes please.")
    assert not sounds_finished("Turn on the")
    assert not sounds_finished("My kitchen light and...")
    assert not sounds_finished("I want to")
