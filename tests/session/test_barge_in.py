"""Talking over the bot: the user's voice stops playback at once; the bot's own echo and a
cough do not."""

from __future__ import annotations

import numpy as np

from voicebot.bargein import BargeInDetector, EchoCanceller, periodicity
from voicebot.channels.virtual import Cue


def cough_burst(seed: int = 1) -> np.ndarray:
    """250 ms of shaped broadband noise: as loud as speech, with no pitch."""
    rng = np.random.default_rng(seed)
    n = 4000
    noise = np.convolve(rng.normal(0, 1, n), np.hanning(9) / np.hanning(9).sum(), mode="same")
    env = np.exp(-np.linspace(0, 5, n)) * np.minimum(1, np.linspace(0, 8, n))
    return (noise / np.abs(noise).max() * env * 12000).astype(np.int16)


def test_user_speech_stops_the_bot_but_echo_and_a_cough_do_not(call, say, home) -> None:
    cues = [
        Cue(say("What can you do?"), "help"),
        Cue(say("Actually, turn on the kitchen light.", "en-gb"), "barge", after="reply_start", delay_s=1.2),
        Cue(cough_burst(), "<cough>", after="reply_start", delay_s=0.4, cough=True),
        Cue(say("Thanks, goodbye."), "bye"),
    ]
    # A speakerphone: the bot's voice comes back into the microphone at half its level.
    done = call(cues, echo_gain=0.5)
    cuts = done.line.log.cuts
    barge = cues[1]

    # Exactly one barge-in: the user's. Neither the echo of the greeting and replies nor the cough.
    assert len(cuts) == 1, cuts
    assert barge.onset is not None
    reaction = cuts[0].at - barge.onset
    assert 0 < reaction < 0.3, reaction  # audio time from the start of their voice to silence

    turns = done.answered()
    said = [t.user_text.lower() for t in turns]
    assert len(turns) == 3, [t.as_dict() for t in done.result.turns]
    assert turns[0].interrupted and turns[0].intent == "Help"
    # The rest of the help text was dropped, not synthesized and played later.
    assert "come on" not in turns[0].reply_text, turns[0].reply_text
    assert "kitchen light" in said[1]
    assert [(a["device_id"], a["outcome"]) for a in turns[1].actions] == [("kitchen_light", "confirmed")], turns[1].as_dict()
    assert not turns[1].interrupted  # the cough did not cut the confirmation short
    assert "goodbye" in said[2]
    assert len(done.result.barge_ins) == 1


def test_echo_canceller_removes_the_bots_voice(synthesizer) -> None:
    pcm = np.concatenate([c.pcm for c in synthesizer.synthesize("Please switch it off at the wall.", 16000)])
    history = 1920
    ref = np.concatenate([np.zeros(history, np.int16), pcm])
    # The microphone hears the playback 40 ms late, at 40 % and smeared over three samples.
    echo = np.zeros(pcm.size)
    delayed = np.concatenate([np.zeros(640), pcm[:-640].astype(float)])
    echo[2:] = 0.4 * (0.6 * delayed[2:] + 0.3 * delayed[1:-1] + 0.1 * delayed[:-2])
    ec = EchoCanceller()
    before, after = [], []
    for i in range(0, pcm.size - 480, 480):
        mic = echo[i : i + 480].astype(np.int16)
        clean, _ = ec.process(mic, ref[i : i + 480 + history])
        before.append(float(np.sum(mic.astype(float) ** 2)))
        after.append(float(np.sum(clean.astype(float) ** 2)))
    # After the first frames (learning the echo path), less than 1 % of the echo energy is left.
    assert sum(after[10:]) < 0.01 * sum(before[10:])


def test_a_cough_is_loud_but_not_a_voice(say) -> None:
    voice = say("Stop right there.")
    assert periodicity(voice[4000:4480]) > 0.5 or periodicity(voice[5000:5480]) > 0.5
    burst = cough_burst()
    detector = BargeInDetector()
    decided = [detector.feed(burst[i : i + 480].astype(np.float32), 0.0, i / 16000) for i in range(0, 3840, 480)]
    assert all(d is None for d in decided)
    detector.reset()
    decided = [detector.feed(voice[i : i + 480].astype(np.float32), 0.0, i / 16000) for i in range(0, voice.size - 480, 480)]
    assert any(d is not None for d in decided)
