"""The AudioSocket server: Asterisk connects once per call, sends the call's UUID, then audio
and DTMF; the bot answers with paced audio and ends its leg with a hangup message."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Callable
from typing import Protocol

import numpy as np

from voicebot.channels.phone import audiosocket_wire as wire
from voicebot.channels.phone.calls import CallRecord, CallRegistry
from voicebot.channels.phone.leg import CallInput, Leg, wind_down

log = logging.getLogger(__name__)


class RunnableCall(CallInput, Protocol):
    async def run(self) -> None: ...


CallFactory = Callable[[Leg, CallRecord], RunnableCall]


class AudioSocketLeg:
    """One Asterisk connection seen as a call leg."""

    transport = "audiosocket"
    fill_silence = True
    confirms_playback = False  # Asterisk plays what it gets at once; sent is played

    def __init__(self, writer: asyncio.StreamWriter, rate: int) -> None:
        self.rate = rate
        self._writer = writer
        self._kind = wire.RATE_KINDS[rate]
        self.closed = False

    async def send_audio(self, frame: np.ndarray) -> None:
        if self.closed:
            return
        self._writer.write(wire.encode(self._kind, np.ascontiguousarray(frame, dtype="<i2").tobytes()))
        try:
            await self._writer.drain()
        except (ConnectionError, OSError):
            self.closed = True

    async def mark(self, name: str) -> None:
        return None

    async def clear(self) -> None:
        return None  # nothing is buffered on the far side

    async def hangup(self) -> None:
        if self.closed:
            return
        self.closed = True
        with contextlib.suppress(ConnectionError, OSError):
            self._writer.write(wire.HANGUP)
            await self._writer.drain()
            # Half-close only: the server closes the socket once the caller has closed its side
            # (see _close_after_caller), so the hangup is not lost to a reset.
            if self._writer.can_write_eof():
                self._writer.write_eof()


class AudioSocketServer:
    """Serves AudioSocket connections; each becomes one call in ``registry``."""

    def __init__(
        self,
        registry: CallRegistry,
        new_call: CallFactory,
        uuid_timeout_s: float = 5.0,
        first_audio_timeout_s: float = 1.0,
        idle_timeout_s: float = 3.0,
        peer_allowed: Callable[[str], bool] | None = None,
    ) -> None:
        self.registry = registry
        # AudioSocket has no credentials: off loopback, only listed Asterisk hosts may connect.
        self._peer_allowed = peer_allowed
        self._new_call = new_call
        self.uuid_timeout_s = uuid_timeout_s
        self.first_audio_timeout_s = first_audio_timeout_s
        self.idle_timeout_s = idle_timeout_s  # Asterisk sends audio every 20 ms: silence this long means the peer is gone
        self._server: asyncio.base_events.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self, host: str, port: int) -> tuple[str, int]:
        self._server = await asyncio.start_server(self._handle, host, port)
        addr = self._server.sockets[0].getsockname()
        log.info("AudioSocket listening on %s:%d", addr[0], addr[1])
        return addr[0], addr[1]

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        peer = writer.get_extra_info("peername")
        if self._peer_allowed is not None and not self._peer_allowed(str(peer[0]) if peer else ""):
            log.warning("AudioSocket connection from %s refused: not in phone.audiosocket_peers", peer)
            self._tasks.discard(task)
            writer.close()
            return
        try:
            await self._serve(reader, writer, peer)
        except asyncio.CancelledError:
            # The server is shutting down; the call has recorded its end. Returning normally keeps
            # asyncio's stream machinery from reporting the cancellation as an error.
            log.info("AudioSocket call from %s stopped with the server", peer)
        except Exception:  # a bug in one call must not take the server down
            log.exception("AudioSocket call from %s failed", peer)
        finally:
            self._tasks.discard(task)
            try:
                await _close_after_caller(reader, writer)
            except asyncio.CancelledError:  # stopped again while closing: the socket is closed
                log.info("AudioSocket call from %s closed with the server", peer)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, peer: object) -> None:
        try:
            first = await asyncio.wait_for(wire.read_message(reader), self.uuid_timeout_s)
        except TimeoutError:
            log.warning("AudioSocket %s: no UUID within %.1f s; closing", peer, self.uuid_timeout_s)
            return
        except wire.PeerClosed:
            log.warning("AudioSocket %s: closed before sending the UUID", peer)
            return
        except wire.ProtocolError as exc:
            log.warning("AudioSocket %s: bad first message (%s); closing", peer, exc)
            writer.write(wire.HANGUP)
            return
        if first.kind != wire.Kind.UUID:
            log.warning("AudioSocket %s: first message is kind 0x%02x, not a UUID; closing", peer, first.kind)
            writer.write(wire.HANGUP)
            return
        call_id = str(uuid.UUID(bytes=first.payload))
        if (existing := self.registry.get(call_id)) is not None and existing.state == "active":
            log.warning("AudioSocket %s: call %s is already active; refusing the duplicate", peer, call_id)
            writer.write(wire.HANGUP)
            return

        # The call's rate is the rate of its audio: wait briefly for the first frame to learn it.
        pending: list[wire.Message] = []
        rate = 8000
        ended: tuple[str, str | None] | None = None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.first_audio_timeout_s
        while True:
            try:
                msg = await asyncio.wait_for(wire.read_message(reader), max(0.0, deadline - loop.time()))
            except TimeoutError:
                break
            except wire.PeerClosed:
                ended = ("caller", None)
                break
            except wire.ProtocolError as exc:
                ended = ("error", str(exc))
                break
            pending.append(msg)
            if msg.is_audio:
                rate = wire.AUDIO_RATES[msg.kind]
                break
            if msg.kind in (wire.Kind.HANGUP, wire.Kind.ERROR):
                break

        leg = AudioSocketLeg(writer, rate)
        record = self.registry.open(CallRecord(call_id=call_id, transport="audiosocket", rate=rate))
        log.info("AudioSocket call %s from %s at %d Hz", call_id, peer, rate)
        call = self._new_call(leg, record)
        runner = asyncio.create_task(call.run(), name=f"call-{call_id}")
        try:
            for msg in pending:
                if self._dispatch(call, msg, call_id):
                    break
            else:
                if ended is not None:
                    self._log_end(call_id, *ended)
                    call.hangup(*ended)
                else:
                    await self._read_loop(reader, call, call_id, runner)
            await runner
        finally:
            await wind_down(runner, leg)

    async def _read_loop(
        self, reader: asyncio.StreamReader, call: RunnableCall, call_id: str, runner: asyncio.Task[None]
    ) -> None:
        while not runner.done():
            read = asyncio.ensure_future(asyncio.wait_for(wire.read_message(reader), self.idle_timeout_s))
            done, _ = await asyncio.wait({read, runner}, return_when=asyncio.FIRST_COMPLETED)
            if read not in done:
                read.cancel()  # the call ended from the bot's side
                with contextlib.suppress(BaseException):
                    await read
                return
            try:
                msg = read.result()
            except wire.PeerClosed:
                self._log_end(call_id, "caller", None)
                call.hangup("caller")
                return
            except TimeoutError:  # before OSError, of which it is a subclass
                error = f"no traffic from the peer for {self.idle_timeout_s:g} s"
                self._log_end(call_id, "error", error)
                call.hangup("error", error)
                return
            except (ConnectionError, OSError) as exc:
                log.info("call %s: connection lost (%s); the caller is gone", call_id, exc)
                call.hangup("caller")
                return
            except wire.ProtocolError as exc:
                self._log_end(call_id, "error", str(exc))
                call.hangup("error", str(exc))
                return
            if self._dispatch(call, msg, call_id):
                return

    def _dispatch(self, call: RunnableCall, msg: wire.Message, call_id: str) -> bool:
        """Hand one message to the call; True when the call is over."""
        if msg.is_audio:
            call.audio(np.frombuffer(msg.payload, dtype="<i2").astype(np.int16), wire.AUDIO_RATES[msg.kind])
        elif msg.kind == wire.Kind.DTMF:
            call.dtmf(chr(msg.payload[0]))
        elif msg.kind == wire.Kind.HANGUP:
            self._log_end(call_id, "caller", None)
            call.hangup("caller")
            return True
        elif msg.kind == wire.Kind.ERROR:
            error = f"peer reported an error {msg.payload[:64]!r}"
            self._log_end(call_id, "error", error)
            call.hangup("error", error)
            return True
        else:  # a UUID again: not allowed mid-call
            error = "a second UUID message mid-call"
            self._log_end(call_id, "error", error)
            call.hangup("error", error)
            return True
        return False

    @staticmethod
    def _log_end(call_id: str, by: str, error: str | None) -> None:
        if error:
            log.warning("call %s ended on bad input: %s", call_id, error)
        else:
            log.info("call %s: the caller hung up", call_id)


async def _close_after_caller(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, linger_s: float = 2.0) -> None:
    """Close a connection without destroying what was last sent. The caller is usually still
    sending audio when the bot hangs up; closing a socket with the caller's bytes unread makes
    the kernel answer with a reset, and a reset discards the hangup message if the caller has
    not read it yet. So: half-close (our side is done), read and drop what the caller still
    sends until it closes (at most ``linger_s``), then close."""
    try:
        if not writer.is_closing() and writer.can_write_eof():
            with contextlib.suppress(ConnectionError, OSError, RuntimeError):
                writer.write_eof()  # RuntimeError: already half-closed by the leg's hangup
        async with asyncio.timeout(linger_s):
            while await reader.read(1 << 16):
                pass
    except (TimeoutError, ConnectionError, OSError):
        pass  # a caller that does not close in time, or has already gone: close anyway
    finally:
        writer.close()
