"""From a raised finding to a contact, politely: always a ticket; then, unless it is a duplicate or
the customer opted out of its kind, a contact through the channels the customer prefers and allows,
published as JSON on ``voicebot/support/contact`` when it is due: not in quiet hours, not over the
customer's rate limit (safety findings wait for neither). A finding cleared before its contact went
out takes the contact with it; nothing is said about what was already fixed."""

from __future__ import annotations

import datetime as dt
import json
import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from voicebot.dialogue.replies import Replies
from voicebot.proactive.findings import Finding
from voicebot.proactive.settings import ProactiveSettings, QuietHours
from voicebot.proactive.store import Preferences, ProactiveStore
from voicebot.proactive.wording import describe, offer

log = logging.getLogger(__name__)

Publish = Callable[[str, bytes], None]
URGENCY = {"info": "normal", "warning": "normal", "critical": "high", "safety": "critical"}  # feedback's levels


class TicketDesk:
    """What contacts need of the main store (``voicebot.store.Store``): tickets and customers."""

    def create_ticket(self, conversation_id: str | None, customer_id: str | None, reason: str, problem: str,
                      summary: dict[str, Any]) -> Any: ...

    def customer(self, customer_id: str) -> Any: ...


@dataclass
class Effective:
    """A customer's preferences with the configured defaults filled in."""

    channels: list[str]
    preferred: str
    quiet: QuietHours | None
    opt_out: set[str]


class ContactDesk:
    def __init__(
        self,
        store: ProactiveStore,
        tickets: TicketDesk,
        publish: Publish,
        settings: ProactiveSettings,
        replies: Replies,
        customer_id: str | None = None,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.tickets = tickets
        self.publish = publish
        self.settings = settings
        self.replies = replies
        self.customer_id = customer_id
        self.clock = clock
        self._lock = threading.Lock()  # raised/cleared come from the watcher, deliveries from a timer

    # -- the customer -------------------------------------------------------------------------
    def _customer(self) -> Any:
        if self.customer_id is None:
            return None
        try:
            return self.tickets.customer(self.customer_id)
        except Exception:
            log.exception("could not read customer %s", self.customer_id)
            return None

    def preferences(self) -> Effective:
        s = self.settings
        own = self.store.preferences(self.customer_id) if self.customer_id else None
        own = own or Preferences(self.customer_id or "")
        quiet = s.quiet_hours
        if own.quiet_start and own.quiet_end:
            quiet = QuietHours(start=dt.time.fromisoformat(own.quiet_start), end=dt.time.fromisoformat(own.quiet_end))
        elif own.quiet_start == "" or own.quiet_end == "":
            quiet = None  # the customer said: no quiet hours
        return Effective(list(own.channels if own.channels is not None else s.channels),
                         own.preferred or s.preferred_channel, quiet, set(s.opt_out) | set(own.opt_out))

    # -- findings ----------------------------------------------------------------------------
    def raised(self, f: Finding) -> None:
        with self._lock:
            self._raised(f)
        self.deliver_due()

    def _raised(self, f: Finding) -> None:
        cid = self.customer_id
        if self.store.open_finding(f.key, cid) is not None:
            log.info("finding %s is still open from before: not contacting again", f.key)
            return
        row = self.store.add_finding(f, cid)
        customer = self._customer()
        language = getattr(customer, "language", None) or "en"
        if language not in self.replies.languages:
            language = "en"
        now = self.clock()
        problem = describe(self.replies, "en", f.check, f.device_name, f.evidence, now)
        same = self.store.open_of_kind(f.device_id, f.kind, cid, besides=row.id)
        if same:
            log.info("finding %s: %s is already known about %s (finding %s): no second contact",
                     f.key, f.kind, f.device_id, same[0].id)
            return
        summary = {"source": "proactive", "finding_id": row.id, "rule": f.rule, "kind": f.kind,
                   "severity": f.severity, "device_id": f.device_id, "device_name": f.device_name, "area": f.area,
                   "evidence": f.evidence, "playbook": f.playbook}
        ticket_id: str | None = None
        try:
            reason = "safety" if f.safety else "proactive"
            ticket = self.tickets.create_ticket(None, cid, reason, f"Proactive: {problem} (rule {f.rule})", summary)
            ticket_id = str(ticket.id)
            self.store.set_ticket(row.id, ticket_id)
        except Exception:  # the contact still goes out; the agent sees it on the topic
            log.exception("could not open a ticket for finding %s", f.key)
        prefs = self.preferences()
        if f.kind in prefs.opt_out and not f.safety:
            log.info("finding %s: the customer opted out of %s contacts (ticket %s only)", f.key, f.kind, ticket_id)
            return
        channels = self._channels(prefs, f.safety, customer)
        text = describe(self.replies, language, f.check, f.device_name, f.evidence, now)
        fix = offer(self.replies, language, f.kind, f.playbook)
        announce_key = "finding_announcement_safety" if f.safety else "finding_announcement"
        payload = {
            "source": "proactive",
            "contact_id": uuid.uuid4().hex,
            "finding_id": row.id,
            "customer_id": cid,
            "channels": [*channels, "ticket"],
            "preferred": prefs.preferred,
            "callback": "phone" in channels,  # a callback request for the phone line
            "device_id": f.device_id,
            "device_name": f.device_name,
            "area": f.area,
            "rule": f.rule,
            "kind": f.kind,
            "severity": f.severity,
            "urgency": URGENCY.get(f.severity, "normal"),
            "evidence": f.evidence,
            "playbook": f.playbook,
            "problem": problem,  # English, for agents
            "language": language,
            "text": text,  # in the customer's language
            "announcement": self.replies.say(announce_key, language, finding=text,
                                             offer=self.replies.say("finding_ask_later", language) if fix else ""),
            "ticket_id": ticket_id,
            "raised_at": f.raised_at,
        }
        self.store.add_contact(row.id, cid, payload, now)

    def _channels(self, prefs: Effective, safety: bool, customer: Any) -> list[str]:
        allowed = [c for c in prefs.channels if c != "phone" or (customer is not None and getattr(customer, "phones", None))]
        if safety:
            return allowed  # every way the customer allows
        if prefs.preferred in allowed:
            return [prefs.preferred]
        return allowed[:1]

    def cleared(self, f: Finding) -> None:
        with self._lock:
            row = self.store.open_finding(f.key, self.customer_id)
            if row is None:
                return
            dropped = self.store.clear(row.id, self.clock())
            log.info("finding %s cleared%s", f.key, f" ({dropped} waiting contact(s) dropped)" if dropped else "")

    # -- delivery ----------------------------------------------------------------------------
    def hold(self, now: float, safety: bool) -> tuple[float, str] | None:
        """Until when a contact must wait, and why (None: it may go now)."""
        if safety:
            return None
        prefs = self.preferences()
        if prefs.quiet is not None:
            local = dt.datetime.fromtimestamp(now, self.settings.zone())
            if prefs.quiet.contains(local):
                return prefs.quiet.ends_after(local).timestamp(), "quiet_hours"
        s = self.settings
        sent = self.store.sent_since(self.customer_id, now - 86400)
        if len(sent) >= s.max_contacts_per_day:
            return sent[-s.max_contacts_per_day] + 86400, "rate_limit"
        if sent and now - sent[-1] < s.min_contact_interval_s:
            return sent[-1] + s.min_contact_interval_s, "rate_limit"
        return None

    def deliver_due(self) -> list[dict[str, Any]]:
        """Publish every contact that is due and may go now; returns their payloads."""
        out = []
        with self._lock:
            now = self.clock()
            for contact_id, finding_id, _cid, payload in self.store.due_contacts(now):
                finding = self.store.finding(finding_id)
                if finding is None or finding.cleared_at is not None:
                    continue
                wait = self.hold(now, finding.severity == "safety")
                if wait is not None:
                    self.store.postpone(contact_id, *wait)
                    log.info("contact about finding %s waits until %s (%s)", finding.key,
                             dt.datetime.fromtimestamp(wait[0], self.settings.zone()).isoformat(timespec="minutes"),
                             wait[1])
                    continue
                payload = {**payload, "sent_at": now}
                try:
                    self.publish(self.settings.contact_topic, json.dumps(payload, default=str).encode())
                except Exception:
                    log.exception("could not publish the contact about finding %s; it stays due", finding.key)
                    continue
                self.store.mark_sent(contact_id, finding_id, now)
                log.info("contacted about finding %s through %s", finding.key, ", ".join(payload["channels"]))
                out.append(payload)
        return out
