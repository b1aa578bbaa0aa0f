"""What a support centre does with the data it holds: export everything about a customer,
erase it, expire it after ``store.retention_days``, and re-encrypt it under a new key.

These work on the one SQLite file the dialogue store and the feedback workers share, table by
table; the feedback tables are handled when they exist. Every change runs in one transaction,
then the WAL is checkpointed and truncated so no copy of what was removed lingers beside it
(``secure_delete`` overwrites freed pages in the file itself).
"""

from __future__ import annotations

import base64
import contextlib
import json
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from device_bridge.home import HomeFileError, load_home
from voicebot.sqlite_db import SqliteDatabase
from voicebot.store_crypto import (
    RetentionDays,
    StoreCipher,
    StoreKeyError,
    StoreSettings,
    key_file_for,
    rotation_file,
    write_key_file,
)

log = logging.getLogger(__name__)

DAY = 86400.0

# Every sealed column: (table, column, is_bytes). Rotation re-seals exactly these.
SEALED: tuple[tuple[str, str, bool], ...] = (
    ("store_meta", "value", False),
    ("conversations", "caller", False),
    ("turns", "user_text", False),
    ("turns", "reply", False),
    ("turns", "slots", False),
    ("turns", "actions", False),
    ("tickets", "problem", False),
    ("tickets", "summary", False),
    ("tickets", "note", False),
    ("trace", "data", False),
    ("feedback", "transcript", False),
    ("feedback", "topics", False),
    ("feedback", "urgency_reasons", False),
    ("feedback", "audio", True),
    ("feedback_chunks", "data", True),
)

# An erasure leaves only this: when, and how many rows went; never whose.
ERASURES_SCHEMA = "CREATE TABLE IF NOT EXISTS erasures (id INTEGER PRIMARY KEY AUTOINCREMENT, at REAL NOT NULL, rows INTEGER NOT NULL)"


def _tables(db: sqlite3.Connection) -> set[str]:
    return {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def _columns(db: sqlite3.Connection, table: str) -> list[str]:
    return [r[1] for r in db.execute(f"PRAGMA table_info({table})")]


def _checkpoint(store: SqliteDatabase) -> None:
    if store.path != ":memory:":
        with store._lock:
            store._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def _open_row(row: sqlite3.Row, cipher: StoreCipher, table: str) -> dict[str, Any]:
    """A row as JSON-ready values: sealed columns opened, JSON columns parsed, audio as base64."""
    out: dict[str, Any] = {}
    sealed = {c: b for t, c, b in SEALED if t == table}
    for key in row.keys():  # noqa: SIM118 - sqlite3.Row has keys(), no iteration over names
        value = row[key]
        if sealed.get(key):
            data = cipher.open_bytes(bytes(value)) if value is not None else None
            out[key] = base64.b64encode(data).decode() if data is not None else None
            continue
        if isinstance(value, str):
            value = cipher.open(value)
        if isinstance(value, bytes):
            value = base64.b64encode(value).decode()
        elif isinstance(value, str) and value.startswith(("[", "{")):
            with contextlib.suppress(ValueError):
                value = json.loads(value)
        out[key] = value
    return out


# export and erasure ------------------------------------------------------------------------


def customer_devices(profile: dict[str, Any] | None) -> list[str]:
    """The device ids in the customer's home file: feedback clips come from devices, not people."""
    home_file = (profile or {}).get("home_file")
    if not home_file:
        return []
    try:
        return [hd.device.id for hd in load_home(Path(home_file)).devices]
    except (HomeFileError, OSError):
        log.warning("customer's home file %s could not be read; their devices' feedback is not included", home_file)
        return []


def _select(
    db: sqlite3.Connection, customer_id: str, devices: Iterable[str]
) -> dict[str, list[tuple[str, tuple[Any, ...]]]]:
    """Per table, the WHERE clauses that pick this customer's rows."""
    tables = _tables(db)
    conv = "(SELECT id FROM conversations WHERE customer_id = ?)"
    picks: dict[str, list[tuple[str, tuple[Any, ...]]]] = {
        "customers": [("customer_id = ?", (customer_id,))],
        "customer_phones": [("customer_id = ?", (customer_id,))],
        "conversations": [("customer_id = ?", (customer_id,))],
        "turns": [(f"conversation_id IN {conv}", (customer_id,))],
        "tickets": [("customer_id = ?", (customer_id,)), (f"conversation_id IN {conv}", (customer_id,))],
        "trace": [("customer_id = ?", (customer_id,)), (f"conversation_id IN {conv}", (customer_id,))],
    }
    devices = list(devices)
    if devices and "feedback" in tables:
        marks = ", ".join("?" * len(devices))
        picks["feedback"] = [(f"device_id IN ({marks})", tuple(devices))]
        picks["tickets"].append((f"id IN (SELECT CAST(ticket_id AS INTEGER) FROM feedback WHERE device_id IN ({marks}))", tuple(devices)))
        for table in ("feedback_uploads", "feedback_chunks", "feedback_claims"):
            if table in tables:
                picks[table] = [(f"device_id IN ({marks})", tuple(devices))]
    # Names a customer taught ("the big light"): voicebot.dialogue.corrections keys them by customer id.
    if "learned_names" in tables:
        picks["learned_names"] = [("home = ?", (customer_id,))]
    # Tables added later that key rows by customer (preferences...).
    for table in sorted(tables - set(picks) - {"store_meta", "erasures", "sqlite_sequence"}):
        if "customer_id" in _columns(db, table):
            picks[table] = [("customer_id = ?", (customer_id,))]
    return {t: p for t, p in picks.items() if t in tables}


def _where(clauses: list[tuple[str, tuple[Any, ...]]]) -> tuple[str, tuple[Any, ...]]:
    sql = " OR ".join(f"({c})" for c, _ in clauses)
    args: tuple[Any, ...] = ()
    for _, a in clauses:
        args += a
    return sql, args


def export_customer(store: SqliteDatabase, customer_id: str, devices: Iterable[str] = ()) -> dict[str, Any]:
    """Everything held about ``customer_id`` (and the feedback of ``devices`` plus their home
    file's devices), opened and as JSON-ready values, by table."""
    with store._lock:
        db = store._db
        profile_rows = db.execute("SELECT * FROM customers WHERE customer_id = ?", (customer_id,)).fetchall()
        profile = _open_row(profile_rows[0], store.cipher, "customers") if profile_rows else None
        devices = sorted({*devices, *customer_devices(profile)})
        out: dict[str, Any] = {"customer_id": customer_id, "exported_at": time.time(), "profile": profile}
        for table, clauses in _select(db, customer_id, devices).items():
            if table in ("customers", "customer_phones"):  # the profile, above
                continue
            sql, args = _where(clauses)
            rows = db.execute(f"SELECT * FROM {table} WHERE {sql}", args).fetchall()
            out[table] = [_open_row(r, store.cipher, table) for r in rows]
        out["devices"] = devices
    return out


def erase_customer(store: SqliteDatabase, customer_id: str, devices: Iterable[str] = ()) -> int:
    """Delete everything ``export_customer`` would show; returns the rows removed. Only the time
    and the row count of the erasure are kept."""
    profile = store._rows("SELECT * FROM customers WHERE customer_id = ?", (customer_id,))
    devices = sorted({*devices, *customer_devices(dict(profile[0]) if profile else None)})
    removed = 0
    with store._tx() as db:
        picks = _select(db, customer_id, devices)
        # Children before parents: turns and trace name conversations, tickets name feedback.
        order = ["turns", "trace", "tickets", "feedback_chunks", "feedback_uploads", "feedback_claims", "feedback"]
        rest = [t for t in picks if t not in order and t not in ("conversations", "customer_phones", "customers")]
        for table in [*order, *rest, "conversations", "customer_phones", "customers"]:
            if table in picks:
                sql, args = _where(picks[table])
                removed += db.execute(f"DELETE FROM {table} WHERE {sql}", args).rowcount
        db.execute(ERASURES_SCHEMA)
        db.execute("INSERT INTO erasures (at, rows) VALUES (?, ?)", (time.time(), removed))
    _checkpoint(store)
    return removed


# retention -------------------------------------------------------------------------------


def prune(store: SqliteDatabase, retention: RetentionDays, now: float | None = None) -> dict[str, int]:
    """Delete what is older than its kind's retention; returns rows removed per kind."""
    now = time.time() if now is None else now
    removed = {"conversations": 0, "tickets": 0, "feedback": 0}
    with store._tx() as db:
        tables = _tables(db)
        if retention.conversations is not None and "conversations" in tables:
            cutoff = now - retention.conversations * DAY
            old = "(SELECT id FROM conversations WHERE COALESCE(ended_at, started_at) < ?)"
            db.execute(f"DELETE FROM turns WHERE conversation_id IN {old}", (cutoff,))
            db.execute(f"DELETE FROM trace WHERE conversation_id IN {old} OR (conversation_id IS NULL AND at < ?)",
                       (cutoff, cutoff))
            removed["conversations"] = db.execute(
                "DELETE FROM conversations WHERE COALESCE(ended_at, started_at) < ?", (cutoff,)
            ).rowcount
        if retention.tickets is not None and "tickets" in tables:
            cutoff = now - retention.tickets * DAY
            removed["tickets"] = db.execute(
                "DELETE FROM tickets WHERE status = 'closed' AND updated_at < ?", (cutoff,)
            ).rowcount
        if retention.feedback is not None and "feedback" in tables:
            cutoff = now - retention.feedback * DAY
            removed["feedback"] = db.execute("DELETE FROM feedback WHERE received_at < ?", (cutoff,)).rowcount
    if any(removed.values()):
        _checkpoint(store)
    return removed


class RetentionPruner:
    """Applies ``store.retention_days`` in a running service: at start, then every ``every_s``."""

    def __init__(self, store: SqliteDatabase, settings: StoreSettings) -> None:
        self.store = store
        self.retention = settings.retention_days
        self.every_s = settings.prune_every_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def needed(self) -> bool:
        r = self.retention
        return any(v is not None for v in (r.conversations, r.tickets, r.feedback))

    def start(self) -> RetentionPruner:
        if self.needed and self.store.path != ":memory:":
            self._thread = threading.Thread(target=self._run, name="retention", daemon=True)
            self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                removed = prune(self.store, self.retention)
                if any(removed.values()):
                    log.info("retention: removed %s", removed)
            except Exception:  # the service keeps running; the next round tries again
                log.exception("retention pruning failed")
            self._stop.wait(self.every_s)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)


# key rotation ------------------------------------------------------------------------------


def rotate_key(store: SqliteDatabase, settings: StoreSettings, new: str) -> Path | None:
    """Re-seal every sealed value under ``new`` in one transaction (values written before
    encryption are sealed too). With a key file, the new key goes first beside it (so a crash
    at any point leaves a key that opens the data) and then replaces it; returns the key file,
    or None when the key is configured (the caller tells the user to change the configuration)."""
    new_cipher = StoreCipher([new], "the new key")
    key_file = None if settings.key else key_file_for(store.path, settings)
    pending = rotation_file(key_file) if key_file else None
    if pending is not None:
        if pending.exists():
            pending.unlink()  # a rotation that failed before its commit: the data is still under the old key
        write_key_file(pending, new)
    with store._tx() as db:
        tables = _tables(db)
        for table, column, is_bytes in SEALED:
            if table not in tables:
                continue
            rows = db.execute(f"SELECT rowid, {column} FROM {table} WHERE {column} IS NOT NULL").fetchall()
            for row in rows:
                value = row[1]
                if is_bytes:
                    sealed: Any = new_cipher.seal_bytes(store.cipher.open_bytes(bytes(value)))
                else:
                    sealed = new_cipher.seal(store.cipher.open(str(value)))
                db.execute(f"UPDATE {table} SET {column} = ? WHERE rowid = ?", (sealed, row[0]))
    if key_file is not None and pending is not None:
        os.replace(pending, key_file)
    store.cipher = new_cipher
    _checkpoint(store)
    return key_file


def check_key(store: SqliteDatabase) -> None:
    """Open every sealed value once: raises StoreKeyError if any is not the current key's."""
    with store._lock:
        tables = _tables(store._db)
        for table, column, is_bytes in SEALED:
            if table in tables:
                for (value,) in store._db.execute(f"SELECT {column} FROM {table} WHERE {column} IS NOT NULL"):
                    if is_bytes:
                        store.cipher.open_bytes(bytes(value))
                    else:
                        store.cipher.open(str(value))


__all__ = [
    "RetentionPruner",
    "StoreKeyError",
    "check_key",
    "erase_customer",
    "export_customer",
    "prune",
    "rotate_key",
]
