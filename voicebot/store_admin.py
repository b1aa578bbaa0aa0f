"""What a support centre does with the data it holds: export everything about a customer,
erase it, expire it after ``store.retention_days``, and re-encrypt it under a new key.

These work on the one database the dialogue store and the feedback workers share (a SQLite file
or PostgreSQL), table by table. Every change runs in one transaction; on SQLite the WAL is then
checkpointed and truncated so no copy of what was removed lingers beside it (``secure_delete``
overwrites freed pages in the file itself).
"""

from __future__ import annotations

import base64
import contextlib
import json
import logging
import os
import threading
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from sqlalchemy import Column, Connection, Float, Integer, Table, insert, inspect, text

from device_bridge.home import HomeFileError, load_home
from voicebot.database import METADATA
from voicebot.sqlite_db import StoreDatabase
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
    ("calls", "record", False),
)

# An erasure leaves only this: when, and how many rows went; never whose.
ERASURES = Table(
    "erasures", METADATA,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", Float, nullable=False),
    Column("rows", Integer, nullable=False),
    sqlite_autoincrement=True,
)
# Never exported, erased or re-sealed as a customer's: the schema's own bookkeeping.
_OWN = {"store_meta", "erasures", "sqlite_sequence", "alembic_version"}


def _tables(db: Connection) -> set[str]:
    return set(inspect(db).get_table_names())


def _columns(db: Connection, table: str) -> list[str]:
    return [c["name"] for c in inspect(db).get_columns(table)]


def _key_columns(db: Connection, table: str) -> list[str]:
    return list(inspect(db).get_pk_constraint(table).get("constrained_columns") or [])


def _checkpoint(store: StoreDatabase) -> None:
    """SQLite keeps removed rows in its WAL until a checkpoint; PostgreSQL's are vacuumed."""
    if store.sqlite and not store.memory:
        with store._lock, store.engine.connect() as db:
            db.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")


def _open_row(row: Mapping[str, Any], cipher: StoreCipher, table: str) -> dict[str, Any]:
    """A row as JSON-ready values: sealed columns opened, JSON columns parsed, audio as base64."""
    out: dict[str, Any] = {}
    sealed = {c: b for t, c, b in SEALED if t == table}
    for key, value in row.items():
        if isinstance(value, memoryview):
            value = bytes(value)
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


def _select(db: Connection, customer_id: str, devices: Iterable[str]) -> dict[str, list[tuple[str, dict[str, Any]]]]:
    """Per table, the WHERE clauses (with their parameters) that pick this customer's rows."""
    tables = _tables(db)
    me = {"customer": customer_id}
    conv = "(SELECT id FROM conversations WHERE customer_id = :customer)"
    picks: dict[str, list[tuple[str, dict[str, Any]]]] = {
        "customers": [("customer_id = :customer", me)],
        "customer_phones": [("customer_id = :customer", me)],
        "conversations": [("customer_id = :customer", me)],
        "turns": [(f"conversation_id IN {conv}", me)],
        "tickets": [("customer_id = :customer", me), (f"conversation_id IN {conv}", me)],
        "trace": [("customer_id = :customer", me), (f"conversation_id IN {conv}", me)],
    }
    devices = list(devices)
    if devices and "feedback" in tables:
        marks = ", ".join(f":device{i}" for i in range(len(devices)))
        mine = {f"device{i}": d for i, d in enumerate(devices)}
        picks["feedback"] = [(f"device_id IN ({marks})", mine)]
        # feedback.ticket_id is text; comparing as text works on every engine (no failing casts).
        picks["tickets"].append(
            (f"CAST(id AS TEXT) IN (SELECT ticket_id FROM feedback WHERE device_id IN ({marks}))", mine)
        )
        for table in ("feedback_uploads", "feedback_chunks", "feedback_claims"):
            if table in tables:
                picks[table] = [(f"device_id IN ({marks})", mine)]
    # Names a customer taught ("the big light"): voicebot.dialogue.corrections keys them by customer id.
    if "learned_names" in tables:
        picks["learned_names"] = [("home = :customer", me)]
    # Tables added later that key rows by customer (preferences, call records...).
    for table in sorted(tables - set(picks) - _OWN):
        if "customer_id" in _columns(db, table):
            picks[table] = [("customer_id = :customer", me)]
    return {t: p for t, p in picks.items() if t in tables}


def _where(clauses: list[tuple[str, dict[str, Any]]]) -> tuple[str, dict[str, Any]]:
    sql = " OR ".join(f"({c})" for c, _ in clauses)
    args: dict[str, Any] = {}
    for _, a in clauses:
        args.update(a)
    return sql, args


def export_customer(store: StoreDatabase, customer_id: str, devices: Iterable[str] = ()) -> dict[str, Any]:
    """Everything held about ``customer_id`` (and the feedback of ``devices`` plus their home
    file's devices), opened and as JSON-ready values, by table."""
    with store._lock, store.engine.connect() as db:
        profile_rows = db.execute(text("SELECT * FROM customers WHERE customer_id = :c"), {"c": customer_id}).mappings().all()
        profile = _open_row(profile_rows[0], store.cipher, "customers") if profile_rows else None
        devices = sorted({*devices, *customer_devices(profile)})
        out: dict[str, Any] = {"customer_id": customer_id, "exported_at": time.time(), "profile": profile}
        for table, clauses in _select(db, customer_id, devices).items():
            if table in ("customers", "customer_phones"):  # the profile, above
                continue
            sql, args = _where(clauses)
            rows = db.execute(text(f'SELECT * FROM "{table}" WHERE {sql}'), args).mappings().all()
            out[table] = [_open_row(r, store.cipher, table) for r in rows]
        out["devices"] = devices
    return out


def erase_customer(store: StoreDatabase, customer_id: str, devices: Iterable[str] = ()) -> int:
    """Delete everything ``export_customer`` would show; returns the rows removed. Only the time
    and the row count of the erasure are kept."""
    profile = store._read(text("SELECT * FROM customers WHERE customer_id = :c"), {"c": customer_id})
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
                removed += db.execute(text(f'DELETE FROM "{table}" WHERE {sql}'), args).rowcount
        db.execute(insert(ERASURES).values(at=time.time(), rows=removed))
    _checkpoint(store)
    return removed


# retention -------------------------------------------------------------------------------


def prune(store: StoreDatabase, retention: RetentionDays, now: float | None = None) -> dict[str, int]:
    """Delete what is older than its kind's retention; returns rows removed per kind."""
    now = time.time() if now is None else now
    removed = {"conversations": 0, "tickets": 0, "feedback": 0}
    with store._tx() as db:
        tables = _tables(db)
        if retention.conversations is not None and "conversations" in tables:
            cutoff = {"cutoff": now - retention.conversations * DAY}
            old = "(SELECT id FROM conversations WHERE COALESCE(ended_at, started_at) < :cutoff)"
            db.execute(text(f"DELETE FROM turns WHERE conversation_id IN {old}"), cutoff)
            db.execute(text(f"DELETE FROM trace WHERE conversation_id IN {old} "
                            "OR (conversation_id IS NULL AND at < :cutoff)"), cutoff)
            if "calls" in tables:  # the phone line's records of the same calls
                db.execute(text("DELETE FROM calls WHERE updated_at < :cutoff AND state = 'ended'"), cutoff)
            removed["conversations"] = db.execute(
                text("DELETE FROM conversations WHERE COALESCE(ended_at, started_at) < :cutoff"), cutoff
            ).rowcount
        if retention.tickets is not None and "tickets" in tables:
            cutoff = {"cutoff": now - retention.tickets * DAY}
            removed["tickets"] = db.execute(
                text("DELETE FROM tickets WHERE status = 'closed' AND updated_at < :cutoff"), cutoff
            ).rowcount
        if retention.feedback is not None and "feedback" in tables:
            cutoff = {"cutoff": now - retention.feedback * DAY}
            removed["feedback"] = db.execute(text("DELETE FROM feedback WHERE received_at < :cutoff"), cutoff).rowcount
    if any(removed.values()):
        _checkpoint(store)
    return removed


class RetentionPruner:
    """Applies ``store.retention_days`` in a running service: at start, then every ``every_s``."""

    def __init__(self, store: StoreDatabase, settings: StoreSettings) -> None:
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
        if self.needed and not self.store.memory:
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


def rotate_key(store: StoreDatabase, settings: StoreSettings, new: str) -> Path | None:
    """Re-seal every sealed value under ``new`` in one transaction (values written before
    encryption are sealed too). With a key file, the new key goes first beside it (so a crash
    at any point leaves a key that opens the data) and then replaces it; returns the key file,
    or None when the key is configured (the caller tells the user to change the configuration)."""
    new_cipher = StoreCipher([new], "the new key")
    key_file = None if settings.key else key_file_for(store.key_base, settings)
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
            keys = _key_columns(db, table)
            picked = ", ".join(f'"{k}"' for k in keys)
            match = " AND ".join(f'"{k}" = :k{i}' for i, k in enumerate(keys))
            rows = db.execute(text(f'SELECT {picked}, "{column}" FROM "{table}" WHERE "{column}" IS NOT NULL')).all()
            for row in rows:
                value = row[-1]
                if is_bytes:
                    sealed: Any = new_cipher.seal_bytes(store.cipher.open_bytes(bytes(value)))
                else:
                    sealed = new_cipher.seal(store.cipher.open(str(value)))
                db.execute(text(f'UPDATE "{table}" SET "{column}" = :v WHERE {match}'),
                           {"v": sealed, **{f"k{i}": row[i] for i in range(len(keys))}})
    if key_file is not None and pending is not None:
        os.replace(pending, key_file)
    store.cipher = new_cipher
    _checkpoint(store)
    return key_file


def check_key(store: StoreDatabase) -> None:
    """Open every sealed value once: raises StoreKeyError if any is not the current key's."""
    with store._lock, store.engine.connect() as db:
        tables = _tables(db)
        for table, column, is_bytes in SEALED:
            if table in tables:
                for (value,) in db.execute(text(f'SELECT "{column}" FROM "{table}" WHERE "{column}" IS NOT NULL')):
                    if is_bytes:
                        store.cipher.open_bytes(bytes(value))
                    else:
                        store.cipher.open(str(value))


# copying a store to another database ----------------------------------------------------


def copy_store(source: StoreDatabase, target: StoreDatabase, batch: int = 1000) -> dict[str, int]:
    """Every row of every table of ``source`` into ``target`` (SQLite → PostgreSQL when a site
    outgrows one host); returns rows copied per table. Sealed values are copied as they are, so
    the target must be opened with the source's key; a target that already holds data is refused."""
    from voicebot.migrations import target_metadata

    with source.engine.connect() as src, target._tx() as dst:
        canary = src.execute(text("SELECT value FROM store_meta WHERE name = 'canary'")).scalar()
        try:
            same_key = canary is None or target.cipher.open(canary) is not None
        except StoreKeyError:
            same_key = False
        if not same_key:
            raise StoreKeyError("the target store's key is not the source's: set store.key to the source's key "
                                "(its key file's contents) and copy again; nothing was copied")
        have = _tables(src)
        copied: dict[str, int] = {}
        for table in target_metadata().sorted_tables:  # parents before children
            if table.name not in have or table.name in _OWN:
                continue
            if dst.execute(text(f'SELECT 1 FROM "{table.name}" LIMIT 1')).first() is not None:
                raise ValueError(f"the target already holds {table.name} rows: copy into an empty database")
            columns = [c for c in _columns(src, table.name) if c in table.c]
            picked = ", ".join(f'"{c}"' for c in columns)
            rows = src.execute(text(f'SELECT {picked} FROM "{table.name}"'))
            copied[table.name] = 0
            while chunk := rows.fetchmany(batch):
                dst.execute(insert(table), [dict(zip(columns, r, strict=True)) for r in chunk])
                copied[table.name] += len(chunk)
            if not target.sqlite and "id" in table.c and table.c.id.autoincrement is not False \
                    and isinstance(table.c.id.type, Integer):
                # the next ticket number follows the copied ones
                dst.execute(text(f"SELECT setval(pg_get_serial_sequence('\"{table.name}\"', 'id'), "
                                 f'COALESCE(MAX(id), 1), MAX(id) IS NOT NULL) FROM "{table.name}"'))
    return copied


__all__ = [
    "RetentionPruner",
    "StoreKeyError",
    "check_key",
    "copy_store",
    "erase_customer",
    "export_customer",
    "prune",
    "rotate_key",
]
