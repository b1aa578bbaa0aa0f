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
from collections.abc import Iterator
from concurrent.futures import Future
from dataclasses import dataclass

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
        self._threads = [
            threading.Thread(target=self._work, name=f"transcribe-{i}", daemon=True) for i in range(workers)
        ]
        for t in self._threads:
            t.start()

    def submit(self, pcm: np.ndarray, language: str | None = None) -> Future[Transcript]:
        job = _Job(pcm, language, Future(), time.perf_counter())
        self._queue.put(job)
        with self._lock:
            self.stats.longest_queue = max(self.stats.longest_queue, self._queue.qsize())
        return job.future

    def transcribe(self, pcm: np.ndarray, language: str | None = None) -> Transcript:
        """The Transcriber protocol: blocks the calling thread until a pool worker is done."""
        return self.submit(pcm, language).result()

    def close(self) -> None:
        for _ in self._threads:
            self._queue.put(None)
        for t in self._threads:
            t.join(timeout=5)

    def _work(self) -> None:
        while (job := self._queue.get()) is not None:
            started = time.perf_counter()
            try:
                result = self.transcriber.transcribe(job.pcm, job.language)
            except Exception as exc:  # the caller's turn fails, not the worker
                log.exception("transcription failed")
                job.future.set_exception(exc)
                continue
            with self._lock:
                self.stats.requests += 1
                self.stats.busy_s += time.perf_counter() - started
                self.stats.waited_s += started - job.queued_at
            job.future.set_result(result)


class SynthesisSlots:
    """A Synthesizer shared by every call, with at most ``slots`` sentences synthesized at once.

    Each call's session synthesizes its reply sentence by sentence in a worker thread; with many
    calls, unbounded, a dozen Piper inferences would fight over two cores and every reply would
    come late. Sentences still interleave between calls, so no call waits for another's whole reply.
    """

    def __init__(self, synthesizer: Synthesizer, slots: int = 1) -> None:
        self.synthesizer = synthesizer
        self._slots = threading.BoundedSemaphore(slots)

    def synthesize(self, text: str, sample_rate: int = 16000) -> Iterator[SpeechChunk]:
        chunks = iter(self.synthesizer.synthesize(text, sample_rate))
        while True:
            with self._slots:
                chunk = next(chunks, None)
            if chunk is None:
                return
            yield chunk
