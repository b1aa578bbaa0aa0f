"""One MQTT connection, shared by everything in voicebot that talks to a broker.

``MqttConnection`` wraps a paho-mqtt 2 client and adds what the assistant needs on
top of it::

    conn = MqttConnection("mqtts://broker.example:8883", username="bot", password="...",
                          ca_file="/etc/ssl/ca.pem", will=Message("voicebot/status", "offline", retain=True),
                          birth=Message("voicebot/status", "online", retain=True))
    conn.start(wait=5.0)                  # connects in the background; True once connected
    sub = conn.subscribe("zigbee2mqtt/+", on_message, qos=1)   # callback(Message)
    delivery = conn.publish("zigbee2mqtt/lamp/set", '{"state": "ON"}', qos=1, deadline_s=3.0)
    delivery.wait(3.0)                    # -> "sent" | "expired" | "queued" (still waiting)
    conn.unsubscribe(sub); conn.stop()

- URLs: ``mqtt://host[:1883]`` and ``mqtts://host[:8883]``; credentials may also sit in
  the URL (``mqtt://user:pass@host``). TLS uses the system CAs unless ``ca_file`` is
  given; ``cert_file``/``key_file`` add a client certificate.
- Protocol: MQTT 5 first; if the broker refuses it (amqtt, old Mosquitto) the
  connection falls back to 3.1.1 and stays there. ``protocol`` reports which.
- Reconnects by itself with exponential backoff (``reconnect_min_s`` doubling up to
  ``reconnect_max_s``), subscribes again to every filter, and republishes the birth
  message. The last will is published by the broker if the connection dies.
- Publishing while the broker is away: the message is queued; it is sent on
  reconnection unless its deadline (``deadline_s``) has passed first, in which case
  the delivery ends as "expired". Nothing is dropped without the caller being able to
  see it. Without a deadline a message waits until ``stop()``, which expires it.
- QoS 1/2 messages the broker has not acknowledged (the link died with them in flight, or
  before the client noticed) stay in paho's outbox and are sent again on reconnect, also
  with a clean session; ``Delivery.acknowledged`` tells when the broker has taken one, and
  ``unacknowledged()`` lists those still in flight. ``stop()`` waits a second for them and
  logs any the broker never took. Use QoS 1 for anything that must not be lost (tickets).
- Callbacks (messages and connection changes, in the order they happened) run on the
  connection's own dispatch thread, never on paho's network thread: a slow handler (a
  discovery template, a big registry update) delays later messages but never the
  socket, keepalive or ``stop()``. At most ``max_backlog`` received messages wait for
  their handlers; beyond that new ones are dropped and logged. Exceptions in callbacks
  are logged with the topic and swallowed, so one bad handler cannot stop the connection.
- Subscriptions with an exact topic are looked up in a dict; filters with wildcards sit
  in a tree of topic levels, so a message costs a walk of its own levels whatever the
  number of filters (a simulator of 5,000 devices holds thousands of wildcards).
"""

from __future__ import annotations

import collections
import contextlib
import itertools
import logging
import queue
import re
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import unquote, urlparse

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

log = logging.getLogger(__name__)


@dataclass
class Message:
    """A message received or to be sent. ``payload`` is bytes when received."""

    topic: str
    payload: bytes | str = b""
    qos: int = 1
    retain: bool = False
    received_at: float = 0.0  # wall-clock seconds, set on receipt

    @property
    def text(self) -> str:
        p = self.payload
        return p.decode("utf-8", errors="replace") if isinstance(p, bytes) else p


class Delivery:
    """The account of one publish: "queued" until it reaches the client's socket
    ("sent"), or "expired" when the broker stayed away past its deadline."""

    def __init__(self, message: Message, deadline: float | None) -> None:
        self.message = message
        self.deadline = deadline  # monotonic seconds, or None
        self.status = "queued"
        self.queued_at = time.monotonic()
        self._done = threading.Event()
        self._info: paho.MQTTMessageInfo | None = None  # paho's account of the PUBLISH, once handed over

    @property
    def acknowledged(self) -> bool:
        """The broker has taken the message (PUBACK/PUBCOMP for QoS 1/2; written for QoS 0)."""
        if self.message.qos == 0:
            return self.status == "sent"
        if self._info is None:
            return False
        try:
            return self._info.is_published()
        except (RuntimeError, ValueError):
            # paho keeps the error code of the moment it was handed over (not connected then) and
            # raises on it ever after, although it queued the message and may have had its PUBACK
            # since: read paho's own flag instead (a broker restart made bridge.stop() raise here)
            return bool(getattr(self._info, "_published", False))

    def _finish(self, status: str) -> None:
        if not self._done.is_set():
            self.status = status
            self._done.set()

    def wait(self, timeout: float | None = None) -> str:
        self._done.wait(timeout)
        return self.status

    @property
    def done(self) -> bool:
        return self._done.is_set()


@dataclass
class Subscription:
    topic_filter: str
    callback: Callable[[Message], None]
    qos: int = 1
    id: int = field(default=0)


class ConnectionSettingsError(ValueError):
    """The broker URL or TLS options are unusable."""


def parse_url(url: str) -> tuple[str, str, int, str | None, str | None]:
    """(scheme, host, port, username, password) from mqtt:// or mqtts://."""
    shown = safe_url(url)
    if "://" not in url:
        raise ConnectionSettingsError(f"broker URL {shown!r} is not a URL: write mqtt://HOST[:PORT] (mqtts:// for TLS)")
    u = urlparse(url)
    if u.scheme not in ("mqtt", "mqtts", "tcp", "ssl"):
        raise ConnectionSettingsError(f"broker URL must start with mqtt:// or mqtts://, not {shown!r}")
    scheme = "mqtts" if u.scheme in ("mqtts", "ssl") else "mqtt"
    if not u.hostname:
        raise ConnectionSettingsError(f"broker URL {shown!r} names no host")
    try:
        port = u.port or (8883 if scheme == "mqtts" else 1883)
    except ValueError:
        raise ConnectionSettingsError(f"broker URL {shown!r} has an invalid port (1-65535)") from None
    user = unquote(u.username) if u.username else None
    password = unquote(u.password) if u.password else None
    return scheme, u.hostname, port, user, password


def safe_url(url: str) -> str:
    """The URL with any password replaced, for messages and logs."""
    return re.sub(r"(://[^:/@]*:)[^@/]*@", r"\1***@", url)


class MqttConnection:
    """See the module docstring for the whole API."""

    _ids = itertools.count(1)

    def __init__(
        self,
        url: str,
        *,
        client_id: str | None = None,
        username: str | None = None,
        password: str | None = None,
        ca_file: str | None = None,
        cert_file: str | None = None,
        key_file: str | None = None,
        tls_insecure: bool = False,
        protocol: str = "auto",  # auto | 5 | 3.1.1
        keepalive: int = 30,
        will: Message | None = None,
        birth: Message | None = None,
        reconnect_min_s: float = 0.1,
        reconnect_max_s: float = 5.0,
        max_payload: int = 4 * 1024 * 1024,
        max_backlog: int = 200_000,
    ) -> None:
        self.scheme, self.host, self.port, url_user, url_pass = parse_url(url)
        self.url = url
        self.client_id = client_id or f"voicebot-{next(self._ids)}-{int(time.time() * 1000) % 10**8}"
        self.username = username or url_user
        self.password = password or url_pass
        self.ca_file, self.cert_file, self.key_file = ca_file, cert_file, key_file
        self.tls_insecure = tls_insecure
        if protocol not in ("auto", "5", "3.1.1"):
            raise ConnectionSettingsError("protocol must be auto, 5 or 3.1.1")
        self._protocol_choice = protocol
        self.protocol = "3.1.1" if protocol == "3.1.1" else "5"
        self.keepalive = keepalive
        self.will, self.birth = will, birth
        self.reconnect_min_s, self.reconnect_max_s = reconnect_min_s, reconnect_max_s
        self.max_payload = max_payload
        self.max_backlog = max_backlog
        self._inbox: queue.Queue[tuple[str, object] | None] = queue.Queue()
        # the priority lane: messages on topics someone waits for (a command's confirmation)
        # pass the retained backlog of a big home; see prioritize()
        self._urgent: collections.deque[Message] = collections.deque()
        self._hot: dict[str, int] = {}  # topic -> callers waiting on it
        # messages waiting in the ordinary lane, by topic; _inbox holds one ("message", topic) token
        # for each, and a token whose topic has nothing left (moved to the priority lane) is skipped
        self._waiting: dict[str, collections.deque[Message]] = {}
        self._lane_lock = threading.Lock()
        self._dispatcher: threading.Thread | None = None
        self._dropping = False
        self.messages_dropped = 0

        self._lock = threading.RLock()
        self._exact: dict[str, list[Subscription]] = {}
        self._wild = _FilterTree()
        self._sub_ids = itertools.count(1)
        self._pending: list[Delivery] = []
        # QoS 1/2 messages handed to paho and not yet acknowledged by the broker: paho resends
        # them itself on reconnect; a new paho client (protocol fall-back) would lose them
        self._unacked: list[Delivery] = []
        # the list is swept of acknowledged messages when it reaches this length, which then
        # doubles past what stays: a burst of thousands of unacknowledged publishes (a big
        # home's Tasmota queries, a simulator announcing 5,000 devices) swept on every publish
        # was quadratic and held a command's reply back for seconds
        self._sweep_at = 256
        self._connected = threading.Event()
        self._stopping = False
        self._client: paho.Client | None = None
        self._listeners: list[Callable[[bool], None]] = []
        self._expiry_thread: threading.Thread | None = None
        # SUBACKs seen (packet ids), so that a caller can wait until the broker has
        # really subscribed: a message published by another client before that is lost
        self._acked: collections.deque[int] = collections.deque(maxlen=512)
        self._acks = threading.Condition()
        self._connect_mids: list[int] = []
        self.last_error: str | None = None
        self.connect_count = 0

    # -- life cycle ---------------------------------------------------------

    def start(self, wait: float | None = 5.0) -> bool:
        """Start connecting in the background. Returns whether the connection is up,
        with the subscriptions made before it acknowledged by the broker, after ``wait``
        seconds (it keeps trying either way)."""
        self._stopping = False
        if self._dispatcher is None or not self._dispatcher.is_alive():
            self._dispatcher = threading.Thread(target=self._dispatch, name="mqtt-dispatch", daemon=True)
            self._dispatcher.start()
        self._new_client()
        self._expiry_thread = threading.Thread(target=self._expire_loop, name="mqtt-expiry", daemon=True)
        self._expiry_thread.start()
        if not wait:
            return self.connected
        return self.wait_subscribed(wait)

    def wait_subscribed(self, timeout: float) -> bool:
        """Wait until connected AND the broker has acknowledged the subscriptions renewed on
        that connection: only then is a message others publish sure to reach us (``connected``
        turns true at CONNACK, before the SUBACKs)."""
        deadline = time.monotonic() + timeout
        if not self.wait_connected(timeout):
            return False
        return all(self._wait_ack(mid, max(0.0, deadline - time.monotonic())) for mid in list(self._connect_mids))

    def stop(self) -> None:
        self._stopping = True
        client = self._client
        if client is not None:
            self._wait_acknowledged(1.0)
            if self.will is not None and self._connected.is_set():
                # a clean disconnect suppresses the will, so say it ourselves
                with contextlib.suppress(Exception):
                    client.publish(self.will.topic, self.will.payload, self.will.qos, self.will.retain).wait_for_publish(1.0)
            with contextlib.suppress(Exception):
                client.disconnect()
            with contextlib.suppress(Exception):
                client.loop_stop()
        self._connected.clear()
        with self._lock:
            pending, self._pending = self._pending, []
        for d in pending:
            d._finish("expired")
        if self._dispatcher is not None and self._dispatcher is not threading.current_thread():
            self._inbox.put(None)
            # a handler stuck in a long computation must not make stop() hang
            self._dispatcher.join(timeout=2)
            self._dispatcher = None

    def unacknowledged(self) -> list[Delivery]:
        """QoS 1/2 messages sent but not yet acknowledged by the broker (resent on reconnect)."""
        with self._lock:
            self._unacked = [d for d in self._unacked if not d.acknowledged]
            return list(self._unacked)

    def _wait_acknowledged(self, timeout: float) -> None:
        """Before stopping: give the broker ``timeout`` seconds to acknowledge what is in flight,
        and say which messages it never took (they are lost with this process)."""
        end = time.monotonic() + timeout
        left = self.unacknowledged()
        while left and self.connected and time.monotonic() < end:
            with contextlib.suppress(RuntimeError, ValueError):
                left[0]._info.wait_for_publish(max(0.0, end - time.monotonic()))  # type: ignore[union-attr]
            left = self.unacknowledged()
        for d in left:
            log.warning("stopping: the broker never acknowledged the message to %s", d.message.topic)

    def __enter__(self) -> MqttConnection:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    def wait_connected(self, timeout: float | None = None) -> bool:
        return self._connected.wait(timeout)

    def add_connection_listener(self, callback: Callable[[bool], None]) -> None:
        """callback(connected) on every connect and disconnect (network thread)."""
        self._listeners.append(callback)

    # -- subscriptions ------------------------------------------------------

    def subscribe(self, topic_filter: str, callback: Callable[[Message], None], qos: int = 1,
                  wait: float = 0.0) -> Subscription:
        """Call ``callback`` for every message matching ``topic_filter``. With ``wait``,
        return only once the broker has acknowledged the subscription (at most ``wait``
        seconds), so that what others publish from then on is sure to arrive."""
        sub = Subscription(topic_filter, callback, qos, next(self._sub_ids))
        with self._lock:
            first = not self._has_filter(topic_filter)
            if _is_wild(topic_filter):
                self._wild.add(sub)
            else:
                self._exact.setdefault(topic_filter, []).append(sub)
            client = self._client
        if first and client is not None and self.connected:
            _, mid = client.subscribe(topic_filter, qos)
            if wait and mid is not None:
                self._wait_ack(mid, wait)
        return sub

    def _wait_ack(self, mid: int, timeout: float) -> bool:
        with self._acks:
            return self._acks.wait_for(lambda: mid in self._acked, timeout)

    def _on_subscribe(self, client: paho.Client, userdata: object, mid: int, reasons: object, props: object) -> None:
        with self._acks:
            self._acked.append(mid)
            self._acks.notify_all()

    def subscribe_many(self, filters: list[str], callback: Callable[[Message], None], qos: int = 1) -> list[Subscription]:
        """Several filters in one SUBSCRIBE packet (fast for hundreds of devices)."""
        subs: list[Subscription] = []
        new: list[str] = []
        with self._lock:
            for f in filters:
                sub = Subscription(f, callback, qos, next(self._sub_ids))
                if not self._has_filter(f):
                    new.append(f)
                if _is_wild(f):
                    self._wild.add(sub)
                else:
                    self._exact.setdefault(f, []).append(sub)
                subs.append(sub)
            client = self._client
        if new and client is not None and self.connected:
            for i in range(0, len(new), _FILTERS_PER_SUBSCRIBE):
                client.subscribe([(f, qos) for f in new[i : i + _FILTERS_PER_SUBSCRIBE]])
        return subs

    def unsubscribe(self, sub: Subscription) -> None:
        with self._lock:
            if sub.topic_filter in self._exact:
                lst = [s for s in self._exact[sub.topic_filter] if s.id != sub.id]
                if lst:
                    self._exact[sub.topic_filter] = lst
                else:
                    del self._exact[sub.topic_filter]
            else:
                self._wild.remove(sub)
            gone = not self._has_filter(sub.topic_filter)
            client = self._client
        if gone and client is not None and self.connected:
            client.unsubscribe(sub.topic_filter)

    def _has_filter(self, f: str) -> bool:
        return f in self._exact or self._wild.has(f)

    # -- publishing ---------------------------------------------------------

    def publish(
        self,
        topic: str,
        payload: bytes | str = b"",
        qos: int = 1,
        retain: bool = False,
        deadline_s: float | None = None,
    ) -> Delivery:
        """Publish now, or queue until the broker is back (see the module docstring)."""
        delivery = Delivery(
            Message(topic, payload, qos, retain), None if deadline_s is None else time.monotonic() + deadline_s
        )
        with self._lock:
            if not self.connected or self._client is None:
                self._pending.append(delivery)
                return delivery
            client = self._client
        self._send(client, delivery)
        return delivery

    def _send(self, client: paho.Client, delivery: Delivery) -> None:
        m = delivery.message
        info = client.publish(m.topic, m.payload, m.qos, m.retain)
        if m.qos > 0 and info.rc in (paho.MQTT_ERR_SUCCESS, paho.MQTT_ERR_NO_CONN):
            delivery._info = info
            with self._lock:
                if len(self._unacked) >= self._sweep_at:  # forget the acknowledged ones now and then
                    self._unacked = [d for d in self._unacked if not d.acknowledged]
                    self._sweep_at = max(256, 2 * len(self._unacked))
                self._unacked.append(delivery)
        if info.rc == paho.MQTT_ERR_SUCCESS:
            delivery._finish("sent")
        elif info.rc == paho.MQTT_ERR_NO_CONN:
            # the connection died between the check and the write: paho keeps QoS>0
            # messages and sends them on reconnect; QoS 0 we queue ourselves
            if m.qos > 0:
                delivery._finish("sent")
            else:
                with self._lock:
                    self._pending.append(delivery)
        else:
            log.warning("publish to %s failed: %s", m.topic, paho.error_string(info.rc))
            with self._lock:
                self._pending.append(delivery)

    def _flush_pending(self) -> None:
        with self._lock:
            pending, self._pending = self._pending, []
            client = self._client
        now = time.monotonic()
        for d in pending:
            if d.deadline is not None and now > d.deadline:
                d._finish("expired")
            elif client is not None:
                self._send(client, d)

    def _expire_loop(self) -> None:
        socket_since: float | None = None
        while not self._stopping:
            time.sleep(0.05)
            now = time.monotonic()
            if self._protocol_choice == "auto" and self.protocol == "5" and self.connect_count == 0:
                # amqtt accepts the TCP connection but never answers an MQTT 5 CONNECT
                client = self._client
                has_socket = client is not None and client.socket() is not None
                socket_since = (socket_since or now) if has_socket else None
                if socket_since is not None and now - socket_since > 1.0:
                    self._fall_back("no CONNACK to an MQTT 5 CONNECT")
                    socket_since = None
            with self._lock:
                expired = [d for d in self._pending if d.deadline is not None and now > d.deadline]
                if expired:
                    self._pending = [d for d in self._pending if d not in expired]
            for d in expired:
                log.warning("broker away: message to %s expired unsent", d.message.topic)
                d._finish("expired")

    @property
    def queued(self) -> int:
        with self._lock:
            return len(self._pending)

    # -- paho plumbing ------------------------------------------------------

    def _new_client(self) -> None:
        proto = MQTTProtocolVersion.MQTTv5 if self.protocol == "5" else MQTTProtocolVersion.MQTTv311
        kwargs: dict = {"callback_api_version": CallbackAPIVersion.VERSION2, "client_id": self.client_id, "protocol": proto}
        if proto is MQTTProtocolVersion.MQTTv311:
            kwargs["clean_session"] = True
        client = paho.Client(**kwargs)
        client.reconnect_delay_set(self.reconnect_min_s, self.reconnect_max_s)  # type: ignore[arg-type]
        if self.username:
            client.username_pw_set(self.username, self.password)
        if self.scheme == "mqtts":
            try:
                client.tls_set(
                    ca_certs=self.ca_file,
                    certfile=self.cert_file,
                    keyfile=self.key_file,
                    cert_reqs=ssl.CERT_NONE if self.tls_insecure else ssl.CERT_REQUIRED,
                )
            except (OSError, ssl.SSLError, ValueError) as exc:
                raise ConnectionSettingsError(f"TLS settings unusable: {exc}") from exc
            if self.tls_insecure:
                client.tls_insecure_set(True)
        if self.will is not None:
            client.will_set(self.will.topic, self.will.payload, self.will.qos, self.will.retain)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        client.on_subscribe = self._on_subscribe
        client.on_connect_fail = self._on_connect_fail
        client.on_socket_open = _no_delay
        self._client = client
        props = None
        if proto is MQTTProtocolVersion.MQTTv5:
            props = Properties(PacketTypes.CONNECT)
            props.SessionExpiryInterval = 0
        client.connect_async(self.host, self.port, self.keepalive, clean_start=True, properties=props)
        client.loop_start()

    def _fall_back(self, why: str) -> None:
        """Switch to MQTT 3.1.1 after the broker refused MQTT 5."""
        log.info("broker %s:%s refused MQTT 5 (%s); using MQTT 3.1.1", self.host, self.port, why)
        old = self._client
        self.protocol = "3.1.1"
        with self._lock:
            # the new client starts with an empty outbox: what the old one never got acknowledged
            # goes out again through ours
            again = [d for d in self._unacked if not d.acknowledged]
            self._unacked = []
            self._pending = again + self._pending

        def swap() -> None:
            if old is not None:
                with contextlib.suppress(Exception):
                    old.disconnect()
                with contextlib.suppress(Exception):
                    old.loop_stop()
            if not self._stopping:
                self._new_client()

        # loop_stop cannot run on the loop's own thread
        threading.Thread(target=swap, name="mqtt-fallback", daemon=True).start()

    def _on_connect(self, client: paho.Client, userdata: object, flags: object, reason: object, props: object) -> None:
        if client is not self._client:
            return
        failed = getattr(reason, "is_failure", False)
        if failed:
            self.last_error = str(reason)
            log.warning("broker %s:%s refused the connection: %s", self.host, self.port, reason)
            if self._protocol_choice == "auto" and self.protocol == "5" and "protocol" in str(reason).lower():
                self._fall_back(str(reason))
            return
        self.connect_count += 1
        with self._lock:
            filters: dict[str, int] = {}
            for f, subs in self._exact.items():
                filters[f] = max(s.qos for s in subs)
            for s in self._wild.all():
                filters[s.topic_filter] = max(s.qos, filters.get(s.topic_filter, 0))
        items = list(filters.items())
        mids = []
        # a few big SUBSCRIBE packets: the broker sends the retained messages of one packet's
        # filters before it acknowledges the next, so with 200 filters a packet "subscribed"
        # meant reading most of a big home's retained backlog first
        for i in range(0, len(items), _FILTERS_PER_SUBSCRIBE):
            mids.append(client.subscribe(items[i : i + _FILTERS_PER_SUBSCRIBE])[1])
        self._connect_mids = [m for m in mids if m is not None]
        if self.birth is not None:
            client.publish(self.birth.topic, self.birth.payload, self.birth.qos, self.birth.retain)
        self._connected.set()
        log.info("connected to %s:%s (MQTT %s)", self.host, self.port, self.protocol)
        self._flush_pending()
        self._notify(True)

    def _on_connect_fail(self, client: paho.Client, userdata: object) -> None:
        if client is self._client:
            self.last_error = "cannot reach the broker"

    def _on_disconnect(self, client: paho.Client, userdata: object, flags: object, reason: object, props: object) -> None:
        if client is not self._client:
            return
        was = self._connected.is_set()
        self._connected.clear()
        if was and not self._stopping:
            log.warning("lost the broker %s:%s (%s); reconnecting", self.host, self.port, reason)
            self._notify(False)

    def _notify(self, up: bool) -> None:
        self._inbox.put(("connection", up))

    def prioritize(self, topics: list[str]) -> None:
        """Messages on these exact topics go ahead of the backlog until ``release(topics)``
        (calls nest). Those of them already waiting move to the priority lane at once, so a
        device's state is current before the answer to its command is awaited; order per
        topic is kept."""
        moved = False
        with self._lane_lock:
            for t in topics:
                self._hot[t] = self._hot.get(t, 0) + 1
                waiting = self._waiting.pop(t, None)
                if waiting:
                    self._urgent.extend(waiting)
                    moved = True
        if moved:
            self._inbox.put(("wake", None))

    def release(self, topics: list[str]) -> None:
        with self._lane_lock:
            for t in topics:
                left = self._hot.get(t, 0) - 1
                if left > 0:
                    self._hot[t] = left
                else:
                    self._hot.pop(t, None)

    def _dispatch(self) -> None:
        """Runs the callbacks, one item at a time: the priority lane first, then the rest in
        arrival order (per topic, arrival order always)."""
        while True:
            with self._lane_lock:
                urgent = self._urgent.popleft() if self._urgent else None
            if urgent is not None:
                self._deliver(urgent)
                continue
            item = self._inbox.get()
            if item is None:
                return
            kind, value = item
            if kind == "connection":
                self._call_listeners(bool(value))
            elif kind == "message":
                with self._lane_lock:
                    waiting = self._waiting.get(value)  # type: ignore[call-overload]
                    message = waiting.popleft() if waiting else None
                    if waiting is not None and not waiting:
                        del self._waiting[value]  # type: ignore[arg-type]
                if message is not None:  # else it went ahead through the priority lane
                    self._deliver(message)
            # "wake": a message was put in the priority lane
            # hand the GIL over: paho's network thread wakes several times per packet it reads,
            # and while this thread runs handlers it would wait a whole switch interval (5 ms)
            # each time, so a big home's backlog came in at a few hundred messages a second
            time.sleep(0)

    def _call_listeners(self, up: bool) -> None:
        for cb in list(self._listeners):
            try:
                cb(up)
            except Exception:
                log.exception("connection listener failed")

    def _on_message(self, client: paho.Client, userdata: object, msg: paho.MQTTMessage) -> None:
        if len(msg.payload) > self.max_payload:
            log.warning("skipped %d-byte message on %s: larger than %d bytes", len(msg.payload), msg.topic, self.max_payload)
            return
        if self._inbox.qsize() + len(self._urgent) >= self.max_backlog:
            self.messages_dropped += 1
            if not self._dropping:
                self._dropping = True
                log.warning("dropping messages: %d wait for their handlers already (max_backlog)", self.max_backlog)
            return
        self._dropping = False
        message = Message(msg.topic, msg.payload, msg.qos, bool(msg.retain), time.time())
        with self._lane_lock:
            if msg.topic in self._hot and msg.topic not in self._waiting:
                self._urgent.append(message)
                item: tuple[str, object] = ("wake", None)
            else:
                self._waiting.setdefault(msg.topic, collections.deque()).append(message)
                item = ("message", msg.topic)
        self._inbox.put(item)

    def _deliver(self, message: Message) -> None:
        with self._lock:
            targets = list(self._exact.get(message.topic, ()))
            targets += self._wild.match(message.topic)
        called: list[Callable[[Message], None]] = []
        for sub in targets:
            if sub.callback in called:  # one handler, several matching filters: once
                continue
            called.append(sub.callback)
            try:
                sub.callback(message)
            except Exception:
                log.exception("handler for %s failed on a message to %s", sub.topic_filter, message.topic)


_FILTERS_PER_SUBSCRIBE = 10_000  # ~300 KB a packet; Mosquitto takes up to 256 MB


def _is_wild(topic_filter: str) -> bool:
    return "+" in topic_filter or "#" in topic_filter or topic_filter.startswith("$share/")


class _FilterTree:
    """Wildcard subscriptions by topic level ("+" and "#" are children like any other
    level), matched by walking a topic's levels: matching every filter one by one took
    most of a 5,000-device start-up."""

    def __init__(self) -> None:
        self._root = _Level()
        self._counts: dict[str, int] = {}  # filter -> subscriptions on it

    @staticmethod
    def _levels(topic_filter: str) -> list[str]:
        if topic_filter.startswith("$share/") and topic_filter.count("/") >= 2:
            topic_filter = topic_filter.split("/", 2)[2]  # $share/<group>/<filter>
        return topic_filter.split("/")

    def add(self, sub: Subscription) -> None:
        node = self._root
        for level in self._levels(sub.topic_filter):
            node = node.children.setdefault(level, _Level())
        node.subs[sub.id] = sub
        self._counts[sub.topic_filter] = self._counts.get(sub.topic_filter, 0) + 1

    def remove(self, sub: Subscription) -> None:
        path = [self._root]
        levels = self._levels(sub.topic_filter)
        for level in levels:
            child = path[-1].children.get(level)
            if child is None:
                return
            path.append(child)
        if path[-1].subs.pop(sub.id, None) is None:
            return
        left = self._counts[sub.topic_filter] - 1
        if left:
            self._counts[sub.topic_filter] = left
        else:
            del self._counts[sub.topic_filter]
        # prune the branch it leaves empty: devices come and go
        for depth in range(len(levels), 0, -1):
            node = path[depth]
            if node.subs or node.children:
                break
            del path[depth - 1].children[levels[depth - 1]]

    def has(self, topic_filter: str) -> bool:
        return topic_filter in self._counts

    def all(self) -> list[Subscription]:
        out: list[Subscription] = []
        stack = [self._root]
        while stack:
            node = stack.pop()
            out.extend(node.subs.values())
            stack.extend(node.children.values())
        return sorted(out, key=lambda s: s.id)

    def match(self, topic: str) -> list[Subscription]:
        """The subscriptions whose filter matches ``topic``, in subscription order."""
        levels = topic.split("/")
        n = len(levels)
        out: list[Subscription] = []
        # (node, index of the next level); a topic starting with "$" matches no wildcard
        # at its first level (MQTT 3.1.1 4.7.2)
        stack = [(self._root, 0)]
        while stack:
            node, i = stack.pop()
            anything = node.children.get("#")
            if anything is not None and (i or not topic.startswith("$")):
                out.extend(anything.subs.values())  # "a/#" matches "a" as well
            if i == n:
                out.extend(node.subs.values())
                continue
            exact = node.children.get(levels[i]) if levels[i] not in ("+", "#") else None
            if exact is not None:
                stack.append((exact, i + 1))
            one = node.children.get("+")
            if one is not None and (i or not topic.startswith("$")):
                stack.append((one, i + 1))
        if len(out) > 1:
            out.sort(key=lambda s: s.id)
        return out


class _Level:
    __slots__ = ("children", "subs")

    def __init__(self) -> None:
        self.children: dict[str, _Level] = {}
        self.subs: dict[int, Subscription] = {}


def _no_delay(client: paho.Client, userdata: object, sock: object) -> None:
    """Small MQTT packets must not wait for delayed ACKs (Nagle): ~40 ms per hop otherwise."""
    import socket

    with contextlib.suppress(OSError, AttributeError):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # type: ignore[attr-defined]
