"""An MQTT traffic tap: a real subscriber on '#' that keeps every message on the broker.

Scenarios check the traffic a conversation caused (``snapshot``); the demo also writes it to a
JSON-lines file (one object a line: seconds since the tap started, topic, payload, retain).
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import TextIO

from device_bridge.client import Message, MqttConnection


class MqttTap:
    """Every MQTT message on the broker from the moment it is built until ``close``."""

    def __init__(self, broker_url: str, path: Path | None = None, client_id: str = "voicebot-tap") -> None:
        self.messages: list[tuple[str, str]] = []
        self.path = path
        self._count = 0
        self._lock = threading.Lock()
        self._t0 = time.time()
        self._file: TextIO | None = path.open("w", encoding="utf-8") if path is not None else None
        self._conn = MqttConnection(broker_url, client_id=f"{client_id}-{time.monotonic_ns()}")
        if not self._conn.start(wait=5.0):
            self._conn.stop()
            if self._file is not None:
                self._file.close()
            raise RuntimeError(f"the MQTT tap cannot connect to {broker_url}")
        self._conn.subscribe("#", self._on_message, wait=5.0)

    @property
    def count(self) -> int:
        """Messages seen since the tap started (``clear`` does not reset it)."""
        with self._lock:
            return self._count

    def _on_message(self, msg: Message) -> None:
        with self._lock:
            self._count += 1
            self.messages.append((msg.topic, msg.text))
            if self._file is not None:
                record = {"t": round((msg.received_at or time.time()) - self._t0, 3), "topic": msg.topic,
                          "payload": msg.text, "retain": msg.retain}
                self._file.write(json.dumps(record) + "\n")

    def clear(self) -> None:
        time.sleep(0.05)  # let messages still in flight from the previous scenario land first
        with self._lock:
            self.messages.clear()

    def snapshot(self, wait: float = 0.1) -> list[tuple[str, str]]:
        """The messages so far (after ``wait`` seconds for those in flight)."""
        if wait:
            time.sleep(wait)
        with self._lock:
            return list(self.messages)

    def close(self) -> None:
        self._conn.stop()
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None
