"""The queue: open tickets with everything an agent needs, ordered by urgency.

Safety first, then frustration, then the promised callback (a booked one, else the promise of
``dialogue.callback_within_hours``), then waiting time."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any

from voicebot.console.db import Callback, ConsoleDB, Resolution
from voicebot.dialogue.settings import DialogueSettings
from voicebot.store import Customer, Store, Ticket

OPEN_STATUSES = ("open", "in_progress", "waiting_for_customer")


@dataclass(frozen=True)
class Filters:
    status: str = ""  # "" means every open status; "closed" or one status
    channel: str = ""
    device_type: str = ""
    language: str = ""

    def as_query(self) -> dict[str, str]:
        return {k: v for k, v in self.__dict__.items() if v}


@dataclass
class QueueItem:
    ticket: Ticket
    customer: Customer | None
    channel: str
    language: str
    device_types: list[str]
    safety: bool
    frustrated: bool
    due: float | None  # when the customer was promised a call (epoch seconds)
    callback: Callback | None
    resolution: Resolution | None
    turns: list[dict[str, Any]] = field(default_factory=list)

    @property
    def waiting_s(self) -> float:
        return max(0.0, time.time() - self.ticket.created_at)

    @property
    def urgency(self) -> tuple[int, int, float, float]:
        return (0 if self.safety else 1, 0 if self.frustrated else 1,
                self.due if self.due is not None else math.inf, self.ticket.created_at)

    @property
    def labels(self) -> list[str]:
        return [x for x, on in (("safety", self.safety), ("frustrated", self.frustrated)) if on]

    @property
    def summary(self) -> dict[str, Any]:
        return self.ticket.summary

    @property
    def sentiments(self) -> list[float]:
        """Per turn, from the stored turns (what the bot heard), else the ticket's figures."""
        found = [float(t["sentiment"]) for t in self.turns if t.get("sentiment") is not None]
        if found:
            return found
        s = self.summary.get("sentiment") or {}
        return [float(s["last"])] if s.get("last") is not None else []


def item_for(ticket: Ticket, store: Store, db_callbacks: dict[str, Callback], resolutions: dict[str, Resolution],
             settings: DialogueSettings, with_turns: bool = False) -> QueueItem:
    summary = ticket.summary or {}
    conversation = store.conversation(ticket.conversation_id) if ticket.conversation_id else None
    customer = store.customer(ticket.customer_id) if ticket.customer_id else None
    devices = summary.get("devices") or {}
    types = sorted({str(d.get("type")) for d in devices.values() if isinstance(d, dict) and d.get("type")})
    callback = db_callbacks.get(ticket.id)
    due: float | None = callback.at if callback else None
    if due is None and settings.callback_within_hours:
        due = ticket.created_at + settings.callback_within_hours * 3600
    sentiment = summary.get("sentiment") or {}
    return QueueItem(
        ticket=ticket,
        customer=customer,
        channel=str(summary.get("channel") or (conversation or {}).get("channel") or "unknown"),
        language=str((conversation or {}).get("language") or (customer.language if customer else "en")),
        device_types=types,
        safety=ticket.reason == "safety" or bool(summary.get("urgent")),
        frustrated=ticket.reason == "frustration" or bool(sentiment.get("frustrated")),
        due=due,
        callback=callback,
        resolution=resolutions.get(ticket.id),
        turns=store.turns(ticket.conversation_id) if with_turns and ticket.conversation_id else [],
    )


def build_queue(store: Store, db: ConsoleDB, settings: DialogueSettings, filters: Filters,
                limit: int = 500) -> list[QueueItem]:
    callbacks, resolutions = db.callbacks(), db.resolutions()
    items = []
    for t in store.all_tickets(limit):
        if filters.status:
            if t.status != filters.status:
                continue
        elif t.status not in OPEN_STATUSES:
            continue
        item = item_for(t, store, callbacks, resolutions, settings)
        if filters.channel and item.channel != filters.channel:
            continue
        if filters.language and item.language != filters.language:
            continue
        if filters.device_type and filters.device_type not in item.device_types:
            continue
        items.append(item)
    return sorted(items, key=lambda i: i.urgency)


def ticket_json(item: QueueItem) -> dict[str, Any]:
    """A ticket as the JSON API gives it."""
    t = item.ticket
    return {
        "id": t.id, "status": t.status, "reason": t.reason, "problem": t.problem, "note": t.note,
        "customer_id": t.customer_id, "conversation_id": t.conversation_id,
        "created_at": t.created_at, "updated_at": t.updated_at,
        "channel": item.channel, "language": item.language, "device_types": item.device_types,
        "safety": item.safety, "frustrated": item.frustrated, "due": item.due,
        "callback": item.callback.at if item.callback else None,
        "summary": t.summary,
    }
