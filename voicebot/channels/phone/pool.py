"""Transcription and synthesis shared by every call of the process.

All calls share one loaded Whisper model. Turns from concurrent calls wait in one queue taken by
``workers`` threads, so the CPU works on one or two transcriptions at full speed instead of every
call's turn fighting for it at once: turns whose caller is waiting first, in the order they
ended, then speculations started at callers' pauses, in the order they started; a speculation
dropped while it waits is never run.

Batching waiting turns into one decoder call was measured and rejected on the 2-core CPU this
targets: eight short turns decoded as one batch took as long as eight one by one (3.6 s vs
3.3 s, then 2.7 s vs 2.5 s, tiny.en int8) and came back less accurate.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
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
    awaited: int = 0  # ran as a turn its caller waited on (ended turns, before any speculation)


@dataclass(eq=False)  # one job is itself, whatever its audio
class _Job:
    pcm: np.ndarray
    language: str | None
    future: Future[Transcript]
    queued_at: float
    awaited: bool = False


class TranscriptionPool:
    """A Transcriber (blocking ``transcribe``, called from session worker threads) backed by a
    shared queue and worker threads.

    Two kinds of work wait: a turn whose end was decided, which its caller is waiting on
    (:meth:`awaited`, and every ``transcribe``), and a speculation started at a caller's pause,
    which may still be dropped (the caller goes on talking: the future is cancelled and the job
    never runs). Workers take the awaited turns first, each kind in the order it came: a caller
    who has finished never waits behind other calls' pauses.
    """

    def __init__(self, transcriber: Transcriber, workers: int = 1) -> None:
        self.transcriber = transcriber
        self.stats = PoolStats()
        self._awaited: deque[_Job] = deque()
        self._speculative: deque[_Job] = deque()
        self._jobs: dict[Future[Transcript], _Job] = {}  # queued, by future
        self._cond = threading.Condition()
        self._closed = False
        self._running = 0
        self._threads = [
            threading.Thread(target=self._work, name=f"transcribe-{i}", daemon=True) for i in range(workers)
        ]
        for t in self._threads:
            t.start()

    def submit(self, pcm: np.ndarray, language: str | None = None, awaited: bool = False) -> Future[Transcript]:
        """Queue a transcription: a speculation unless ``awaited`` (a caller waits on it now);
        cancelling the future before a worker takes it skips it."""
        job = _Job(pcm, language, Future(), time.perf_counter(), awaited)
        with self._cond:
            (self._awaited if awaited else self._speculative).append(job)
            self._jobs[job.future] = job
            self.stats.longest_queue = max(self.stats.longest_queue, len(self._jobs))
            self._cond.notify()
        return job.future

    def awaited(self, future: Future[Transcript]) -> None:
        """The turn of a queued speculation ended: its caller waits on it now, so it goes before
        every speculation (after the turns already awaited). A job already taken is left alone."""
        with self._cond:
            job = self._jobs.get(future)
            if job is None or job.awaited:
                return
            job.awaited = True
            self._speculative.remove(job)
            self._awaited.append(job)

    def transcribe(self, pcm: np.ndarray, language: str | None = None) -> Transcript:
        """The Transcriber protocol: blocks the calling thread until a pool worker is done."""
        return self.submit(pcm, language, awaited=True).result()

    def busy(self) -> bool:
        """A transcription is running or waiting."""
        return self._running > 0 or bool(self._jobs)

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        for t in self._threads:
            t.join(timeout=5)

    def _next(self) -> _Job | None:
        """The next job to run (None: closed), awaited turns first."""
        with self._cond:
            while True:
                while not (self._awaited or self._speculative or self._closed):
                    self._cond.wait()
                if self._closed:
                    return None
                job = (self._awaited or self._speculative).popleft()
                del self._jobs[job.future]
                if job.future.set_running_or_notify_cancel():
                    self._running += 1
                    return job
                self.stats.skipped += 1  # a speculation the caller dropped (they went on talking) while it queued

    def _work(self) -> None:
        while (job := self._next()) is not None:
            started = time.perf_counter()
            try:
                result = self.transcriber.transcribe(job.pcm, job.language)
            except Exception as exc:  # the caller's turn fails, not the worker
                log.exception("transcription failed")
                job.future.set_exception(exc)
                continue
            finally:
                with self._cond:
                    self._running -= 1
            with self._cond:
                self.stats.requests += 1
                self.stats.awaited += job.awaited
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
