"""The end of a turn from the voice: a statement's final fall ends a finished-sounding turn sooner,
a voice held up waits longer, a question ends as before; and the pitch tracker itself."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from voicebot.audio import read_audio
from voicebot.config import ListenSettings
from voicebot.frames import InFrame
from voicebot.listener import HeardTurn, Listener
from voicebot.turn_taking import Prosody, end_silence_ms, final_prosody

RATE = 16000


def glide(start_hz: float, end_hz: float, seconds: float = 1.2, end_gain: float = 1.0) -> np.ndarray:
    """A voiced-like sound: a pitch glide with harmonics, its level ramping to ``end_gain``."""
    t = np.arange(int(seconds * RATE)) / RATE
    f0 = np.where(t < seconds - 0.3, start_hz, start_hz + (end_hz - start_hz) * (t - (seconds - 0.3)) / 0.3)
    phase = 2 * np.pi * np.cumsum(f0) / RATE
    x = sum(np.sin(k * phase) / k for k in range(1, 6))
    gain = np.where(t < seconds - 0.3, 1.0, 1.0 + (end_gain - 1.0) * (t - (seconds - 0.3)) / 0.3)
    return (x * gain * 6000).astype(np.int16)


def test_a_falling_quieter_voice_fell_and_a_rising_one_is_held() -> None:
    fell = final_prosody(glide(180, 120, end_gain=0.4))
    assert fell.fell and not fell.held and 3 < fell.fall_st < 7, fell
    rose = final_prosody(glide(150, 190))
    assert rose.held and not rose.fell, rose
    level = final_prosody(glide(150, 150))
    assert not level.fell and abs(level.fall_st) < 0.5, level


def test_noise_and_short_audio_say_nothing_about_pitch() -> None:
    noise = np.random.default_rng(1).normal(0, 3000, RATE).astype(np.int16)
    assert not final_prosody(noise).pitched
    assert not final_prosody(glide(180, 120)[:1000]).pitched


@pytest.mark.parametrize(
    ("text", "prosody", "expected"),
    [
        ("Turn on the", Prosody(5.0, 6.0, True), None),  # words first: never early on "the"
        ("Turn on the kitchen light.", Prosody(5.0, 6.0, True), 180),  # a statement's fall
        ("Turn on the kitchen light.", Prosody(0.2, 0.0, True), 700),  # held up: maybe more to come
        ("Is the front door locked?", Prosody(-3.0, 0.0, True), 300),  # questions rise: as before
        ("Turn on the kitchen light.", Prosody(12.0, 6.0, True), 300),  # an octave slip is no fall
        ("Turn on the kitchen light.", None, 300),  # no prosody: the words' rule alone
    ],
)
def test_end_silence_from_words_and_voice(text: str, prosody: Prosody | None, expected: int | None) -> None:
    assert end_silence_ms(text, prosody, quick_ms=300, fell_ms=180, held_ms=700) == expected


def _turns(transcriber: object, pcm: np.ndarray, fell_end_ms: int | None) -> list[HeardTurn]:
    listen = ListenSettings(pause_ms=120, end_silence_ms=1100)
    listener = Listener(transcriber, listen, speculate="now", quick_end_ms=300, fell_end_ms=fell_end_ms,  # type: ignore[arg-type]
                        held_end_ms=700)
    audio = np.concatenate([np.zeros(4800, np.int16), pcm, np.zeros(RATE * 2, np.int16)])
    out: list[HeardTurn] = []
    for k in range(0, len(audio) - 479, 480):
        out += [e for e in listener.feed(InFrame(audio[k : k + 480])) if isinstance(e, HeardTurn)]
    return out


def test_a_command_said_with_a_falling_voice_ends_sooner(transcriber, shared_audio: Path) -> None:
    """A real recording ("Turn on the living room lamp.", falling at the end): with prosody the
    turn ends ~180 ms after the voice instead of ~300 ms, with the same words."""
    pcm = read_audio(shared_audio / "turn_on_living_room_lamp.wav")
    before = _turns(transcriber, pcm, None)
    after = _turns(transcriber, pcm, 180)
    assert [t.reason for t in before] == ["quick"] and [t.reason for t in after] == ["fell"]
    assert after[0].decided - after[0].end < 0.25 <= before[0].decided - before[0].end
    assert transcriber.transcribe(after[0].pcm).text == transcriber.transcribe(before[0].pcm).text
