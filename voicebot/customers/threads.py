"""Where a customer's last conversation left off: the customer's thread across channels.

Written after every turn of a known customer's conversation, on any channel, and read when the
customer's next conversation starts, so a chat can be continued on the phone (and the other way
round). Ids, labels and times only: what the customer said stays in the store's encrypted turns.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import delete, insert, select, update

from voicebot.customers.tables import THREADS, engine_for

OPEN = "open"  # not fixed yet (troubleshooting under way, stopped, or handed to an agent)
RESOLVED = "resolved"  # fixed by the troubleshooting
DISMISSED = "dismissed"  # the customer said it works now


@dataclass
class Problem:
    device_id: str
    playbook: str | None = None
    symptom: str | None = None  # the understanding's symptom code ("wont_turn_on"), not the words
    status: str = OPEN
    ticket_id: str | None = None
    since: float = field(default_factory=time.time)


@dataclass
class CustomerThread:
    customer_id: str
    conversation_id: str
    channel: str
    updated_at: float
    language: str = "en"
    device_ids: list[str] = field(default_factory=list)  # what "it" meant last
    area: str | None = None
    problem: Problem | None = None

    @property
    def open_problem(self) -> Problem | None:
        return self.problem if self.problem is not None and self.problem.status == OPEN else None


class Threads:
    """The customer_threads table on one store's database: one row per customer, the latest."""

    def __init__(self, store: Any) -> None:
        self.engine = engine_for(store)

    def save(self, thread: CustomerThread) -> None:
        data = json.dumps({
            "device_ids": thread.device_ids,
            "area": thread.area,
            "problem": asdict(thread.problem) if thread.problem else None,
        })
        values = {"conversation_id": thread.conversation_id, "channel": thread.channel,
                  "updated_at": thread.updated_at, "language": thread.language, "data": data}
        with self.engine.begin() as db:
            done = db.execute(update(THREADS).where(THREADS.c.customer_id == thread.customer_id).values(**values)).rowcount
            if not done:
                db.execute(insert(THREADS).values(customer_id=thread.customer_id, **values))

    def latest(self, customer_id: str) -> CustomerThread | None:
        with self.engine.connect() as db:
            row = db.execute(select(THREADS).where(THREADS.c.customer_id == customer_id)).first()
        if row is None:
            return None
        try:
            data = json.loads(row.data or "{}")
            problem = Problem(**data["problem"]) if data.get("problem") else None
        except (ValueError, TypeError, KeyError):  # a row another version wrote: start afresh
            data, problem = {}, None
        return CustomerThread(
            customer_id=row.customer_id,
            conversation_id=row.conversation_id,
            channel=row.channel,
            updated_at=row.updated_at,
            language=row.language or "en",
            device_ids=[str(d) for d in data.get("device_ids") or []],
            area=data.get("area"),
            problem=problem,
        )

    def forget(self, customer_id: str) -> None:
        with self.engine.begin() as db:
            db.execute(delete(THREADS).where(THREADS.c.customer_id == customer_id))
