"""The feedback tables: stored clips with their analysis, streamed uploads in progress,
their chunks, and the claims that keep two workers from processing one clip.

They live in the same database as conversations and tickets (voicebot.store): a SQLite file,
whose locking (WAL, a busy timeout) lets the workers of one machine share it, or PostgreSQL for
workers on several hosts. Either way chunks of one clip may arrive at different workers.
What the customer said (transcript, the words behind topics and urgency, the audio, the chunks
of an upload in progress) is sealed with the store's key (voicebot.store_crypto).
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Column,
    Connection,
    Float,
    Index,
    Integer,
    LargeBinary,
    Table,
    Text,
    UniqueConstraint,
    delete,
    func,
    select,
    tuple_,
    union,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import SQLAlchemyError

from voicebot.database import METADATA
from voicebot.sqlite_db import StoreDatabase, upsert
from voicebot.store_crypto import StoreCipher, StoreSettings

SEALED_TEXT = ("transcript", "topics", "urgency_reasons")  # hold the customer's own words

AUTO = {"sqlite_autoincrement": True}

FEEDBACK = Table(
    "feedback", METADATA,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("device_id", Text, nullable=False),
    Column("clip_id", Text, nullable=False),
    Column("audio_sha256", Text, nullable=False),
    Column("model", Text, nullable=False),
    Column("firmware", Text, nullable=False),
    Column("locale", Text),
    Column("recorded_at", Float, nullable=False),
    Column("received_at", Float, nullable=False),
    Column("stored_at", Float, nullable=False),
    Column("duration_s", Float, nullable=False),
    Column("audio_format", Text, nullable=False),
    Column("transcript", Text, nullable=False),  # sealed
    Column("language", Text, nullable=False),
    Column("confidence", Float, nullable=False),
    Column("sentiment", Float, nullable=False),
    Column("label", Text, nullable=False),
    Column("emotions", Text, nullable=False, server_default="[]"),
    Column("topics", Text, nullable=False, server_default="{}"),  # sealed JSON
    Column("urgency", Text, nullable=False),
    Column("urgency_reasons", Text, nullable=False, server_default="[]"),  # sealed JSON
    Column("ticket_id", Text),
    Column("contacted", Integer, nullable=False, server_default="0"),
    Column("worker", Text),
    Column("audio", LargeBinary),  # sealed
    UniqueConstraint("device_id", "clip_id"),
    Index("feedback_content", "device_id", "audio_sha256", unique=True),
    Index("feedback_time", "recorded_at"),
    **AUTO,
)
UPLOADS = Table(
    "feedback_uploads", METADATA,
    Column("device_id", Text, primary_key=True),
    Column("clip_id", Text, primary_key=True),
    Column("meta", Text, nullable=False),
    Column("started_at", Float, nullable=False),
)
CHUNKS = Table(
    "feedback_chunks", METADATA,
    Column("device_id", Text, primary_key=True),
    Column("clip_id", Text, primary_key=True),
    Column("seq", Integer, primary_key=True),
    Column("data", LargeBinary, nullable=False),  # sealed
    Column("received_at", Float, nullable=False),
    Column("size", Integer),  # chunks are sealed, so their plain size is kept beside them
)
# Which worker is processing a clip. On PostgreSQL the claim is a row lock held by the worker's
# open transaction (SELECT … FOR UPDATE SKIP LOCKED): a worker that dies drops its connection
# and the clip is free at once. On SQLite (one host) it is a lease that expires.
CLAIMS = Table(
    "feedback_claims", METADATA,
    Column("device_id", Text, primary_key=True),
    Column("clip_id", Text, primary_key=True),
    Column("worker", Text, nullable=False),
    Column("expires_at", Float, nullable=False),
)


class FeedbackStoreError(RuntimeError):
    """The feedback store cannot be opened or written; the message is for the user."""


@dataclass
class StoredFeedback:
    """One row of the feedback table as the report and the tests read it."""

    id: int
    device_id: str
    clip_id: str
    model: str
    firmware: str
    locale: str | None
    recorded_at: float
    received_at: float
    duration_s: float
    transcript: str
    language: str
    confidence: float
    sentiment: float
    label: str
    emotions: list[str]
    topics: dict[str, list[str]]
    urgency: str
    urgency_reasons: list[str]
    ticket_id: str | None
    contacted: bool
    worker: str | None
    has_audio: bool


class FeedbackStore(StoreDatabase):
    def __init__(
        self, path: str | Path, cipher: StoreCipher | None = None, store_settings: StoreSettings | None = None
    ) -> None:
        # Claims held on PostgreSQL: the open connection whose transaction holds the row lock.
        self._held: dict[tuple[str, str], Connection] = {}
        self._held_lock = threading.Lock()
        super().__init__(
            path, what="the feedback store", error=FeedbackStoreError, cipher=cipher, store_settings=store_settings
        )

    def close(self) -> None:
        with self._held_lock:
            held, self._held = list(self._held.values()), {}
        for db in held:
            with contextlib.suppress(SQLAlchemyError):
                db.close()  # rolls back: the clips are free for other workers
        super().close()

    # stored clips ----------------------------------------------------------------------
    @staticmethod
    def _same_clip(device_id: str, clip_id: str, sha256: str) -> Any:
        return (FEEDBACK.c.device_id == device_id) & ((FEEDBACK.c.clip_id == clip_id) | (FEEDBACK.c.audio_sha256 == sha256))

    def find(self, device_id: str, clip_id: str, sha256: str | None = None) -> int | None:
        """The feedback id of a clip already stored under this clip id or with these bytes."""
        rows = self._read(select(FEEDBACK.c.id).where(self._same_clip(device_id, clip_id, sha256 or "")))
        return int(rows[0]["id"]) if rows else None

    def add(self, row: dict[str, Any]) -> tuple[int, bool]:
        """Insert a clip's row; returns (feedback id, True) or the existing id and False when a
        retry raced us to it. The streamed upload's chunks go in the same transaction."""
        unknown = set(row) - set(FEEDBACK.c.keys())
        if unknown:
            raise FeedbackStoreError(f"the feedback table has no column {', '.join(sorted(unknown))}")
        values = {k: self._column(k, v) for k, v in row.items()}
        same = self._same_clip(row["device_id"], row["clip_id"], row["audio_sha256"])
        with self._tx() as db:
            existing = db.execute(select(FEEDBACK.c.id).where(same)).scalar()
            if existing is not None:
                return int(existing), False
            # Another host may insert the same clip between our look and our write: its row wins.
            inserted = db.execute(
                upsert(db, FEEDBACK, values, [], update=False).returning(FEEDBACK.c.id)
            ).scalar()
            if inserted is None:
                return int(db.execute(select(FEEDBACK.c.id).where(same)).scalar_one()), False
            self._forget_upload(db, row["device_id"], row["clip_id"])
            return int(inserted), True

    def _column(self, name: str, value: Any) -> Any:
        if isinstance(value, list | dict):
            value = json.dumps(value)
        if name == "audio":
            return self.cipher.seal_bytes(value)
        return self.cipher.seal(value) if name in SEALED_TEXT else value

    def set_followup(self, feedback_id: int, ticket_id: str | None, contacted: bool) -> None:
        with self._tx() as db:
            db.execute(update(FEEDBACK).where(FEEDBACK.c.id == feedback_id)
                       .values(ticket_id=ticket_id, contacted=int(contacted)))

    def _rows_with_audio_flag(self) -> Any:
        return select(FEEDBACK, FEEDBACK.c.audio.is_not(None).label("has_audio"))

    def get(self, feedback_id: int) -> StoredFeedback | None:
        rows = self._read(self._rows_with_audio_flag().where(FEEDBACK.c.id == feedback_id))
        return _feedback(rows[0], self.cipher) if rows else None

    def audio(self, feedback_id: int) -> bytes | None:
        rows = self._read(select(FEEDBACK.c.audio).where(FEEDBACK.c.id == feedback_id))
        return self.cipher.open_bytes(bytes(rows[0]["audio"])) if rows and rows[0]["audio"] is not None else None

    def between(self, start: float, end: float) -> list[StoredFeedback]:
        query = self._rows_with_audio_flag()
        # Infinite bounds (all()) are left out: PostgreSQL would take them, but not every driver.
        if start != float("-inf"):
            query = query.where(FEEDBACK.c.recorded_at >= start)
        if end != float("inf"):
            query = query.where(FEEDBACK.c.recorded_at < end)
        rows = self._read(query.order_by(FEEDBACK.c.recorded_at, FEEDBACK.c.id))
        return [_feedback(r, self.cipher) for r in rows]

    def all(self) -> list[StoredFeedback]:
        return self.between(float("-inf"), float("inf"))

    # streamed uploads ------------------------------------------------------------------
    def start_upload(self, device_id: str, clip_id: str, meta: dict[str, Any]) -> None:
        values = {"device_id": device_id, "clip_id": clip_id, "meta": json.dumps(meta), "started_at": time.time()}
        with self._tx() as db:
            stmt = (pg_insert if not self.sqlite else sqlite_insert)(UPLOADS).values(**values)
            db.execute(stmt.on_conflict_do_update(index_elements=["device_id", "clip_id"],
                                                  set_={"meta": stmt.excluded.meta}))

    def upload_meta(self, device_id: str, clip_id: str) -> dict[str, Any] | None:
        rows = self._read(select(UPLOADS.c.meta).where(UPLOADS.c.device_id == device_id, UPLOADS.c.clip_id == clip_id))
        return json.loads(rows[0]["meta"]) if rows else None

    def add_chunk(self, device_id: str, clip_id: str, seq: int, data: bytes) -> int:
        """Keep one chunk (a repeated chunk replaces nothing); returns the upload's byte count so far."""
        values = {"device_id": device_id, "clip_id": clip_id, "seq": seq, "data": self.cipher.seal_bytes(data),
                  "received_at": time.time(), "size": len(data)}
        with self._tx() as db:
            db.execute(upsert(db, CHUNKS, values, ["device_id", "clip_id", "seq"], update=False))
            total = db.execute(
                select(func.coalesce(func.sum(func.coalesce(CHUNKS.c.size, func.length(CHUNKS.c.data))), 0))
                .where(CHUNKS.c.device_id == device_id, CHUNKS.c.clip_id == clip_id)
            ).scalar()
        return int(total or 0)

    def open_uploads(self, device_id: str) -> set[str]:
        """The clip ids of the device's streamed uploads in progress (started, or chunks stored)."""
        rows = self._read(
            union(
                select(UPLOADS.c.clip_id).where(UPLOADS.c.device_id == device_id),
                select(CHUNKS.c.clip_id).where(CHUNKS.c.device_id == device_id),
            )
        )
        return {str(r["clip_id"]) for r in rows}

    def chunk_numbers(self, device_id: str, clip_id: str) -> set[int]:
        rows = self._read(select(CHUNKS.c.seq).where(CHUNKS.c.device_id == device_id, CHUNKS.c.clip_id == clip_id))
        return {int(r["seq"]) for r in rows}

    def assemble(self, device_id: str, clip_id: str, count: int) -> bytes:
        rows = self._read(
            select(CHUNKS.c.data)
            .where(CHUNKS.c.device_id == device_id, CHUNKS.c.clip_id == clip_id, CHUNKS.c.seq < count)
            .order_by(CHUNKS.c.seq)
        )
        return b"".join(self.cipher.open_bytes(bytes(r["data"])) or b"" for r in rows)

    def forget_upload(self, device_id: str, clip_id: str) -> None:
        with self._tx() as db:
            self._forget_upload(db, device_id, clip_id)

    @staticmethod
    def _forget_upload(db: Connection, device_id: str, clip_id: str) -> None:
        db.execute(delete(CHUNKS).where(CHUNKS.c.device_id == device_id, CHUNKS.c.clip_id == clip_id))
        db.execute(delete(UPLOADS).where(UPLOADS.c.device_id == device_id, UPLOADS.c.clip_id == clip_id))

    def expire_uploads(self, older_than_s: float) -> int:
        """Forget streamed uploads that never finished; returns how many."""
        cutoff = time.time() - older_than_s
        with self._tx() as db:
            stale_chunks = (
                select(CHUNKS.c.device_id, CHUNKS.c.clip_id)
                .group_by(CHUNKS.c.device_id, CHUNKS.c.clip_id)
                .having(func.max(CHUNKS.c.received_at) < cutoff)
            )
            stale = db.execute(
                union(stale_chunks, select(UPLOADS.c.device_id, UPLOADS.c.clip_id).where(UPLOADS.c.started_at < cutoff))
            ).all()
            for device_id, clip_id in stale:
                self._forget_upload(db, device_id, clip_id)
            if self.sqlite:
                db.execute(delete(CLAIMS).where(CLAIMS.c.expires_at < time.time()))
            else:  # claim rows no worker holds (a held one is locked and skipped, never waited for)
                free = select(CLAIMS.c.device_id, CLAIMS.c.clip_id).with_for_update(skip_locked=True)
                db.execute(delete(CLAIMS).where(tuple_(CLAIMS.c.device_id, CLAIMS.c.clip_id).in_(free)))
        return len(stale)

    # claims ----------------------------------------------------------------------------
    def claim(self, device_id: str, clip_id: str, worker: str, lease_s: float) -> str | None:
        """Take the clip for ``worker``; returns None on success, else the worker holding it.
        On SQLite an expired claim (its worker died ``lease_s`` ago) is taken over; on PostgreSQL
        the claim is a row lock that lasts until ``release`` or until the worker's connection
        drops, so ``lease_s`` is not needed."""
        if not self.sqlite:
            return self._lock_claim(device_id, clip_id, worker)
        now = time.time()
        with self._tx() as db:
            row = db.execute(
                select(CLAIMS.c.worker, CLAIMS.c.expires_at)
                .where(CLAIMS.c.device_id == device_id, CLAIMS.c.clip_id == clip_id)
            ).mappings().first()
            if row and row["worker"] != worker and row["expires_at"] > now:
                return str(row["worker"])
            db.execute(upsert(db, CLAIMS, {"device_id": device_id, "clip_id": clip_id, "worker": worker,
                                           "expires_at": now + lease_s}, ["device_id", "clip_id"]))
        return None

    def _lock_claim(self, device_id: str, clip_id: str, worker: str) -> str | None:
        key = (device_id, clip_id)
        with self._held_lock:
            if key in self._held:
                return None  # this process holds it already
        where = (CLAIMS.c.device_id == device_id) & (CLAIMS.c.clip_id == clip_id)
        with self.engine.begin() as db:  # the row to lock exists (committed) before anyone locks it
            # Look first: an INSERT … ON CONFLICT would wait for a holder's transaction.
            if db.execute(select(CLAIMS.c.worker).where(where)).first() is None:
                db.execute(upsert(db, CLAIMS, {"device_id": device_id, "clip_id": clip_id, "worker": worker,
                                               "expires_at": time.time()}, ["device_id", "clip_id"], update=False))
        db = self.engine.connect()
        try:
            got = db.execute(select(CLAIMS.c.worker).where(where).with_for_update(skip_locked=True)).first()
            if got is None:
                db.rollback()
                holder = db.execute(select(CLAIMS.c.worker).where(where)).scalar()
                db.close()
                return str(holder or "another worker")
        except BaseException:
            db.close()
            raise
        with self._held_lock:
            self._held[key] = db
        return None

    def release(self, device_id: str, clip_id: str, worker: str) -> None:
        if not self.sqlite:
            with self._held_lock:
                db = self._held.pop((device_id, clip_id), None)
            if db is not None:
                try:
                    db.execute(delete(CLAIMS).where(CLAIMS.c.device_id == device_id, CLAIMS.c.clip_id == clip_id))
                    db.commit()
                finally:
                    db.close()
            return
        with self._tx() as db:
            db.execute(delete(CLAIMS).where(
                CLAIMS.c.device_id == device_id, CLAIMS.c.clip_id == clip_id, CLAIMS.c.worker == worker
            ))


def _feedback(r: Mapping[str, Any], cipher: StoreCipher) -> StoredFeedback:
    return StoredFeedback(
        id=int(r["id"]),
        device_id=r["device_id"],
        clip_id=r["clip_id"],
        model=r["model"],
        firmware=r["firmware"],
        locale=r["locale"],
        recorded_at=float(r["recorded_at"]),
        received_at=float(r["received_at"]),
        duration_s=float(r["duration_s"]),
        transcript=cipher.open(r["transcript"]) or "",
        language=r["language"],
        confidence=float(r["confidence"]),
        sentiment=float(r["sentiment"]),
        label=r["label"],
        emotions=json.loads(r["emotions"]),
        topics=json.loads(cipher.open(r["topics"]) or "{}"),
        urgency=r["urgency"],
        urgency_reasons=json.loads(cipher.open(r["urgency_reasons"]) or "[]"),
        ticket_id=r["ticket_id"],
        contacted=bool(r["contacted"]),
        worker=r["worker"],
        has_audio=bool(r["has_audio"]),
    )
