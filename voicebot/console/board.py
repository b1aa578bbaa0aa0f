"""The console's view of live conversations: every snapshot published under ``console.live_topic``
(voicebot.live), and the commands an agent sends back to a conversation."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from typing import Any

from voicebot.live import LiveControl, LiveSnapshot, control_topic

log = logging.getLogger(__name__)


class Changes:
    """A version number that waiters on an asyncio loop can wait to move; bumped from any thread."""

    def __init__(self) -> None:
        self.version = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._event: asyncio.Event | None = None

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._event = asyncio.Event()

    def bump(self) -> None:
        self.version += 1
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._wake)

    def _wake(self) -> None:
        if self._event is not None:
            self._event.set()
            self._event = asyncio.Event()

    async def wait(self, after: int, timeout: float) -> int:
        """The version once it is past ``after``, or as it is after ``timeout`` seconds."""
        end = time.monotonic() + timeout
        while self.version <= after:
            event = self._event
            left = end - time.monotonic()
            if event is None or left <= 0:
                break
            try:
                await asyncio.wait_for(event.wait(), left)
            except TimeoutError:
                break
        return self.version


class LiveBoard:
    """Snapshots from the broker (``conn``: a device_bridge.client.MqttConnection)."""

    def __init__(self, conn: Any, prefix: str, stale_s: float = 1800.0, ended_kept_s: float = 600.0) -> None:
        self.conn, self.prefix, self.stale_s, self.ended_kept_s = conn, prefix.rstrip("/"), stale_s, ended_kept_s
        self.changes = Changes()
        self._snapshots: dict[str, LiveSnapshot] = {}
        self._lock = threading.Lock()
        self._sub: Any = None

    def start(self, wait: float = 5.0) -> LiveBoard:
        self._sub = self.conn.subscribe(f"{self.prefix}/+/state", self._on_state, qos=1, wait=wait)
        return self

    def stop(self) -> None:
        if self._sub is not None:
            self.conn.unsubscribe(self._sub)

    def _on_state(self, message: Any) -> None:
        if not message.payload:
            return  # the retained copy was cleared after the conversation ended
        try:
            snap = LiveSnapshot.from_json(message.payload)
        except ValueError as exc:
            log.warning("ignored a live message on %s: %s", message.topic, exc)
            return
        with self._lock:
            have = self._snapshots.get(snap.conversation_id)
            if have is not None and have.updated_at > snap.updated_at:
                return  # an older copy arriving late
            self._snapshots[snap.conversation_id] = snap
        self.changes.bump()

    def conversations(self) -> list[LiveSnapshot]:
        """Under way first (newest first), then those that ended recently."""
        now = time.time()
        with self._lock:
            for cid, s in list(self._snapshots.items()):
                if (s.ended_at is not None and now - s.ended_at > self.ended_kept_s) or now - s.updated_at > self.stale_s:
                    del self._snapshots[cid]
            snaps = list(self._snapshots.values())
        return sorted(snaps, key=lambda s: (s.ended_at is not None, -s.started_at))

    def get(self, conversation_id: str) -> LiveSnapshot | None:
        with self._lock:
            return self._snapshots.get(conversation_id)

    def send(self, conversation_id: str, control: LiveControl) -> None:
        self.conn.publish(control_topic(self.prefix, conversation_id), control.to_json(), qos=1)
