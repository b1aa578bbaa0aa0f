"""One stream of stage events: every stage says when it starts and ends, and what it found.

listen (speech started, paused, turn ended, barge-in) → transcribe → understand → dialogue →
speak (first audio, done) → turn (the turn's timings, folded from the events above). Stages emit a
:class:`StageEvent` with :func:`emit`; whoever wants a view subscribes to the bus: metrics
(:meth:`voicebot.metrics.Metrics.follow`), the store's turn timings
(:func:`voicebot.turns.store_timings`), the demo's printout and table, ``voicebot chat --json``.

The bus of the conversation under way travels in a context variable (:func:`scope`), so a stage
deep inside the dialogue (``DialogueEngine.understand``, running in a worker thread started with
``asyncio.to_thread``) emits onto the right conversation's bus without being handed it.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

log = logging.getLogger(__name__)


class Stage(StrEnum):
    LISTEN = "listen"
    TRANSCRIBE = "transcribe"
    UNDERSTAND = "understand"
    DIALOGUE = "dialogue"
    SPEAK = "speak"
    TURN = "turn"  # one user turn done: data holds its record and TurnTimings


class Phase(StrEnum):
    START = "start"
    END = "end"
    SPEECH_STARTED = "speech_started"  # listen: voice began (data: time, audio seconds)
    PAUSED = "paused"  # listen: trailing silence began, a speculative transcription may start
    RESUMED = "resumed"  # listen: the user went on after a pause
    TURN_ENDED = "turn_ended"  # listen: end of turn decided (data: start, end, decided, reason, ...)
    BARGE_IN = "barge_in"  # listen: the user talked over the bot (data: onset, decided_at, reaction_s)
    SPECULATION = "speculation"  # transcribe: data result = used | discarded | missed
    FIRST_AUDIO = "first_audio"  # speak: the reply's first audio handed to the channel


@dataclass(frozen=True)
class StageEvent:
    stage: Stage
    phase: Phase
    time: float  # time.monotonic() when it happened
    data: Mapping[str, Any] = field(default_factory=dict)
    conversation_id: str | None = None
    turn: int | None = None  # the user turn it belongs to (1-based), when it belongs to one


Subscriber = Callable[[StageEvent], None]


class EventBus:
    """Synchronous fan-out, safe to emit on from any thread. A subscriber that raises is logged
    and skipped: a view failing must never break the conversation."""

    def __init__(self) -> None:
        self._subs: list[Subscriber] = []
        self._lock = threading.Lock()

    def subscribe(self, fn: Subscriber) -> Callable[[], None]:
        """Add ``fn``; returns the function that removes it again."""
        with self._lock:
            self._subs = [*self._subs, fn]

        def unsubscribe() -> None:
            with self._lock:
                self._subs = [s for s in self._subs if s is not fn]

        return unsubscribe

    def emit(self, event: StageEvent) -> None:
        for fn in self._subs:  # a snapshot: subscribing from a handler is fine
            try:
                fn(event)
            except Exception:
                log.exception("stage event subscriber failed on %s/%s", event.stage, event.phase)


@dataclass(frozen=True)
class _Scope:
    bus: EventBus
    conversation_id: str | None
    turn: int | None


_scope: ContextVar[_Scope | None] = ContextVar("voicebot_stage_scope", default=None)


@contextlib.contextmanager
def scope(bus: EventBus, conversation_id: str | None = None, turn: int | None = None) -> Iterator[EventBus]:
    """Emit with :func:`emit` onto ``bus`` inside the block (and in tasks and ``to_thread`` calls
    started from it), tagged with the conversation and, if given, the turn."""
    token = _scope.set(_Scope(bus, conversation_id, turn))
    try:
        yield bus
    finally:
        _scope.reset(token)


def emit(stage: Stage, phase: Phase, turn: int | None = None, at: float | None = None, **data: Any) -> None:
    """Emit onto the current scope's bus; nothing happens outside a scope (a stage used alone)."""
    s = _scope.get()
    if s is None:
        return
    s.bus.emit(StageEvent(stage, phase, time.monotonic() if at is None else at, data, s.conversation_id,
                          turn if turn is not None else s.turn))


@contextlib.contextmanager
def timed(stage: Stage, turn: int | None = None, **data: Any) -> Iterator[dict[str, Any]]:
    """START on entry, END on exit with ``elapsed_s`` and whatever the block put in the dict."""
    started = time.monotonic()
    emit(stage, Phase.START, turn, started, **data)
    found: dict[str, Any] = {}
    try:
        yield found
    finally:
        emit(stage, Phase.END, turn, None, elapsed_s=time.monotonic() - started, **data, **found)
