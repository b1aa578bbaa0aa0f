"""PiperSynthesizer: sentence streaming at the rate a channel asks for; piper → whisper round trip."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest

from voicebot.speak import split_sentences
from voicebot.wer import word_errors

COMMANDS = (Path(__file__).parent / "data" / "commands.txt").read_text(encoding="utf-8").splitlines()


@pytest.mark.parametrize(("text", "sentences"), [
    ("Sure. The kitchen light is now off. Anything else?", ["Sure.", "The kitchen light is now off.", "Anything else?"]),
    ("Dr. Smith set it to 21.5 degrees at 7 p.m. today!", ["Dr. Smith set it to 21.5 degrees at 7 p.m. today!"]),
    ("Try e.g. the hall switch. It is on St. Mary's Rd. now.", ["Try e.g. the hall switch.", "It is on St. Mary's Rd. now."]),
    ("Option no. 3 works... I think. Call J. Smith.", ["Option no. 3 works...", "I think.", "Call J. Smith."]),
    ("Step 1. Unplug it.\nStep 2. Wait ten seconds", ["Step 1.", "Unplug it.", "Step 2.", "Wait ten seconds"]),
    ('He said "stop." Then it stopped.', ['He said "stop."', "Then it stopped."]),
    ("   ", []),
])
def test_sentence_split(text: str, sentences: list[str]) -> None:
    assert split_sentences(text) == sentences


@pytest.mark.parametrize("rate", [8000, 16000, 22050])
def test_sentences_in_order_at_the_asked_rate(synthesizer, rate: int) -> None:
    chunks = list(synthesizer.synthesize("Sure. The kitchen light is now off. Anything else?", rate))
    # A sentence longer than a second may come in pieces: its last one ends it.
    assert [c.text for c in chunks if c.ends_sentence] == ["Sure.", "The kitchen light is now off.", "Anything else?"]
    sentences: dict[str, np.ndarray] = {}
    for c in chunks:
        assert c.sample_rate == rate and c.pcm.dtype == np.int16
        sentences[c.text] = np.concatenate([sentences.get(c.text, np.zeros(0, np.int16)), c.pcm])
    for pcm in sentences.values():
        assert 0.3 < len(pcm) / rate < 3.0
        assert np.abs(pcm).max() > 5000  # audible speech
    assert len(sentences["The kitchen light is now off."]) > len(sentences["Sure."])  # longer sentence, longer audio


def test_first_chunk_is_ready_before_the_whole_reply(synthesizer) -> None:
    text = "Okay. " + " ".join(COMMANDS[10:13])
    latency, first = synthesizer.first_chunk_latency(text, 16000)
    assert first is not None and first.text == "Okay."
    whole_started = __import__("time").perf_counter()
    total = sum(len(c.pcm) for c in synthesizer.synthesize(text, 16000))
    whole = __import__("time").perf_counter() - whole_started
    assert total > 4 * len(first.pcm)
    assert latency < whole
    assert 0 < first.elapsed_s <= latency


def test_nothing_speakable_yields_nothing(synthesizer) -> None:
    assert list(synthesizer.synthesize("", 16000)) == []
    assert len(synthesizer.speak_all("...", 16000)) == 0


def test_piper_to_whisper_round_trip_word_error_rate_under_5_percent(synthesizer, transcriber) -> None:
    assert len(COMMANDS) >= 20
    errors = words = 0
    misheard = []
    for sentence in COMMANDS:
        pcm = synthesizer.speak_all(sentence, 16000)
        heard = transcriber.transcribe(pcm)
        e, n = word_errors(sentence, heard.text)
        errors, words = errors + e, words + n
        if e:
            misheard.append((sentence, heard.text))
    assert errors / words < 0.05, misheard


def test_phone_rate_speech_is_still_understood(synthesizer, transcriber) -> None:
    from voicebot.audio import resample

    phone = synthesizer.speak_all("Turn off the kitchen light.", 8000)
    heard = transcriber.transcribe(resample(phone, 8000, 16000))
    assert word_errors("Turn off the kitchen light.", heard.text)[0] == 0, heard.text


def test_concurrent_synthesis_gives_full_audio(synthesizer) -> None:
    out: dict[int, int] = {}

    def work(i: int) -> None:
        out[i] = sum(len(c.pcm) for c in synthesizer.synthesize(COMMANDS[i], 16000))

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(out[i] > 8000 for i in range(4))


def test_same_text_same_audio_and_frequent_sentences_are_cached(synthesizer) -> None:
    first = synthesizer.speak_all("Okay. Let me check that for you.", 16000)
    again = synthesizer.speak_all("Okay. Let me check that for you.", 16000)  # from the cache, whole
    assert np.array_equal(first, again)
    assert ("Okay.", 16000) in synthesizer.default.synthesizer.cache  # kept finished, at the rate asked for
