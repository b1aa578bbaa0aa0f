"""Call records in the store's database, so that ``GET /calls/{uuid}`` is answered by any phone
process on any host (a dialplan's request may reach another voicebot than the one that took the
call). The record holds the caller's number and what was said, so it is sealed with the store's
key like the rest of the store."""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from sqlalchemy import Column, Float, Index, Table, Text, select
from sqlalchemy.exc import SQLAlchemyError

from voicebot.database import METADATA
from voicebot.sqlite_db import StoreDatabase, upsert
from voicebot.store_crypto import StoreKeyError

log = logging.getLogger(__name__)

CALLS = Table(
    "calls", METADATA,
    Column("call_id", Text, primary_key=True),  # lower-case AudioSocket UUID or Twilio callSid
    Column("customer_id", Text),  # for erasure and export
    Column("state", Text, nullable=False),
    Column("outcome", Text),
    Column("started_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    Column("record", Text, nullable=False),  # sealed JSON: the whole record as GET /calls/{uuid} shows it
    Index("calls_updated", "updated_at"),
)


class CallStore:
    """Saves and reads call records in ``db`` (the dialogue store's database). A database that is
    down is logged and skipped: the call goes on and this process still answers for it."""

    def __init__(self, db: StoreDatabase) -> None:
        self.db = db

    def save(self, record: dict[str, Any]) -> bool:
        values = {
            "call_id": str(record["uuid"]).lower(),
            "customer_id": record.get("customer_id"),
            "state": record.get("state") or "active",
            "outcome": record.get("outcome"),
            "started_at": float(record.get("started_at") or time.time()),
            "updated_at": time.time(),
            "record": self.db.cipher.seal(json.dumps(record, default=str)),
        }
        try:
            with self.db._tx() as conn:
                conn.execute(upsert(conn, CALLS, values, ["call_id"]))
        except (SQLAlchemyError, RuntimeError) as exc:  # RuntimeError: the store's own (down)
            log.warning("call %s: its record could not be stored (%s); this process still answers for it",
                        values["call_id"], str(getattr(exc, "orig", None) or exc).splitlines()[0])
            return False
        return True

    def load(self, call_id: str) -> dict[str, Any] | None:
        try:
            rows = self.db._read(select(CALLS.c.record).where(CALLS.c.call_id == call_id.lower()))
        except (SQLAlchemyError, RuntimeError) as exc:  # RuntimeError: the store's own (down)
            log.warning("call %s: the store cannot be read (%s)", call_id, str(getattr(exc, "orig", None) or exc).splitlines()[0])
            return None
        if not rows:
            return None
        try:
            return dict(json.loads(self.db.cipher.open(rows[0]["record"]) or "{}"))
        except (StoreKeyError, ValueError):
            log.warning("call %s: its stored record cannot be opened", call_id)
            return None
