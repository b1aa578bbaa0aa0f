"""``voicebot webchat``: the web chat served on its own by uvicorn, on a running voicebot runtime."""

from __future__ import annotations

import asyncio
import logging
import socket
from typing import Any

import uvicorn

from voicebot.webchat.app import WebChat
from voicebot.webchat.links import webchat_secret
from voicebot.webchat.settings import WebChatSettings

log = logging.getLogger(__name__)


def build_webchat(runtime: Any, settings: WebChatSettings | None = None) -> WebChat:
    """A web chat on a voicebot.runtime.Runtime: its dialogue (conversations continue the
    customer's thread there) and its store (customers, link revocations)."""
    s = settings or WebChatSettings()
    secret = webchat_secret(s.secret, runtime.settings.data_dir, s.secret_file)
    return WebChat(runtime.conversation, runtime.store, s, secret)


def base_url(settings: WebChatSettings, host: str, port: int) -> str:
    """Where customers open the chat: ``public_url``, else the listener's own address."""
    if settings.public_url:
        return settings.public_url
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}/"


class WebChatServer:
    """uvicorn serving a WebChat on HOST:PORT, in the running event loop. While it serves from
    the main thread, SIGINT and SIGTERM stop it (uvicorn's own handling)."""

    def __init__(self, chat: WebChat, host: str, port: int) -> None:
        self.chat = chat
        self.host, self.port = host, port
        config = uvicorn.Config(
            chat.app(), log_level="warning", lifespan="off",
            # Frames far over the app's own limit are refused by the protocol layer (close 1009)
            # before they are buffered; those just over it get the app's clear error.
            ws_max_size=4 * chat.settings.max_frame_bytes, ws_ping_interval=20.0, ws_ping_timeout=20.0,
            proxy_headers=False, server_header=False,
            timeout_graceful_shutdown=5,  # a stopping service does not wait on a stuck client for ever
        )
        self.server = uvicorn.Server(config)
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> tuple[str, int]:
        """Listen (an OSError names a busy or forbidden address) and serve in the background."""
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((self.host, self.port))
        except OSError as exc:
            sock.close()
            raise OSError(f"cannot listen on {self.host}:{self.port}: {exc.strerror}") from None
        self._task = asyncio.get_running_loop().create_task(self.server.serve(sockets=[sock]))
        while not self.server.started:
            if self._task.done():
                raise OSError("the web chat server stopped while starting")
            await asyncio.sleep(0.02)
        host, port = sock.getsockname()[:2]
        return str(host), int(port)

    async def wait(self) -> None:
        """Until the server stops (a signal, or close())."""
        if self._task is not None:
            await self._task

    async def close(self) -> None:
        self.server.should_exit = True
        if self._task is not None:
            await self._task
        await self.chat.close()
