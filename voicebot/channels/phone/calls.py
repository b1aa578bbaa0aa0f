"""The registry of phone calls and their outcomes, and the HTTP endpoint that serves them.

A dialplan reads what became of a call after the bot's leg ends: ``GET /calls/{uuid}`` returns
JSON (outcome, ticket, caller, turns...), ``GET /calls/{uuid}/outcome`` returns the bare outcome
word, which is what Asterisk's ``CURL()`` is easiest to branch on. Before the call, the dialplan
may ``POST /calls/{uuid}`` the caller's number (``caller=...&customer_id=...``), since AudioSocket
itself carries nothing but the UUID. With a broker, any phone process may be asked: the
announcement is passed to all of them (voicebot.channels.phone.announce_relay), and the answer
says whether a process holds the call (``state`` active) or none does yet (pending), both 200, or
it ended (409).

Every endpoint but ``/healthz`` needs ``Authorization: Bearer <token>`` (voicebot.channels.phone.auth):
the records hold callers' numbers and transcripts, and an announcement binds a call to a customer.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import Any

from aiohttp import web

from voicebot.channels.phone.auth import bearer_middleware

log = logging.getLogger(__name__)

OUTCOMES = ("transfer", "resolved", "abandoned", "busy")  # busy: answered "all lines are busy"


@dataclass
class Turn:
    """One exchange: what the caller said (or pressed) and what the bot answered."""

    user: str
    bot: str
    source: str = "speech"  # "speech", "dtmf" or "greeting"
    intent: str | None = None
    end_of_speech_to_first_audio_s: float | None = None
    # where that time went (voicebot.turns.TurnTimings, seconds): the turn's end decided, the
    # transcript's queueing and run, the dialogue, the first sentence's synthesis
    timings: dict[str, Any] | None = None


@dataclass
class CallRecord:
    call_id: str  # the AudioSocket UUID, or the Twilio callSid
    transport: str  # "audiosocket" or "twilio"
    rate: int = 8000
    caller: str | None = None
    customer_id: str | None = None
    stream_sid: str | None = None
    started_at: float = field(default_factory=time.time)
    ended_at: float | None = None
    state: str = "active"  # "active" or "ended"
    outcome: str | None = None  # transfer | resolved | abandoned | busy
    ticket_id: str | None = None
    dialogue_outcome: str | None = None  # the dialogue's own word: resolved, escalated (ticket), transfer
    conversation_id: str | None = None
    ended_by: str | None = None  # "bot", "caller", "error"
    error: str | None = None  # why the call ended on bad input
    turns: list[Turn] = field(default_factory=list)
    underruns: int = 0  # 20 ms frames of silence inside a reply that was still being produced
    late_frames: int = 0  # frames the pacer sent more than one frame late (the machine stalled)
    max_lateness_s: float = 0.0
    barge_ins: int = 0

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["uuid"] = self.call_id
        return data


class CallRegistry:
    """Calls by id: the active ones and the most recent ``keep`` ended ones. With a ``store``
    (voicebot.channels.phone.call_store) every call is also written to the database when it starts
    and when it ends, so any phone process sharing the database answers for it."""

    def __init__(
        self, keep: int = 10000, announce_ttl_s: float = 300.0, max_announced: int = 1000, store: Any = None
    ) -> None:
        self.store = store
        # One writer thread, in order: the event loop never waits for the database.
        self._saver = ThreadPoolExecutor(1, thread_name_prefix="call-records") if store is not None else None
        self._calls: OrderedDict[str, CallRecord] = OrderedDict()
        self._keep = keep
        self._announced: dict[str, tuple[float, dict[str, str]]] = {}
        self._announce_ttl_s = announce_ttl_s
        # Announcements for calls that never connect must not pile up: past this many, the
        # oldest go first (a dialplan announces just before connecting, so those are stale).
        self._max_announced = max_announced
        self.relay: Any = None  # voicebot.channels.phone.announce_relay.AnnounceRelay, with a broker

    @property
    def announce_ttl_s(self) -> float:
        return self._announce_ttl_s

    def announce(self, call_id: str, caller: str | None, customer_id: str | None) -> None:
        """What the dialplan knows about a call before it connects (AudioSocket carries only
        the UUID): the caller's number and, if known, the customer id."""
        now = time.time()
        self._announced = {k: v for k, v in self._announced.items() if now - v[0] < self._announce_ttl_s}
        info = {k: v for k, v in (("caller", caller), ("customer_id", customer_id)) if v}
        self._announced.pop(call_id.lower(), None)
        self._announced[call_id.lower()] = (now, info)
        while len(self._announced) > self._max_announced:
            del self._announced[next(iter(self._announced))]

    def pending_announcements(self) -> int:
        return len(self._announced)

    def update_active(self, record: CallRecord, caller: str | None, customer_id: str | None) -> None:
        """An announcement for a call already connected: what the record lacks is filled in (the
        conversation started with what was known then) and the record stored again."""
        changed = False
        if caller and not record.caller:
            record.caller, changed = caller, True
        if customer_id and not record.customer_id:
            record.customer_id, changed = customer_id, True
        if changed:
            self._save(record)

    def open(self, record: CallRecord) -> CallRecord:
        previous = self._calls.get(record.call_id)
        if previous is not None and previous.state == "active":
            raise ValueError(f"call {record.call_id} is already active")
        _, info = self._announced.pop(record.call_id.lower(), (0.0, {}))
        record.caller = record.caller or info.get("caller")
        record.customer_id = record.customer_id or info.get("customer_id")
        self._calls[record.call_id] = record
        self._calls.move_to_end(record.call_id)
        self._trim()
        self._save(record)
        return record

    def get(self, call_id: str) -> CallRecord | None:
        return self._calls.get(call_id.lower()) or self._calls.get(call_id)

    def close(self, record: CallRecord, outcome: str, ended_by: str, error: str | None = None) -> None:
        if record.state == "ended":
            return
        record.state = "ended"
        record.ended_at = time.time()
        record.outcome = record.outcome or outcome
        record.ended_by = ended_by
        record.error = error
        self._save(record)

    def _save(self, record: CallRecord) -> None:
        if self._saver is not None:
            self._saver.submit(self.store.save, record.to_json())

    def stored(self, call_id: str) -> dict[str, Any] | None:
        """The record another process (or this one, before a restart) wrote, if any."""
        return self.store.load(call_id) if self.store is not None else None

    def active(self) -> list[CallRecord]:
        return [c for c in self._calls.values() if c.state == "active"]

    def _trim(self) -> None:
        ended = [k for k, c in self._calls.items() if c.state == "ended"]
        for key in ended[: max(0, len(ended) - self._keep)]:
            del self._calls[key]


def http_app(
    registry: CallRegistry,
    token: str,
    stats: Callable[[], dict[str, Any]] | None = None,
    metrics: Callable[[], bytes] | None = None,
) -> web.Application:
    async def lookup(call_id: str) -> dict[str, Any] | None:
        record = registry.get(call_id)
        if record is not None:
            return record.to_json()
        if registry.store is None:
            return None
        return await asyncio.get_running_loop().run_in_executor(None, registry.stored, call_id)

    async def call_json(request: web.Request) -> web.Response:
        data = await lookup(request.match_info["call_id"])
        if data is None:
            return web.json_response({"error": "no such call", "uuid": request.match_info["call_id"]}, status=404)
        return web.json_response(data)

    async def call_outcome(request: web.Request) -> web.Response:
        data = await lookup(request.match_info["call_id"])
        if data is None:
            return web.Response(text="unknown", status=404)
        return web.Response(text=data.get("outcome") or data.get("state") or "unknown")

    async def announce(request: web.Request) -> web.Response:
        call_id = request.match_info["call_id"]
        if request.content_type == "application/json":
            try:
                data = await request.json()
            except RecursionError:  # nested thousands deep: not an announcement, and no reason for a 500
                return web.json_response({"error": "body is nested too deeply"}, status=400)
            except ValueError:
                return web.json_response({"error": "body is not JSON"}, status=400)
            if not isinstance(data, dict):
                return web.json_response({"error": "body must be a JSON object"}, status=400)
            wrong = sorted(k for k in ("caller", "customer_id") if not isinstance(data.get(k, ""), (str, int))
                           or isinstance(data.get(k), bool))
            if wrong:
                return web.json_response({"error": f"{' and '.join(wrong)} must be text"}, status=400)
        else:
            data = dict(await request.post())
        data = {**dict(request.query), **{k: str(v) for k, v in data.items()}}
        caller = data.get("caller") or None
        customer_id = data.get("customer_id") or None
        if not caller and not customer_id:
            return web.json_response({"error": "give caller and/or customer_id"}, status=400)
        if registry.relay is not None:  # every phone process on the broker hears of it
            answer = await registry.relay.announce(call_id, caller, customer_id)
            return web.json_response(answer.body, status=answer.status)
        record = registry.get(call_id)
        if record is not None and record.state == "active":
            registry.update_active(record, caller, customer_id)
            state = "active"
        else:
            registry.announce(call_id, caller, customer_id)
            state = "pending"
        return web.json_response({"uuid": call_id, "caller": caller, "customer_id": customer_id, "state": state})

    async def calls(_: web.Request) -> web.Response:
        return web.json_response({"active": [c.to_json() for c in registry.active()]})

    async def health(_: web.Request) -> web.Response:
        body: dict[str, Any] = {"status": "ok", "active_calls": len(registry.active())}
        if stats is not None:
            body.update(stats())
        return web.json_response(body)

    async def prometheus(_: web.Request) -> web.Response:
        assert metrics is not None
        return web.Response(body=metrics(), content_type="text/plain", charset="utf-8")

    # A dialplan's announcement is a few short fields; nothing bigger needs to be read.
    app = web.Application(middlewares=[bearer_middleware(token)], client_max_size=16 * 1024)
    app.router.add_get("/calls", calls)
    app.router.add_get("/calls/{call_id}", call_json)
    app.router.add_post("/calls/{call_id}", announce)
    app.router.add_get("/calls/{call_id}/outcome", call_outcome)
    app.router.add_get("/healthz", health)
    if metrics is not None:
        app.router.add_get("/metrics", prometheus)
    return app


async def start_http(
    registry: CallRegistry,
    host: str,
    port: int,
    token: str,
    stats: Callable[[], dict[str, Any]] | None = None,
    metrics: Callable[[], bytes] | None = None,
) -> web.AppRunner:
    if not token:
        raise ValueError("the phone HTTP API needs a bearer token")
    runner = web.AppRunner(http_app(registry, token, stats, metrics), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    bound = runner.addresses[0]
    log.info("call outcomes on http://%s:%d/calls/{uuid}", bound[0], bound[1])
    return runner
