"""A long sentence's first audio comes early (voicebot.piper_pieces): its first ~0.56 s is decoded
and handed out while the rest is decoded, and the pieces are the whole sentence's audio."""

from __future__ import annotations

import asyncio
import logging
import time
from itertools import pairwise
from pathlib import Path

import numpy as np
import pytest

from voicebot.dialogue.types import Reply
from voicebot.models import resolve_voice
from voicebot.piper_pieces import FIRST_FRAMES, limit, plan
from voicebot.piper_split import split_voice
from voicebot.reply_speech import reply_sentences
from voicebot.speak import PiperSynthesizer
from voicebot.speaker import Speaker

# Dynamic replies of the dialogue, as the bot says them (not in the phrase cache).
LONG = "The bedroom temperature is reading 19.4 degrees."
REPLY = "The living room thermostat is set to 21 degrees, the room is at 21 degrees. Anything else?"


@pytest.fixture(scope="module")
def whole_voice() -> PiperSynthesizer:
    """The same voice run as one graph, as before the cut."""
    onnx, cfg = resolve_voice("joe")
    return PiperSynthesizer(onnx, cfg)


def test_a_long_sentence_starts_with_a_short_piece_of_the_same_audio(synthesizer, whole_voice) -> None:
    piper = synthesizer.default.synthesizer
    assert piper._pieces is not None  # the bundled voice was cut at its decoder
    piper.cache.clear()
    chunks = list(synthesizer.synthesize(LONG, 8000))
    assert len(chunks) >= 2 and [c.ends_sentence for c in chunks] == [False] * (len(chunks) - 1) + [True]
    assert len(chunks[0].pcm) / 8000 < 0.6  # the opening words, about half a second
    pieces = np.concatenate([c.pcm for c in chunks]).astype(np.int32)
    whole = next(iter(whole_voice.synthesize(LONG, 8000))).pcm.astype(np.int32)
    assert len(pieces) == len(whole)
    assert np.abs(pieces - whole).max() <= 2  # the same samples (rounding apart), no seam at the joins
    # Heard again, it is the cache's, whole, and the same.
    again = list(synthesizer.synthesize(LONG, 8000))
    assert len(again) == 1 and np.array_equal(again[0].pcm, pieces.astype(np.int16))


def test_the_first_piece_costs_a_fraction_of_the_whole_sentence(synthesizer, whole_voice) -> None:
    # CPU time of this thread (onnxruntime runs on it with one thread), so a busy machine does not matter
    piper = synthesizer.default.synthesizer
    first, whole = [], []
    for _ in range(3):
        piper.cache.clear()
        whole_voice.cache.clear()
        t = time.thread_time()
        next(iter(synthesizer.synthesize(LONG, 8000)))
        first.append(time.thread_time() - t)
        t = time.thread_time()
        next(iter(whole_voice.synthesize(LONG, 8000)))
        whole.append(time.thread_time() - t)
    assert min(first) < 0.7 * min(whole), (first, whole)


class Line:
    """A phone-rate line that keeps what it is given to play (a barge-in clears it)."""

    name, rate = "test", 8000

    def __init__(self) -> None:
        self.played: list[np.ndarray] = []
        self.started = asyncio.Event()

    async def play(self, pcm: np.ndarray) -> None:
        self.played.append(pcm)
        self.started.set()

    def clear(self) -> None:
        self.played.clear()

    def pending_s(self) -> float:
        return 0.0


def test_the_speaker_plays_a_long_reply_whole_and_in_order_with_a_short_first_piece(synthesizer) -> None:
    synthesizer.default.synthesizer.cache.clear()
    line, said = Line(), []

    async def speak() -> None:
        speaker = Speaker(line, synthesizer)  # type: ignore[arg-type]
        speaker.say(Reply(REPLY), [], on_text=said.append)
        await speaker.finish()

    asyncio.run(speak())
    assert len(line.played[0]) / 8000 < 0.6
    expected = [synthesizer.speak_all(p, 8000) for p in reply_sentences(Reply(REPLY))]  # from the cache now
    assert np.array_equal(np.concatenate(line.played), np.concatenate(expected))  # every word, in order
    assert said[-1] == " ".join(reply_sentences(Reply(REPLY)))


def test_a_barge_in_after_the_first_piece_stops_the_reply_and_the_next_one_is_whole(synthesizer) -> None:
    synthesizer.default.synthesizer.cache.clear()
    line = Line()
    after = "The front door sensor is closed, and the back door sensor is open."

    async def speak() -> list[np.ndarray]:
        speaker = Speaker(line, synthesizer)  # type: ignore[arg-type]
        speaker.say(Reply(LONG), [])
        await line.started.wait()  # the first piece is sounding: the caller talks over it
        speaker.cancel()
        await speaker.finish()
        assert line.played == []  # nothing more of the cut reply reaches the line
        heard: list[np.ndarray] = []
        speaker.say(Reply(after), heard)
        await speaker.finish()
        return heard

    heard = asyncio.run(speak())
    expected = [synthesizer.speak_all(p, 8000) for p in reply_sentences(Reply(after))]
    assert np.array_equal(np.concatenate(heard), np.concatenate(expected))  # the next reply, every word


def test_pieces_cover_the_sentence_and_grow() -> None:
    assert plan(FIRST_FRAMES * 2) == [(0, FIRST_FRAMES * 2)]  # short: one piece
    spans = plan(430)
    assert spans[0] == (0, FIRST_FRAMES) and spans[-1][1] == 430
    assert all(a[1] == b[0] for a, b in pairwise(spans))
    sizes = [e - s for s, e in spans]
    assert all(b >= a for a, b in pairwise(sizes))


def test_a_later_peak_louder_than_the_first_piece_is_limited_smoothly_not_clipped() -> None:
    rate = 22050
    t = np.arange(rate) / rate
    audio = (0.5 * np.sin(2 * np.pi * 200 * t)).astype(np.float32)
    audio[11000:11200] *= 3.0  # 1.5: over full scale
    out = limit(audio)
    assert 0.99 < np.abs(out).max() <= 0.9991  # brought to the ceiling, not clipped at full scale
    assert np.array_equal(out[:9000], audio[:9000]) and np.array_equal(out[14000:], audio[14000:])  # untouched
    gain = np.divide(out, audio, out=np.ones_like(out), where=np.abs(audio) > 0.05)
    assert np.abs(np.diff(gain[np.abs(audio) > 0.05])).max() < 0.05  # a dip, not a step
    quiet = (0.3 * np.sin(2 * np.pi * 200 * t)).astype(np.float32)
    assert np.array_equal(limit(quiet), quiet)


def test_a_voice_that_cannot_be_cut_is_run_whole(tmp_path: Path, caplog) -> None:
    import onnx
    from onnx import TensorProto, helper

    graph = helper.make_graph([helper.make_node("Identity", ["x"], ["y"], name="/enc/Identity")], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])])
    model = tmp_path / "other.onnx"
    onnx.save(helper.make_model(graph), str(model))
    with caplog.at_level(logging.WARNING, logger="voicebot.piper_split"):
        assert split_voice(model, tmp_path / "cut") is None
    assert "run whole" in caplog.text and "not a Piper VITS graph" in caplog.text


def test_a_damaged_cut_is_made_anew_never_loaded(tmp_path: Path) -> None:
    import shutil

    from voicebot.piper_split import cache_dir

    onnx, _ = resolve_voice("joe")
    kept = split_voice(onnx, cache_dir())  # the one the synthesizer fixture made
    assert kept is not None
    folder = tmp_path / kept.text_model.parent.name
    shutil.copytree(kept.text_model.parent, folder)
    damaged = folder / "decoder.onnx"
    damaged.write_bytes(damaged.read_bytes()[:-100] + b"\0" * 100)
    again = split_voice(onnx, tmp_path)
    assert again is not None and again.decoder_model.read_bytes() == kept.decoder_model.read_bytes()
