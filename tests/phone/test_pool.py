"""The shared transcription queue: a speculation a caller dropped while it waited is never run,
so stale work of one call does not hold up another call's turn."""

from __future__ import annotations

import numpy as np

from tests.waiting import until
from voicebot.audio import read_audio
from voicebot.channels.phone.pool import TranscriptionPool
from voicebot.demo import SHARED_AUDIO


def test_a_dropped_speculation_is_never_transcribed(transcriber) -> None:  # type: ignore[no-untyped-def]
    speech = read_audio(SHARED_AUDIO / "would_you_please_turn_on_living_room_lamp.wav")
    pool = TranscriptionPool(transcriber, workers=1)
    try:
        first = pool.submit(np.concatenate([speech, speech]))
        assert until(lambda: first.running() or first.done(), 10)  # the worker is busy with it
        stale = pool.submit(speech)  # another call's pause: queued behind the first
        wanted = pool.submit(speech)
        assert stale.cancel()  # that caller went on talking
        assert "living room" in wanted.result(timeout=60).text.lower()
        assert "living room" in first.result(timeout=60).text.lower()
        assert stale.cancelled()
        assert pool.stats.requests == 2 and pool.stats.skipped == 1
    finally:
        pool.close()


class _Gated:
    """The real transcriber, holding its first transcription until ``release`` is set (so the
    queue behind it is built before any of it runs), and noting what it transcribed, in order."""

    def __init__(self, inner) -> None:  # type: ignore[no-untyped-def]
        import threading

        self.inner = inner
        self.release = threading.Event()
        self.started = threading.Event()
        self.ran: list[str] = []

    def transcribe(self, pcm, language=None):  # type: ignore[no-untyped-def]
        self.started.set()
        assert self.release.wait(60)
        result = self.inner.transcribe(pcm, language)
        self.ran.append(result.text.lower())
        return result


def test_a_caller_who_finished_is_not_queued_behind_other_calls_pauses(transcriber) -> None:  # type: ignore[no-untyped-def]
    lamp = read_audio(SHARED_AUDIO / "turn_on_living_room_lamp.wav")
    time_asked = read_audio(SHARED_AUDIO / "what_time_is_it.wav")
    polite = read_audio(SHARED_AUDIO / "would_you_please_turn_on_living_room_lamp.wav")
    gated = _Gated(transcriber)
    pool = TranscriptionPool(gated, workers=1)  # type: ignore[arg-type]
    try:
        first = pool.submit(lamp)  # another call's speculation, already running
        assert gated.started.wait(30)
        pausing = pool.submit(polite)  # a caller pausing: may go on talking
        ended = pool.submit(time_asked)  # a caller paused too, and then their turn ended...
        pool.awaited(ended)  # ...so they wait for it now
        gated.release.set()
        assert "time" in ended.result(timeout=60).text.lower()
        assert "would you" in pausing.result(timeout=60).text.lower()
        first.result(timeout=60)
        assert ["time" in text for text in gated.ran] == [False, True, False]  # the finished caller first
        assert pool.stats.awaited == 1
    finally:
        gated.release.set()
        pool.close()


def _heard(listener, audio: np.ndarray) -> list:  # type: ignore[no-untyped-def]
    from voicebot.frames import InFrame
    from voicebot.listener import HeardTurn

    turns = []
    for k in range(0, len(audio) - 479, 480):
        turns += [e for e in listener.feed(InFrame(audio[k : k + 480])) if isinstance(e, HeardTurn)]
    return turns


def test_a_call_whose_turn_ended_is_transcribed_before_a_call_still_pausing(transcriber) -> None:  # type: ignore[no-untyped-def]
    """Two calls' Listeners on one pool: the first caller pauses (a speculation queues), the
    second pauses later and stays silent until their turn ends; the second is answered first."""
    from voicebot.config import ListenSettings
    from voicebot.listener import Listener

    gated = _Gated(transcriber)
    pool = TranscriptionPool(gated, workers=1)  # type: ignore[arg-type]
    listen = ListenSettings(pause_ms=120, end_silence_ms=1100)
    silence = np.zeros(4800, np.int16)
    try:
        pool.submit(read_audio(SHARED_AUDIO / "turn_on_living_room_lamp.wav"))  # a third call's, running
        assert gated.started.wait(30)
        pausing, finished = (Listener(pool, listen, speculate="thread") for _ in range(2))
        polite = read_audio(SHARED_AUDIO / "would_you_please_turn_on_living_room_lamp.wav")[: 44000]  # voice to 2.64 s
        assert _heard(pausing, np.concatenate([silence, polite, silence])) == []  # paused, still their turn
        asked = np.concatenate([silence, read_audio(SHARED_AUDIO / "what_time_is_it.wav"), silence, silence, silence, silence])
        [turn] = _heard(finished, asked)
        assert turn.speculation is not None  # started at their pause, queued behind the first caller's
        gated.release.set()
        assert "time" in turn.speculation.result(timeout=60).text.lower()
        assert until(lambda: len(gated.ran) == 3, 60)
        assert ["time" in text for text in gated.ran] == [False, True, False]
    finally:
        gated.release.set()
        pool.close()


def test_the_phone_line_transcribes_two_turns_at_once_unless_configured() -> None:
    """Two Whisper replicas of one thread each, so two calls' turns are transcribed side by side;
    a configuration that sets the split keeps it."""
    from voicebot.config import Settings
    from voicebot.phone.service import phone_transcription

    assert phone_transcription(Settings()).transcribe.model_dump(include={"threads", "workers"}) == {
        "threads": 1, "workers": 2}
    mine = Settings(transcribe={"threads": 2})  # type: ignore[arg-type]
    assert phone_transcription(mine) is mine
