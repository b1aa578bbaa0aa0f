"""What voicebot remembers: customers, conversations, turns, tickets and the action trace.

A SQLite file by default, PostgreSQL for several hosts (voicebot.sqlite_db; the tables below are
declared on voicebot.database.METADATA and created by voicebot.migrations). User text arrives
here already redacted; the store never sees raw transcripts. What was said (turns, replies,
slots and actions), the caller's number, ticket texts and the trace are sealed with the store's
key (voicebot.store_crypto) before they are written.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    Table,
    Text,
    delete,
    insert,
    or_,
    select,
    update,
)

from voicebot.database import METADATA
from voicebot.sqlite_db import StoreDatabase, upsert
from voicebot.store_crypto import StoreCipher, StoreSettings

AUTO = {"sqlite_autoincrement": True}  # SQLite never reuses a deleted ticket's number

CUSTOMERS = Table(
    "customers", METADATA,
    Column("customer_id", Text, primary_key=True),
    Column("name", Text),
    Column("phones", Text, nullable=False, server_default="[]"),
    Column("home_file", Text),
    Column("default_area", Text),
    Column("language", Text, nullable=False, server_default="en"),
)
CUSTOMER_PHONES = Table(
    "customer_phones", METADATA,
    Column("phone", Text, primary_key=True),
    Column("customer_id", Text, ForeignKey("customers.customer_id", ondelete="CASCADE"), nullable=False),
)
CONVERSATIONS = Table(
    "conversations", METADATA,
    Column("id", Text, primary_key=True),
    Column("channel", Text, nullable=False),
    Column("customer_id", Text),
    Column("caller", Text),  # sealed
    Column("language", Text, nullable=False, server_default="en"),
    Column("started_at", Float, nullable=False),
    Column("ended_at", Float),
    Column("outcome", Text),
    Index("conversations_customer", "customer_id"),
)
TURNS = Table(
    "turns", METADATA,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("conversation_id", Text, ForeignKey("conversations.id"), nullable=False),
    Column("at", Float, nullable=False),
    Column("user_text", Text, nullable=False),  # sealed
    Column("reply", Text, nullable=False),  # sealed
    Column("intent", Text),
    Column("slots", Text, nullable=False, server_default="{}"),  # sealed JSON
    Column("actions", Text, nullable=False, server_default="[]"),  # sealed JSON
    Column("sentiment", Float),
    Column("language", Text),
    Column("handled_by", Text),
    Column("timings", Text, nullable=False, server_default="{}"),
    Index("turns_conversation", "conversation_id"),
    **AUTO,
)
TICKETS = Table(
    "tickets", METADATA,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("conversation_id", Text),
    Column("customer_id", Text),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    Column("status", Text, nullable=False, server_default="open"),
    Column("reason", Text, nullable=False),
    Column("problem", Text, nullable=False),  # sealed
    Column("summary", Text, nullable=False, server_default="{}"),  # sealed JSON
    Column("note", Text, nullable=False, server_default=""),  # sealed
    Index("tickets_customer", "customer_id"),
    **AUTO,
)
TRACE = Table(
    "trace", METADATA,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("conversation_id", Text),
    Column("customer_id", Text),
    Column("at", Float, nullable=False),
    Column("kind", Text, nullable=False),
    Column("device_id", Text),
    Column("data", Text, nullable=False, server_default="{}"),  # sealed JSON
    Index("trace_conversation", "conversation_id"),
    Index("trace_customer", "customer_id"),
    **AUTO,
)

TICKET_STATUSES = ("open", "in_progress", "waiting_for_customer", "closed")


@dataclass
class Customer:
    customer_id: str
    name: str | None = None
    phones: list[str] = field(default_factory=list)  # E.164 or as the carrier presents them
    home_file: str | None = None
    default_area: str | None = None
    language: str = "en"


@dataclass
class Ticket:
    id: str
    conversation_id: str | None
    customer_id: str | None
    created_at: float
    updated_at: float
    status: str
    reason: str  # asked | playbook_exhausted | frustration | misunderstanding | safety | command_failed
    problem: str
    summary: dict[str, Any]
    note: str = ""  # the agent's latest note, read out on a status request


@dataclass
class TraceEntry:
    id: int
    conversation_id: str | None
    customer_id: str | None
    at: float
    kind: str  # command | check | playbook | escalation | confirmation
    device_id: str | None
    data: dict[str, Any]


class StoreError(RuntimeError):
    """The store cannot be opened or used; the message is meant for the user."""


class Store(StoreDatabase):
    def __init__(
        self,
        path: str | Path = ":memory:",
        cipher: StoreCipher | None = None,
        store_settings: StoreSettings | None = None,
    ) -> None:
        super().__init__(path, what="the store", error=StoreError, cipher=cipher, store_settings=store_settings)

    def _json(self, value: Any) -> str:
        sealed = self.cipher.seal(json.dumps(value, default=str))
        assert sealed is not None
        return sealed

    def _unjson(self, value: str) -> Any:
        return json.loads(self.cipher.open(value) or "null")

    # customers -------------------------------------------------------------------------
    def save_customer(self, customer: Customer) -> None:
        values = {
            "customer_id": customer.customer_id,
            "name": customer.name,
            "phones": json.dumps(customer.phones),
            "home_file": customer.home_file,
            "default_area": customer.default_area,
            "language": customer.language,
        }
        phones = {normalise_phone(p) for p in customer.phones}
        with self._tx() as db:
            db.execute(upsert(db, CUSTOMERS, values, ["customer_id"]))
            db.execute(delete(CUSTOMER_PHONES).where(CUSTOMER_PHONES.c.customer_id == customer.customer_id))
            for phone in sorted(phones):  # a number moves to the customer who gives it last
                db.execute(upsert(db, CUSTOMER_PHONES, {"phone": phone, "customer_id": customer.customer_id}, ["phone"]))

    def customer(self, customer_id: str) -> Customer | None:
        rows = self._read(select(CUSTOMERS).where(CUSTOMERS.c.customer_id == customer_id))
        return _customer(rows[0]) if rows else None

    def customer_by_phone(self, phone: str) -> Customer | None:
        rows = self._read(
            select(CUSTOMERS)
            .join(CUSTOMER_PHONES, CUSTOMER_PHONES.c.customer_id == CUSTOMERS.c.customer_id)
            .where(CUSTOMER_PHONES.c.phone == normalise_phone(phone))
        )
        return _customer(rows[0]) if rows else None

    def customers(self) -> list[Customer]:
        return [_customer(r) for r in self._read(select(CUSTOMERS).order_by(CUSTOMERS.c.customer_id))]

    # conversations and turns -----------------------------------------------------------
    def start_conversation(
        self, channel: str, customer_id: str | None, caller: str | None, language: str = "en"
    ) -> str:
        conversation_id = uuid.uuid4().hex[:16]
        with self._tx() as db:
            db.execute(insert(CONVERSATIONS).values(
                id=conversation_id, channel=channel, customer_id=customer_id, caller=self.cipher.seal(caller),
                language=language, started_at=time.time(),
            ))
        return conversation_id

    def end_conversation(self, conversation_id: str, outcome: str) -> None:
        with self._tx() as db:
            db.execute(
                update(CONVERSATIONS)
                .where(CONVERSATIONS.c.id == conversation_id, CONVERSATIONS.c.ended_at.is_(None))
                .values(ended_at=time.time(), outcome=outcome)
            )

    def conversation(self, conversation_id: str) -> dict[str, Any] | None:
        rows = self._read(select(CONVERSATIONS).where(CONVERSATIONS.c.id == conversation_id))
        return self._conversation(rows[0]) if rows else None

    def _conversation(self, row: Mapping[str, Any]) -> dict[str, Any]:
        data = dict(row)
        data["caller"] = self.cipher.open(data["caller"])
        return data

    def add_turn(
        self,
        conversation_id: str,
        user_text: str,
        reply: str,
        intent: str | None = None,
        slots: dict[str, Any] | None = None,
        actions: list[dict[str, Any]] | None = None,
        sentiment: float | None = None,
        language: str | None = None,
        handled_by: str | None = None,
        timings: dict[str, float] | None = None,
    ) -> None:
        with self._tx() as db:
            db.execute(insert(TURNS).values(
                conversation_id=conversation_id,
                at=time.time(),
                user_text=self.cipher.seal(user_text),
                reply=self.cipher.seal(reply),
                intent=intent,
                slots=self._json(slots or {}),
                actions=self._json(actions or []),
                sentiment=sentiment,
                language=language,
                handled_by=handled_by,
                timings=json.dumps(timings or {}),
            ))

    def set_turn_timings(self, conversation_id: str, timings: dict[str, Any]) -> bool:
        """Merge a spoken turn's stage timings (what voicebot.session measures: speech_start,
        speech_end, endpoint, transcript, reply_text, first_audio, ... in seconds) into the
        timings of the turn just handled: the conversation's latest turn row that has none yet.
        The session calls this once the first reply audio is out, before the next turn is
        answered. With no such row (the dialogue could not store the turn) they are kept as a
        ``turn_timings`` trace entry instead, so nothing is lost; returns whether a row took them."""
        data = {k: v for k, v in timings.items() if k != "user"}  # the row has the (redacted) words
        with self._tx() as db:
            latest = (
                select(TURNS.c.id, TURNS.c.timings)
                .where(TURNS.c.conversation_id == conversation_id)
                .order_by(TURNS.c.id.desc())
                .limit(1)
            )
            if not self.sqlite:  # SQLite's BEGIN IMMEDIATE already keeps other writers out
                latest = latest.with_for_update()
            row = db.execute(latest).mappings().first()
            have = json.loads(row["timings"]) if row is not None else {}
            if row is not None and "speech_end" not in have:  # not already timed by an earlier call
                db.execute(update(TURNS).where(TURNS.c.id == row["id"])
                           .values(timings=json.dumps({**have, **data}, default=str)))
                return True
        self.add_trace(conversation_id, None, "turn_timings", None, dict(timings))
        return False

    def turns(self, conversation_id: str) -> list[dict[str, Any]]:
        rows = self._read(select(TURNS).where(TURNS.c.conversation_id == conversation_id).order_by(TURNS.c.id))
        out = []
        for r in rows:
            d = dict(r)
            d["user_text"] = self.cipher.open(d["user_text"])
            d["reply"] = self.cipher.open(d["reply"])
            for key in ("slots", "actions", "timings"):
                d[key] = self._unjson(d[key])
            out.append(d)
        return out

    # tickets ---------------------------------------------------------------------------
    def create_ticket(
        self,
        conversation_id: str | None,
        customer_id: str | None,
        reason: str,
        problem: str,
        summary: dict[str, Any],
    ) -> Ticket:
        now = time.time()
        with self._tx() as db:
            ticket_id = db.execute(
                insert(TICKETS)
                .values(conversation_id=conversation_id, customer_id=customer_id, created_at=now, updated_at=now,
                        status="open", reason=reason, problem=self.cipher.seal(problem), summary=self._json(summary))
                .returning(TICKETS.c.id)
            ).scalar_one()
        ticket = self.ticket(str(ticket_id))
        assert ticket is not None
        return ticket

    def ticket(self, ticket_id: str) -> Ticket | None:
        rows = self._read(select(TICKETS).where(TICKETS.c.id == _ticket_number(ticket_id)))
        return self._ticket(rows[0]) if rows else None

    def tickets_for_customer(self, customer_id: str) -> list[Ticket]:
        """Newest first."""
        rows = self._read(select(TICKETS).where(TICKETS.c.customer_id == customer_id).order_by(TICKETS.c.id.desc()))
        return [self._ticket(r) for r in rows]

    def all_tickets(self, limit: int = 500) -> list[Ticket]:
        """Newest first."""
        return [self._ticket(r) for r in self._read(select(TICKETS).order_by(TICKETS.c.id.desc()).limit(limit))]

    def tickets_for_conversation(self, conversation_id: str) -> list[Ticket]:
        rows = self._read(
            select(TICKETS).where(TICKETS.c.conversation_id == conversation_id).order_by(TICKETS.c.id.desc())
        )
        return [self._ticket(r) for r in rows]

    def update_ticket(self, ticket_id: str, status: str, note: str | None = None) -> Ticket:
        if status not in TICKET_STATUSES:
            raise ValueError(f"unknown ticket status {status!r}; use one of {', '.join(TICKET_STATUSES)}")
        changes: dict[str, Any] = {"status": status, "updated_at": time.time()}
        if note is not None:
            changes["note"] = self.cipher.seal(note)
        with self._tx() as db:
            done = db.execute(update(TICKETS).where(TICKETS.c.id == _ticket_number(ticket_id)).values(**changes))
            if done.rowcount == 0:
                raise KeyError(f"no ticket {ticket_id}")
        ticket = self.ticket(ticket_id)
        assert ticket is not None
        return ticket

    def _ticket(self, row: Mapping[str, Any]) -> Ticket:
        return _ticket(row, self.cipher)

    # trace -----------------------------------------------------------------------------
    def add_trace(
        self,
        conversation_id: str | None,
        customer_id: str | None,
        kind: str,
        device_id: str | None,
        data: dict[str, Any],
    ) -> None:
        with self._tx() as db:
            db.execute(insert(TRACE).values(
                conversation_id=conversation_id, customer_id=customer_id, at=time.time(), kind=kind,
                device_id=device_id, data=self._json(data),
            ))

    def trace(
        self,
        conversation_id: str | None = None,
        customer_id: str | None = None,
        kind: str | None = None,
        limit: int = 200,
    ) -> list[TraceEntry]:
        """Newest first. Either key selects: this conversation, or everything for this customer."""
        query = select(TRACE)
        if conversation_id is not None and customer_id is not None:
            query = query.where(or_(TRACE.c.conversation_id == conversation_id, TRACE.c.customer_id == customer_id))
        elif conversation_id is not None:
            query = query.where(TRACE.c.conversation_id == conversation_id)
        elif customer_id is not None:
            query = query.where(TRACE.c.customer_id == customer_id)
        if kind is not None:
            query = query.where(TRACE.c.kind == kind)
        rows = self._read(query.order_by(TRACE.c.id.desc()).limit(limit))
        return [
            TraceEntry(
                id=r["id"],
                conversation_id=r["conversation_id"],
                customer_id=r["customer_id"],
                at=r["at"],
                kind=r["kind"],
                device_id=r["device_id"],
                data=self._unjson(r["data"]),
            )
            for r in rows
        ]


def normalise_phone(phone: str) -> str:
    """Digits and a leading plus, so "+49 (30) 1234-56" and "+4930123456" are one number."""
    phone = phone.strip()
    if phone.lower().startswith(("sip:", "tel:")):
        phone = phone.split(":", 1)[1].split("@", 1)[0]
    digits = "".join(ch for ch in phone if ch.isdigit())
    return ("+" + digits) if phone.startswith("+") else digits


def _ticket_number(ticket_id: str) -> int:
    digits = "".join(ch for ch in str(ticket_id) if ch.isdigit())[:18]  # more would overflow BIGINT
    return int(digits) if digits else -1


def _customer(row: Mapping[str, Any]) -> Customer:
    return Customer(
        customer_id=row["customer_id"],
        name=row["name"],
        phones=json.loads(row["phones"]),
        home_file=row["home_file"],
        default_area=row["default_area"],
        language=row["language"],
    )


def _ticket(row: Mapping[str, Any], cipher: StoreCipher) -> Ticket:
    return Ticket(
        id=str(row["id"]),
        conversation_id=row["conversation_id"],
        customer_id=row["customer_id"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        status=row["status"],
        reason=row["reason"],
        problem=cipher.open(row["problem"]) or "",
        summary=json.loads(cipher.open(row["summary"]) or "{}"),
        note=cipher.open(row["note"]) or "",
    )
