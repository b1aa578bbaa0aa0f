"""The next conversation starts from the finding: on any channel, a customer who was contacted (or
whose contact is still waiting) hears it first ("Before we start: the back door sensor's battery is
at 4%. Shall I walk you through changing it?"), and a yes starts the finding's playbook from the
device's evidence. Registered on the dialogue engine as one of its openers (runtime)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from device_bridge.devices import DeviceControl
from voicebot.dialogue.replies import Replies
from voicebot.dialogue.types import Opening
from voicebot.proactive.rules import SEVERITIES
from voicebot.proactive.settings import ProactiveSettings
from voicebot.proactive.store import ProactiveStore, StoredFinding
from voicebot.proactive.wording import describe, offer

log = logging.getLogger(__name__)


class FindingOpener:
    """voicebot.dialogue.types.Opener over the proactive store."""

    def __init__(self, store: ProactiveStore, bridge: DeviceControl, replies: Replies,
                 settings: ProactiveSettings | None = None, clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.bridge = bridge
        self.replies = replies
        self.settings = settings or ProactiveSettings()
        self.clock = clock

    def candidates(self, customer_id: str | None) -> list[StoredFinding]:
        """Open findings this conversation may start from, the most serious and newest first: about a
        device of this home, the customer's own or nobody's (a conversation without a customer: any),
        told or about to be told, and not offered in another conversation lately."""
        home = {d.id for d in self.bridge.devices()}
        if not home:
            return []
        waiting = {c["finding_id"] for c in self.store.contacts(status="due")}
        now = self.clock()
        # a customer's own findings, and those of their home the watcher could not tie to anyone
        mine = {f.id: f for f in self.store.findings(None, home)
                if customer_id is None or f.customer_id in (customer_id, None)}
        found = [f for f in mine.values()
                 if (f.contacted_at is not None or f.id in waiting)
                 and (f.offered_at is None or now - f.offered_at >= self.settings.reoffer_after_s)]
        rank = {s: i for i, s in enumerate(SEVERITIES)}
        return sorted(found, key=lambda f: (-rank.get(f.severity, 0), -f.raised_at))

    def opening(self, customer_id: str | None, channel: str, language: str) -> Opening | None:
        found = self.candidates(customer_id)
        if not found:
            return None
        f = found[0]
        text = describe(self.replies, language, f.check, f.device_name, f.evidence, self.clock())
        fix = offer(self.replies, language, f.kind, f.playbook)
        log.info("conversation on %s opens with finding %s", channel, f.id)
        return Opening(text=text, offer=fix, device_id=f.device_id, playbook=f.playbook, symptom=f.kind,
                       on_said=lambda: self.store.mark_offered(f.id, self.clock()))


def finding_opener(store_location: Any, bridge: DeviceControl, replies: Replies,
                   settings: ProactiveSettings | None = None) -> FindingOpener | None:
    """The opener for a store, or None for a throw-away in-memory store (nothing to find there)."""
    if str(store_location) == ":memory:":
        return None
    return FindingOpener(ProactiveStore(store_location), bridge, replies, settings)
