"""What the console tests share: the running stack, HTTP calls with credentials, a test phone line."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from voicebot.frames import RATE, InFrame

PASSWORDS = {"alice": "alice-password-1", "bob": "bob-password-22"}


@dataclass
class ConsoleStack:
    url: str
    runtime: Any  # voicebot.runtime.Runtime: conversations that escalate and are live
    running: Any  # voicebot.console.server.RunningConsole
    store_path: Path

    @property
    def console(self) -> Any:
        return self.running.console

    def api(self, path: str, user: str | None = None, password: str | None = None) -> tuple[int, Any]:
        """GET ``path`` with HTTP Basic credentials (or none): (status, parsed JSON body)."""
        return get_json(self.url + path, user, password)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])



class TestLine:
    """A line to a customer: what the test makes the customer say is fed to the session as 30 ms
    frames (silence in between) at ``speed`` times real time; what the bot plays is kept, and
    counts as heard at the same pace. The far end cancels its own echo, as a phone does."""

    name = "phone"
    rate = RATE
    __test__ = False  # not a test class

    def __init__(self, speed: float = 1.0) -> None:
        self.speed = speed
        self._lock = threading.Lock()
        self._voice = np.zeros(0, np.int16)
        self._until = 0.0
        self.closed = False
        self.played: list[np.ndarray] = []

    def say(self, pcm: np.ndarray) -> None:
        with self._lock:
            self._voice = np.concatenate([self._voice, pcm.astype(np.int16)])

    def speaking(self) -> bool:
        with self._lock:
            return self._voice.size > 0

    async def frames(self) -> AsyncIterator[InFrame]:
        n = RATE * 30 // 1000
        due = time.monotonic()
        while not self.closed:
            with self._lock:
                chunk, self._voice = self._voice[:n], self._voice[n:]
            if chunk.size < n:
                chunk = np.concatenate([chunk, np.zeros(n - chunk.size, np.int16)])
            yield InFrame(chunk)
            due += 0.03 / self.speed
            await asyncio.sleep(max(0.0, due - time.monotonic()))

    async def play(self, pcm: np.ndarray) -> None:
        with self._lock:
            self.played.append(pcm)
            self._until = max(self._until, time.monotonic()) + pcm.size / RATE / self.speed

    def clear(self) -> None:
        with self._lock:
            self._until = 0.0

    def pending_s(self) -> float:
        return max(0.0, self._until - time.monotonic())

    def close(self) -> None:
        self.closed = True


@contextlib.contextmanager
def served(app: Any) -> Iterator[str]:
    """An ASGI app served by uvicorn on a free loopback port in a thread; yields its http:// address."""
    import uvicorn

    from tests.waiting import until

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                           timeout_graceful_shutdown=1, lifespan="on"))
    thread = threading.Thread(target=server.run, name=f"console-{port}", daemon=True)
    thread.start()
    assert until(lambda: server.started or not thread.is_alive(), timeout=20) and server.started, "not started"
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def get_json(url: str, user: str | None = None, password: str | None = None) -> tuple[int, Any]:
    """GET ``url`` with HTTP Basic credentials (or none): (status, parsed JSON body)."""
    request = urllib.request.Request(url)
    if user is not None:
        token = base64.b64encode(f"{user}:{password}".encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
    try:
        with urllib.request.urlopen(request, timeout=20) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")


def post_json(url: str, body: Any, user: str, password: str) -> tuple[int, Any]:
    """POST ``body`` as JSON with HTTP Basic credentials: (status, parsed JSON body)."""
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                     headers={"Authorization": f"Basic {token}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=20) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")
