"""An MQTT traffic tap: a real subscriber on '#' that keeps every message on the broker.

Scenarios check the traffic a conversation caused (``snapshot``); the demo also writes it to a
JSON-lines file (one object a line: seconds since the tap started, topic, payload, retain).

Waiting for messages in flight is done with a *barrier*, never a guessed sleep: the tap publishes
a marker on its own topic (through its own connection, and through each connection given as
``via``) and waits until the broker has routed every marker back to it. What that guarantees:

- every message the broker had received before the tap's marker, from any client, is in the tap:
  Mosquitto routes messages to one subscriber in the order it received them;
- every message published through a ``via`` connection before the barrier is in the tap: a
  client's packets reach the broker in the order it sent them (MQTT keeps one publisher's order).
  The marker is QoS 1 and goes last: a QoS 0 message may overtake QoS 1 ones (paho and Mosquitto
  hold QoS 1 messages beyond their in-flight window, not QoS 0), never the other way round;
- NOT covered: what another client publishes later in reaction to something (a device's state
  report after a command, a ticket the bot has not sent yet). Wait for that reaction itself
  (``DeviceBridge.wait_for``, ``tests/waiting.until``).

Markers go to ``voicebot/tap/<client id>/marker``, which no product component subscribes to; the
tap leaves them out of ``messages``, ``count`` and the file.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import TextIO

from device_bridge.client import Message, MqttConnection


class MqttTap:
    """Every MQTT message on the broker from the moment it is built until ``close``."""

    def __init__(self, broker_url: str, path: Path | None = None, client_id: str = "voicebot-tap") -> None:
        self.messages: list[tuple[str, str]] = []
        self.path = path
        self._count = 0
        self._lock = threading.Condition()
        self._markers_seen: set[str] = set()
        self._marker_ids = itertools.count(1)
        self._t0 = time.time()
        self._file: TextIO | None = path.open("w", encoding="utf-8") if path is not None else None
        self._conn = MqttConnection(broker_url, client_id=f"{client_id}-{time.monotonic_ns()}")
        self._marker_topic = f"voicebot/tap/{self._conn.client_id}/marker"
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
            if msg.topic == self._marker_topic:
                self._markers_seen.add(msg.text)
                self._lock.notify_all()
                return
            self._count += 1
            self.messages.append((msg.topic, msg.text))
            if self._file is not None:
                record = {"t": round((msg.received_at or time.time()) - self._t0, 3), "topic": msg.topic,
                          "payload": msg.text, "retain": msg.retain}
                self._file.write(json.dumps(record) + "\n")

    def barrier(self, via: Iterable[MqttConnection] = (), timeout: float = 5.0) -> bool:
        """Wait until the messages in flight have reached the tap (see the module docstring for
        which ones). False if a marker did not come back within ``timeout`` (broker away)."""
        markers: list[str] = []
        for conn in (self._conn, *via):
            marker = f"{self._conn.client_id}:{next(self._marker_ids)}"
            conn.publish(self._marker_topic, marker, qos=1, deadline_s=timeout)
            markers.append(marker)
        with self._lock:
            arrived = self._lock.wait_for(lambda: all(m in self._markers_seen for m in markers), timeout)
            self._markers_seen.difference_update(markers)
        return arrived

    def clear(self, via: Iterable[MqttConnection] = ()) -> None:
        """Forget the messages so far, including those still in flight (``barrier``), so that the
        next snapshot holds only what came after."""
        self.barrier(via)
        with self._lock:
            self.messages.clear()

    def snapshot(self, via: Iterable[MqttConnection] = (), settle: bool = True) -> list[tuple[str, str]]:
        """The messages so far; with ``settle``, after a ``barrier`` so that those in flight are in."""
        if settle:
            self.barrier(via)
        with self._lock:
            return list(self.messages)

    def close(self) -> None:
        self._conn.stop()
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None
