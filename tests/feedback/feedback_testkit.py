"""Helpers for the feedback tests: clip encoding, a device speaking the wire protocol, workers."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import queue
import threading
import time
from typing import Any

import numpy as np
import paho.mqtt.client as paho
import soundfile as sf
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from device_bridge.broker import MosquittoBroker

PREFIX = "voicebot/feedback"

# What the synthesized customers say (Piper, en_US joe). Names and numbers test the redaction.
SPOKEN = {
    "burning": "My thermostat is broken and I smell burning. I am returning it.",
    "happy": "I love the new speaker, the sound is great and setup was easy. Thank you!",
    "offline": "The smart plug keeps disconnecting from the wifi every day. It is so frustrating.",
    "confused": "I don't understand how to set a schedule in the app. The instructions are confusing.",
    "personal": "Hi, my name is Sarah Johnson. Please call me back on 555 867 5309. My front door lock is not working.",
    "update": "Since the update the lights are slow and the app crashes all the time.",
}


def encode(pcm: np.ndarray, rate: int, fmt: str = "WAV", subtype: str = "PCM_16") -> bytes:
    buf = io.BytesIO()
    sf.write(buf, pcm, rate, format=fmt, subtype=subtype)
    return buf.getvalue()


class Device:
    """An in-home device: publishes clips the way docs/feedback.md tells device makers to,
    and collects the acknowledgements from its reply topic."""

    def __init__(self, broker: MosquittoBroker, name: str = "device-tester") -> None:
        self.acks: queue.Queue[dict[str, Any]] = queue.Queue()
        self.all_acks: list[dict[str, Any]] = []
        self.other: queue.Queue[tuple[str, bytes]] = queue.Queue()
        self.client = paho.Client(CallbackAPIVersion.VERSION2, client_id=name, protocol=paho.MQTTv5)
        self.client.on_message = self._on_message
        self.client.connect(broker.host, broker.port)
        self.client.loop_start()
        done = threading.Event()
        self.client.on_subscribe = lambda *a: done.set()
        self.client.subscribe(f"{PREFIX}/+/ack", qos=1)
        assert done.wait(5)

    def _on_message(self, client: paho.Client, userdata: object, msg: paho.MQTTMessage) -> None:
        if msg.topic.endswith("/ack"):
            ack = json.loads(msg.payload)
            self.all_acks.append(ack)
            self.acks.put(ack)
        else:
            self.other.put((msg.topic, bytes(msg.payload)))

    def listen(self, topic: str) -> None:
        done = threading.Event()
        self.client.on_subscribe = lambda *a: done.set()
        self.client.subscribe(topic, qos=1)
        assert done.wait(5)

    def publish(self, topic: str, payload: bytes | str, props: Properties | None = None) -> None:
        info = self.client.publish(topic, payload, qos=1, properties=props)
        info.wait_for_publish(5)

    def send_clip(self, device_id: str, clip_id: str, audio: bytes, **meta: Any) -> None:
        body = {"clip_id": clip_id, "model": "T100", "firmware": "1.0.0", **meta}
        body["audio"] = base64.b64encode(audio).decode()
        self.publish(f"{PREFIX}/{device_id}/clip", json.dumps(body))

    def send_raw(self, device_id: str, clip_id: str, audio: bytes, **meta: str) -> None:
        props = Properties(PacketTypes.PUBLISH)
        props.UserProperty = [("clip_id", clip_id), ("model", "T100"), ("firmware", "1.0.0"), *meta.items()]
        self.publish(f"{PREFIX}/{device_id}/clip", audio, props)

    def stream(
        self,
        device_id: str,
        clip_id: str,
        audio: bytes,
        chunk: int = 16000,
        order: list[int] | None = None,
        skip: set[int] | None = None,
        start: bool = True,
        **meta: Any,
    ) -> list[bytes]:
        parts = [audio[i : i + chunk] for i in range(0, len(audio), chunk)]
        base = f"{PREFIX}/{device_id}/clip/{clip_id}"
        if start:
            self.publish(f"{base}/start", json.dumps({"model": "S200", "firmware": "2.1", "bytes": len(audio), **meta}))
        for i in order if order is not None else range(len(parts)):
            if i not in (skip or set()):
                self.publish(f"{base}/chunk/{i}", parts[i])
        self.end(device_id, clip_id, audio, len(parts))
        return parts

    def end(self, device_id: str, clip_id: str, audio: bytes, count: int) -> None:
        body = {"chunks": count, "bytes": len(audio), "sha256": hashlib.sha256(audio).hexdigest()}
        self.publish(f"{PREFIX}/{device_id}/clip/{clip_id}/end", json.dumps(body))

    def ack_for(self, clip_id: str, timeout: float = 30.0, status: str | None = None) -> dict[str, Any]:
        """The next ack for ``clip_id`` (optionally with ``status``), skipping others."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no ack for clip {clip_id} within {timeout} s; got {self.all_acks}")
            try:
                ack = self.acks.get(timeout=left)
            except queue.Empty:
                continue
            if ack.get("clip_id") == clip_id and (status is None or ack.get("status") == status):
                return ack

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


class RunningWorker:
    """An in-process feedback worker (the same code `voicebot feedback` runs)."""

    def __init__(self, worker: Any) -> None:
        self.worker = worker
        self.stop_event = threading.Event()
        self.thread = threading.Thread(target=worker.run, args=(self.stop_event,), daemon=True)
        self.thread.start()
        assert worker.channel.wait_connected(10), "worker did not connect"

    @property
    def store(self) -> Any:
        return self.worker.store

    def stop(self) -> None:
        self.stop_event.set()
        self.thread.join(30)


