"""The registry of phone calls and their outcomes, and the HTTP endpoint that serves them.

A dialplan reads what became of a call after the bot's leg ends: ``GET /calls/{uuid}`` returns
JSON (outcome, ticket, caller, turns...), ``GET /calls/{uuid}/outcome`` returns the bare outcome
word, which is what Asterisk's ``CURL()`` is easiest to branch on.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from dataclasses import asdict, dataclass, field
from typing import Any

from aiohttp import web

log = logging.getLogger(__name__)

OUTCOMES = ("transfer", "resolved", "abandoned")


@dataclass
class Turn:
    """One exchange: what the caller said (or pressed) and what the bot answered."""

    user: str
    bot: str
    source: str = "speech"  # "speech", "dtmf" or "greeting"
    intent: str | None = None
    end_of_speech_to_first_audio_s: float | None = None


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
    outcome: str | None = None  # transfer | resolved | abandoned
    ticket_id: str | None = None
    conversation_id: str | None = None
    ended_by: str | None = None  # "bot", "caller", "error"
    error: str | None = None  # why the call ended on bad input
    turns: list[Turn] = field(default_factory=list)
    underruns: int = 0
    barge_ins: int = 0

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["uuid"] = self.call_id
        return data


class CallRegistry:
    """Calls by id: the active ones and the most recent ``keep`` ended ones."""

    def __init__(self, keep: int = 10000) -> None:
        self._calls: OrderedDict[str, CallRecord] = OrderedDict()
        self._keep = keep

    def open(self, record: CallRecord) -> CallRecord:
        previous = self._calls.get(record.call_id)
        if previous is not None and previous.state == "active":
            raise ValueError(f"call {record.call_id} is already active")
        self._calls[record.call_id] = record
        self._calls.move_to_end(record.call_id)
        self._trim()
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

    def active(self) -> list[CallRecord]:
        return [c for c in self._calls.values() if c.state == "active"]

    def _trim(self) -> None:
        ended = [k for k, c in self._calls.items() if c.state == "ended"]
        for key in ended[: max(0, len(ended) - self._keep)]:
            del self._calls[key]


def http_app(registry: CallRegistry) -> web.Application:
    async def call_json(request: web.Request) -> web.Response:
        record = registry.get(request.match_info["call_id"])
        if record is None:
            return web.json_response({"error": "no such call", "uuid": request.match_info["call_id"]}, status=404)
        return web.json_response(record.to_json())

    async def call_outcome(request: web.Request) -> web.Response:
        record = registry.get(request.match_info["call_id"])
        if record is None:
            return web.Response(text="unknown", status=404)
        return web.Response(text=record.outcome or record.state)

    async def calls(_: web.Request) -> web.Response:
        return web.json_response({"active": [c.to_json() for c in registry.active()]})

    async def health(_: web.Request) -> web.Response:
        return web.json_response({"status": "ok", "active_calls": len(registry.active())})

    app = web.Application()
    app.router.add_get("/calls", calls)
    app.router.add_get("/calls/{call_id}", call_json)
    app.router.add_get("/calls/{call_id}/outcome", call_outcome)
    app.router.add_get("/healthz", health)
    return app


async def start_http(registry: CallRegistry, host: str, port: int) -> web.AppRunner:
    runner = web.AppRunner(http_app(registry), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    bound = runner.addresses[0]
    log.info("call outcomes on http://%s:%d/calls/{uuid}", bound[0], bound[1])
    return runner
