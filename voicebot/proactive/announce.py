"""Announcements on the smart speaker: a running ``voicebot listen`` follows the contacts published on
``voicebot/support/contact`` and says those meant for its speaker (``"speaker"`` among the channels,
about a device of its home, or for its customer) at the next good moment: the session asks
``take(quiet_s)`` only while nobody is talking and the bot is silent, and it answers only after
``announce_quiet_s`` of that quiet. Quiet hours are kept by the watcher, which publishes nothing in
them but safety alarms. A contact published while no speaker listened is not replayed: the next
conversation opens with the finding instead (voicebot.proactive.opening)."""

from __future__ import annotations

import json
import logging
import threading
from collections import deque
from collections.abc import Callable

from device_bridge.client import Message, MqttConnection, Subscription
from voicebot.config import Settings, section
from voicebot.proactive.settings import ProactiveSettings
from voicebot.proactive.store import ProactiveStore

log = logging.getLogger(__name__)


class Announcements:
    def __init__(
        self,
        conn: MqttConnection,
        topic: str,
        home_devices: Callable[[], set[str]],
        customer_id: str | None = None,
        quiet_s: float = 2.0,
        already_said: Callable[[int], bool] | None = None,
    ) -> None:
        self.conn = conn
        self.topic = topic
        self.home_devices = home_devices
        self.customer_id = customer_id
        self.quiet_s = quiet_s
        # whether a conversation already opened with the finding (then it is not announced as well)
        self.already_said = already_said or (lambda _finding_id: False)
        self._queue: deque[tuple[str, bool, int]] = deque()  # (text, safety, finding id)
        self._seen: deque[str] = deque(maxlen=500)  # contact ids already queued
        self._lock = threading.Lock()
        self._sub: Subscription | None = None
        self.said: list[str] = []

    def start(self) -> Announcements:
        self._sub = self.conn.subscribe(self.topic, self._on_contact, qos=1)
        return self

    def stop(self) -> None:
        if self._sub is not None:
            self.conn.unsubscribe(self._sub)
            self._sub = None

    def _on_contact(self, msg: Message) -> None:
        try:
            c = json.loads(msg.payload)
        except (ValueError, UnicodeDecodeError):
            log.warning("ignored a contact on %s that is not JSON", msg.topic)
            return
        if not isinstance(c, dict) or "speaker" not in (c.get("channels") or []) or not c.get("announcement"):
            return
        mine = (c.get("customer_id") and c.get("customer_id") == self.customer_id) or c.get("device_id") in self.home_devices()
        if not mine:
            return
        with self._lock:
            if c.get("contact_id") in self._seen:
                return
            self._seen.append(str(c.get("contact_id")))
            item = (str(c["announcement"]), c.get("severity") == "safety", int(c.get("finding_id") or 0))
            if item[1]:
                self._queue.appendleft(item)  # an alarm goes before any note
            else:
                self._queue.append(item)
        log.info("announcement queued for the speaker (finding %s)", c.get("finding_id"))

    def pending(self) -> int:
        with self._lock:
            return len(self._queue)

    def take(self, quiet_s: float) -> str | None:
        """The next announcement, once the line has been quiet (no one talking, bot silent) for
        ``quiet_s`` seconds; a safety alarm needs no more quiet than a breath."""
        with self._lock:
            while self._queue:
                text, safety, finding_id = self._queue[0]
                if quiet_s < (min(self.quiet_s, 0.3) if safety else self.quiet_s):
                    return None
                self._queue.popleft()
                if not safety and self._said_already(finding_id):
                    continue
                self.said.append(text)
                return text
            return None

    def _said_already(self, finding_id: int) -> bool:
        try:
            return bool(finding_id) and self.already_said(finding_id)
        except Exception:  # the store is away: saying it twice is better than not at all
            log.exception("could not tell whether finding %s was already said", finding_id)
            return False


def speaker_announcements(bridge: object, settings: Settings, findings: ProactiveStore | None = None,
                          customer_id: str | None = None) -> Announcements | None:
    """Announcements for the speaker of the home ``bridge`` serves (on its MQTT connection), or None
    when the bridge has no connection of its own. With ``findings``, a finding a conversation has
    already opened with is not announced as well. ``customer_id``: the speaker's household."""
    conn = getattr(bridge, "conn", None)
    devices = getattr(bridge, "devices", None)
    if not isinstance(conn, MqttConnection) or not callable(devices):
        return None
    opts = section(ProactiveSettings, "proactive", settings)

    def offered(finding_id: int) -> bool:
        f = findings.finding(finding_id) if findings is not None else None
        return f is not None and f.offered_at is not None

    return Announcements(conn, opts.contact_topic, lambda: {d.id for d in devices()}, customer_id or opts.customer,
                         opts.announce_quiet_s, offered).start()
