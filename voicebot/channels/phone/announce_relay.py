"""Caller announcements (``POST /calls/{uuid}``) answered by any phone process.

With several voicebot phone processes behind one dialplan (docs/scale.md), the dialplan's
announcement may reach one process while the call connects to, or is already held by, another.
Each process's relay passes every announcement it receives over MQTT to all the others:

    <prefix>/announce/<call id>      {"call_id", "caller", "customer_id", "request", "from"}
    <prefix>/announced/<process id>  {"request", "call_id", "state": "active", "host", "process"}

Every process keeps an announcement for a call it does not hold as pending (the call may connect
to it within ``announce_ttl_s``); the process holding the call applies it to the call's record
and answers the asking process, which tells the dialplan who holds it. QoS 1 and no retained
messages: an announcement is for the next few seconds only.

The answer the dialplan gets (voicebot.channels.phone.calls):

- 200 ``{"state": "active", "held_by": host}``: a process holds the call and has the announcement;
- 200 ``{"state": "pending"}``: no process holds the call yet; every phone process has the
  announcement (the broker has passed it on) and applies it when the call connects to it (200 as
  before there were several processes: a dialplan announces before connecting, and that is fine);
- 409 ``{"state": "ended"}``: the call is over (its record in the store says so);
- 404: the store has the call as active, but no process answered for it (its process stopped).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
import threading
import uuid
from dataclasses import dataclass, field
from typing import Any, Protocol

log = logging.getLogger(__name__)

DEFAULT_PREFIX = "voicebot/phone"
BAD_TOPIC_CHARS = set("/+#\0")


class Connection(Protocol):
    """device_bridge.client.MqttConnection, as far as the relay uses it."""

    def publish(self, topic: str, payload: bytes | str = b"", qos: int = 1, retain: bool = False) -> Any: ...

    def subscribe(self, topic_filter: str, callback: Any, qos: int = 1, wait: float = 0.0) -> Any: ...

    def unsubscribe(self, sub: Any) -> None: ...


@dataclass
class Answer:
    """What ``POST /calls/{uuid}`` answers: an HTTP status and its JSON body."""

    status: int
    body: dict[str, Any] = field(default_factory=dict)


@dataclass
class _Waiting:
    future: asyncio.Future[dict[str, Any]]  # a holder's answer
    echoed: asyncio.Event  # our own message came back: the broker has passed it to every process


class AnnounceRelay:
    """One per phone process, on its registry (voicebot.channels.phone.calls.CallRegistry) and the
    process's MQTT connection. ``answer_timeout_s``: how long to wait for the holder of a call the
    store has as active (and for the broker to pass an announcement on)."""

    def __init__(self, registry: Any, conn: Connection, prefix: str = DEFAULT_PREFIX,
                 answer_timeout_s: float = 3.0, holder_grace_s: float = 0.25) -> None:
        self.registry, self.conn, self.prefix = registry, conn, prefix.rstrip("/")
        self.answer_timeout_s = answer_timeout_s
        self.holder_grace_s = holder_grace_s  # without a store: how long a holder may take to answer
        self.host = socket.gethostname()
        self.process_id = f"{self.host}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self._loop: asyncio.AbstractEventLoop | None = None
        self._waiting: dict[str, _Waiting] = {}
        self._lock = threading.Lock()
        self._subs: list[Any] = []

    # -- set-up ------------------------------------------------------------------------------
    def start(self, loop: asyncio.AbstractEventLoop) -> AnnounceRelay:
        """Subscribe (acknowledged by the broker before this returns) on the line's event loop."""
        self._loop = loop
        self._subs = [
            self.conn.subscribe(f"{self.prefix}/announce/+", self._on_announce, qos=1, wait=5.0),
            self.conn.subscribe(f"{self.prefix}/announced/{self.process_id}", self._on_answer, qos=1, wait=5.0),
        ]
        self.registry.relay = self
        return self

    def stop(self) -> None:
        if getattr(self.registry, "relay", None) is self:
            self.registry.relay = None
        for sub in self._subs:
            self.conn.unsubscribe(sub)
        self._subs = []

    # -- the process the dialplan asked ----------------------------------------------------------
    async def announce(self, call_id: str, caller: str | None, customer_id: str | None) -> Answer:
        call_id = call_id.lower()
        info = {"uuid": call_id, "caller": caller, "customer_id": customer_id}
        if not call_id or BAD_TOPIC_CHARS & set(call_id):
            return Answer(400, {"error": "not a call id", "uuid": call_id})
        held = self._apply_if_held(call_id, caller, customer_id)
        if held:
            return Answer(200, {**info, "state": "active", "held_by": self.host})
        stored = await asyncio.get_running_loop().run_in_executor(None, self.registry.stored, call_id)
        if stored is not None and stored.get("state") == "ended":
            return Answer(409, {**info, "state": "ended", "error": f"call {call_id} has ended; the announcement was not kept"})
        self.registry.announce(call_id, caller, customer_id)  # it may still connect here
        request = uuid.uuid4().hex
        loop = asyncio.get_running_loop()
        waiting = _Waiting(loop.create_future(), asyncio.Event())
        with self._lock:
            self._waiting[request] = waiting
        try:
            payload = json.dumps({"call_id": call_id, "caller": caller, "customer_id": customer_id,
                                  "request": request, "from": self.process_id})
            try:
                self.conn.publish(f"{self.prefix}/announce/{call_id}", payload, qos=1)
            except Exception as exc:  # no broker: this process still has it
                log.warning("call %s: the announcement could not be passed on (%s)", call_id, exc)
                return Answer(200, {**info, "state": "pending", "forwarded": False,
                                    "message": "kept on this phone process only: the broker is unreachable"})
            active_elsewhere = stored is not None and stored.get("state") == "active"
            return await self._outcome(call_id, info, waiting, active_elsewhere)
        finally:
            with self._lock:
                self._waiting.pop(request, None)

    async def _outcome(self, call_id: str, info: dict[str, Any], waiting: _Waiting, active_elsewhere: bool) -> Answer:
        try:
            await asyncio.wait_for(waiting.echoed.wait(), self.answer_timeout_s)
            echoed = True
        except TimeoutError:
            echoed = False
        # The store says another process holds the call: wait for it. Otherwise a holder (a call
        # whose record was not stored yet, or no store) gets a moment to say so.
        patience = self.answer_timeout_s if active_elsewhere else self.holder_grace_s
        try:
            held = await asyncio.wait_for(asyncio.shield(waiting.future), patience)
        except TimeoutError:
            held = None
        if held is not None:
            return Answer(200, {**info, "state": "active", "held_by": held.get("host")})
        if active_elsewhere:
            return Answer(404, {**info, "state": "unknown", "error": (
                f"no phone process holds call {call_id}: the store has it as active, but no process answered "
                "for it (its process may have stopped)")})
        body = {**info, "state": "pending", "forwarded": echoed,
                "message": f"no phone process holds call {call_id} yet; every phone process keeps the announcement "
                           f"for {self.registry.announce_ttl_s:.0f} s and applies it when the call connects"}
        if not echoed:
            body["message"] = ("the broker did not confirm passing the announcement on in time; this process keeps it, "
                               "others may not have it")
        return Answer(200, body)

    # -- every process (MQTT thread) --------------------------------------------------------------
    def _on_announce(self, message: Any) -> None:
        try:
            data = json.loads(message.payload)
            call_id = str(data["call_id"]).lower()
            request, origin = str(data["request"]), str(data["from"])
            caller = _text(data.get("caller"))
            customer_id = _text(data.get("customer_id"))
        except (ValueError, KeyError, TypeError):
            log.warning("ignored a malformed announcement on %s", getattr(message, "topic", "?"))
            return
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        if origin == self.process_id:
            loop.call_soon_threadsafe(self._echoed, request)
            return
        loop.call_soon_threadsafe(self._take, call_id, caller, customer_id, request, origin)

    def _echoed(self, request: str) -> None:
        with self._lock:
            waiting = self._waiting.get(request)
        if waiting is not None:
            waiting.echoed.set()

    def _take(self, call_id: str, caller: str | None, customer_id: str | None, request: str, origin: str) -> None:
        """On the line's loop: apply to a call held here and answer, else keep it pending."""
        if self._apply_if_held(call_id, caller, customer_id):
            answer = {"request": request, "call_id": call_id, "state": "active", "host": self.host,
                      "process": self.process_id}
            try:
                self.conn.publish(f"{self.prefix}/announced/{origin}", json.dumps(answer), qos=1)
            except Exception:
                log.exception("call %s: could not answer the announcement", call_id)
            return
        record = self.registry.get(call_id)
        if record is None or record.state != "ended":
            self.registry.announce(call_id, caller, customer_id)

    def _on_answer(self, message: Any) -> None:
        try:
            data = json.loads(message.payload)
            request = str(data["request"])
        except (ValueError, KeyError, TypeError):
            return
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._answered, request, data)

    def _answered(self, request: str, data: dict[str, Any]) -> None:
        with self._lock:
            waiting = self._waiting.get(request)
        if waiting is not None and not waiting.future.done():
            waiting.future.set_result(data)

    def _apply_if_held(self, call_id: str, caller: str | None, customer_id: str | None) -> bool:
        record = self.registry.get(call_id)
        if record is None or record.state != "active":
            return False
        self.registry.update_active(record, caller, customer_id)
        return True


def _text(value: Any) -> str | None:
    return str(value) if isinstance(value, (str, int)) and not isinstance(value, bool) and str(value) else None


def start_relay(registry: Any, conn: Connection | None, loop: asyncio.AbstractEventLoop,
                prefix: str = DEFAULT_PREFIX) -> AnnounceRelay | None:
    """The relay of a phone process whose runtime has a broker connection (None without one)."""
    if conn is None:
        return None
    return AnnounceRelay(registry, conn, prefix).start(loop)
