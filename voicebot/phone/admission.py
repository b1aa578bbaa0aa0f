"""Admission control: a call the host cannot serve well is told so politely, with a callback
ticket, instead of joining a conversation whose every answer would come late.

The limit is ``phone.max_calls`` (default: 4 per CPU core, the largest load the idle 2-core
development machine served with every turn answered in real time and p95 under 2 s: 8 staggered
calls, p95 1.53 s; README's benchmarks and docs/scale.md). A call past it hears the ``lines_busy``
reply (in the customer's language when their number is known), followed by what happens next with
the ticket opened for it (a callback when the caller's number is known), and the leg is ended with
the outcome ``busy``. Counters: ``voicebot_phone_calls_total{result="admitted"|"busy"}`` and the
gauge ``voicebot_phone_active_calls`` (Prometheus, ``GET /metrics``), and ``admission`` in
``/healthz``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading
from dataclasses import dataclass, field
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge

from voicebot.channels.phone.calls import CallRecord, CallRegistry, Turn
from voicebot.channels.phone.channel import PhoneChannel
from voicebot.channels.phone.leg import Leg
from voicebot.customers import identify
from voicebot.dialogue.replies import Replies, default_replies
from voicebot.speak import Synthesizer

log = logging.getLogger(__name__)

CALLS_PER_CORE = 4  # measured on an idle 2-core machine (module doc); issue 17 aims at 12


def default_max_calls() -> int:
    return CALLS_PER_CORE * (os.cpu_count() or 1)


class Admission:
    """Counts the calls being served; ``admit`` says whether one more may be."""

    def __init__(self, limit: int, registry: CollectorRegistry | None = None) -> None:
        if limit < 0:
            raise ValueError("phone.max_calls must be 0 or more")
        self.limit = limit
        self.active = 0
        self.admitted = 0
        self.refused = 0
        self._lock = threading.Lock()
        registry = registry if registry is not None else CollectorRegistry()
        self._calls = Counter(
            "voicebot_phone_calls", "Calls offered to the phone line, by admission result", ["result"],
            registry=registry,
        )
        self._active = Gauge("voicebot_phone_active_calls", "Calls in conversation now", registry=registry)
        self._limit = Gauge("voicebot_phone_max_calls", "Calls the line serves at once", registry=registry)
        self._limit.set(limit)
        self.registry = registry

    def admit(self) -> bool:
        with self._lock:
            if self.active >= self.limit:
                self.refused += 1
                self._calls.labels("busy").inc()
                return False
            self.active += 1
            self.admitted += 1
            self._calls.labels("admitted").inc()
            self._active.set(self.active)
            return True

    def release(self) -> None:
        with self._lock:
            self.active = max(0, self.active - 1)
            self._active.set(self.active)

    def stats(self) -> dict[str, int]:
        with self._lock:
            return {"limit": self.limit, "active": self.active, "admitted": self.admitted, "busy": self.refused}


@dataclass
class BusyServices:
    registry: CallRegistry
    synthesizer: Synthesizer
    store: Any  # voicebot.store.Store, or None: no ticket can be opened
    frame_ms: int
    replies: Replies = field(default_factory=default_replies)


class BusyCall:
    """One call answered with "all lines are busy": a ticket, the message, the leg ended."""

    def __init__(self, leg: Leg, record: CallRecord, services: BusyServices) -> None:
        self.leg = leg
        self.record = record
        self.s = services
        self.channel = PhoneChannel(leg, services.frame_ms)
        self._gone = asyncio.Event()
        self._by: tuple[str, str | None] | None = None
        self._language = "en"  # the caller's, when their number is known: the message's voice too

    # CallInput: what the caller says is not listened to; a hang-up is noted.
    def audio(self, pcm: Any, rate: int) -> None:
        return None

    def dtmf(self, digit: str) -> None:
        return None

    def played(self, mark: str) -> None:
        if mark == "busy-end":
            self._gone.set()

    def hangup(self, by: str, error: str | None = None) -> None:
        self._by = self._by or (by, error)
        self.channel.clear()
        self._gone.set()

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        pacer = self.channel.pacer
        pacer.start()
        error: str | None = None
        try:
            text = await loop.run_in_executor(None, self._ticket_and_text)
            self.record.turns.append(Turn(user="", bot=text, source="busy"))
            speaking = True
            pacer.producing = lambda: speaking
            for chunk in await loop.run_in_executor(None, self._speech, text):
                self.channel.play_own(chunk)
            speaking = False
            while self.channel.pending_s() > 0 and self._by is None:
                await asyncio.sleep(0.02)
            if self.leg.confirms_playback and self._by is None:
                await self.leg.mark("busy-end")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._gone.wait(), 3.0)
        except Exception as exc:  # the caller still gets their leg back, with the error recorded
            log.exception("busy call %s failed", self.record.call_id)
            error = f"internal error: {exc}"
        finally:
            by, leg_error = self._by or ("bot", None)
            self.s.registry.close(self.record, "busy", "error" if error else by, error or leg_error)
            await pacer.stop()
            if by != "caller":
                await self.leg.hangup()
            log.info("call %s answered busy (ticket %s)", self.record.call_id, self.record.ticket_id)

    def _speech(self, text: str) -> list[Any]:
        return [c.pcm for c in self.s.synthesizer.synthesize(text, self.channel.rate, language=self._language)]

    def _ticket_and_text(self) -> str:
        """Open the callback ticket (with the caller's number when known) and say what happens."""
        record, store, say = self.record, self.s.store, self.s.replies.say
        if store is not None and not record.customer_id:
            record.customer_id = identify(store, "phone", record.caller)  # their language, their phones
        customer = store.customer(record.customer_id) if store is not None and record.customer_id else None
        language = customer.language if customer is not None and customer.language in self.s.replies.languages else "en"
        self._language = language
        busy = say("lines_busy", language)
        if store is None:
            return f"{busy} {say('lines_busy_later', language)}"
        have_number = bool(record.caller or (customer is not None and customer.phones))
        summary = {
            "problem": "called while all lines were busy",
            "reason": "lines_busy",
            "caller": record.caller,
            "customer_id": record.customer_id,
            "channel": "phone",
            "call_id": record.call_id,
            "callback": have_number,
        }
        ticket = store.create_ticket(None, record.customer_id, "lines_busy", "called while all lines were busy", summary)
        record.ticket_id = ticket.id
        record.dialogue_outcome = "busy"
        follow = "lines_busy_callback" if have_number else "lines_busy_no_number"
        return f"{busy} {say(follow, language, ticket=ticket.id)}"
