"""The console's own tables, beside the store's on the same database (voicebot.database):
agents, the record of every agent action, booked callbacks and resolutions.

Free text an agent writes about a customer (notes, resolutions, what was said when stepping in)
is sealed with the store's cipher, as the store seals what customers say."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Column, Float, Integer, String, Table, Text, delete, insert, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from voicebot.database import METADATA, ensure_tables, open_engine
from voicebot.store_crypto import StoreCipher

ROLES = ("agent", "supervisor")

agents_table = Table(
    "console_agents", METADATA,
    Column("name", String(64), primary_key=True),
    Column("role", String(16), nullable=False),
    Column("password_hash", Text, nullable=False),  # argon2id, from argon2-cffi
    Column("created_at", Float, nullable=False),
)

audit_table = Table(
    "console_audit", METADATA,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", Float, nullable=False, index=True),
    Column("agent", String(64), nullable=False),  # who did it ("-" for a failed sign-in of no one known)
    Column("action", String(32), nullable=False),  # sign_in, note, status, callback, resolve, take_over, say, ...
    Column("ticket_id", String(32), index=True),
    Column("conversation_id", String(64), index=True),
    # whom it concerns: `voicebot customers export/erase` take every row of a table with this column
    Column("customer_id", String(128), index=True),
    Column("detail", Text, nullable=False, default="{}"),  # sealed JSON
)

callbacks_table = Table(
    "console_callbacks", METADATA,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("ticket_id", String(32), nullable=False, index=True),
    Column("customer_id", String(128), index=True),
    Column("at", Float, nullable=False),  # when the agent will call (epoch seconds)
    Column("booked_by", String(64), nullable=False),
    Column("booked_at", Float, nullable=False),
)

resolutions_table = Table(
    "console_resolutions", METADATA,
    Column("ticket_id", String(32), primary_key=True),
    Column("customer_id", String(128), index=True),
    Column("agent", String(64), nullable=False),
    Column("at", Float, nullable=False),
    Column("text", Text, nullable=False),  # sealed: how it was solved, for the suggestions
)

# Failed sign-ins, shared by every console process on the database (voicebot.console.auth.SignInLimiter).
# The key (client address or attempted name) is kept only as its SHA-256: a name typed in the wrong
# field may be a password.
sign_in_failures_table = Table(
    "console_sign_in_failures", METADATA,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("key", String(64), nullable=False, index=True),
    Column("at", Float, nullable=False, index=True),  # epoch seconds: the same clock on every host
)

TABLES = (agents_table, audit_table, callbacks_table, resolutions_table, sign_in_failures_table)


class AgentError(ValueError):
    """A bad agent name, role or password; the message is meant for the user."""


@dataclass(frozen=True)
class Agent:
    name: str
    role: str  # agent | supervisor
    created_at: float

    @property
    def supervisor(self) -> bool:
        return self.role == "supervisor"


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: float
    agent: str
    action: str
    ticket_id: str | None
    conversation_id: str | None
    detail: dict[str, Any]


@dataclass(frozen=True)
class Callback:
    ticket_id: str
    at: float
    booked_by: str
    booked_at: float


@dataclass(frozen=True)
class Resolution:
    ticket_id: str
    agent: str
    at: float
    text: str


class ConsoleDB:
    """The console's tables on the store's database (``location`` as ``--store`` takes it)."""

    def __init__(self, location: str, cipher: StoreCipher, engine: Engine | None = None) -> None:
        self.engine = engine or open_engine(location)
        self.cipher = cipher
        ensure_tables(self.engine, TABLES)

    # agents ------------------------------------------------------------------------------
    def add_agent(self, name: str, role: str, password_hash: str) -> Agent:
        check_name(name)
        if role not in ROLES:
            raise AgentError(f"unknown role {role!r}; use {' or '.join(ROLES)}")
        now = time.time()
        try:
            with self.engine.begin() as db:
                db.execute(insert(agents_table).values(name=name, role=role, password_hash=password_hash,
                                                        created_at=now))
        except IntegrityError:
            raise AgentError(f"an agent named {name!r} exists already; remove it first") from None
        return Agent(name, role, now)

    def remove_agent(self, name: str) -> bool:
        with self.engine.begin() as db:
            return db.execute(delete(agents_table).where(agents_table.c.name == name)).rowcount > 0

    def agents(self) -> list[Agent]:
        with self.engine.connect() as db:
            rows = db.execute(select(agents_table).order_by(agents_table.c.name)).all()
        return [Agent(r.name, r.role, r.created_at) for r in rows]

    def agent(self, name: str) -> tuple[Agent, str] | None:
        """The agent and its password hash."""
        with self.engine.connect() as db:
            r = db.execute(select(agents_table).where(agents_table.c.name == name)).first()
        return (Agent(r.name, r.role, r.created_at), r.password_hash) if r else None

    def set_password_hash(self, name: str, password_hash: str) -> None:
        """A hash made with old parameters is replaced on the next sign-in (argon2 check_needs_rehash)."""
        with self.engine.begin() as db:
            db.execute(update(agents_table).where(agents_table.c.name == name).values(password_hash=password_hash))

    # the record of what agents did ---------------------------------------------------------
    def record(self, agent: str, action: str, ticket_id: str | None = None, conversation_id: str | None = None,
               customer_id: str | None = None, **detail: Any) -> None:
        with self.engine.begin() as db:
            db.execute(insert(audit_table).values(
                at=time.time(), agent=agent, action=action, ticket_id=ticket_id, conversation_id=conversation_id,
                customer_id=customer_id,
                detail=self.cipher.seal(json.dumps(detail, default=str)),
            ))

    def audit(self, ticket_id: str | None = None, conversation_id: str | None = None, agent: str | None = None,
              limit: int = 200) -> list[AuditEntry]:
        """Newest first."""
        q = select(audit_table).order_by(audit_table.c.id.desc()).limit(limit)
        if ticket_id is not None:
            q = q.where(audit_table.c.ticket_id == ticket_id)
        if conversation_id is not None:
            q = q.where(audit_table.c.conversation_id == conversation_id)
        if agent is not None:
            q = q.where(audit_table.c.agent == agent)
        with self.engine.connect() as db:
            rows = db.execute(q).all()
        return [AuditEntry(r.id, r.at, r.agent, r.action, r.ticket_id, r.conversation_id,
                           json.loads(self.cipher.open(r.detail) or "{}")) for r in rows]

    # callbacks and resolutions -------------------------------------------------------------
    def book_callback(self, ticket_id: str, at: float, agent: str, customer_id: str | None = None) -> Callback:
        now = time.time()
        with self.engine.begin() as db:
            db.execute(insert(callbacks_table).values(ticket_id=ticket_id, customer_id=customer_id, at=at,
                                                      booked_by=agent, booked_at=now))
        return Callback(ticket_id, at, agent, now)

    def callbacks(self) -> dict[str, Callback]:
        """The latest callback booked for each ticket."""
        with self.engine.connect() as db:
            rows = db.execute(select(callbacks_table).order_by(callbacks_table.c.id)).all()
        return {r.ticket_id: Callback(r.ticket_id, r.at, r.booked_by, r.booked_at) for r in rows}

    def resolve(self, ticket_id: str, agent: str, text: str, customer_id: str | None = None) -> Resolution:
        now = time.time()
        sealed = self.cipher.seal(text)
        with self.engine.begin() as db:
            done = db.execute(update(resolutions_table).where(resolutions_table.c.ticket_id == ticket_id)
                              .values(agent=agent, at=now, text=sealed)).rowcount
            if not done:
                db.execute(insert(resolutions_table).values(ticket_id=ticket_id, customer_id=customer_id, agent=agent,
                                                            at=now, text=sealed))
        return Resolution(ticket_id, agent, now, text)

    def resolutions(self) -> dict[str, Resolution]:
        with self.engine.connect() as db:
            rows = db.execute(select(resolutions_table)).all()
        return {r.ticket_id: Resolution(r.ticket_id, r.agent, r.at, self.cipher.open(r.text) or "") for r in rows}


def check_name(name: str) -> None:
    if not name or len(name) > 64 or not all(ch.isalnum() or ch in "._-@" for ch in name):
        raise AgentError(f"agent name {name!r}: use 1 to 64 letters, digits, '.', '_', '-' or '@'")
