"""FasterWhisperTranscriber on real recordings, silence and noise."""

from __future__ import annotations

import csv
import threading
from pathlib import Path

import numpy as np
import pytest

from voicebot.audio import read_audio
from voicebot.transcribe import _looks_repetitive, _repeats_phrase
from voicebot.wer import word_error_rate

HUMAN = [
    "jfk.flac",
    "would_you_please_turn_on_living_room_lamp.wav",
    "what_time_is_it.wav",
    "turn_on_living_room_lamp.wav",
    "stereo_diarization_left.wav",
    "stereo_diarization_right.wav",
]


def expected(shared_audio: Path) -> dict[str, str]:
    with (shared_audio / "transcripts.tsv").open(encoding="utf-8") as f:
        return {row["file"]: row["transcript"] for row in csv.DictReader(f, delimiter="\t")}


@pytest.mark.parametrize("name", HUMAN)
def test_shared_recordings_transcribe_correctly(transcriber, shared_audio: Path, name: str) -> None:
    result = transcriber.transcribe(read_audio(shared_audio / name))
    assert result.rejected is None
    assert word_error_rate(expected(shared_audio)[name], result.text) <= 0.05, result.text
    assert result.language == "en"
    assert 0.5 < result.confidence <= 1.0
    # Short commands use the short window; jfk (11 s) is longer than it and uses twice the window.
    assert result.window_s == (2 * transcriber.window_s if name == "jfk.flac" else transcriber.window_s)


def test_short_window_matches_full_window_on_commands(transcriber, shared_audio: Path) -> None:
    for name in HUMAN[1:3]:
        pcm = read_audio(shared_audio / name)
        short = transcriber.transcribe(pcm)
        full = transcriber.transcribe(pcm, window_s=30)
        assert full.window_s == 30.0 and short.window_s < 30
        assert word_error_rate(full.text, short.text) == 0.0


def test_audio_longer_than_30_s_is_transcribed_whole(transcriber, shared_audio: Path) -> None:
    gap = np.zeros(16000, np.int16)
    names = [HUMAN[0], HUMAN[4], HUMAN[5], HUMAN[1], HUMAN[2], HUMAN[0]]
    pcm = np.concatenate([part for n in names for part in (read_audio(shared_audio / n), gap)])
    result = transcriber.transcribe(pcm)
    assert result.audio_s > 30 and result.window_s == 30.0
    reference = " ".join(expected(shared_audio)[n] for n in names)
    assert word_error_rate(reference, result.text) < 0.1, result.text


def noises() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(7)
    clicks = np.zeros(48000, np.int16)
    for k in range(6):
        clicks[8000 * k + 100 : 8000 * k + 180] = 25000
    burst = rng.normal(0, 200, 48000)
    burst[16000:24000] += rng.normal(0, 10000, 8000)
    return {
        "digital silence": np.zeros(32000, np.int16),
        "room hiss": rng.normal(0, 60, 32000).astype(np.int16),
        "white noise": rng.normal(0, 3000, 32000).astype(np.int16),
        "loud white noise": rng.normal(0, 12000, 48000).astype(np.int16),
        "mains hum": (3000 * np.sin(2 * np.pi * 50 * np.arange(32000) / 16000)).astype(np.int16),
        "clicks": clicks,
        "noise burst": burst.astype(np.int16),
    }


@pytest.mark.parametrize("name", list(noises()))
@pytest.mark.parametrize("window", [None, 30.0])
def test_silence_and_noise_give_no_text(transcriber, name: str, window: float | None) -> None:
    result = transcriber.transcribe(noises()[name], window_s=window)
    assert result.text == ""
    assert result.rejected in {"silence", "no_speech", "repetition", "low_confidence", "hallucination"}


def test_concurrent_calls_give_the_same_text(transcriber, shared_audio: Path) -> None:
    pcms = [read_audio(shared_audio / n) for n in HUMAN[1:4]]
    alone = [transcriber.transcribe(p).text for p in pcms]
    results: dict[int, str] = {}

    def work(i: int) -> None:
        results[i] = transcriber.transcribe(pcms[i % 3]).text

    threads = [threading.Thread(target=work, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [results[i] for i in range(6)] == alone * 2


def test_repetition_guards() -> None:
    assert _looks_repetitive("What time is it? What time is it? What time is it?")
    assert not _looks_repetitive("No, no, no, that is wrong.")
    assert _repeats_phrase("Turn off the kitchen light. Turn off the kitchen light. Turn off")
    assert not _repeats_phrase("Turn off the kitchen light and the hall light.")


def test_float_samples_are_accepted(transcriber, shared_audio: Path) -> None:
    pcm = read_audio(shared_audio / "what_time_is_it.wav")
    result = transcriber.transcribe(pcm.astype(np.float32) / 32768)
    assert word_error_rate("what time is it", result.text) == 0
