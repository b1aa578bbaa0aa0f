"""``voicebot proactive`` as an object: the device bridge, the watcher, the contact desk and a timer
that delivers contacts once they are due, started and stopped together."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from device_bridge.bridge import DeviceBridge
from device_bridge.home import Home
from voicebot.config import Settings, load_settings, section
from voicebot.dialogue.playbook import load_playbooks
from voicebot.dialogue.replies import Replies, default_replies
from voicebot.dialogue.settings import DialogueSettings
from voicebot.proactive.contacts import ContactDesk
from voicebot.proactive.rules import Rule, check_playbooks, load_rules
from voicebot.proactive.settings import ProactiveSettings
from voicebot.proactive.store import ProactiveStore
from voicebot.proactive.watcher import Watcher
from voicebot.store import Store

log = logging.getLogger(__name__)


def store_location(settings: Settings, store: str | Path | None = None) -> str | Path:
    """The store every service shares: ``--store``, else ``dialogue.store``, else ``store.url``,
    else the data directory's file."""
    from voicebot.sqlite_db import store_location as location

    return location(settings, store, section(DialogueSettings, "dialogue", settings).store)


def customer_for_home(store: Store, home: Path | None) -> str | None:
    """The customer whose profile names this home file, if exactly one does."""
    if home is None:
        return None
    wanted = home.resolve()
    owners = [c.customer_id for c in store.customers() if c.home_file and Path(c.home_file).resolve() == wanted]
    return owners[0] if len(owners) == 1 else None


class ProactiveService:
    def __init__(
        self,
        broker_url: str,
        home: Path | str | dict | Home | None,
        store: str | Path,
        settings: Settings | None = None,
        *,
        proactive: ProactiveSettings | None = None,
        rules: list[Rule] | None = None,
        customer_id: str | None = None,
        replies: Replies | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings or load_settings()
        self.options = proactive or section(ProactiveSettings, "proactive", self.settings)
        self.rules = rules if rules is not None else load_rules(self.options.rules)
        dialogue = section(DialogueSettings, "dialogue", self.settings)
        check_playbooks(self.rules, set(load_playbooks(dialogue.playbook_dirs)))
        self.broker_url = broker_url
        self.home = home
        self.store_location = store
        self.clock = clock
        self.replies = replies or default_replies()
        self._customer_id = customer_id or self.options.customer
        self.tickets: Store | None = None
        self.findings: ProactiveStore | None = None
        self.bridge: DeviceBridge | None = None
        self.watcher: Watcher | None = None
        self.desk: ContactDesk | None = None
        self._stop = threading.Event()
        self._timer: threading.Thread | None = None

    @property
    def customer_id(self) -> str | None:
        return self._customer_id

    def start(self, timeout: float = 10.0) -> ProactiveService:
        try:
            self.tickets = Store(self.store_location)
            self.findings = ProactiveStore(self.store_location)
            if self._customer_id is None and isinstance(self.home, (str, Path)):
                self._customer_id = customer_for_home(self.tickets, Path(self.home))
            m = self.settings.mqtt
            self.bridge = DeviceBridge(self.broker_url, self.home, username=m.username, password=m.password,
                                       ca_file=m.ca_file, cert_file=m.cert_file, key_file=m.key_file)
            self.desk = ContactDesk(self.findings, self.tickets, self._publish, self.options, self.replies,
                                    self._customer_id, clock=self.clock)
            self.watcher = Watcher(self.bridge, self.rules, self.desk.raised, self.desk.cleared,
                                   tick_s=self.options.tick_s, clock=self.clock)
            self.watcher.attach()  # before the bridge starts: nothing retained is missed
            self.bridge.start(timeout=timeout)
            self._resume()
            self.watcher.start()
            self._timer = threading.Thread(target=self._deliver_loop, name="proactive-contacts", daemon=True)
            self._timer.start()
        except BaseException:
            self.stop()
            raise
        return self

    def _resume(self) -> None:
        """Findings still open from before a restart: an offline device has been offline since then
        (its grace period is not started again, and its contact is not repeated)."""
        assert self.findings is not None and self.watcher is not None
        for f in self.findings.findings(self._customer_id):
            if f.check == "offline_for" and "offline_since" in f.evidence:
                self.watcher.seed_offline_since(f.device_id, float(f.evidence["offline_since"]))

    def _publish(self, topic: str, payload: bytes) -> None:
        assert self.bridge is not None and self.bridge.conn is not None
        self.bridge.conn.publish(topic, payload, qos=1)

    def _reconcile(self) -> None:
        """Once the home has reported after a start: findings still open from before that the rules
        no longer find (fixed while the watcher was away) are cleared, so nothing is said about them."""
        assert self.bridge is not None and self.watcher is not None and self.findings is not None
        if not self.bridge.wait_until_known(timeout=30.0) or self._stop.is_set():
            return  # not everything has reported: nothing is cleared on a guess
        self.watcher.evaluate()
        home = {d.id for d in self.bridge.devices()}
        for f in self.findings.findings(self._customer_id, home):
            if f.key not in self.watcher.active and f.customer_id == self._customer_id:
                self.findings.clear(f.id, self.clock())
                log.info("finding %s was fixed while the watcher was away: cleared", f.key)

    def _deliver_loop(self) -> None:
        try:
            self._reconcile()
        except Exception:
            log.exception("could not reconcile the findings open from before")
        while not self._stop.wait(self.options.tick_s):
            try:
                if self.desk is not None:
                    self.desk.deliver_due()
            except Exception:
                log.exception("delivering due contacts failed; trying again")

    def stop(self) -> None:
        self._stop.set()
        if self._timer is not None:
            self._timer.join(timeout=5)
            self._timer = None
        if self.watcher is not None:
            self.watcher.stop()
        if self.bridge is not None:
            self.bridge.stop()
        if self.tickets is not None:
            self.tickets.close()
            self.tickets = None

    def __enter__(self) -> ProactiveService:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()
