"""Where proactive support keeps what it found and whom it told: findings, contacts and each
customer's contact preferences, as tables on ``voicebot.database.METADATA`` in the same database as
the main store (a SQLite file or PostgreSQL), opened with ``open_engine(<store location>)``.

Findings hold device facts (names, battery levels, readings), never anything a customer said."""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Column, Float, ForeignKey, Integer, String, Table, Text, func, insert, select, update
from sqlalchemy.engine import Engine, RowMapping

from voicebot.database import METADATA, ensure_tables, open_engine

FINDINGS = Table(
    "proactive_findings", METADATA,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("key", String(300), nullable=False, index=True),  # rule:device
    Column("customer_id", String(200), index=True),
    Column("device_id", String(300), nullable=False, index=True),
    Column("device_name", String(300), nullable=False),
    Column("area", String(200)),
    Column("rule", String(100), nullable=False),
    Column("check_name", String(100), nullable=False),
    Column("kind", String(100), nullable=False),
    Column("severity", String(20), nullable=False),
    Column("playbook", String(200)),
    Column("evidence", Text, nullable=False),
    Column("raised_at", Float, nullable=False),
    Column("cleared_at", Float),
    Column("ticket_id", String(50)),
    Column("contacted_at", Float),
    Column("offered_at", Float),  # last said at the start of a conversation
)

CONTACTS = Table(
    "proactive_contacts", METADATA,
    Column("id", String(40), primary_key=True),
    Column("finding_id", Integer, ForeignKey("proactive_findings.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("customer_id", String(200), index=True),
    Column("status", String(20), nullable=False),  # due | sent | dropped
    Column("due_at", Float, nullable=False),
    Column("created_at", Float, nullable=False),
    Column("sent_at", Float),
    Column("reason", String(100)),  # why it waits (quiet_hours, rate_limit) or was dropped
    Column("payload", Text, nullable=False),
)

PREFERENCES = Table(
    "proactive_preferences", METADATA,
    Column("customer_id", String(200), primary_key=True),
    Column("channels", Text),  # JSON list or NULL (the configured default)
    Column("preferred", String(20)),
    Column("quiet_start", String(8)),
    Column("quiet_end", String(8)),
    Column("opt_out", Text),  # JSON list of kinds
    Column("updated_at", Float, nullable=False),
)

TABLES = (FINDINGS, CONTACTS, PREFERENCES)


@dataclass
class StoredFinding:
    id: int
    key: str
    customer_id: str | None
    device_id: str
    device_name: str
    area: str | None
    rule: str
    check: str
    kind: str
    severity: str
    playbook: str | None
    evidence: dict[str, Any]
    raised_at: float
    cleared_at: float | None
    ticket_id: str | None
    contacted_at: float | None
    offered_at: float | None


@dataclass
class Preferences:
    """A customer's own contact preferences; None fields fall back to the ``proactive`` section."""

    customer_id: str
    channels: list[str] | None = None
    preferred: str | None = None
    quiet_start: str | None = None  # "22:00"
    quiet_end: str | None = None
    opt_out: list[str] = field(default_factory=list)


def _finding(row: RowMapping) -> StoredFinding:
    return StoredFinding(
        row["id"], row["key"], row["customer_id"], row["device_id"], row["device_name"], row["area"], row["rule"],
        row["check_name"], row["kind"], row["severity"], row["playbook"], json.loads(row["evidence"]),
        row["raised_at"], row["cleared_at"], row["ticket_id"], row["contacted_at"], row["offered_at"],
    )


class ProactiveStore:
    def __init__(self, location: str | Path) -> None:
        self.engine: Engine = open_engine(location)
        ensure_tables(self.engine, TABLES)

    # -- findings ---------------------------------------------------------------------------
    def open_finding(self, key: str, customer_id: str | None) -> StoredFinding | None:
        with self.engine.connect() as db:
            row = db.execute(select(FINDINGS).where(FINDINGS.c.key == key, FINDINGS.c.cleared_at.is_(None),
                                                    _customer_is(customer_id))
                             .order_by(FINDINGS.c.id.desc()).limit(1)).mappings().first()
        return _finding(row) if row else None

    def add_finding(self, f: Any, customer_id: str | None) -> StoredFinding:
        """Record a raised finding (a ``voicebot.proactive.findings.Finding``)."""
        with self.engine.begin() as db:
            new_id = db.execute(insert(FINDINGS).values(
                key=f.key, customer_id=customer_id, device_id=f.device_id, device_name=f.device_name, area=f.area,
                rule=f.rule, check_name=f.check, kind=f.kind, severity=f.severity, playbook=f.playbook,
                evidence=json.dumps(f.evidence, default=str), raised_at=f.raised_at,
            )).inserted_primary_key[0]
        found = self.finding(int(new_id))
        assert found is not None
        return found

    def finding(self, finding_id: int) -> StoredFinding | None:
        with self.engine.connect() as db:
            row = db.execute(select(FINDINGS).where(FINDINGS.c.id == finding_id)).mappings().first()
        return _finding(row) if row else None

    def findings(self, customer_id: str | None = None, device_ids: set[str] | None = None, open_only: bool = True,
                 limit: int = 500) -> list[StoredFinding]:
        q = select(FINDINGS)
        if open_only:
            q = q.where(FINDINGS.c.cleared_at.is_(None))
        if customer_id is not None:
            q = q.where(FINDINGS.c.customer_id == customer_id)
        if device_ids is not None:
            q = q.where(FINDINGS.c.device_id.in_(sorted(device_ids)))
        with self.engine.connect() as db:
            rows = db.execute(q.order_by(FINDINGS.c.id.desc()).limit(limit)).mappings().all()
        return [_finding(r) for r in rows]

    def open_of_kind(self, device_id: str, kind: str, customer_id: str | None, besides: int) -> list[StoredFinding]:
        with self.engine.connect() as db:
            rows = db.execute(select(FINDINGS).where(
                FINDINGS.c.device_id == device_id, FINDINGS.c.kind == kind, FINDINGS.c.cleared_at.is_(None),
                FINDINGS.c.id != besides, _customer_is(customer_id))).mappings().all()
        return [_finding(r) for r in rows]

    def set_ticket(self, finding_id: int, ticket_id: str) -> None:
        with self.engine.begin() as db:
            db.execute(update(FINDINGS).where(FINDINGS.c.id == finding_id).values(ticket_id=ticket_id))

    def clear(self, finding_id: int, at: float | None = None) -> int:
        """The evidence is gone: the finding is closed and its contacts still waiting are dropped.
        Returns how many waiting contacts were dropped."""
        at = at or time.time()
        with self.engine.begin() as db:
            db.execute(update(FINDINGS).where(FINDINGS.c.id == finding_id, FINDINGS.c.cleared_at.is_(None))
                       .values(cleared_at=at))
            return db.execute(update(CONTACTS).where(CONTACTS.c.finding_id == finding_id, CONTACTS.c.status == "due")
                              .values(status="dropped", reason="cleared")).rowcount

    def mark_offered(self, finding_id: int, at: float | None = None) -> None:
        with self.engine.begin() as db:
            db.execute(update(FINDINGS).where(FINDINGS.c.id == finding_id).values(offered_at=at or time.time()))

    # -- contacts ---------------------------------------------------------------------------
    def add_contact(self, finding_id: int, customer_id: str | None, payload: dict[str, Any], due_at: float,
                    reason: str | None = None) -> str:
        contact_id = payload.get("contact_id") or uuid.uuid4().hex
        with self.engine.begin() as db:
            db.execute(insert(CONTACTS).values(
                id=contact_id, finding_id=finding_id, customer_id=customer_id, status="due", due_at=due_at,
                created_at=time.time(), reason=reason, payload=json.dumps(payload, default=str)))
        return str(contact_id)

    def due_contacts(self, now: float) -> list[tuple[str, int, str | None, dict[str, Any]]]:
        """(contact id, finding id, customer id, payload) of contacts due by ``now``, oldest first."""
        with self.engine.connect() as db:
            rows = db.execute(select(CONTACTS).where(CONTACTS.c.status == "due", CONTACTS.c.due_at <= now)
                              .order_by(CONTACTS.c.due_at)).mappings().all()
        return [(r["id"], r["finding_id"], r["customer_id"], json.loads(r["payload"])) for r in rows]

    def contacts(self, customer_id: str | None = None, status: str | None = None) -> list[dict[str, Any]]:
        q = select(CONTACTS)
        if customer_id is not None:
            q = q.where(CONTACTS.c.customer_id == customer_id)
        if status is not None:
            q = q.where(CONTACTS.c.status == status)
        with self.engine.connect() as db:
            rows = db.execute(q.order_by(CONTACTS.c.created_at)).mappings().all()
        return [{**dict(r), "payload": json.loads(r["payload"])} for r in rows]

    def postpone(self, contact_id: str, due_at: float, reason: str) -> None:
        with self.engine.begin() as db:
            db.execute(update(CONTACTS).where(CONTACTS.c.id == contact_id).values(due_at=due_at, reason=reason))

    def mark_sent(self, contact_id: str, finding_id: int, at: float) -> None:
        with self.engine.begin() as db:
            db.execute(update(CONTACTS).where(CONTACTS.c.id == contact_id).values(status="sent", sent_at=at))
            db.execute(update(FINDINGS).where(FINDINGS.c.id == finding_id).values(contacted_at=at))

    def sent_since(self, customer_id: str | None, since: float) -> list[float]:
        """When contacts were sent to this customer (None: the home without a customer) since ``since``."""
        with self.engine.connect() as db:
            rows = db.execute(select(CONTACTS.c.sent_at).where(
                CONTACTS.c.status == "sent", CONTACTS.c.sent_at >= since, _customer_is(customer_id, CONTACTS))
                .order_by(CONTACTS.c.sent_at)).all()
        return [r[0] for r in rows]

    # -- preferences --------------------------------------------------------------------------
    def preferences(self, customer_id: str) -> Preferences | None:
        with self.engine.connect() as db:
            row = db.execute(select(PREFERENCES).where(PREFERENCES.c.customer_id == customer_id)).mappings().first()
        if row is None:
            return None
        return Preferences(customer_id, json.loads(row["channels"]) if row["channels"] else None, row["preferred"],
                           row["quiet_start"], row["quiet_end"], json.loads(row["opt_out"] or "[]"))

    def save_preferences(self, p: Preferences) -> None:
        values = dict(channels=json.dumps(p.channels) if p.channels is not None else None, preferred=p.preferred,
                      quiet_start=p.quiet_start, quiet_end=p.quiet_end, opt_out=json.dumps(sorted(set(p.opt_out))),
                      updated_at=time.time())
        with self.engine.begin() as db:
            exists = db.execute(select(func.count()).select_from(PREFERENCES)
                                .where(PREFERENCES.c.customer_id == p.customer_id)).scalar()
            if exists:
                db.execute(update(PREFERENCES).where(PREFERENCES.c.customer_id == p.customer_id).values(**values))
            else:
                db.execute(insert(PREFERENCES).values(customer_id=p.customer_id, **values))


def _customer_is(customer_id: str | None, table: Table = FINDINGS) -> Any:
    col = table.c.customer_id
    return col.is_(None) if customer_id is None else col == customer_id


__all__ = ["CONTACTS", "FINDINGS", "PREFERENCES", "Preferences", "ProactiveStore", "StoredFinding"]
