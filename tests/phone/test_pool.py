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
