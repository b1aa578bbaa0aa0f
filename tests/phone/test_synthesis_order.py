"""The shared synthesizer of a phone line serves the sentence a caller waits for first: a reply's
first sentence before later ones, and later ones step aside while a turn is being transcribed."""

from __future__ import annotations

import threading
from collections.abc import Iterator

from tests.waiting import until
from voicebot.channels.phone.pool import SynthesisSlots
from voicebot.runtime import Runtime
from voicebot.speak import SpeechChunk, Synthesizer


class Gated:
    """The real synthesizer, holding its first sentence until ``go`` is set (so the test knows
    who waits for the slot while it is taken)."""

    def __init__(self, inner: Synthesizer) -> None:
        self.inner = inner
        self.go = threading.Event()
        self.started = threading.Event()

    def synthesize(self, text: str, sample_rate: int = 16000, language: str | None = None) -> Iterator[SpeechChunk]:
        if not self.started.is_set():
            self.started.set()
            self.go.wait(30)
        yield from self.inner.synthesize(text, sample_rate, language=language)


def _run(done: list[str], name: str, fn, text: str) -> threading.Thread:  # type: ignore[no-untyped-def]
    def go() -> None:
        for _ in fn(text, 8000):
            pass
        done.append(name)

    thread = threading.Thread(target=go, daemon=True)
    thread.start()
    return thread


def test_a_first_sentence_takes_the_slot_before_a_later_one(phone_runtime: Runtime) -> None:
    gated = Gated(phone_runtime.synthesizer)
    slots = SynthesisSlots(gated, 1, yield_s=60)  # seconds of audio queued ahead: it may wait
    done: list[str] = []
    holder = _run(done, "holder", slots.synthesize, "The slot is taken by this one.")
    assert gated.started.wait(30)
    later = _run(done, "later", lambda t, r: slots.synthesize_later(t, r, slack_s=60), "And a later sentence waits its turn.")
    assert until(lambda: slots.waiting == 1, timeout=30)  # the later one queued before the first
    first = _run(done, "first", slots.synthesize, "A first sentence someone waits for.")
    assert until(lambda: slots.waiting == 2, timeout=30)
    gated.go.set()
    for t in (holder, later, first):
        t.join(60)
    assert done == ["holder", "first", "later"]


def test_later_sentences_step_aside_while_a_turn_is_transcribed(phone_runtime: Runtime) -> None:
    transcribing = threading.Event()
    transcribing.set()
    slots = SynthesisSlots(phone_runtime.synthesizer, 1, transcribing=transcribing.is_set, yield_s=60)
    done: list[str] = []
    later = _run(done, "later", lambda t, r: slots.synthesize_later(t, r, slack_s=60), "This sentence can wait a little.")
    assert until(lambda: slots.waiting == 1, timeout=30)
    first = _run(done, "first", slots.synthesize, "This one is what the caller waits for.")
    first.join(60)
    assert done == ["first"]  # the later one is still stepping aside
    transcribing.clear()  # the transcription is done
    later.join(60)
    assert done == ["first", "later"]


def test_a_later_sentence_does_not_step_aside_with_nothing_queued_ahead(phone_runtime: Runtime) -> None:
    """Stepping aside must not leave a hole in the reply: with no audio queued ahead (slack 0)
    a later sentence is made even while a turn is being transcribed."""
    slots = SynthesisSlots(phone_runtime.synthesizer, 1, transcribing=lambda: True, yield_s=60)
    done: list[str] = []
    later = _run(done, "later", lambda t, r: slots.synthesize_later(t, r, slack_s=0.0), "Nothing is queued ahead.")
    later.join(60)
    assert done == ["later"]
