"""The web chat as its tests reach it: served by uvicorn on a free loopback port in the test's
event loop, and a customer's side of the WebSocket (the ``websockets`` client)."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

from websockets.asyncio.client import ClientConnection, connect

from voicebot.runtime import Runtime
from voicebot.webchat.app import WebChat
from voicebot.webchat.server import WebChatServer
from voicebot.webchat.settings import WebChatSettings

SECRET = "webchat-test-secret-0123456789"
# Short limits, so the hostile-client tests reach them with little traffic (the hello wait is
# short, not so short that a client starved for a moment on a busy machine is taken for a silent one).
TEST_SETTINGS = WebChatSettings(hello_timeout_s=3.0, max_message_chars=200, max_frame_bytes=2048,
                                messages_per_minute=60, burst=3, max_flood_errors=4)


@contextlib.asynccontextmanager
async def serving(rt: Runtime, settings: WebChatSettings = TEST_SETTINGS,
                  store: Any = None) -> AsyncIterator[tuple[WebChat, str]]:
    """The web chat on a free loopback port (on ``store``, default the runtime's); yields it and its ws:// address."""
    chat = WebChat(rt.conversation, store if store is not None else rt.store, settings, SECRET)
    server = WebChatServer(chat, "127.0.0.1", 0)
    host, port = await server.start()
    try:
        yield chat, f"ws://{host}:{port}/ws"
    finally:
        await server.close()


def token_of(link: str) -> str:
    return link.split("#t=", 1)[1]


async def receive(ws: ClientConnection, timeout: float = 20.0) -> dict[str, Any]:
    return dict(json.loads(await asyncio.wait_for(ws.recv(), timeout)))


@contextlib.asynccontextmanager
async def signed_in(chat: WebChat, url: str, customer_id: str) -> AsyncIterator[tuple[ClientConnection, dict[str, Any], dict[str, Any]]]:
    """A customer's chat opened with a fresh link: yields the socket, "ready" and the greeting."""
    token = token_of(chat.link(customer_id, "http://chat.example"))
    async with connect(url, max_size=None) as ws:
        await ws.send(json.dumps({"type": "hello", "token": token}))
        ready = await receive(ws)
        assert ready["type"] == "ready", ready
        greeting = await receive(ws) if not ready["history"] else {}  # a chat never greeted is greeted now
        yield ws, ready, greeting


async def say(ws: ClientConnection, text: str) -> dict[str, Any]:
    await ws.send(json.dumps({"type": "message", "text": text}))
    return await receive(ws)
