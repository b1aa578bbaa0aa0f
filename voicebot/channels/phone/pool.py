"""Transcription shared by every call of the process.

All calls share one loaded Whisper model. Requests from concurrent calls are queued and taken
by a small set of worker threads; when several turns are waiting and the transcriber can decode
a batch (``transcribe_batch``), a worker takes them all in one batch, which costs far less than
decoding them one by one, so throughput grows with load instead of each call waiting in line.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

from voicebot.transcribe import Transcriber, Transcript

log = logging.getLogger(__name__)


@runtime_checkable
class BatchTranscriber(Protocol):
    def transcribe_batch(self, pcms: Sequence[np.ndarray], language: str | None = None) -> list[Transcript]: ...


@dataclass
class PoolStats:
    requests: int = 0
    batches: int = 0
    largest_batch: int = 0
    busy_s: float = 0.0
    waited_s: float = 0.0  # total time requests spent queued before a worker took them


@dataclass
class _Job:
    pcm: np.ndarray
    language: str | None
    future: Future[Transcript]
    queued_at: float


class TranscriptionPool:
    def __init__(self, transcriber: Transcriber, workers: int = 1, max_batch: int = 8) -> None:
        self.transcriber = transcriber
        self.max_batch = max_batch
        self.batching = isinstance(transcriber, BatchTranscriber)
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
        return job.future

    def transcribe(self, pcm: np.ndarray, language: str | None = None) -> Transcript:
        """The Transcriber protocol: blocks the calling (worker) thread until a pool worker is done."""
        return self.submit(pcm, language).result()

    async def transcribe_async(self, pcm: np.ndarray, language: str | None = None) -> Transcript:
        return await asyncio.wrap_future(self.submit(pcm, language))

    def close(self) -> None:
        for _ in self._threads:
            self._queue.put(None)
        for t in self._threads:
            t.join(timeout=5)

    def _take(self) -> list[_Job] | None:
        first = self._queue.get()
        if first is None:
            return None
        jobs = [first]
        if self.batching:
            while len(jobs) < self.max_batch:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is None:
                    self._queue.put(None)  # leave the stop signal for this worker's next round
                    break
                if nxt.language != first.language:
                    self._queue.put(nxt)
                    break
                jobs.append(nxt)
        return jobs

    def _work(self) -> None:
        while (jobs := self._take()) is not None:
            started = time.perf_counter()
            try:
                if len(jobs) > 1:
                    assert isinstance(self.transcriber, BatchTranscriber)
                    results = self.transcriber.transcribe_batch([j.pcm for j in jobs], jobs[0].language)
                else:
                    results = [self.transcriber.transcribe(jobs[0].pcm, jobs[0].language)]
            except Exception as exc:  # the caller's turn fails, not the worker
                log.exception("transcription failed")
                for j in jobs:
                    j.future.set_exception(exc)
                continue
            done = time.perf_counter()
            with self._lock:
                self.stats.requests += len(jobs)
                self.stats.batches += 1
                self.stats.largest_batch = max(self.stats.largest_batch, len(jobs))
                self.stats.busy_s += done - started
                self.stats.waited_s += sum(started - j.queued_at for j in jobs)
            for j, r in zip(jobs, results, strict=True):
                j.future.set_result(r)
