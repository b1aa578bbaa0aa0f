"""The device side of the feedback protocol, as a reference for device makers and for
`voicebot feedback-send`: publish a clip whole or streamed, wait for the acknowledgement,
resend chunks the worker reports missing, and retry with the same clip id when no answer comes.
"""

from __future__ import annotations

import base64
import hashlib
import json
import queue
import threading
import time
import uuid
from typing import Any

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

from device_bridge.client import parse_url

FINAL = ("stored", "duplicate")


class SendError(RuntimeError):
    """No usable answer: the message says why."""


class FeedbackSender:
    def __init__(self, broker_url: str, device_id: str, prefix: str = "voicebot/feedback") -> None:
        scheme, host, port, user, password = parse_url(broker_url)
        self.device_id = device_id
        self.prefix = prefix
        self._acks: queue.Queue[dict[str, Any]] = queue.Queue()
        self._ready = threading.Event()
        self.client = paho.Client(
            CallbackAPIVersion.VERSION2, client_id=f"feedback-send-{uuid.uuid4().hex[:8]}", protocol=paho.MQTTv5
        )
        if user:
            self.client.username_pw_set(user, password)
        if scheme == "mqtts":
            self.client.tls_set()
        self.client.on_message = lambda c, u, m: self._acks.put(json.loads(m.payload))
        self.client.on_subscribe = lambda *a: self._ready.set()
        try:
            self.client.connect(host, port)
        except OSError as exc:
            raise SendError(f"cannot reach the broker at {host}:{port}: {exc}") from exc
        self.client.loop_start()
        self.client.subscribe(f"{prefix}/{device_id}/ack", qos=1)
        if not self._ready.wait(10):
            raise SendError("the broker did not confirm the subscription to the ack topic")

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()

    def __enter__(self) -> FeedbackSender:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _publish(self, topic: str, payload: bytes | str) -> None:
        self.client.publish(topic, payload, qos=1).wait_for_publish(30)

    def send(
        self,
        audio: bytes,
        model: str,
        firmware: str,
        clip_id: str | None = None,
        locale: str | None = None,
        recorded_at: float | None = None,
        stream: bool = False,
        chunk_size: int = 32 * 1024,
        timeout: float = 60.0,
        attempts: int = 3,
    ) -> dict[str, Any]:
        """Deliver one clip; returns the final ack (``stored`` or ``duplicate``), raises
        SendError with the worker's error, or when no answer came after ``attempts`` tries."""
        clip_id = clip_id or hashlib.sha256(audio).hexdigest()[:16]
        meta = {"model": model, "firmware": firmware, "locale": locale, "time": recorded_at or time.time()}
        meta = {k: v for k, v in meta.items() if v is not None}
        parts = [audio[i : i + chunk_size] for i in range(0, len(audio), chunk_size)] or [b""]
        base = f"{self.prefix}/{self.device_id}/clip"
        for _ in range(attempts):
            if stream:
                self._publish(f"{base}/{clip_id}/start", json.dumps({**meta, "bytes": len(audio)}))
                for i, part in enumerate(parts):
                    self._publish(f"{base}/{clip_id}/chunk/{i}", part)
                self._end(clip_id, audio, len(parts))
            else:
                body = {"clip_id": clip_id, **meta, "audio": base64.b64encode(audio).decode()}
                self._publish(base, json.dumps(body))
            deadline = time.monotonic() + timeout
            while (left := deadline - time.monotonic()) > 0:
                try:
                    ack = self._acks.get(timeout=left)
                except queue.Empty:
                    break
                if ack.get("clip_id") != clip_id:
                    continue
                if ack["status"] in FINAL:
                    return ack
                if ack["status"] == "in_progress":
                    deadline = time.monotonic() + timeout  # another worker has it: wait for its answer
                elif ack.get("error") == "missing_chunks" and stream:
                    for i in ack.get("missing", []):
                        if 0 <= i < len(parts):
                            self._publish(f"{base}/{clip_id}/chunk/{i}", parts[i])
                    self._end(clip_id, audio, len(parts))
                elif ack.get("error") == "internal":
                    break  # worth another attempt
                else:
                    raise SendError(f"{ack.get('error')}: {ack.get('message')}")
        raise SendError(f"no acknowledgement for clip {clip_id} after {attempts} attempts of {timeout:.0f} s")

    def _end(self, clip_id: str, audio: bytes, count: int) -> None:
        body = {"chunks": count, "bytes": len(audio), "sha256": hashlib.sha256(audio).hexdigest()}
        self._publish(f"{self.prefix}/{self.device_id}/clip/{clip_id}/end", json.dumps(body))
