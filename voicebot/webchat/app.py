"""The customer web chat: a small page and a WebSocket, as an ASGI application.

    chat = WebChat(runtime.conversation, runtime.store, WebChatSettings(), secret)
    app = chat.app()              # serve it (voicebot webchat), or mount it in another Starlette/FastAPI app

The customer opens a signed link (voicebot.webchat.links); the page sends the link's token as its
first message and then one message per line the customer writes. A link opens the chat once: the
page is given a session in exchange, which it presents (with or instead of the link) when it
reconnects or is reloaded. Each chat is a dialogue
conversation on channel ``web``, the same dialogue, tickets and escalation as the phone line and
the speaker, and it continues the customer's thread (voicebot.customers), so what is said here is
picked up when they call.

The protocol is JSON text messages:
    client → {"type": "hello", "token": "...", "session": "..."}   first, within ``hello_timeout_s``;
                                                          a link's token, a session, or both
    server → {"type": "ready", "conversation_id", "name", "resumed", "history": [...],
              "session", "session_expires_at"}
    server → {"type": "reply", "text", "intent", "actions", "escalated", "ticket_id", "end"}
    client → {"type": "message", "text": "..."}
    server → {"type": "error", "code", "message"}        codes below; the chat stays open unless said
When a support agent steps in from the console (voicebot.webchat.stepping_in):
    server → {"type": "agent_joined", "agent"}           a person has the chat; the bot is quiet
    server → {"type": "agent", "agent", "text"}          what the agent wrote
    server → {"type": "agent_left", "agent"}             the bot answers again
    server → {"type": "ended", "by": "agent", "message"} then close 1000
("ready" also says "agent": who has the chat now, or null; history lines are {"from", "text"}
with "from" you, bot, agent or notice, and "agent" on the agent's lines.)
Close codes: 4401 a bad, expired, withdrawn or already used link, a bad or expired session (or no
hello in time); 1008 a client that keeps
flooding; 1009 a message over ``max_frame_bytes``; 1013 too many chats open; 1000 the conversation ended.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from voicebot import live
from voicebot.dialogue.types import Conversation, Reply
from voicebot.webchat.links import LinkClaims, LinkError, LinkSigner, Revocations, UsedLinks
from voicebot.webchat.settings import WebChatSettings
from voicebot.webchat.stepping_in import AgentSide

log = logging.getLogger(__name__)

CLOSE_AUTH = 4401
CLOSE_POLICY = 1008
CLOSE_TOO_BIG = 1009
CLOSE_BUSY = 1013
HISTORY = 50  # lines of a resumed chat shown again
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; "
        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
STATIC = {"": ("page.html", "text/html; charset=utf-8"), "chat.js": ("chat.js", "text/javascript; charset=utf-8"),
          "chat.css": ("chat.css", "text/css; charset=utf-8")}


class ClientError(Exception):
    """What one client did wrong; ``close``: the socket is closed with this code after telling it."""

    def __init__(self, code: str, message: str, close: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.close = close


class Client:
    """One open window of a chat. Its socket is written by the chat's handler and by the agent's
    messages: one send at a time."""

    def __init__(self, ws: WebSocket) -> None:
        self.ws = ws
        self.lock = asyncio.Lock()

    async def send(self, data: dict[str, Any]) -> None:
        async with self.lock:
            if self.ws.application_state == WebSocketState.CONNECTED:
                await self.ws.send_text(json.dumps(data, ensure_ascii=False))

    async def close(self, code: int) -> None:
        async with self.lock:
            with contextlib.suppress(Exception):  # the client may be gone already
                await self.ws.close(code=code)


@dataclass
class Chat:
    """One customer's open conversation; a reloaded page or a second tab continues it."""

    customer_id: str
    conversation: Conversation
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    sockets: int = 0
    last_active: float = field(default_factory=time.monotonic)
    history: list[dict[str, str]] = field(default_factory=list)
    greeted: bool = False  # a client that left before the greeting leaves it to the next one
    ended: bool = False
    clients: set[Client] = field(default_factory=set)
    watch: Any = None  # voicebot.live.LiveWatch: the console sees the chat and may step in
    agent: str | None = None  # the support agent who has the chat (the bot is quiet)

    def note(self, who: str, text: str, agent: str | None = None) -> None:
        self.history.append({"from": who, "text": text, **({"agent": agent} if agent else {})})
        del self.history[:-HISTORY]

    @property
    def taken_over(self) -> bool:
        return self.watch is not None and self.watch.taken_over


class RateLimit:
    """A token bucket: ``burst`` messages at once, then ``per_minute``."""

    def __init__(self, per_minute: float, burst: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = per_minute / 60.0
        self.capacity = float(burst)
        self.tokens = float(burst)
        self.clock = clock
        self.at = clock()

    def allow(self) -> bool:
        now = self.clock()
        self.tokens = min(self.capacity, self.tokens + (now - self.at) * self.rate)
        self.at = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False


class WebChat:
    def __init__(
        self,
        conversation: Callable[..., Conversation],
        store: Any,
        settings: WebChatSettings,
        secret: str,
    ) -> None:
        self.new_conversation = conversation  # (channel=, customer_id=) → Conversation, e.g. Runtime.conversation
        self.store = store
        self.settings = settings
        self.signer = LinkSigner(secret)
        self.revocations = Revocations(store)
        self.used_links = UsedLinks(store)
        self.executor = ThreadPoolExecutor(settings.dialogue_threads, thread_name_prefix="webchat")
        self.chats: dict[str, Chat] = {}
        self.open_sockets = 0
        self._reaper: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()  # messages from agents on their way

    # links -------------------------------------------------------------------------------
    def link(self, customer_id: str, base_url: str, ttl_s: float | None = None) -> str:
        """A URL that opens the chat as ``customer_id`` (the token in the fragment, which browsers
        never send to a server, so it stays out of access logs and referrers)."""
        ttl = self.settings.link_ttl_s if ttl_s is None else ttl_s
        if not 0 < ttl <= self.settings.max_link_ttl_s:
            raise ValueError(f"a link lasts more than 0 and at most {self.settings.max_link_ttl_s:.0f} seconds")
        return f"{base_url.rstrip('/')}/#t={self.signer.sign(customer_id, ttl)}"

    # the ASGI application ------------------------------------------------------------------
    def app(self) -> Starlette:
        routes = [Route("/healthz", self._healthz), WebSocketRoute("/ws", self._socket),
                  Route("/favicon.ico", lambda _: Response(status_code=204))]  # no icon, and no 404 for it
        routes += [Route(f"/{name}", self._static) for name in STATIC]
        return Starlette(routes=routes)

    async def _healthz(self, request: Request) -> Response:
        return JSONResponse({"ok": True, "chats": len(self.chats), "sockets": self.open_sockets})

    async def _static(self, request: Request) -> Response:
        name, media_type = STATIC[request.url.path.rsplit("/", 1)[-1]]
        body = resources.files("voicebot.webchat").joinpath(name).read_bytes()
        return Response(body, media_type=media_type, headers=SECURITY_HEADERS)

    async def _socket(self, ws: WebSocket) -> None:
        origins = self.settings.allowed_origins
        if origins and ws.headers.get("origin") not in origins:
            await ws.close(code=CLOSE_POLICY)  # refused before the upgrade: the browser sees 403
            return
        await ws.accept()
        self._start_reaper()
        self.open_sockets += 1
        client = Client(ws)
        chat: Chat | None = None
        try:
            if self.open_sockets > self.settings.max_connections:
                raise ClientError("busy", "too many chats are open right now; please try again in a minute", CLOSE_BUSY)
            chat = await self._hello(client)
            await self._converse(client, chat)
        except ClientError as exc:
            await self._refuse(client, exc)
        except WebSocketDisconnect:
            pass
        except Exception:  # one chat failing must not take the service with it
            log.exception("web chat failed")
            await self._refuse(client, ClientError("internal", "something went wrong on our side; please reload", 1011))
        finally:
            self.open_sockets -= 1
            if chat is not None:
                chat.sockets -= 1
                chat.clients.discard(client)
                chat.last_active = time.monotonic()

    async def _refuse(self, client: Client, exc: ClientError) -> None:
        with contextlib.suppress(Exception):  # the client may be gone already
            await client.send({"type": "error", "code": exc.code, "message": str(exc)})
        await client.close(exc.close or CLOSE_POLICY)

    async def _hello(self, client: Client) -> Chat:
        try:
            first = await asyncio.wait_for(self._receive(client.ws), self.settings.hello_timeout_s)
        except TimeoutError:
            raise ClientError("no_hello", "the chat link was not presented in time", CLOSE_AUTH) from None
        if first.get("type") != "hello":
            raise ClientError("bad_link", "the first message must present the chat link", CLOSE_AUTH)
        try:
            claims, session = await self._sign_in(first.get("token"), first.get("session"))
        except LinkError as exc:
            raise ClientError(exc.code, str(exc), CLOSE_AUTH) from None
        customer = await self._in_thread(self.store.customer, claims.customer_id)
        if customer is None:
            raise ClientError("bad_link", "this chat link is not valid (no such customer)", CLOSE_AUTH)
        chat = self.chats.get(customer.customer_id)
        resumed = chat is not None and not chat.ended
        if chat is not None and chat.sockets >= self.settings.max_connections_per_customer:
            raise ClientError("busy", "this chat is already open in too many windows", CLOSE_BUSY)
        if chat is None or chat.ended:
            conversation = await self._in_thread(self.new_conversation, channel="web", customer_id=customer.customer_id)
            chat = self.chats[customer.customer_id] = Chat(customer.customer_id, conversation)
            self._watch(chat)
        chat.sockets += 1
        chat.clients.add(client)
        chat.last_active = time.monotonic()
        await client.send({"type": "ready", "conversation_id": chat.conversation.id, "name": customer.name,
                           "resumed": resumed, "history": list(chat.history) if resumed else [],
                           "agent": chat.agent, "session": session[0], "session_expires_at": session[1]})
        async with chat.lock:
            if not chat.greeted:
                chat.greeted = True
                greeting = await self._in_thread(chat.conversation.greet)
                chat.note("bot", greeting.text)
                if chat.watch is not None:
                    chat.watch.bot_said(greeting.text)
                await client.send(_reply(greeting))
        log.info("web chat %s opened%s", chat.conversation.id, " (resumed)" if resumed else "")
        return chat

    async def _sign_in(self, token: Any, session: Any) -> tuple[LinkClaims, tuple[str, float]]:
        """Who the client is, from a link (spent now, if links are single-use) or the session a
        link was exchanged for; and the session the page keeps (token, expiry). LinkError if neither opens the chat."""
        held: LinkClaims | None = None
        if session is not None:
            try:
                held = self.signer.verify_session(session)
                await self._in_thread(self.revocations.check, held)
            except LinkError:
                if token is None:
                    raise
                held = None  # a stale session beside a link: the link decides
        if token is None:
            if held is None:
                raise LinkError("bad_link", "the first message must present the chat link")
            return held, (str(session), held.expires_at)
        claims = self.signer.verify(token)
        await self._in_thread(self.revocations.check, claims)
        if self.settings.single_use_links:
            try:
                await self._in_thread(self.used_links.spend, claims)
            except LinkError:
                if held is not None and held.customer_id == claims.customer_id:
                    return held, (str(session), held.expires_at)  # the browser that used it, opening it again
                raise
        ttl = self.settings.session_ttl_s
        return claims, (self.signer.session(claims.customer_id, ttl), round(time.time() + ttl, 3))

    async def _converse(self, client: Client, chat: Chat) -> None:
        s = self.settings
        limit = RateLimit(s.messages_per_minute, s.burst)
        flooded = 0
        while True:
            try:
                msg = await asyncio.wait_for(self._receive(client.ws), s.idle_timeout_s)
            except TimeoutError:
                raise ClientError("idle", "the chat was closed after a long silence; reload to continue", 1000) from None
            except ClientError as exc:
                if exc.close is not None:
                    raise
                await client.send({"type": "error", "code": exc.code, "message": str(exc)})
                continue
            if not limit.allow():
                flooded += 1
                if flooded >= s.max_flood_errors:
                    raise ClientError("too_fast", "too many messages; the chat was closed", CLOSE_POLICY)
                await client.send({"type": "error", "code": "too_fast",
                                   "message": "you are sending messages too fast; please wait a moment"})
                continue
            kind, text = msg.get("type"), msg.get("text")
            if kind == "ping":
                await client.send({"type": "pong"})
                continue
            if kind != "message" or not isinstance(text, str):
                await client.send({"type": "error", "code": "bad_message",
                                   "message": 'expected {"type": "message", "text": "..."}'})
                continue
            text = text.strip()
            if len(text) > s.max_message_chars:
                await client.send({"type": "error", "code": "too_long",
                                   "message": f"please keep a message under {s.max_message_chars} characters"})
                continue
            if not text:
                continue
            if chat.ended:
                raise ClientError("ended", "this conversation has ended; reload to start a new one", 1000)
            chat.last_active = time.monotonic()
            if chat.taken_over:
                # An agent has the chat: the customer's words go to them (and the transcript), the bot is quiet.
                chat.note("you", text)
                await self._in_thread(chat.watch.customer_said, text)
                continue
            async with chat.lock:
                reply = await self._in_thread(chat.conversation.handle, text)
            chat.last_active = time.monotonic()
            chat.note("you", text)
            chat.note("bot", reply.text)
            if chat.watch is not None:  # the console sees the turn (the dialogue leaves that to the chat's watch)
                await self._in_thread(chat.watch.answered, text, reply)
            await client.send(_reply(reply))
            if reply.end_conversation:
                self._finish(chat)
                await client.close(1000)
                return

    # the agents' console -----------------------------------------------------------------------
    def _watch(self, chat: Chat) -> None:
        """Publish the chat for the agents' console and let an agent step in (with a broker only)."""
        link = live.current_link()
        if link is None:
            return
        chat.watch = link.watch(AgentSide(chat, self._broadcast, self._ended_by_agent), chat.conversation, "web")
        chat.watch.started(asyncio.get_running_loop())

    def _broadcast(self, chat: Chat, data: dict[str, Any]) -> None:
        """To every window of the chat, in order (each client sends one message at a time, first come first)."""
        for client in list(chat.clients):
            self._spawn(client.send(data))

    def _ended_by_agent(self, chat: Chat) -> None:
        async def bye(client: Client) -> None:
            await client.send({"type": "ended", "by": "agent", "message": "The support agent ended the conversation."})
            await client.close(1000)

        for client in list(chat.clients):
            self._spawn(bye(client))
        self._finish(chat, "resolved")

    def _spawn(self, job: Any) -> None:
        task = asyncio.get_running_loop().create_task(job)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _receive(self, ws: WebSocket) -> dict[str, Any]:
        """The next message as JSON; ClientError for one that is not (or too big)."""
        message = await ws.receive()
        if message["type"] == "websocket.disconnect":
            raise WebSocketDisconnect(message.get("code", 1000))
        raw = message.get("text")
        if raw is None:
            raw = message.get("bytes") or b""
        size = len(raw.encode() if isinstance(raw, str) else raw)
        if size > self.settings.max_frame_bytes:
            raise ClientError("too_large", f"a message may be at most {self.settings.max_frame_bytes} bytes",
                              CLOSE_TOO_BIG)
        try:
            data = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            raise ClientError("bad_message", "messages must be JSON objects") from None
        if not isinstance(data, dict):
            raise ClientError("bad_message", "messages must be JSON objects")
        return data

    async def _in_thread(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.executor, lambda: fn(*args, **kwargs))

    # ending chats --------------------------------------------------------------------------
    def _finish(self, chat: Chat, outcome: str = "abandoned") -> None:
        """The conversation is over (it ended itself, or nobody came back)."""
        if not chat.ended:
            chat.ended = True
            try:
                chat.conversation.end(outcome)
            except Exception:
                log.exception("could not end web chat %s", chat.conversation.id)
            if chat.watch is not None:
                chat.watch.ended(getattr(chat.conversation, "outcome", None) or outcome)
        if self.chats.get(chat.customer_id) is chat:
            del self.chats[chat.customer_id]

    def _start_reaper(self) -> None:
        if self._reaper is None or self._reaper.done():
            self._reaper = asyncio.get_running_loop().create_task(self._reap())

    async def _reap(self) -> None:
        while self.chats:
            await asyncio.sleep(min(30.0, max(1.0, self.settings.resume_s / 4)))
            self.reap()

    def reap(self, now: float | None = None) -> int:
        """End the chats nobody has come back to within ``resume_s`` (and idle ones); how many."""
        now = time.monotonic() if now is None else now
        s = self.settings
        gone = [c for c in self.chats.values()
                if (c.sockets <= 0 and now - c.last_active > s.resume_s) or now - c.last_active > s.idle_timeout_s]
        for chat in gone:
            self._finish(chat)
        return len(gone)

    async def close(self) -> None:
        if self._reaper is not None:
            self._reaper.cancel()
        for chat in list(self.chats.values()):
            self._finish(chat)
        self.executor.shutdown(wait=False, cancel_futures=True)


def _reply(reply: Reply) -> dict[str, Any]:
    return {
        "type": "reply",
        "text": reply.text,
        "intent": reply.intent,
        "actions": [{"device": a.device_name, "changes": a.changes, "outcome": a.outcome} for a in reply.actions],
        "escalated": reply.escalated,
        "ticket_id": reply.ticket_id,
        "end": reply.end_conversation,
        "language": reply.language,
    }
