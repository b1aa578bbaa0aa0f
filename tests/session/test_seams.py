"""The seams of the live path: frames carry their format, the Speaker plays at the line's own rate,
and every stage reports onto one event stream."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from voicebot.audio import resample
from voicebot.config import ListenSettings
from voicebot.dialogue.types import Reply
from voicebot.events import EventBus, Phase, Stage, StageEvent, emit, scope, timed
from voicebot.frames import FrameFormatError, InFrame
from voicebot.listener import Listener
from voicebot.speaker import Speaker


class RecordingLine:
    """A line that plays at 8 kHz, like a phone call, and keeps what it was given."""

    name = "test"
    rate = 8000

    def __init__(self) -> None:
        self.played: list[np.ndarray] = []

    async def play(self, pcm: np.ndarray) -> None:
        self.played.append(pcm)

    def clear(self) -> None:
        self.played.clear()

    def pending_s(self) -> float:
        return 0.0


def test_a_frame_at_the_wrong_rate_is_refused_with_a_clear_error(transcriber) -> None:
    listener = Listener(transcriber, ListenSettings())
    listener.feed(InFrame(np.zeros(480, np.int16)))  # 30 ms at the pipeline's format
    with pytest.raises(FrameFormatError, match=r"8000 Hz.*convert in the channel"):
        listener.feed(InFrame(np.zeros(240, np.int16), rate=8000))


def test_the_speaker_synthesizes_straight_at_the_lines_rate(synthesizer, transcriber) -> None:
    line = RecordingLine()
    bus = EventBus()
    seen: list[StageEvent] = []
    bus.subscribe(seen.append)

    async def speak() -> None:
        with scope(bus, "c1", turn=1):
            speaker = Speaker(line, synthesizer)
            speaker.say(Reply("The hallway light is on. Anything else?"), [])
            await speaker.finish()

    asyncio.run(speak())
    pcm = np.concatenate(line.played)
    at_16k = sum(c.pcm.size for c in synthesizer.synthesize("The hallway light is on. Anything else?", 16000))
    assert abs(2 * pcm.size - at_16k) <= 16, (pcm.size, at_16k)  # 8 kHz audio, not 16 kHz
    heard = transcriber.transcribe(resample(pcm, 8000, 16000)).text.lower()
    assert "light" in heard and "anything else" in heard, heard  # telephone bandwidth, understood
    phases = [(e.stage, e.phase, e.turn) for e in seen]
    assert phases == [(Stage.SPEAK, Phase.START, 1), (Stage.SPEAK, Phase.FIRST_AUDIO, 1), (Stage.SPEAK, Phase.END, 1)]


def test_stage_events_reach_subscribers_from_worker_threads_and_a_failing_view_breaks_nothing() -> None:
    bus = EventBus()
    seen: list[StageEvent] = []

    def broken(_: StageEvent) -> None:
        raise RuntimeError("a view that fails")

    bus.subscribe(broken)
    bus.subscribe(seen.append)
    emit(Stage.LISTEN, Phase.SPEECH_STARTED)  # outside any scope: nowhere to go, no error

    def understand() -> str:
        with timed(Stage.UNDERSTAND) as found:
            found["intent"] = "HassTurnOn"
        return "done"

    async def turn() -> str:
        with scope(bus, "conv-1", turn=3):
            return await asyncio.to_thread(understand)

    assert asyncio.run(turn()) == "done"
    assert [(e.stage, e.phase, e.conversation_id, e.turn) for e in seen] == [
        (Stage.UNDERSTAND, Phase.START, "conv-1", 3),
        (Stage.UNDERSTAND, Phase.END, "conv-1", 3),
    ]
    assert seen[1].data["intent"] == "HassTurnOn" and seen[1].data["elapsed_s"] >= 0

