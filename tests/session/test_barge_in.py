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
    # The customer's own words, not the bot's echo. Whisper has heard "goodbye" as "don't lie"
    # once on a busy machine (cause not found); either of their words shows the turn was theirs.
    assert "goodbye" in said[2] or "thanks" in said[2], said[2]
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


def _over_the_bot(synthesizer, voice: np.ndarray, voice_gain: float, leftover: bool) -> tuple[float | None, float]:
    """Play the bot's reply back into the microphone at full level (a speakerphone turned up),
    with the customer starting to talk after 1.5 s at ``voice_gain`` of their level; returns
    (seconds from their first sound to the barge-in or None, the canceller's residual ratio)."""
    bot = np.concatenate([c.pcm for c in synthesizer.synthesize(
        "I can switch your lights, check the heating, lock the doors and help you fix a device that does not work.",
        16000)]).astype(np.float64)
    history, frame, start = 1920, 480, 24000
    echo = np.convolve(bot, np.r_[np.zeros(640), 0.6, 0.3, 0.1])[: bot.size]
    mic = echo + np.random.default_rng(0).normal(0, 8, bot.size)
    part = voice_gain * voice[: bot.size - start].astype(np.float64)
    mic[start : start + part.size] += part
    first_sound = start + int(np.argmax(np.abs(part) > 300))
    ref = np.concatenate([np.zeros(history), bot])
    canceller, detector = EchoCanceller(), BargeInDetector()
    for i in range(0, bot.size - frame, frame):
        m = np.clip(mic[i : i + frame], -32768, 32767).astype(np.int16)
        clean, echo_rms = canceller.process(m, ref[i : i + frame + history])
        onset = detector.feed(clean, echo_rms, i / 16000,
                              canceller.leftover(echo_rms) if leftover and echo_rms > 0 else None)
        if onset is not None:
            return (i + frame - first_sound) / 16000, canceller.residual_ratio
    return None, canceller.residual_ratio


def test_a_voice_quieter_than_the_echo_still_stops_the_bot(synthesizer, say) -> None:
    """Once the canceller has shown how little of the bot's echo it leaves, a customer speaking
    more softly than that echo is heard at once; judged against the echo itself they were not
    heard at all, or only much later."""
    for text, voice, gain in (("Hang on.", "en-us+m3", 0.2), ("Wait a moment.", "en-us", 0.35)):
        pcm = say(text, voice)
        reaction, ratio = _over_the_bot(synthesizer, pcm, gain, leftover=True)
        assert ratio < 0.33  # learnt below the cautious starting value
        assert reaction is not None and reaction < 0.25, (text, reaction)
        without, _ = _over_the_bot(synthesizer, pcm, gain, leftover=False)
        assert without is None or without > reaction + 0.2, (text, without, reaction)


def hum(seconds: float, rms_level: float = 400.0, f0: float = 120.0) -> np.ndarray:
    """A mains buzz (a transformer, a fridge): 120 Hz and its harmonics, pitched enough for
    webrtcvad and the periodicity check, steady at about -38 dBFS."""
    t = np.arange(int(seconds * 16000)) / 16000
    x = sum(np.sin(2 * np.pi * f0 * k * t + k) / k for k in range(1, 8))
    return x / np.sqrt(np.mean(x**2)) * rms_level + np.random.default_rng(0).normal(0, 8, t.size)


def test_the_rooms_own_hum_is_not_a_voice(say) -> None:
    """A steady pitched hum above the fixed -47 dBFS floor stopped the bot as soon as it began to
    answer; the detector now learns the microphone's floor while it listens and asks a voice to
    stand out from it."""
    def frames(x: np.ndarray) -> list[np.ndarray]:
        return [x[i : i + 480].astype(np.float32) for i in range(0, x.size - 480, 480)]

    def level(f: np.ndarray) -> float:
        return float(np.sqrt(np.mean(f.astype(np.float64) ** 2)))

    buzz = hum(3.0)
    without_floor = BargeInDetector()
    assert any(without_floor.feed(f, 0.0, i * 0.03) is not None for i, f in enumerate(frames(buzz)))

    detector = BargeInDetector()
    for f in frames(buzz[:16000]):  # listening to the customer's room before the bot speaks
        detector.track_floor(level(f))
    for i, f in enumerate(frames(buzz[16000:])):  # the bot speaks; the buzz goes on
        detector.track_floor(level(f))
        assert detector.feed(f, 0.0, i * 0.03) is None

    voice = say("Stop, please.", "en-us").astype(np.float64)
    over = voice + hum(voice.size / 16000)
    hits = []
    for i, f in enumerate(frames(over)):
        detector.track_floor(level(f))
        hits.append(detector.feed(f, 0.0, i * 0.03))
    assert any(h is not None for h in hits)
