"""What voicebot remembers: customers, conversations, turns, tickets and the action trace.

SQLite through the standard library. One connection shared by the threads of one process,
serialised by a lock (sessions call the dialogue from worker threads). User text arrives
here already redacted; the store never sees raw transcripts. What was said (turns, replies,
slots and actions), the caller's number, ticket texts and the trace are sealed with the store's
key (voicebot.store_crypto) before they are written.
"""

from __future__ import annotations

import json
import sqlite3
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from voicebot.sqlite_db import SqliteDatabase
from voicebot.store_crypto import StoreCipher, StoreSettings

SCHEMA = """
CREATE TABLE IF NOT EXISTS customers (
    customer_id TEXT PRIMARY KEY,
    name TEXT,
    phones TEXT NOT NULL DEFAULT '[]',
    home_file TEXT,
    default_area TEXT,
    language TEXT NOT NULL DEFAULT 'en'
);
CREATE TABLE IF NOT EXISTS customer_phones (
    phone TEXT PRIMARY KEY,
    customer_id TEXT NOT NULL REFERENCES customers(customer_id) ON DELETE CASCADE
);
CREATE TABLE IF NOT EXISTS conversations (
    id TEXT PRIMARY KEY,
    channel TEXT NOT NULL,
    customer_id TEXT,
    caller TEXT,
    language TEXT NOT NULL DEFAULT 'en',
    started_at REAL NOT NULL,
    ended_at REAL,
    outcome TEXT
);
CREATE INDEX IF NOT EXISTS conversations_customer ON conversations(customer_id);
CREATE TABLE IF NOT EXISTS turns (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    conversation_id TEXT NOT NULL REFERENCES conversations(id),
    at REAL NOT NULL,
    user_text TEXT NOT NULL,
    reply TEXT NOT NULL,
    intent TEXT,
    slots TEXT NOT NULL DEFAULT '{}',
    actions TEXT NOT NULL DEFAULT '[]',
    sentiment REAL,
    language TEXT,
    handled_by TEXT,
    timings TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS turns_conversation ON turns(conversation_id);
CREATE TABLE IF NOT EXISTS tickets (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    conversation_id TEXT,
    customer_id TEXT,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    status TEXT NOT NULL DEFAULT 'open',
    reason TEXT NOT NULL,
    problem TEXT NOT NULL,
    summary TEXT NOT NULL DEFAULT '{}',
    note TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS tickets_customer ON tickets(customer_id);
CREATE TABLE IF NOT EXISTS trace (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    conversation_id TEXT,
    customer_id TEXT,
    at REAL NOT NULL,
    kind TEXT NOT NULL,
    device_id TEXT,
    data TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS trace_conversation ON trace(conversation_id);
CREATE INDEX IF NOT EXISTS trace_customer ON trace(customer_id);
"""

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


class Store(SqliteDatabase):
    def __init__(
        self,
        path: str | Path = ":memory:",
        cipher: StoreCipher | None = None,
        store_settings: StoreSettings | None = None,
    ) -> None:
        super().__init__(
            path, SCHEMA, what="the store", error=StoreError, foreign_keys=True,
            cipher=cipher, store_settings=store_settings,
        )

    def _json(self, value: Any) -> str:
        sealed = self.cipher.seal(json.dumps(value, default=str))
        assert sealed is not None
        return sealed

    def _unjson(self, value: str) -> Any:
        return json.loads(self.cipher.open(value) or "null")

    # customers -------------------------------------------------------------------------
    def save_customer(self, customer: Customer) -> None:
        with self._tx() as db:
            db.execute(
                "INSERT INTO customers (customer_id, name, phones, home_file, default_area, language) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(customer_id) DO UPDATE SET name=excluded.name, "
                "phones=excluded.phones, home_file=excluded.home_file, "
                "default_area=excluded.default_area, language=excluded.language",
                (
                    customer.customer_id,
                    customer.name,
                    json.dumps(customer.phones),
                    customer.home_file,
                    customer.default_area,
                    customer.language,
                ),
            )
            db.execute("DELETE FROM customer_phones WHERE customer_id = ?", (customer.customer_id,))
            for phone in customer.phones:
                db.execute(
                    "INSERT OR REPLACE INTO customer_phones (phone, customer_id) VALUES (?, ?)",
                    (normalise_phone(phone), customer.customer_id),
                )

    def customer(self, customer_id: str) -> Customer | None:
        rows = self._rows("SELECT * FROM customers WHERE customer_id = ?", (customer_id,))
        return _customer(rows[0]) if rows else None

    def customer_by_phone(self, phone: str) -> Customer | None:
        rows = self._rows(
            "SELECT c.* FROM customers c JOIN customer_phones p ON p.customer_id = c.customer_id "
            "WHERE p.phone = ?",
            (normalise_phone(phone),),
        )
        return _customer(rows[0]) if rows else None

    def customers(self) -> list[Customer]:
        return [_customer(r) for r in self._rows("SELECT * FROM customers ORDER BY customer_id")]

    # conversations and turns -----------------------------------------------------------
    def start_conversation(
        self, channel: str, customer_id: str | None, caller: str | None, language: str = "en"
    ) -> str:
        conversation_id = uuid.uuid4().hex[:16]
        with self._tx() as db:
            db.execute(
                "INSERT INTO conversations (id, channel, customer_id, caller, language, started_at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (conversation_id, channel, customer_id, self.cipher.seal(caller), language, time.time()),
            )
        return conversation_id

    def end_conversation(self, conversation_id: str, outcome: str) -> None:
        with self._tx() as db:
            db.execute(
                "UPDATE conversations SET ended_at = ?, outcome = ? WHERE id = ? AND ended_at IS NULL",
                (time.time(), outcome, conversation_id),
            )

    def conversation(self, conversation_id: str) -> dict[str, Any] | None:
        rows = self._rows("SELECT * FROM conversations WHERE id = ?", (conversation_id,))
        return self._conversation(rows[0]) if rows else None

    def _conversation(self, row: sqlite3.Row) -> dict[str, Any]:
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
            db.execute(
                "INSERT INTO turns (conversation_id, at, user_text, reply, intent, slots, actions, "
                "sentiment, language, handled_by, timings) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    conversation_id,
                    time.time(),
                    self.cipher.seal(user_text),
                    self.cipher.seal(reply),
                    intent,
                    self._json(slots or {}),
                    self._json(actions or []),
                    sentiment,
                    language,
                    handled_by,
                    json.dumps(timings or {}),
                ),
            )

    def set_turn_timings(self, conversation_id: str, timings: dict[str, Any]) -> bool:
        """Merge a spoken turn's stage timings (what voicebot.session measures: speech_start,
        speech_end, endpoint, transcript, reply_text, first_audio, ... in seconds) into the
        timings of the turn just handled: the conversation's latest turn row that has none yet.
        The session calls this once the first reply audio is out, before the next turn is
        answered. With no such row (the dialogue could not store the turn) they are kept as a
        ``turn_timings`` trace entry instead, so nothing is lost; returns whether a row took them."""
        data = {k: v for k, v in timings.items() if k != "user"}  # the row has the (redacted) words
        with self._tx() as db:
            row = db.execute(
                "SELECT id, timings FROM turns WHERE conversation_id = ? ORDER BY id DESC LIMIT 1",
                (conversation_id,),
            ).fetchone()
            have = json.loads(row["timings"]) if row is not None else {}
            if row is not None and "speech_end" not in have:  # not already timed by an earlier call
                db.execute("UPDATE turns SET timings = ? WHERE id = ?",
                           (json.dumps({**have, **data}, default=str), row["id"]))
                return True
        self.add_trace(conversation_id, None, "turn_timings", None, dict(timings))
        return False

    def turns(self, conversation_id: str) -> list[dict[str, Any]]:
        rows = self._rows("SELECT * FROM turns WHERE conversation_id = ? ORDER BY id", (conversation_id,))
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
            cur = db.execute(
                "INSERT INTO tickets (conversation_id, customer_id, created_at, updated_at, status, "
                "reason, problem, summary) VALUES (?, ?, ?, ?, 'open', ?, ?, ?)",
                (conversation_id, customer_id, now, now, reason, self.cipher.seal(problem), self._json(summary)),
            )
            ticket_id = str(cur.lastrowid)
        ticket = self.ticket(ticket_id)
        assert ticket is not None
        return ticket

    def ticket(self, ticket_id: str) -> Ticket | None:
        rows = self._rows("SELECT * FROM tickets WHERE id = ?", (_ticket_number(ticket_id),))
        return self._ticket(rows[0]) if rows else None

    def tickets_for_customer(self, customer_id: str) -> list[Ticket]:
        """Newest first."""
        rows = self._rows("SELECT * FROM tickets WHERE customer_id = ? ORDER BY id DESC", (customer_id,))
        return [self._ticket(r) for r in rows]

    def all_tickets(self, limit: int = 500) -> list[Ticket]:
        """Newest first."""
        return [self._ticket(r) for r in self._rows("SELECT * FROM tickets ORDER BY id DESC LIMIT ?", (limit,))]

    def tickets_for_conversation(self, conversation_id: str) -> list[Ticket]:
        rows = self._rows(
            "SELECT * FROM tickets WHERE conversation_id = ? ORDER BY id DESC", (conversation_id,)
        )
        return [self._ticket(r) for r in rows]

    def update_ticket(self, ticket_id: str, status: str, note: str | None = None) -> Ticket:
        if status not in TICKET_STATUSES:
            raise ValueError(f"unknown ticket status {status!r}; use one of {', '.join(TICKET_STATUSES)}")
        with self._tx() as db:
            cur = db.execute(
                "UPDATE tickets SET status = ?, updated_at = ?, note = COALESCE(?, note) WHERE id = ?",
                (status, time.time(), self.cipher.seal(note), _ticket_number(ticket_id)),
            )
            if cur.rowcount == 0:
                raise KeyError(f"no ticket {ticket_id}")
        ticket = self.ticket(ticket_id)
        assert ticket is not None
        return ticket

    def _ticket(self, row: sqlite3.Row) -> Ticket:
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
            db.execute(
                "INSERT INTO trace (conversation_id, customer_id, at, kind, device_id, data) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (conversation_id, customer_id, time.time(), kind, device_id, self._json(data)),
            )

    def trace(
        self,
        conversation_id: str | None = None,
        customer_id: str | None = None,
        kind: str | None = None,
        limit: int = 200,
    ) -> list[TraceEntry]:
        """Newest first. Either key selects: this conversation, or everything for this customer."""
        where, args = [], []
        if conversation_id is not None and customer_id is not None:
            where.append("(conversation_id = ? OR customer_id = ?)")
            args += [conversation_id, customer_id]
        elif conversation_id is not None:
            where.append("conversation_id = ?")
            args.append(conversation_id)
        elif customer_id is not None:
            where.append("customer_id = ?")
            args.append(customer_id)
        if kind is not None:
            where.append("kind = ?")
            args.append(kind)
        sql = "SELECT * FROM trace" + (" WHERE " + " AND ".join(where) if where else "")
        rows = self._rows(sql + " ORDER BY id DESC LIMIT ?", (*args, limit))
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
    digits = "".join(ch for ch in str(ticket_id) if ch.isdigit())
    return int(digits) if digits else -1


def _customer(row: sqlite3.Row) -> Customer:
    return Customer(
        customer_id=row["customer_id"],
        name=row["name"],
        phones=json.loads(row["phones"]),
        home_file=row["home_file"],
        default_area=row["default_area"],
        language=row["language"],
    )


def _ticket(row: sqlite3.Row, cipher: StoreCipher) -> Ticket:
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
