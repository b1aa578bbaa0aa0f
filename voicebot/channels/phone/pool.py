"""Transcription and synthesis shared by every call of the process.

All calls share one loaded Whisper model. Turns from concurrent calls wait in one first-come
first-served queue taken by ``workers`` threads, so the CPU works on one or two transcriptions
at full speed instead of every call's turn fighting for it at once, and a call's turn never
waits behind more than the turns that ended before it.

Batching waiting turns into one decoder call was measured and rejected on the 2-core CPU this
targets: eight short turns decoded as one batch took as long as eight one by one (3.6 s vs
3.3 s, then 2.7 s vs 2.5 s, tiny.en int8) and came back less accurate.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass, replace

import numpy as np

from voicebot.speak import SpeechChunk, Synthesizer
from voicebot.transcribe import Transcriber, Transcript

log = logging.getLogger(__name__)


@dataclass
class PoolStats:
    requests: int = 0
    busy_s: float = 0.0  # time spent transcribing, summed over workers
    waited_s: float = 0.0  # total time requests spent queued before a worker took them
    longest_queue: int = 0
    skipped: int = 0  # dropped by the caller while queued (a speculation made stale), never run


@dataclass
class _Job:
    pcm: np.ndarray
    language: str | None
    future: Future[Transcript]
    queued_at: float


class TranscriptionPool:
    """A Transcriber (blocking ``transcribe``, called from session worker threads) backed by a
    shared queue and worker threads."""

    def __init__(self, transcriber: Transcriber, workers: int = 1) -> None:
        self.transcriber = transcriber
        self.stats = PoolStats()
        self._queue: queue.Queue[_Job | None] = queue.Queue()
        self._lock = threading.Lock()
        self._running = 0
        self._threads = [
            threading.Thread(target=self._work, name=f"transcribe-{i}", daemon=True) for i in range(workers)
        ]
        for t in self._threads:
            t.start()

    def submit(self, pcm: np.ndarray, language: str | None = None) -> Future[Transcript]:
        """Queue a transcription; cancelling the future before a worker takes it skips it."""
        job = _Job(pcm, language, Future(), time.perf_counter())
        self._queue.put(job)
        with self._lock:
            self.stats.longest_queue = max(self.stats.longest_queue, self._queue.qsize())
        return job.future

    def transcribe(self, pcm: np.ndarray, language: str | None = None) -> Transcript:
        """The Transcriber protocol: blocks the calling thread until a pool worker is done."""
        return self.submit(pcm, language).result()

    def busy(self) -> bool:
        """A transcription is running or waiting."""
        return self._running > 0 or not self._queue.empty()

    def close(self) -> None:
        for _ in self._threads:
            self._queue.put(None)
        for t in self._threads:
            t.join(timeout=5)

    def _work(self) -> None:
        while (job := self._queue.get()) is not None:
            if not job.future.set_running_or_notify_cancel():
                with self._lock:  # a speculation the caller dropped (they went on talking) while it queued
                    self.stats.skipped += 1
                continue
            started = time.perf_counter()
            with self._lock:
                self._running += 1
            try:
                result = self.transcriber.transcribe(job.pcm, job.language)
            except Exception as exc:  # the caller's turn fails, not the worker
                log.exception("transcription failed")
                job.future.set_exception(exc)
                continue
            finally:
                with self._lock:
                    self._running -= 1
            with self._lock:
                self.stats.requests += 1
                self.stats.busy_s += time.perf_counter() - started
                self.stats.waited_s += started - job.queued_at
            job.future.set_result(replace(result, queued_s=round(started - job.queued_at, 4)))


class SynthesisSlots:
    """A Synthesizer shared by every call, with at most ``slots`` sentences synthesized at once,
    the first sentence of a reply before the rest.

    Each call's session synthesizes its reply sentence by sentence in a worker thread; with many
    calls, unbounded, a dozen Piper inferences would fight over two cores and every reply would
    come late. Sentences still interleave between calls, so no call waits for another's whole reply.

    What a caller waits for is the first sentence of a reply (``synthesize``): it takes the next
    free slot before any later sentence (``synthesize_later``). A later sentence has audio queued
    ahead of it (the session keeps seconds of lookahead), so it also steps aside while
    ``transcribing()`` says a turn is being transcribed, for at most ``yield_s`` and never longer
    than the audio queued ahead of it allows: the CPU goes to the turn a caller is waiting on,
    not to audio nobody will hear for seconds.
    """

    def __init__(
        self,
        synthesizer: Synthesizer,
        slots: int = 1,
        transcribing: Callable[[], bool] = lambda: False,
        yield_s: float = 1.0,
    ) -> None:
        self.synthesizer = synthesizer
        self._free = slots
        self._cond = threading.Condition()
        self._firsts_waiting = 0
        self.waiting = 0  # sentences waiting for a slot
        self._transcribing = transcribing
        self._yield_s = yield_s

    def synthesize(self, text: str, sample_rate: int = 16000, language: str | None = None) -> Iterator[SpeechChunk]:
        return self._run(text, sample_rate, language, first=True)

    def synthesize_later(
        self, text: str, sample_rate: int = 16000, slack_s: float = 0.0, language: str | None = None
    ) -> Iterator[SpeechChunk]:
        """A sentence after the reply's first: it yields to first sentences and to transcription
        while ``slack_s`` (the audio still queued ahead of it) allows, keeping half a second of it,
        so stepping aside never leaves a hole in the reply."""
        return self._run(text, sample_rate, language, first=False,
                         budget_s=min(self._yield_s, max(0.0, slack_s - 0.5)))

    def _run(
        self, text: str, sample_rate: int, language: str | None, first: bool, budget_s: float = 0.0
    ) -> Iterator[SpeechChunk]:
        chunks = iter(self.synthesizer.synthesize(text, sample_rate, language=language))
        while True:
            self._acquire(first, budget_s)
            try:
                chunk = next(chunks, None)
            finally:
                self._release()
            if chunk is None:
                return
            yield chunk

    def _acquire(self, first: bool, budget_s: float) -> None:
        deadline = time.monotonic() + budget_s
        with self._cond:
            if first:
                self._firsts_waiting += 1
            self.waiting += 1
            try:
                while True:
                    if self._free > 0:
                        if first:
                            break
                        waited_enough = time.monotonic() >= deadline
                        if waited_enough or (self._firsts_waiting == 0 and not self._transcribing()):
                            break
                    # A later sentence polls: the transcription queue does not notify us.
                    self._cond.wait(None if first else 0.02)
                self._free -= 1
            finally:
                self.waiting -= 1
                if first:
                    self._firsts_waiting -= 1

    def _release(self) -> None:
        with self._cond:
            self._free += 1
            self._cond.notify_all()
