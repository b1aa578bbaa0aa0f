"""Feedback clips over MQTT: one worker's connection to the broker.

Several workers split the clips through an MQTT 5 shared subscription
(``$share/<group>/<prefix>/+/clip/#``). Nothing is lost when a worker dies because:

- a message is acknowledged to the broker (PUBACK, paho's manual ack) only after the clip or
  chunk is in the store and the device's ack is published; until then the broker owns it;
- each worker has a stable client id and a persistent session (clean start off, session
  expiry ``feedback.session_expiry_s``), so when a killed worker comes back (systemd restarts
  it) the broker hands it again what it had not acknowledged, and what was queued for it;
- a device that gets no ack retries the clip with the same clip id; retries are recognised by
  clip id and by content hash, so a clip is stored once however often it arrives.

paho is used directly rather than device_bridge's MqttConnection because this needs manual
acknowledgement, persistent sessions and the receive-maximum limit, which are specific to it.
"""

from __future__ import annotations

import logging
import os
import queue
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from device_bridge.client import parse_url
from voicebot.feedback.ingest import FeedbackIngest, Incoming
from voicebot.feedback.messages import Ack, ack_topic

log = logging.getLogger(__name__)


@dataclass
class _Job:
    incoming: Incoming
    mid: int
    qos: int
    response_topic: str | None
    correlation: bytes | None


class FeedbackChannel:
    """Receives clips for one worker, hands them to ``ingest`` and answers the devices."""

    def __init__(
        self,
        broker_url: str,
        ingest: FeedbackIngest,
        worker_id: str | None,
        username: str | None = None,
        password: str | None = None,
        ca_file: str | None = None,
        cert_file: str | None = None,
        key_file: str | None = None,
    ) -> None:
        scheme, self.host, self.port, url_user, url_password = parse_url(broker_url)
        self.ingest = ingest
        self.fs = ingest.fs
        # A stable worker id gets a persistent session: restarted under the same id, the worker
        # receives what it had not acknowledged. Without one, a clean session leaves no orphan
        # queue behind (an abandoned session would keep receiving its share of clips).
        self.persistent = worker_id is not None
        self.worker_id = worker_id or f"voicebot-feedback-{socket.gethostname()}-{os.getpid()}"
        self.topic_filter = f"$share/{self.fs.share_group}/{self.fs.topic_prefix}/+/clip/#"
        self._quick: queue.Queue[_Job | None] = queue.Queue()
        self._slow: queue.Queue[_Job | None] = queue.Queue()
        self._connected = threading.Event()
        self._stopping = threading.Event()
        self._unsubscribed = threading.Event()
        self._threads: list[threading.Thread] = []
        self.on_ack: Callable[[Ack, float], None] | None = None  # (ack, seconds since arrival): metrics
        self._busy_since: dict[str, float] = {}  # device -> when it was last told "busy" (while overloaded)

        self.client = paho.Client(
            CallbackAPIVersion.VERSION2, client_id=self.worker_id, protocol=paho.MQTTv5, manual_ack=True
        )
        user, password_ = username or url_user, password or url_password
        if user:
            self.client.username_pw_set(user, password_)
        if scheme == "mqtts":
            self.client.tls_set(ca_certs=ca_file, certfile=cert_file, keyfile=key_file)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = self._on_message
        self.client.on_unsubscribe = lambda *a: self._unsubscribed.set()
        self.client.on_subscribe = self._on_subscribe
        self._subscribe_mid = -1
        self.client.reconnect_delay_set(0.2, 5)

    # lifecycle -------------------------------------------------------------------------
    def start(self, wait: float = 10.0) -> None:
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = self.fs.session_expiry_s if self.persistent else 0
        props.ReceiveMaximum = self.fs.receive_maximum
        self.client.connect_async(
            self.host, self.port, keepalive=30, clean_start=not self.persistent, properties=props
        )
        self.client.loop_start()
        for name, q in (("quick", self._quick), ("slow", self._slow)):
            t = threading.Thread(target=self._work, args=(q,), name=f"feedback-{name}", daemon=True)
            t.start()
            self._threads.append(t)
        if not self._connected.wait(wait):
            log.warning("feedback worker %s: broker %s:%s not reachable yet; retrying", self.worker_id, self.host, self.port)

    def stop(self) -> None:
        """Leave the share (new clips go to the other workers), finish what was already handed
        to this worker, then disconnect."""
        self._stopping.set()
        if self._connected.is_set():
            self.client.unsubscribe(self.topic_filter)
            self._unsubscribed.wait(5)
        for q in (self._quick, self._slow):
            q.put(None)  # after the queued jobs, so they are drained first
        for t in self._threads:
            t.join(timeout=300)
        self.client.disconnect()
        self.client.loop_stop()

    @property
    def connected(self) -> bool:
        """Connected and subscribed."""
        return self._connected.is_set()

    def wait_connected(self, timeout: float) -> bool:
        return self._connected.wait(timeout)

    # paho callbacks (network thread) ---------------------------------------------------
    def _on_connect(self, client: paho.Client, userdata: object, flags: object, reason: object, props: object) -> None:
        if getattr(reason, "is_failure", False):
            log.error("feedback worker %s: broker refused the connection: %s", self.worker_id, reason)
            return
        # Subscribing again on a resumed session is harmless and covers a broker that lost it.
        if not self._stopping.is_set():
            _, self._subscribe_mid = client.subscribe(self.topic_filter, qos=1)

    def _on_subscribe(self, client: paho.Client, userdata: object, mid: int, reasons: list[Any], props: object) -> None:
        # Ready only once the broker confirmed the subscription: a clip published earlier
        # would find no subscriber.
        if mid != self._subscribe_mid:
            return
        if any(getattr(r, "is_failure", False) for r in reasons):
            log.error("feedback worker %s: the broker refused %s: %s", self.worker_id, self.topic_filter, reasons)
            return
        self._connected.set()
        log.info("feedback worker %s connected, subscribed to %s", self.worker_id, self.topic_filter)

    def _on_disconnect(self, client: paho.Client, userdata: object, flags: object, reason: object, props: object) -> None:
        self._connected.clear()
        if not self._stopping.is_set():
            log.warning("feedback worker %s lost the broker (%s); reconnecting", self.worker_id, reason)

    def _on_message(self, client: paho.Client, userdata: object, msg: paho.MQTTMessage) -> None:
        props = getattr(msg, "properties", None)
        user_props = dict(getattr(props, "UserProperty", []) or [])
        job = _Job(
            Incoming(msg.topic, bytes(msg.payload), {str(k): str(v) for k, v in user_props.items()}),
            msg.mid,
            msg.qos,
            getattr(props, "ResponseTopic", None),
            getattr(props, "CorrelationData", None),
        )
        # Bounded: the broker holds back QoS 1 messages beyond receive_maximum, but not QoS 0 ones
        # (nor does every broker honour it), so a flood would otherwise grow this worker's memory.
        waiting = self._quick.qsize() + self._slow.qsize()
        if waiting >= self.fs.max_queued_jobs + (self.fs.receive_maximum if msg.qos > 0 else 0):
            self._refuse_busy(job)
            return
        if self._busy_since and waiting < self.fs.max_queued_jobs // 2:
            self._busy_since.clear()
            log.info("feedback worker %s: taking messages again", self.worker_id)
        (self._quick if job.incoming.quick else self._slow).put(job)

    def _refuse_busy(self, job: _Job) -> None:
        """Tell the device to retry later (at most once a second per device: a flood gets no flood of
        replies) and take the message off the broker's hands; never blocks the network thread."""
        ack = self.ingest.busy(job.incoming)
        now = time.monotonic()
        if not self._busy_since:
            log.warning("feedback worker %s: %d messages wait already (feedback.max_queued_jobs); "
                        "refusing more with 'busy'", self.worker_id, self.fs.max_queued_jobs)
        if len(self._busy_since) > 10_000:
            self._busy_since.clear()
        if now - self._busy_since.get(ack.device_id, -1.0) >= 1.0:
            self._busy_since[ack.device_id] = now
            topic = job.response_topic or ack_topic(self.fs.topic_prefix, ack.device_id)
            props = Properties(PacketTypes.PUBLISH)
            if job.correlation is not None:
                props.CorrelationData = job.correlation
            try:
                self.client.publish(topic, ack.payload(), qos=0, properties=props)
            except ValueError:  # a device's unusable response topic
                log.warning("feedback worker %s: cannot answer on %r", self.worker_id, topic)
        if job.qos > 0:
            self.client.ack(job.mid, job.qos)

    # workers ---------------------------------------------------------------------------
    def _work(self, q: queue.Queue[_Job | None]) -> None:
        while (job := q.get()) is not None:
            try:
                ack = self.ingest.handle(job.incoming)
                if ack is not None:
                    self._reply(ack, job)
            except Exception:  # e.g. a device's unusable response topic: log it, keep serving
                log.exception("feedback worker %s: could not answer %s", self.worker_id, job.incoming.topic)
            # Only now may the broker forget the message.
            if job.qos > 0:
                self.client.ack(job.mid, job.qos)

    def _reply(self, ack: Ack, job: _Job) -> None:
        topic = job.response_topic or ack_topic(self.fs.topic_prefix, ack.device_id)
        props = Properties(PacketTypes.PUBLISH)
        if job.correlation is not None:
            props.CorrelationData = job.correlation
        info = self.client.publish(topic, ack.payload(), qos=1, properties=props)
        # Wait until the ack has left for the broker before the clip's message is acknowledged.
        deadline = time.monotonic() + 10
        while not info.is_published() and time.monotonic() < deadline and self._connected.is_set():
            time.sleep(0.005)
        if self.on_ack is not None:
            self.on_ack(ack, time.time() - job.incoming.received_at)

    def publish(self, topic: str, payload: bytes) -> None:
        """For follow-ups (proactive contact requests)."""
        self.client.publish(topic, payload, qos=1)
