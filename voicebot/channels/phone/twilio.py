"""The Twilio Media Streams server: a WebSocket endpoint for a bidirectional
``<Connect><Stream>``. Audio is mu-law 8 kHz both ways; custom parameters carry the caller."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import numpy as np
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from voicebot.audio import mulaw_decode, mulaw_encode
from voicebot.channels.phone import twilio_wire as wire
from voicebot.channels.phone.audiosocket import CallFactory
from voicebot.channels.phone.auth import twilio_signature_valid
from voicebot.channels.phone.calls import CallRecord, CallRegistry
from voicebot.channels.phone.leg import wind_down

log = logging.getLogger(__name__)

# Custom parameter names accepted for the caller's number and the customer id.
CALLER_KEYS = ("caller", "from", "From", "callerNumber", "caller_number")
CUSTOMER_KEYS = ("customer_id", "customerId", "customer")


class TwilioLeg:
    transport = "twilio"
    rate = 8000
    fill_silence = False  # Twilio buffers and plays what it gets; no keep-alive needed
    confirms_playback = True

    def __init__(self, ws: ServerConnection, stream_sid: str) -> None:
        self._ws = ws
        self.stream_sid = stream_sid
        self.closed = False

    async def _send(self, text: str) -> None:
        if self.closed:
            return
        try:
            await self._ws.send(text)
        except ConnectionClosed:
            self.closed = True

    async def send_audio(self, frame: np.ndarray) -> None:
        await self._send(wire.media(self.stream_sid, mulaw_encode(frame)))

    async def mark(self, name: str) -> None:
        await self._send(wire.mark(self.stream_sid, name))

    async def clear(self) -> None:
        await self._send(wire.clear(self.stream_sid))

    async def hangup(self) -> None:
        # Closing the stream ends <Connect>; Twilio continues with the next TwiML verb.
        if not self.closed:
            self.closed = True
            with contextlib.suppress(ConnectionClosed):
                await self._ws.close(1000, "call handled")


def _param(params: dict[str, str], keys: tuple[str, ...]) -> str | None:
    for key in keys:
        if params.get(key):
            return params[key]
    return None


class TwilioServer:
    """Takes only streams Twilio signed: the upgrade request's ``X-Twilio-Signature`` must be the
    HMAC-SHA1 of the stream URL under the account's auth token. Only then are the caller and
    customer in the stream's custom parameters (set by the operator's TwiML) believed."""

    def __init__(
        self,
        registry: CallRegistry,
        new_call: CallFactory,
        auth_token: str,
        start_timeout_s: float = 5.0,
        public_url: str | None = None,
        account_sid: str | None = None,
    ) -> None:
        if not auth_token:
            raise ValueError("the Twilio listener needs the account's auth token to check signatures")
        self.registry = registry
        self._new_call = new_call
        self._auth_token = auth_token
        self.public_url = public_url  # the <Stream url="wss://..."> Twilio signed, behind a proxy
        self.account_sid = account_sid
        self.start_timeout_s = start_timeout_s
        self.refused = 0  # upgrade requests without a valid signature
        self._server: Server | None = None

    def _signed_urls(self, request: Request) -> list[str]:
        if self.public_url:
            return [self.public_url]
        host = request.headers.get("Host", "")
        # Twilio connects over wss://; a TLS-terminating proxy hands us plain ws://.
        return [f"wss://{host}{request.path}", f"ws://{host}{request.path}"]

    def _check_signature(self, connection: ServerConnection, request: Request) -> Response | None:
        signature = request.headers.get("X-Twilio-Signature", "")
        if signature and any(twilio_signature_valid(self._auth_token, url, signature) for url in self._signed_urls(request)):
            return None
        self.refused += 1
        log.warning(
            "Twilio stream from %s refused: %s X-Twilio-Signature",
            connection.remote_address,
            "wrong" if signature else "no",
        )
        return connection.respond(403, "invalid or missing X-Twilio-Signature\n")

    async def start(self, host: str, port: int) -> tuple[str, int]:
        self._server = await serve(
            self._handle, host, port, max_size=2**20, process_request=self._check_signature
        )
        addr = next(iter(self._server.sockets)).getsockname()
        log.info("Twilio Media Streams WebSocket on ws://%s:%d/", addr[0], addr[1])
        return addr[0], addr[1]

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _handle(self, ws: ServerConnection) -> None:
        peer = ws.remote_address
        try:
            await self._serve(ws, peer)
        except ConnectionClosed:
            pass
        except Exception:  # one call's failure must not take the server down
            log.exception("Twilio stream from %s failed", peer)

    async def _wait_start(self, ws: ServerConnection, peer: Any) -> wire.Start | None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.start_timeout_s
        while True:
            try:
                frame = await asyncio.wait_for(ws.recv(), max(0.0, deadline - loop.time()))
            except TimeoutError:
                log.warning("Twilio stream %s: no start message within %.1f s; closing", peer, self.start_timeout_s)
                await ws.close(1008, "no start message")
                return None
            except ConnectionClosed:
                log.warning("Twilio stream %s: closed before the start message", peer)
                return None
            try:
                event = wire.parse(frame)
            except wire.ProtocolError as exc:
                log.warning("Twilio stream %s: bad message before start (%s); closing", peer, exc)
                await ws.close(1003 if isinstance(frame, bytes) else 1008, str(exc)[:100])
                return None
            if isinstance(event, wire.Start):
                return event
            if not isinstance(event, wire.Connected):
                log.warning("Twilio stream %s: %s before start; closing", peer, type(event).__name__)
                await ws.close(1008, "expected start")
                return None

    async def _serve(self, ws: ServerConnection, peer: Any) -> None:
        start = await self._wait_start(ws, peer)
        if start is None:
            return
        if self.account_sid and start.account_sid != self.account_sid:
            log.warning("Twilio stream %s: account %s is not ours; closing", peer, start.account_sid)
            await ws.close(1008, "wrong account")
            return
        call_id = start.call_sid
        existing = self.registry.get(call_id)
        if existing is not None and existing.state == "active":
            log.warning("Twilio stream %s: call %s is already active; closing the duplicate", peer, call_id)
            await ws.close(1008, "duplicate call")
            return
        params = start.custom_parameters
        record = self.registry.open(
            CallRecord(
                call_id=call_id,
                transport="twilio",
                rate=8000,
                caller=_param(params, CALLER_KEYS),
                customer_id=_param(params, CUSTOMER_KEYS),
                stream_sid=start.stream_sid,
            )
        )
        log.info("Twilio call %s (stream %s)", call_id, start.stream_sid)
        leg = TwilioLeg(ws, start.stream_sid)
        call = self._new_call(leg, record)
        runner = asyncio.create_task(call.run(), name=f"call-{call_id}")
        try:
            await self._read_loop(ws, call, call_id, runner)
            await runner
        finally:
            await wind_down(runner, leg)

    async def _read_loop(self, ws: ServerConnection, call: Any, call_id: str, runner: asyncio.Task[None]) -> None:
        while not runner.done():
            read = asyncio.ensure_future(ws.recv())
            done, _ = await asyncio.wait({read, runner}, return_when=asyncio.FIRST_COMPLETED)
            if read not in done:
                read.cancel()
                with contextlib.suppress(BaseException):
                    await read
                return
            try:
                event = wire.parse(read.result())
            except ConnectionClosed as exc:
                if exc.rcvd is not None and exc.rcvd.code in (1000, 1001):
                    log.info("call %s: the stream closed", call_id)
                    call.hangup("caller")
                else:
                    error = f"connection lost ({exc})"
                    log.warning("call %s ended: %s", call_id, error)
                    call.hangup("caller", error)
                return
            except wire.ProtocolError as exc:
                log.warning("call %s ended on bad input: %s", call_id, exc)
                call.hangup("error", str(exc))
                with contextlib.suppress(ConnectionClosed):
                    await ws.close(1008, str(exc)[:100])
                return
            if isinstance(event, wire.Media):
                if event.track in ("inbound", "inbound_track") and event.payload:
                    call.audio(mulaw_decode(event.payload), 8000)
            elif isinstance(event, wire.Dtmf):
                call.dtmf(event.digit)
            elif isinstance(event, wire.Mark):
                call.played(event.name)
            elif isinstance(event, wire.Stop):
                log.info("call %s: Twilio stopped the stream (caller hung up)", call_id)
                call.hangup("caller")
                return
            else:  # a second start or connected mid-call
                error = f"unexpected {type(event).__name__} mid-call"
                log.warning("call %s ended on bad input: %s", call_id, error)
                call.hangup("error", error)
                return
