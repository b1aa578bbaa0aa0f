"""Hearing the home's own words: Whisper prompted with the home's names, and near-misses of the
names corrected in what it wrote (voicebot.home_words, FasterWhisperTranscriber.use_home_words)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from device_bridge.home import load_home
from tests.audio.test_transcribe import HUMAN, expected, noises
from voicebot.audio import read_audio
from voicebot.home_words import HomeWords
from voicebot.transcribe import FasterWhisperTranscriber
from voicebot.wer import word_error_rate

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def demo_words() -> HomeWords:
    home = load_home(ROOT / "device_bridge" / "homes" / "demo.yaml")
    return HomeWords.from_registry([hd.device for hd in home.devices], home.areas, "en")


@pytest.fixture(scope="module")
def home_transcriber(tiny_model_path: Path) -> FasterWhisperTranscriber:
    """A transcriber of its own: the session's shared one must stay unbiased for other tests."""
    return FasterWhisperTranscriber(tiny_model_path, threads=1)


@pytest.mark.parametrize(
    ("heard", "meant"),
    [("turn on the living rom lights", "turn on the Living Room lights"),
     ("start the robot vaccum", "start the Robot Vacuum"),
     ("switch off the flour lamp", "switch off the Floor Lamp"),
     ("is the garrage door open?", "is the Garage Door open?")],
)
def test_near_misses_of_the_homes_names_are_put_right(demo_words: HomeWords, heard: str, meant: str) -> None:
    assert demo_words.correct(heard) == meant


@pytest.mark.parametrize(
    "text",
    ["turn on the light", "what time is it", "lights off", "turn on the lamb", "open the door",
     "play some music in the kitchen", "the floor is wet", "set it to twenty degrees", "Kitchen Light on",
     "floor lamp 50%", "bedroom lamp to 20"],
)
def test_what_is_no_near_miss_is_left_alone(demo_words: HomeWords, text: str) -> None:
    assert demo_words.correct(text) == text


def test_the_prompt_is_a_plain_sentence_of_the_names(demo_words: HomeWords) -> None:
    prompt = demo_words.prompt()
    assert "living room" in prompt and "floor lamp" in prompt  # rooms and device names before aliases
    assert "," not in prompt  # Whisper copies a comma list's style into the transcript
    assert len(prompt) <= 600


def test_prompted_whisper_still_hears_commands_and_nothing_in_noise(
    home_transcriber: FasterWhisperTranscriber, demo_words: HomeWords, shared_audio: Path,
) -> None:
    home_transcriber.use_home_words(demo_words)
    try:
        for name in HUMAN[1:4]:
            result = home_transcriber.transcribe(read_audio(shared_audio / name))
            assert word_error_rate(expected(shared_audio)[name], result.text) <= 0.05, result.text
            assert result.window_s == home_transcriber.window_s  # the short window still serves commands
        for label, pcm in noises().items():
            result = home_transcriber.transcribe(pcm)
            assert result.text == "", (label, result)  # never the prompted names read back from noise
    finally:
        home_transcriber.use_home_words(None)


def test_a_corrected_transcript_keeps_what_whisper_wrote(
    home_transcriber: FasterWhisperTranscriber, synthesizer,
) -> None:
    # Whisper (US English) writes "theater"; this home spells its room the British way
    words = HomeWords.of(["Theatre Room", "Study"], "en")
    pcm = np.concatenate([c.pcm for c in synthesizer.synthesize("Turn on the lights in the theatre room.", 16000)])
    home_transcriber.use_home_words(words, prompt=False, correct=True)
    try:
        result = home_transcriber.transcribe(pcm)
    finally:
        home_transcriber.use_home_words(None)
    assert "Theatre Room" in result.text, result
    assert result.heard and "theater room" in result.heard.lower()
