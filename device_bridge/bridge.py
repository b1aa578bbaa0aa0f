"""DeviceBridge: the DeviceControl the dialogue engine and LLM tools use.

Blocking and thread-safe: call it from worker threads. It keeps one MQTT
connection, the device registry and the last state and telemetry of every device,
and turns ``set`` into publish-and-wait-for-confirmation::

    with DeviceBridge("mqtt://127.0.0.1:1883", home=Path("home.yaml")) as bridge:
        result = bridge.set("kitchen_light", {"state": "on", "brightness": 102})
        result.outcome   # confirmed | moving | not_confirmed | offline | rejected | broker_down
        result.code      # the fact: confirmed, no_response, unchanged, hub_offline, out_of_range, ...
        result.facts     # its fields: {"attribute": "brightness", "low": 0, "high": 255, ...}

Results are facts, never sentences: the dialogue words them in the customer's language.
A device that travels (a cover, a lock) may report that it started (``moving``); ``follow``
then waits for the final fact: arrived, stopped short at a position, or still on its way.

Without a broker URL an embedded broker is started (device_bridge.broker).
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from device_bridge.broker import EmbeddedBroker, start_embedded
from device_bridge.client import Message, MqttConnection, Subscription
from device_bridge.conventions import PayloadError
from device_bridge.conventions import get as convention
from device_bridge.devices import (
    MOVING_STATES,
    STATELESS,
    Area,
    Code,
    CommandResult,
    Device,
    DeviceEvent,
    DeviceState,
    DeviceType,
    InvalidCommand,
    Outcome,
    Telemetry,
    confirms,
    travels,
    underway,
    validate_changes,
)
from device_bridge.home import Home, load_home
from device_bridge.registry import Change, Registry

log = logging.getLogger(__name__)


class UnknownDevice(LookupError):
    """No device with that id, name or alias."""

    def __str__(self) -> str:
        return f"there is no device called {self.args[0]!r}"


@dataclass
class _Entry:
    device: Device
    state: dict[str, Any] = field(default_factory=dict)
    telemetry: Telemetry = field(default_factory=Telemetry)
    updated_at: float | None = None
    subs: list[Subscription] = field(default_factory=list)
    # (received_at, topic, payload, carried state) of the latest messages, for evidence
    recent: deque[tuple[float, str, str, bool]] = field(default_factory=lambda: deque(maxlen=20))
    version: int = 0  # bumped on every message from the device
    state_version: int = 0  # bumped on every message that carried state
    fresh: bool = True  # heard from since the last reconnection to the broker


class DeviceBridge:
    def __init__(
        self,
        broker_url: str | None = None,
        home: Path | str | dict | Home | None = None,
        *,
        username: str | None = None,
        password: str | None = None,
        ca_file: str | None = None,
        cert_file: str | None = None,
        key_file: str | None = None,
        client_id: str | None = None,
        discovery: bool = True,
        discovery_prefix: str = "homeassistant",
        z2m_base_topics: tuple[str, ...] = ("zigbee2mqtt",),
        tasmota_discovery: bool = True,
        tasmota_discovery_prefix: str = "tasmota/discovery",
        status_topic: str | None = None,  # default voicebot/bridge/<client id>/status
        protocol: str = "auto",
        tasmota_queries_per_s: float = 200.0,
    ) -> None:
        self.broker_url = broker_url
        self._conn_options = dict(username=username, password=password, ca_file=ca_file, cert_file=cert_file,
                                  key_file=key_file, client_id=client_id, protocol=protocol)
        self.discovery = discovery
        self.discovery_prefix = discovery_prefix
        self.z2m_base_topics = tuple(z2m_base_topics)
        self.tasmota_discovery = tasmota_discovery
        self.tasmota_discovery_prefix = tasmota_discovery_prefix
        self.status_topic = status_topic
        self.tasmota_queries_per_s = tasmota_queries_per_s
        self.registry = Registry()
        self._home = home if isinstance(home, Home) or home is None else load_home(home)
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        self._entries: dict[str, _Entry] = {}
        self._by_topic: dict[str, set[str]] = {}
        self._listeners: list[Callable[[DeviceEvent], None]] = []
        self._events: queue.Queue[DeviceEvent | None] = queue.Queue()
        self._dispatcher: threading.Thread | None = None
        self._embedded: EmbeddedBroker | None = None
        self.conn: MqttConnection | None = None
        self._probe_ids = itertools.count(1)
        self._echoes: deque[int] = deque(maxlen=256)  # probe ids the broker has routed back to us
        self.messages_handled = 0
        self.messages_skipped = 0
        self._last_message_at = time.monotonic()
        # Tasmota devices to ask for their state, in order, each once (see _ask_loop)
        self._to_ask: deque[str] = deque()
        self._asking: set[str] = set()
        self._ask_cv = threading.Condition()
        self._ask_thread: threading.Thread | None = None
        self._stopping = False

    # -- life cycle ---------------------------------------------------------------

    def start(self, timeout: float = 10.0) -> DeviceBridge:
        """Connect (starting an embedded broker when no URL was given) and subscribe.
        Returns once connected; raises ConnectionError if the broker stays away."""
        self._stopping = False
        if self.broker_url is None:
            self._embedded = start_embedded()
            self.broker_url = self._embedded.url
        self._dispatcher = threading.Thread(target=self._dispatch, name="device-bridge-events", daemon=True)
        self._dispatcher.start()
        self.conn = MqttConnection(self.broker_url, **self._conn_options)  # type: ignore[arg-type]
        # one status topic per bridge: several workers may share a broker
        self.status_topic = self.status_topic or f"voicebot/bridge/{self.conn.client_id}/status"
        self.conn.will = Message(self.status_topic, "offline", retain=True)
        self.conn.birth = Message(self.status_topic, "online", retain=True)
        self.conn.add_connection_listener(self._on_connection)
        # a probe published with each command comes back through the broker: when the device stays
        # silent, it tells "the device did not answer" from "the broker is gone" (a dead broker is
        # often noticed only at the next keep-alive, long after the command was written)
        self._probe_topic = f"{self.status_topic.rsplit('/', 1)[0]}/probe"
        self.conn.subscribe(self._probe_topic, self._on_probe, qos=1)
        self.conn.prioritize([self._probe_topic])  # never behind the retained backlog of a big home
        if self._home is not None:
            self._apply(self.registry.load_home(self._home))
            # Zigbee2MQTT instances the home file names are watched as well
            bases = [hd.device.topics["base_topic"] for hd in self._home.devices if hd.device.convention == "zigbee2mqtt"]
            self.z2m_base_topics = tuple(dict.fromkeys([*self.z2m_base_topics, *bases]))
        for base in self.z2m_base_topics:
            change = self.registry.add_hub(base)
            if change:
                self._apply([change])
        if self.discovery:
            p = self.discovery_prefix
            self.conn.subscribe_many([f"{p}/+/+/config", f"{p}/+/+/+/config"], self._on_discovery, qos=0)
            self.conn.subscribe_many([f"{b}/bridge/devices" for b in self.z2m_base_topics], self._on_z2m_devices, qos=0)
        if self.tasmota_discovery:
            p = self.tasmota_discovery_prefix
            self.conn.subscribe_many([f"{p}/+/config", f"{p}/+/sensors"], self._on_tasmota_discovery, qos=0)
        if not self.conn.start(wait=timeout):
            err = self.conn.last_error or "no answer"
            self.stop()
            raise ConnectionError(f"cannot connect to the MQTT broker at {self.broker_url}: {err}")
        self._ask_thread = threading.Thread(target=self._ask_loop, name="tasmota-queries", daemon=True)
        self._ask_thread.start()
        self._ask([d.id for d in self.registry.devices() if d.convention == "tasmota"])
        return self

    def stop(self) -> None:
        with self._ask_cv:
            self._stopping = True
            self._ask_cv.notify_all()
        if self.conn is not None:
            self.conn.stop()
        if self._dispatcher is not None:
            self._events.put(None)
            self._dispatcher.join(timeout=2)
            self._dispatcher = None
        if self._embedded is not None:
            self._embedded.close()
            self._embedded = None

    def __enter__(self) -> DeviceBridge:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def connected(self) -> bool:
        return self.conn is not None and self.conn.connected

    # -- DeviceControl ------------------------------------------------------------

    def devices(self) -> list[Device]:
        return self.registry.devices()

    def areas(self) -> list[Area]:
        return self.registry.areas()

    def find(self, name: str | None = None, area: str | None = None, type: str | None = None) -> list[Device]:
        """Devices by exact name/alias (case-insensitive), area and/or type."""
        return self.registry.find(name, area, type)

    def device(self, key: str) -> Device:
        dev = self.registry.resolve(key)
        if dev is None:
            raise UnknownDevice(key)
        return dev

    def get(self, device_id: str, refresh: bool = False, timeout: float = 2.0) -> DeviceState:
        """Cached state with its age; with refresh=True, ask the device first where
        the convention allows (Z2M /get, Tasmota queries) and wait up to timeout."""
        dev = self.device(device_id)
        if refresh and self.connected:
            requests = convention(dev.convention).query(dev)
            if requests:
                asked_at = time.time()
                expected = {r.expect for r in requests if r.expect}
                for out in requests:
                    self.conn.publish(out.topic, out.payload, out.qos, out.retain)  # type: ignore[union-attr]
                deadline = time.monotonic() + timeout
                with self._changed:
                    while not expected <= {t for ts, t, _p, _s in self._entry(dev.id).recent if ts >= asked_at}:
                        left = deadline - time.monotonic()
                        if left <= 0:
                            break
                        self._changed.wait(left)
        return self.snapshot(dev.id)

    def snapshot(self, device_id: str) -> DeviceState:
        with self._lock:
            e = self._entry(self.device(device_id).id)
            tel = replace(e.telemetry)
            if e.device.hub and e.device.hub in self._entries:
                hub = self._entries[e.device.hub].telemetry.available
                if hub is False:
                    tel.available = False
            return DeviceState(e.device, dict(e.state), tel, e.updated_at)

    def set(self, device_id: str, changes: dict[str, Any], timeout: float = 3.0,
            moving_ok: bool = False) -> CommandResult:
        """Validate, publish, and wait for the device to report the requested state.

        ``moving_ok``: a device that travels (a cover, a lock) and reports it is on its way
        (opening/closing that way, its position changing toward the target) ends the wait at once
        with ``Outcome.MOVING``; ``follow`` then waits for its arrival. One that does not move is
        not confirmed (``never_moved``)."""
        started = time.monotonic()
        dev = self.device(device_id)
        with self._lock:
            current = dict(self._entry(dev.id).state)

        def result(code: Code, requested: dict, evidence: list[str] | None = None, sent_at: float = 0.0,
                   **facts: Any) -> CommandResult:
            return CommandResult(code, dev, requested, self.snapshot(dev.id).state, facts, evidence or [],
                                 round(time.monotonic() - started, 4), current, sent_at)

        try:
            wanted = validate_changes(dev, changes, current)
        except InvalidCommand as exc:
            return result(exc.code, dict(changes) if isinstance(changes, dict) else {}, **exc.facts)
        if self.conn is None:
            return result(Code.BROKER_UNREACHABLE, wanted, ["the device bridge is not started"])
        deadline = started + timeout
        if not self.conn.connected:
            # the broker is away: hold the command until it is back or the deadline passes
            log.warning("broker away; holding the command for %s until it returns (%.1f s)", dev.id, timeout)
            if not self.conn.wait_connected(max(0.0, deadline - time.monotonic())):
                return result(Code.BROKER_UNREACHABLE, wanted,
                              [f"broker {self.broker_url} unreachable for {timeout:g} s; command not sent"])
        # the device's messages pass the retained backlog while the registry of a big home fills:
        # those already waiting at once (its state is current before the command goes out), and
        # its answer when it comes
        hot = convention(dev.convention).subscriptions(dev)
        self.conn.prioritize(hot)
        try:
            self._await_fresh(dev, min(1.0, max(0.0, deadline - time.monotonic())))
            state = self.snapshot(dev.id)
            if state.telemetry.available is False:
                code, facts = self._offline_facts(dev, state)
                return result(code, wanted, [f"availability of {dev.id}: offline; command not sent"], **facts)
            with self._lock:
                current = dict(self._entry(dev.id).state)
                sent_version = self._entry(dev.id).state_version
                sent_at = time.time()
            # sent even when the cache already shows the wish: the cache may be stale
            outgoing = convention(dev.convention).command(dev, wanted, current)
            return self._publish_and_confirm(dev, wanted, current, outgoing, [], sent_version, sent_at,
                                             deadline, moving_ok, result)
        finally:
            self.conn.release(hot)

    def _publish_and_confirm(self, dev: Device, wanted: dict[str, Any], current: dict[str, Any],
                             outgoing: list[Any], evidence: list[str], sent_version: int, sent_at: float,
                             deadline: float, moving_ok: bool, result: Callable[..., CommandResult]) -> CommandResult:
        assert self.conn is not None
        deliveries = []
        for out in outgoing:
            payload = out.payload if isinstance(out.payload, str) else out.payload.decode()
            evidence.append(f"sent {out.topic} {payload}")
            deliveries.append(self.conn.publish(out.topic, out.payload, out.qos, out.retain,
                                                deadline_s=max(0.0, deadline - time.monotonic())))
        probe = self._send_probe(deadline)
        for d in deliveries:
            if d.wait(max(0.0, deadline - time.monotonic())) == "expired":
                return result(Code.BROKER_UNREACHABLE, wanted,
                              [*evidence, "broker went away before the command could be sent"])
        if dev.type in STATELESS:
            # a scene or script reports nothing back: done when the broker has routed our probe,
            # sent after the command on the same connection, back to us (it accepted both)
            if self._probe_returned(probe, grace=max(0.5, deadline - time.monotonic())):
                return result(Code.ACCEPTED, wanted, [*evidence, "the broker accepted the command"], sent_at)
            return result(Code.BROKER_LOST, wanted, [*evidence, "the broker did not route our probe back"], sent_at)
        with self._changed:
            while True:
                entry = self._entry(dev.id)
                if entry.state_version != sent_version and (
                        confirms(dev, wanted, entry.state)
                        or (moving_ok and underway(dev, wanted, entry.state, current))):
                    break
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._changed.wait(left)
            # only what arrived after the command counts (other threads may command it too)
            replies = [r for r in entry.recent if r[0] >= sent_at]
            seen = [f"received {t} {p}" for _ts, t, p, _s in replies]
            answered = any(s for _ts, _t, _p, s in replies)
            reported = entry.state_version != sent_version
        evidence += seen
        final = self.snapshot(dev.id)
        st = final.state
        if reported and confirms(dev, wanted, st):
            return result(Code.CONFIRMED, wanted, evidence, sent_at)
        if reported and moving_ok and underway(dev, wanted, st, current):
            return result(Code.MOVING, wanted, evidence, sent_at, **_position_facts(dev, wanted, st))
        if final.telemetry.available is False:
            return result(Code.WENT_OFFLINE, wanted, evidence, sent_at)
        if not answered:
            if not self._probe_returned(probe, grace=0.5):
                return result(Code.BROKER_LOST, wanted, [*evidence, "the broker did not route our probe back"],
                              sent_at)
            return result(Code.NO_RESPONSE, wanted, evidence or ["no reply from the device"], sent_at)
        if travels(dev):
            code = _travel_code(dev, wanted, st, current)
            return result(code, wanted, evidence, sent_at, **_position_facts(dev, wanted, st))
        return result(Code.UNCHANGED, wanted, evidence, sent_at, state=st.get("state"))

    def follow(self, result: CommandResult, timeout: float = 60.0, quiet_s: float = 1.5) -> CommandResult:
        """The final fact of a command that started moving (``Outcome.MOVING``): ``confirmed``
        when it arrives, ``stopped_short`` (at ``position``) when it stops before the target,
        ``still_moving`` when ``timeout`` ends first, ``went_offline`` or ``broker_lost``.
        A device that stops saying it is opening/closing, or whose position has not changed for
        ``quiet_s``, has stopped. Any other result is returned as it is."""
        if result.outcome is not Outcome.MOVING:
            return result
        dev, wanted = result.device, result.requested
        started = time.monotonic()
        deadline = started + timeout
        evidence = list(result.evidence)

        def final(code: Code, state: dict[str, Any]) -> CommandResult:
            with self._lock:
                seen = [f"received {t} {p}" for ts, t, p, _s in self._entry(dev.id).recent if ts >= result.sent_at]
            facts = _position_facts(dev, wanted, state) if code is not Code.CONFIRMED else {}
            return CommandResult(code, dev, wanted, dict(state), facts, list(dict.fromkeys([*evidence, *seen])),
                                 round(result.elapsed_s + time.monotonic() - started, 4), result.before, result.sent_at)

        with self._changed:
            while True:
                entry = self._entry(dev.id)
                st = dict(entry.state)
                if confirms(dev, wanted, st):
                    return final(Code.CONFIRMED, st)
                if entry.telemetry.available is False:
                    return final(Code.WENT_OFFLINE, st)
                if self.conn is None or not self.conn.connected:
                    return final(Code.BROKER_LOST, st)
                quiet = time.time() - (entry.recent[-1][0] if entry.recent else 0.0) >= quiet_s
                word = str(st.get("state", "")).lower()
                if word not in MOVING_STATES and (word in ("stopped", "jammed") or quiet):
                    return final(_travel_code(dev, wanted, st, result.before), st)
                left = deadline - time.monotonic()
                if left <= 0:
                    return final(Code.STILL_MOVING, st)
                self._changed.wait(min(left, 0.25))

    def _send_probe(self, deadline: float) -> int:
        probe = next(self._probe_ids)
        if self.conn is not None:
            self.conn.publish(self._probe_topic, str(probe), qos=1, deadline_s=max(0.0, deadline - time.monotonic()))
        return probe

    def _probe_returned(self, probe: int, grace: float) -> bool:
        """Whether the broker routed the probe sent with a command back (waiting ``grace`` more)."""
        end = time.monotonic() + grace
        with self._changed:
            while probe not in self._echoes:
                left = end - time.monotonic()
                if left <= 0:
                    return False
                self._changed.wait(left)
        return True

    def _on_probe(self, msg: Message) -> None:
        with self._changed:
            with contextlib.suppress(ValueError):
                self._echoes.append(int(msg.text))
            self._changed.notify_all()

    # -- listeners -------------------------------------------------------------------

    def add_listener(self, callback: Callable[[DeviceEvent], None]) -> Callable[[], None]:
        """Call ``callback(DeviceEvent)`` on state, availability and registry changes
        (on the bridge's event thread, in order). Returns a function that removes it."""
        self._listeners.append(callback)

        def remove() -> None:
            with contextlib.suppress(ValueError):
                self._listeners.remove(callback)

        return remove

    def _dispatch(self) -> None:
        while True:
            event = self._events.get()
            if event is None:
                return
            for cb in list(self._listeners):
                try:
                    cb(event)
                except Exception:
                    log.exception("device listener failed on a %s event", event.kind)

    def _emit(self, kind: str, device: Device | None, changed: dict[str, Any] | None = None) -> None:
        if not self._listeners:
            return
        state = self.snapshot(device.id) if device is not None and self.registry.get(device.id) else None
        self._events.put(DeviceEvent(kind, device, state, changed or {}, time.time()))

    # -- registry and subscriptions ----------------------------------------------------

    def _entry(self, device_id: str) -> _Entry:
        e = self._entries.get(device_id)
        if e is None:
            dev = self.registry.get(device_id)
            if dev is None:
                raise UnknownDevice(device_id)
            e = self._entries[device_id] = _Entry(dev)
        return e

    def _apply(self, changes: list[Change]) -> None:
        for ch in changes:
            dev = ch.device
            with self._lock:
                old = self._entries.get(dev.id)
                if old is not None:
                    # only the old device's own topics: scanning every topic of a 5,000-device
                    # home for each discovery message made start-up quadratic
                    for topic in convention(old.device.convention).subscriptions(old.device):
                        ids = self._by_topic.get(topic)
                        if ids is not None:
                            ids.discard(dev.id)
                            if not ids:
                                del self._by_topic[topic]
                    old_subs, old.subs = old.subs, []
                else:
                    old_subs = []
                if ch.kind == "removed":
                    self._entries.pop(dev.id, None)
                    topics: list[str] = []
                else:
                    entry = self._entry(dev.id)
                    entry.device = dev
                    topics = convention(dev.convention).subscriptions(dev)
                    for t in topics:
                        self._by_topic.setdefault(t, set()).add(dev.id)
            if self.conn is not None:
                # new subscriptions before dropping the old: topics that stay are never
                # unsubscribed (brokers may reorder an UNSUBSCRIBE and a SUBSCRIBE)
                if topics:
                    # QoS 0, as Home Assistant does: state is re-sent and idempotent, and
                    # brokers cap queued QoS 1 messages per client (Mosquitto: 1000), which
                    # the retained burst of a large home would overflow
                    subs = self.conn.subscribe_many(topics, self._on_device_message, qos=0)
                    with self._lock:
                        if dev.id in self._entries:
                            self._entries[dev.id].subs = subs
                for s in old_subs:
                    self.conn.unsubscribe(s)
            if ch.kind == "removed":
                log.info("device %s (%s) removed", dev.id, dev.name)
            self._emit(ch.kind, dev)

    def _on_discovery(self, msg: Message) -> None:
        self._last_message_at = time.monotonic()
        self._apply(self.registry.apply_discovery(msg.topic, msg.payload, self.discovery_prefix))  # type: ignore[arg-type]

    def _on_tasmota_discovery(self, msg: Message) -> None:
        self._last_message_at = time.monotonic()
        try:
            changes = self.registry.apply_tasmota_discovery(msg.topic, msg.payload,  # type: ignore[arg-type]
                                                            self.tasmota_discovery_prefix)
        except Exception:  # the bridge never dies of a discovery message
            log.exception("skipped Tasmota discovery on %s", msg.topic)
            return
        self._apply(changes)
        # Tasmota does not retain state: ask the devices that just appeared (their
        # subscriptions went out first, on the same connection, so the answer is heard)
        self._ask([ch.device.id for ch in changes if ch.device.convention == "tasmota" and (
            ch.kind == "added" or (ch.kind == "changed" and ch.device.source == "discovery"))])

    def _on_z2m_devices(self, msg: Message) -> None:
        self._last_message_at = time.monotonic()
        base = msg.topic[: -len("/bridge/devices")]
        self._apply(self.registry.apply_z2m_devices(base, msg.payload))  # type: ignore[arg-type]

    def _on_connection(self, up: bool) -> None:
        with self._changed:
            if not up:
                for e in self._entries.values():
                    e.fresh = False
            self._changed.notify_all()  # a follow() waiting on a device learns the broker went away
        self._emit("bridge", None, {"connected": up})
        if up:
            self._ask([d.id for d in self.registry.devices() if d.convention == "tasmota"])

    def _ask(self, device_ids: list[str]) -> None:
        """Queue Tasmota devices for a state query (a device already waiting is not queued twice)."""
        with self._ask_cv:
            for device_id in device_ids:
                if device_id not in self._asking:
                    self._asking.add(device_id)
                    self._to_ask.append(device_id)
            self._ask_cv.notify_all()

    def _ask_loop(self) -> None:
        """Tasmota does not retain state: every Tasmota device is asked once connected (and each one
        discovery announces), from this one thread, paced at ``tasmota_queries_per_s`` so that
        thousands of answers do not arrive in one burst ahead of the replies to a caller's command.
        The queries go out at QoS 0: a read that is lost is asked again at the next connection, and
        at QoS 1 a burst of them filled the client's window of unacknowledged messages (whose
        acknowledgements come back behind the big home's retained backlog), so that a command
        published after them waited seconds before it even left."""
        started, sent = time.monotonic(), 0
        while True:
            with self._ask_cv:
                while not self._to_ask and not self._stopping:
                    self._ask_cv.wait()
                    started, sent = time.monotonic(), 0  # an idle spell earns no burst
                if self._stopping:
                    return
                device_id = self._to_ask.popleft()
            conn = self.conn
            if conn is None or not conn.wait_connected(1.0):
                with self._ask_cv:  # asked once the broker is back
                    self._to_ask.appendleft(device_id)
                continue
            with self._ask_cv:
                self._asking.discard(device_id)
            dev = self.registry.get(device_id)
            if dev is None or dev.convention != "tasmota":
                continue
            for out in convention("tasmota").query(dev):
                conn.publish(out.topic, out.payload, qos=0)
                sent += 1
            ahead = sent / self.tasmota_queries_per_s - (time.monotonic() - started)
            if ahead > 0:
                with self._ask_cv:
                    self._ask_cv.wait_for(lambda: self._stopping, ahead)

    def _on_device_message(self, msg: Message) -> None:
        self._last_message_at = time.monotonic()
        with self._lock:
            ids = list(self._by_topic.get(msg.topic, ()))
        payload: bytes = msg.payload  # type: ignore[assignment]
        for device_id in ids:
            dev = self.registry.get(device_id)
            if dev is None:
                continue
            try:
                obs = convention(dev.convention).parse(dev, msg.topic, payload)
            except (PayloadError, ValueError, TypeError, KeyError, AttributeError) as exc:
                self.messages_skipped += 1
                log.warning("skipped a message on %s for %s: %s", msg.topic, device_id, exc)
                continue
            self.messages_handled += 1
            if obs is None:
                continue
            self._observe(dev, msg, obs)

    def _observe(self, dev: Device, msg: Message, obs: Any) -> None:
        with self._changed:
            e = self._entry(dev.id)
            changed = {k: v for k, v in obs.state.items() if e.state.get(k) != v}
            e.state.update(obs.state)
            if dev.type is DeviceType.CLIMATE and "hvac_mode" in obs.state:
                e.state["state"] = obs.state["hvac_mode"]
            received = msg.received_at or time.time()
            # when the device itself said it was last seen (Z2M, HA attributes); a retained
            # message without a timestamp may be days old, so it does not count as a sighting
            stamped = obs.telemetry.get("last_seen")
            if obs.state:
                e.updated_at = stamped if stamped is not None else received
            was_available = e.telemetry.available
            for key, value in obs.telemetry.items():
                if key != "last_seen" and getattr(e.telemetry, key, None) != value:
                    changed[key] = value
                    setattr(e.telemetry, key, value)
            if stamped is not None:
                e.telemetry.last_seen = max(stamped, e.telemetry.last_seen or 0.0)
            elif not msg.retain and (obs.state or obs.telemetry.get("available", True)):
                e.telemetry.last_seen = received
            e.version += 1
            if obs.state:
                e.state_version += 1
            e.fresh = True
            e.recent.append((msg.received_at, msg.topic, msg.text[:200], bool(obs.state)))
            self._changed.notify_all()
        if "available" in obs.telemetry and obs.telemetry["available"] != was_available:
            self._emit("availability", dev, {"available": obs.telemetry["available"]})
            if dev.topics.get("role") == "hub":
                for other in self.registry.devices():
                    if other.hub == dev.id:
                        self._emit("availability", other, {"available": obs.telemetry["available"]})
        elif changed:
            self._emit("state", dev, changed)

    def _await_fresh(self, dev: Device, timeout: float) -> None:
        """After a broker outage, give the device (or its hub) a moment to come back
        on the broker, so a command is not published before anyone listens again."""
        end = time.monotonic() + timeout
        with self._changed:
            while not self._entry(dev.id).fresh and not (
                dev.hub and dev.hub in self._entries and self._entries[dev.hub].fresh
                and self._entries[dev.hub].telemetry.available is False
            ):
                left = end - time.monotonic()
                if left <= 0:
                    return
                self._changed.wait(left)

    def _offline_facts(self, dev: Device, state: DeviceState) -> tuple[Code, dict[str, Any]]:
        with self._lock:
            own = self._entry(dev.id).telemetry.available
            hub = self._entries.get(dev.hub) if dev.hub else None
        if own is not False and hub is not None and hub.telemetry.available is False:
            return Code.HUB_OFFLINE, {"hub": hub.device.name, "hub_id": hub.device.id}
        return Code.DEVICE_OFFLINE, {"last_seen": state.telemetry.last_seen}

    # -- helpers for tests, the demo and the benchmark ------------------------------------

    def wait_for(self, predicate: Callable[[DeviceBridge], bool], timeout: float = 5.0) -> bool:
        """Wait until predicate(bridge) is true (re-checked on every message)."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while not predicate(self):
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._changed.wait(min(left, 0.1))
        return True

    def settle(self, quiet_s: float = 0.3, timeout: float = 3.0) -> bool:
        """Wait until no message has arrived for quiet_s (retained discovery and state
        after connecting), at most timeout seconds."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if time.monotonic() - self._last_message_at >= quiet_s:
                return True
            time.sleep(0.05)
        return False

    def wait_until_known(self, timeout: float = 5.0) -> bool:
        """Wait until every device has reported a state or is known to be offline
        (hubs are not counted)."""

        def known(b: DeviceBridge) -> bool:
            # a scene or script has no state: its availability is enough
            return all(e.updated_at is not None or e.telemetry.available is False
                       or (e.device.type in STATELESS and e.telemetry.available is not None)
                       for e in b._entries.values() if e.device.topics.get("role") != "hub")

        return self.wait_for(known, timeout)


def _position_facts(dev: Device, requested: dict[str, Any], st: dict[str, Any]) -> dict[str, Any]:
    """Where a travelling device is and where it was sent: state, position, target."""
    facts: dict[str, Any] = {"state": st.get("state")}
    if dev.type is DeviceType.COVER:
        facts["position"] = st.get("current_position")
        facts["target"] = requested.get("position", {"open": 100, "closed": 0}.get(str(requested.get("state"))))
    return facts


def _travel_code(dev: Device, requested: dict[str, Any], st: dict[str, Any], before: dict[str, Any]) -> Code:
    """A cover or lock that did not arrive: did it move at all?"""
    if dev.type is DeviceType.COVER:
        now, then = st.get("current_position"), before.get("current_position")
        if now is not None and then is not None and abs(float(now) - float(then)) >= 1:
            return Code.STILL_MOVING if str(st.get("state", "")).lower() in MOVING_STATES else Code.STOPPED_SHORT
        return Code.NEVER_MOVED
    if str(st.get("state", "")).lower() in MOVING_STATES:
        return Code.STILL_MOVING
    return Code.UNCHANGED
