"""Endpointer: turns from real speech, no turns from silence or noise, pauses kept inside a turn."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from voicebot.config import ListenSettings
from voicebot.listen import Endpointer, ListenEvent, SpeechPaused, SpeechResumed, SpeechStarted, TurnEnded
from voicebot.wer import word_error_rate

from .sounds import RATE, join, room, speech_only


def run(pcm: np.ndarray, chunk: int = 320, settings: ListenSettings | None = None) -> list[ListenEvent]:
    ep = Endpointer(settings)
    events: list[ListenEvent] = []
    for i in range(0, len(pcm), chunk):
        events.extend(ep.feed(pcm[i : i + chunk]))
    return events + ep.flush()


def turns(events: list[ListenEvent]) -> list[TurnEnded]:
    return [e for e in events if isinstance(e, TurnEnded)]


@pytest.fixture(scope="module")
def what(shared_audio: Path) -> np.ndarray:
    """'The horizon seems extremely distant.' (LibriSpeech reader), trimmed to the speech."""
    return speech_only(shared_audio / "stereo_diarization_right.wav")


@pytest.fixture(scope="module")
def lamp(shared_audio: Path) -> np.ndarray:
    """'would you please turn on the living room lamp' (microphone recording), trimmed."""
    return speech_only(shared_audio / "would_you_please_turn_on_living_room_lamp.wav", within_db=15)


def test_speech_silence_speech_splits_into_two_turns_with_the_right_words(transcriber, what, lamp) -> None:
    pcm = join(room(1.0), what, room(1.5, 1), lamp, room(1.0, 2))
    events = run(pcm)
    found = turns(events)
    assert [t.reason for t in found] == ["silence", "silence"]
    first_end = 1.0 + len(what) / RATE
    second_start = first_end + 1.5
    assert found[0].start == pytest.approx(1.0, abs=0.12)
    assert found[0].end == pytest.approx(first_end, abs=0.15)
    assert found[1].start == pytest.approx(second_start, abs=0.12)
    assert found[1].end == pytest.approx(second_start + len(lamp) / RATE, abs=0.15)
    # Pre-roll keeps the first syllable: each turn's audio transcribes to the whole sentence.
    assert word_error_rate("the horizon seems extremely distant", transcriber.transcribe(found[0].pcm).text) == 0
    assert word_error_rate(
        "would you please turn on the living room lamp", transcriber.transcribe(found[1].pcm).text
    ) == 0
    # Every turn is announced, and decided after the configured trailing silence.
    assert sum(isinstance(e, SpeechStarted) for e in events) == 2
    s = ListenSettings()
    for t in found:
        assert t.decided_at - t.end == pytest.approx(s.end_silence_ms / 1000, abs=0.031)


@pytest.mark.parametrize("pause_s", [0.3, 0.35, 0.4])
def test_a_pause_inside_a_sentence_does_not_end_the_turn(what, lamp, pause_s: float) -> None:
    pcm = join(room(0.5), what, room(pause_s, 3), lamp, room(1.0, 4))
    events = run(pcm)
    found = turns(events)
    assert len(found) == 1
    assert found[0].end - found[0].start == pytest.approx((len(what) + len(lamp)) / RATE + pause_s, abs=0.2)
    # The pause was long enough to announce a possible end, then speech resumed.
    kinds = [type(e).__name__ for e in events]
    assert kinds[0] == "SpeechStarted" and kinds[-1] == "TurnEnded"
    assert "SpeechResumed" in kinds


def test_a_long_pause_does_end_the_turn(what, lamp) -> None:
    assert len(turns(run(join(room(0.5), what, room(0.8, 3), lamp, room(1.0, 4))))) == 2


def test_speech_paused_fires_early_and_its_audio_is_the_final_turn(lamp) -> None:
    events = run(join(room(0.5), lamp, room(1.0)))
    paused = [e for e in events if isinstance(e, SpeechPaused)]
    (turn,) = turns(events)
    last = paused[-1]
    assert events.index(last) == len(events) - 2  # no SpeechResumed after the last pause
    assert 0.12 <= last.decided_at - last.time <= 0.24  # ~180 ms: early enough to transcribe speculatively
    assert np.array_equal(last.pcm, turn.pcm)


def rng_noise(seconds: float, level: float, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).normal(0, level, int(seconds * RATE)).astype(np.int16)


def clicks(seconds: float) -> np.ndarray:
    out = room(seconds)
    for k in range(int(seconds * 3)):
        start = int((k + 0.3) * RATE / 3)
        out[start : start + 60] = 24000
    return out


@pytest.mark.parametrize("name", ["silence", "room", "white", "loud_white", "burst", "clicks", "hum"])
def test_silence_and_noise_start_no_turn(name: str) -> None:
    sounds = {
        "silence": np.zeros(3 * RATE, np.int16),
        "room": room(3.0),
        "white": rng_noise(3.0, 2000, 1),
        "loud_white": rng_noise(3.0, 12000, 2),
        "burst": join(room(1.0), rng_noise(0.6, 9000, 3), room(1.5)),
        "clicks": clicks(3.0),
        "hum": (4000 * np.sin(2 * np.pi * 60 * np.arange(3 * RATE) / RATE)).astype(np.int16),
    }
    assert run(sounds[name]) == []


def test_speech_in_steady_noise_is_still_found(lamp) -> None:
    noisy = join(rng_noise(1.0, 300, 5), lamp, rng_noise(1.0, 300, 6))
    noisy[RATE : RATE + len(lamp)] += rng_noise(len(lamp) / RATE, 300, 7)
    assert len(turns(run(noisy))) == 1


@pytest.mark.parametrize("chunk", [7 * 16, 480, RATE])
def test_any_chunk_size_gives_the_same_decisions(what, lamp, chunk: int) -> None:
    pcm = join(room(0.5), what, room(1.2), lamp, room(0.8))
    reference = [(type(e).__name__, getattr(e, "time", getattr(e, "start", None))) for e in run(pcm, 320)]
    assert [(type(e).__name__, getattr(e, "time", getattr(e, "start", None))) for e in run(pcm, chunk)] == reference


def test_max_utterance_length_cuts_a_long_turn(shared_audio: Path) -> None:
    from voicebot.audio import read_audio

    settings = ListenSettings(max_utterance_s=2.0, end_silence_ms=1500)
    found = turns(run(read_audio(shared_audio / "jfk.flac"), settings=settings))
    assert found[0].reason == "max_length"
    assert found[0].decided_at - found[0].start == pytest.approx(2.0, abs=0.031)
    assert len(found[0].pcm) / RATE <= 2.0 + ListenSettings().preroll_ms / 1000 + 0.03
    assert len(found) >= 3


def test_resumed_only_after_real_speech_not_one_click(lamp) -> None:
    pcm = join(room(0.5), lamp, room(0.25), clicks(0.34)[:3000], room(1.0))
    events = run(pcm)
    assert any(isinstance(e, SpeechPaused) for e in events)  # the click falls inside the pause
    assert not any(isinstance(e, SpeechResumed) for e in events)
    assert len(turns(events)) == 1


@pytest.mark.parametrize("frame_ms", [10, 20])
def test_other_frame_sizes_find_the_same_turns(what, lamp, frame_ms: int) -> None:
    pcm = join(room(0.5), what, room(1.2), lamp, room(0.8))
    found = turns(run(pcm, settings=ListenSettings(frame_ms=frame_ms)))
    reference = turns(run(pcm))
    assert len(found) == len(reference) == 2
    for a, b in zip(found, reference, strict=True):
        assert a.start == pytest.approx(b.start, abs=0.1) and a.end == pytest.approx(b.end, abs=0.1)


def test_a_steady_noise_that_starts_mid_stream_does_not_hold_a_turn_open(transcriber) -> None:
    rng = np.random.default_rng(4)
    fan = np.convolve(rng.normal(0, 1, 6 * RATE), np.exp(-np.arange(40) / 8), "same")  # coloured, not white
    pcm = join(room(2.0), (fan / np.abs(fan).max() * 8000).astype(np.int16))
    found = turns(run(pcm))
    # At most one short turn while the level is still rising, never one lasting the 6 s of noise,
    # and nothing is heard in it.
    assert len(found) <= 1
    for t in found:
        assert t.end - t.start < 1.5
        assert transcriber.transcribe(t.pcm).text == ""


def test_the_noise_floor_is_numpys_percentile_of_the_window() -> None:
    """The endpointer keeps its noise window sorted instead of calling np.percentile each frame
    (a fifth of a silent phone call's CPU): the floor it compares speech against is unchanged."""
    import random
    from collections import deque

    from voicebot.listen import NOISE_PERCENTILE, RollingPercentile

    rng = random.Random(7)
    rolling, window = RollingPercentile(150, NOISE_PERCENTILE), deque(maxlen=150)
    for i in range(1200):
        level = -70.0 if i % 9 == 0 else round(rng.uniform(-95, -5), 2)
        rolling.append(level)
        window.append(level)
        assert rolling.value() == float(np.percentile(window, NOISE_PERCENTILE))
