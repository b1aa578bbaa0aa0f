"""The Wyoming listener and one connection's event loop.

Every connection reads events with limits (``wire.read_event``) and hands each to the handler of
its kind: ``describe``, speech to text, text to speech, conversation. Bad input ends only the
connection that sent it, with one log line naming the client and the reason; a request that
cannot be served is answered with an ``error`` event and the connection stays open. Unknown event
types are dropped, as the protocol asks of servers (newer clients send events older servers do
not know), and logged once per type; a client sending nothing else is closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import urlparse

from wyoming.error import Error
from wyoming.event import Event, async_write_event
from wyoming.info import Info
from wyoming.ping import Pong

from voicebot.config import ListenSettings
from voicebot.transcribe import Transcriber
from voicebot.wyoming.handle import ConversationAgent
from voicebot.wyoming.stt import SpeechToText
from voicebot.wyoming.tts import TextToSpeech, Voices
from voicebot.wyoming.wire import Limits, RequestError, WireError, read_event

log = logging.getLogger(__name__)

MAX_UNKNOWN_IN_A_ROW = 100
WRITE_TIMEOUT_S = 30.0  # a client that stops reading for this long has gone


def parse_uri(uri: str) -> tuple[str, int]:
    """``tcp://HOST:PORT`` → (host, port); port 0 picks a free one."""
    parsed = urlparse(uri)
    if parsed.scheme != "tcp" or not parsed.hostname or parsed.port is None:
        raise ValueError(f"expected tcp://HOST:PORT, got {uri!r}")
    return parsed.hostname, parsed.port


@dataclass
class Services:
    """What every connection shares."""

    info: Info
    transcriber: Transcriber  # blocking: the shared transcription queue
    asr_languages: frozenset[str] | None
    voices: Voices
    agent: ConversationAgent
    limits: Limits
    max_audio_s: float
    max_audio_bytes: int
    max_text_chars: int
    idle_timeout_s: float
    max_connections: int
    listen: ListenSettings | None = None  # the endpointer's settings for speculation; None: off
    peer_allowed: Callable[[str], bool] = lambda address: True  # the client's IP address → may it connect


class Connection:
    """One client's connection: events in, answers out, until it closes or breaks the rules."""

    def __init__(self, number: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                 services: Services) -> None:
        peer = writer.get_extra_info("peername")
        self.name = f"client #{number} ({peer[0]}:{peer[1]})" if isinstance(peer, tuple) else f"client #{number}"
        self.reader = reader
        self.writer = writer
        self.services = services
        self.stt = SpeechToText(services.transcriber, self.send, services.max_audio_s, services.asr_languages,
                                services.listen, services.max_audio_bytes)
        self.tts = TextToSpeech(services.voices, self.send, services.max_text_chars)
        self._unknown_types: set[str] = set()
        self._last = "connecting"  # the last event received, for the log line when the client vanishes
        self._unknown_in_a_row = 0
        self.handlers: dict[str, Callable[[Event], Awaitable[None]]] = {
            "describe": self._describe,
            "ping": self._ping,
            "select-program": self._ignore,
            "transcribe": self.stt.on_transcribe,
            "audio-start": self.stt.on_audio_start,
            "audio-chunk": self.stt.on_audio_chunk,
            "audio-stop": self.stt.on_audio_stop,
            "synthesize": self.tts.on_synthesize,
            "synthesize-start": self.tts.on_synthesize_start,
            "synthesize-chunk": self.tts.on_synthesize_chunk,
            "synthesize-stop": self.tts.on_synthesize_stop,
            "transcript": self._handle_transcript,
        }

    async def send(self, event: Event) -> None:
        await asyncio.wait_for(async_write_event(event, self.writer), WRITE_TIMEOUT_S)

    async def run(self) -> None:
        """Serve until the client closes; every way out is logged once, none raises."""
        log.info("%s connected", self.name)
        why = "closed the connection"
        try:
            while True:
                try:
                    event = await asyncio.wait_for(
                        read_event(self.reader, self.services.limits), self.services.idle_timeout_s
                    )
                except TimeoutError:
                    why = f"sent nothing for {self.services.idle_timeout_s:g} s; closing its connection"
                    log.warning("%s %s", self.name, why)
                    return
                if event is None:
                    return
                await self._dispatch(event)
        except WireError as exc:
            why = f"{exc}; closing this connection"
            log.warning("%s: %s", self.name, why)
            await self._try_send(Error(text=str(exc), code="bad-input").event())
        except (ConnectionError, TimeoutError) as exc:  # reset, broken pipe, a client that stopped reading
            why = f"went away ({type(exc).__name__}) after {self._last!r}; closing this connection"
            log.warning("%s: %s", self.name, why)
        except asyncio.CancelledError:
            why = "cancelled (the service is stopping)"
            raise
        except Exception:  # a bug in a handler: this connection ends, the service goes on
            why = "internal error"
            log.exception("%s: internal error; closing this connection", self.name)
            await self._try_send(Error(text="internal error", code="internal").event())
        finally:
            self.stt.close()
            log.info("%s done: %s", self.name, why)
            self.writer.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.writer.wait_closed(), 1.0)

    async def _dispatch(self, event: Event) -> None:
        self._last = event.type[:60]
        handler = self.handlers.get(event.type)
        if handler is None:
            self._unknown_in_a_row += 1
            if event.type not in self._unknown_types:
                self._unknown_types.add(event.type)
                log.warning("%s: ignoring unknown event type %r", self.name, event.type[:60])
            if self._unknown_in_a_row >= MAX_UNKNOWN_IN_A_ROW:
                raise WireError(f"{self._unknown_in_a_row} unknown events in a row")
            return
        self._unknown_in_a_row = 0
        try:
            await handler(event)
        except RequestError as exc:
            log.warning("%s: %s (%s)", self.name, exc, event.type)
            await self.send(Error(text=str(exc), code=exc.code).event())
        except (KeyError, TypeError, ValueError) as exc:  # a field missing or of the wrong type
            log.warning("%s: malformed %r event (%s: %s)", self.name, event.type, type(exc).__name__, exc)
            await self.send(Error(text=f"malformed {event.type} event: {exc}", code="bad-event").event())

    async def _try_send(self, event: Event) -> None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(async_write_event(event, self.writer), 1.0)

    async def _describe(self, event: Event) -> None:
        await self.send(self.services.info.event())

    async def _ping(self, event: Event) -> None:
        await self.send(Pong(text=event.data.get("text")).event())

    async def _ignore(self, event: Event) -> None:
        return None

    async def _handle_transcript(self, event: Event) -> None:
        await self.send(await self.services.agent.on_transcript(event))


class WyomingServer:
    """The TCP listener; ``connections`` are the ones being served."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self._server: asyncio.Server | None = None
        self._numbers = itertools.count(1)
        self.connections: set[asyncio.Task[None]] = set()
        self.address: tuple[str, int] | None = None

    async def start(self, host: str, port: int) -> tuple[str, int]:
        self._server = await asyncio.start_server(
            self._accept, host, port, limit=self.services.limits.header_bytes
        )
        sock = self._server.sockets[0].getsockname()
        self.address = (str(sock[0]), int(sock[1]))
        return self.address

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        number = next(self._numbers)
        peer = writer.get_extra_info("peername")
        address = str(peer[0]) if isinstance(peer, tuple) else ""
        if not self.services.peer_allowed(address):
            log.warning("client #%d (%s) refused: not a network in wyoming.peers", number, address)
            writer.close()
            return
        if len(self.connections) >= self.services.max_connections:
            log.warning("client #%d refused: %d connections already served", number, len(self.connections))
            with contextlib.suppress(Exception):
                await asyncio.wait_for(
                    async_write_event(Error(text="busy: too many connections", code="busy").event(), writer), 1.0
                )
            writer.close()
            return
        task = asyncio.current_task()
        assert task is not None
        self.connections.add(task)
        try:
            await Connection(number, reader, writer, self.services).run()
        finally:
            self.connections.discard(task)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self.connections):
            task.cancel()
        if self.connections:
            await asyncio.gather(*self.connections, return_exceptions=True)
        if self._server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2.0)
