"""The feedback tables: stored clips with their analysis, streamed uploads in progress,
their chunks, and the claims that keep two workers from processing one clip.

They live in the same SQLite file as conversations and tickets (voicebot.store). Every worker
process opens its own connection; SQLite's locking (WAL, a busy timeout) makes the workers on
one machine share it safely, which is what lets chunks of one clip arrive at different workers.
What the customer said (transcript, the words behind topics and urgency, the audio, the chunks
of an upload in progress) is sealed with the store's key (voicebot.store_crypto).
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from voicebot.sqlite_db import SqliteDatabase
from voicebot.store_crypto import StoreCipher, StoreSettings

SEALED_TEXT = ("transcript", "topics", "urgency_reasons")  # hold the customer's own words

SCHEMA = """
CREATE TABLE IF NOT EXISTS feedback (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    device_id TEXT NOT NULL,
    clip_id TEXT NOT NULL,
    audio_sha256 TEXT NOT NULL,
    model TEXT NOT NULL,
    firmware TEXT NOT NULL,
    locale TEXT,
    recorded_at REAL NOT NULL,
    received_at REAL NOT NULL,
    stored_at REAL NOT NULL,
    duration_s REAL NOT NULL,
    audio_format TEXT NOT NULL,
    transcript TEXT NOT NULL,
    language TEXT NOT NULL,
    confidence REAL NOT NULL,
    sentiment REAL NOT NULL,
    label TEXT NOT NULL,
    emotions TEXT NOT NULL DEFAULT '[]',
    topics TEXT NOT NULL DEFAULT '{}',
    urgency TEXT NOT NULL,
    urgency_reasons TEXT NOT NULL DEFAULT '[]',
    ticket_id TEXT,
    contacted INTEGER NOT NULL DEFAULT 0,
    worker TEXT,
    audio BLOB,
    UNIQUE (device_id, clip_id)
);
CREATE UNIQUE INDEX IF NOT EXISTS feedback_content ON feedback(device_id, audio_sha256);
CREATE INDEX IF NOT EXISTS feedback_time ON feedback(recorded_at);
CREATE TABLE IF NOT EXISTS feedback_uploads (
    device_id TEXT NOT NULL,
    clip_id TEXT NOT NULL,
    meta TEXT NOT NULL,
    started_at REAL NOT NULL,
    PRIMARY KEY (device_id, clip_id)
);
CREATE TABLE IF NOT EXISTS feedback_chunks (
    device_id TEXT NOT NULL,
    clip_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    data BLOB NOT NULL,
    received_at REAL NOT NULL,
    size INTEGER,
    PRIMARY KEY (device_id, clip_id, seq)
);
CREATE TABLE IF NOT EXISTS feedback_claims (
    device_id TEXT NOT NULL,
    clip_id TEXT NOT NULL,
    worker TEXT NOT NULL,
    expires_at REAL NOT NULL,
    PRIMARY KEY (device_id, clip_id)
);
"""


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


class FeedbackStore(SqliteDatabase):
    def __init__(
        self, path: str | Path, cipher: StoreCipher | None = None, store_settings: StoreSettings | None = None
    ) -> None:
        super().__init__(
            path, SCHEMA, what="the feedback store", error=FeedbackStoreError,
            cipher=cipher, store_settings=store_settings,
        )
        with self._lock:  # chunks are sealed, so their plain size is kept beside them
            columns = {r["name"] for r in self._db.execute("PRAGMA table_info(feedback_chunks)")}
            if "size" not in columns:
                with contextlib.suppress(sqlite3.OperationalError):  # another worker added it first
                    self._db.execute("ALTER TABLE feedback_chunks ADD COLUMN size INTEGER")

    # stored clips ----------------------------------------------------------------------
    def find(self, device_id: str, clip_id: str, sha256: str | None = None) -> int | None:
        """The feedback id of a clip already stored under this clip id or with these bytes."""
        rows = self._rows(
            "SELECT id FROM feedback WHERE device_id = ? AND (clip_id = ? OR audio_sha256 = ?)",
            (device_id, clip_id, sha256 or ""),
        )
        return int(rows[0]["id"]) if rows else None

    def add(self, row: dict[str, Any]) -> tuple[int, bool]:
        """Insert a clip's row; returns (feedback id, True) or the existing id and False when a
        retry raced us to it. The streamed upload's chunks and the claim go in the same transaction."""
        cols = list(row)
        values = [self._column(k, v) for k, v in row.items()]
        with self._tx() as db:
            existing = db.execute(
                "SELECT id FROM feedback WHERE device_id = ? AND (clip_id = ? OR audio_sha256 = ?)",
                (row["device_id"], row["clip_id"], row["audio_sha256"]),
            ).fetchone()
            if existing:
                return int(existing["id"]), False
            cur = db.execute(
                f"INSERT INTO feedback ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})", values
            )
            self._forget_upload(db, row["device_id"], row["clip_id"])
            return int(cur.lastrowid or 0), True

    def _column(self, name: str, value: Any) -> Any:
        if isinstance(value, list | dict):
            value = json.dumps(value)
        if name == "audio":
            return self.cipher.seal_bytes(value)
        return self.cipher.seal(value) if name in SEALED_TEXT else value

    def set_followup(self, feedback_id: int, ticket_id: str | None, contacted: bool) -> None:
        with self._tx() as db:
            db.execute(
                "UPDATE feedback SET ticket_id = ?, contacted = ? WHERE id = ?",
                (ticket_id, int(contacted), feedback_id),
            )

    def get(self, feedback_id: int) -> StoredFeedback | None:
        rows = self._rows("SELECT *, audio IS NOT NULL AS has_audio FROM feedback WHERE id = ?", (feedback_id,))
        return _feedback(rows[0], self.cipher) if rows else None

    def audio(self, feedback_id: int) -> bytes | None:
        rows = self._rows("SELECT audio FROM feedback WHERE id = ?", (feedback_id,))
        return self.cipher.open_bytes(bytes(rows[0]["audio"])) if rows and rows[0]["audio"] is not None else None

    def between(self, start: float, end: float) -> list[StoredFeedback]:
        rows = self._rows(
            "SELECT *, audio IS NOT NULL AS has_audio FROM feedback "
            "WHERE recorded_at >= ? AND recorded_at < ? ORDER BY recorded_at",
            (start, end),
        )
        return [_feedback(r, self.cipher) for r in rows]

    def all(self) -> list[StoredFeedback]:
        return self.between(float("-inf"), float("inf"))

    # streamed uploads ------------------------------------------------------------------
    def start_upload(self, device_id: str, clip_id: str, meta: dict[str, Any]) -> None:
        with self._tx() as db:
            db.execute(
                "INSERT INTO feedback_uploads (device_id, clip_id, meta, started_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (device_id, clip_id) DO UPDATE SET meta = excluded.meta",
                (device_id, clip_id, json.dumps(meta), time.time()),
            )

    def upload_meta(self, device_id: str, clip_id: str) -> dict[str, Any] | None:
        rows = self._rows(
            "SELECT meta FROM feedback_uploads WHERE device_id = ? AND clip_id = ?", (device_id, clip_id)
        )
        return json.loads(rows[0]["meta"]) if rows else None

    def add_chunk(self, device_id: str, clip_id: str, seq: int, data: bytes) -> int:
        """Keep one chunk (a repeated chunk replaces nothing); returns the upload's byte count so far."""
        with self._tx() as db:
            db.execute(
                "INSERT OR IGNORE INTO feedback_chunks (device_id, clip_id, seq, data, received_at, size) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (device_id, clip_id, seq, self.cipher.seal_bytes(data), time.time(), len(data)),
            )
            total = db.execute(
                "SELECT COALESCE(SUM(COALESCE(size, LENGTH(data))), 0) FROM feedback_chunks WHERE device_id = ? AND clip_id = ?",
                (device_id, clip_id),
            ).fetchone()[0]
        return int(total)

    def open_uploads(self, device_id: str) -> set[str]:
        """The clip ids of the device's streamed uploads in progress (started, or chunks stored)."""
        rows = self._rows(
            "SELECT clip_id FROM feedback_uploads WHERE device_id = ? "
            "UNION SELECT clip_id FROM feedback_chunks WHERE device_id = ?", (device_id, device_id)
        )
        return {str(r["clip_id"]) for r in rows}

    def chunk_numbers(self, device_id: str, clip_id: str) -> set[int]:
        rows = self._rows(
            "SELECT seq FROM feedback_chunks WHERE device_id = ? AND clip_id = ?", (device_id, clip_id)
        )
        return {int(r["seq"]) for r in rows}

    def assemble(self, device_id: str, clip_id: str, count: int) -> bytes:
        rows = self._rows(
            "SELECT data FROM feedback_chunks WHERE device_id = ? AND clip_id = ? AND seq < ? ORDER BY seq",
            (device_id, clip_id, count),
        )
        return b"".join(self.cipher.open_bytes(bytes(r["data"])) or b"" for r in rows)

    def forget_upload(self, device_id: str, clip_id: str) -> None:
        with self._tx() as db:
            self._forget_upload(db, device_id, clip_id)

    @staticmethod
    def _forget_upload(db: sqlite3.Connection, device_id: str, clip_id: str) -> None:
        db.execute("DELETE FROM feedback_chunks WHERE device_id = ? AND clip_id = ?", (device_id, clip_id))
        db.execute("DELETE FROM feedback_uploads WHERE device_id = ? AND clip_id = ?", (device_id, clip_id))

    def expire_uploads(self, older_than_s: float) -> int:
        """Forget streamed uploads that never finished; returns how many."""
        cutoff = time.time() - older_than_s
        with self._tx() as db:
            stale = db.execute(
                "SELECT device_id, clip_id FROM feedback_chunks GROUP BY device_id, clip_id "
                "HAVING MAX(received_at) < ? "
                "UNION SELECT device_id, clip_id FROM feedback_uploads WHERE started_at < ?",
                (cutoff, cutoff),
            ).fetchall()
            for r in stale:
                self._forget_upload(db, r["device_id"], r["clip_id"])
            db.execute("DELETE FROM feedback_claims WHERE expires_at < ?", (time.time(),))
        return len(stale)

    # claims ----------------------------------------------------------------------------
    def claim(self, device_id: str, clip_id: str, worker: str, lease_s: float) -> str | None:
        """Take the clip for ``worker``; returns None on success, else the worker holding it.
        An expired claim (its worker died) is taken over."""
        now = time.time()
        with self._tx() as db:
            row = db.execute(
                "SELECT worker, expires_at FROM feedback_claims WHERE device_id = ? AND clip_id = ?",
                (device_id, clip_id),
            ).fetchone()
            if row and row["worker"] != worker and row["expires_at"] > now:
                return str(row["worker"])
            db.execute(
                "INSERT INTO feedback_claims (device_id, clip_id, worker, expires_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (device_id, clip_id) DO UPDATE SET worker = excluded.worker, "
                "expires_at = excluded.expires_at",
                (device_id, clip_id, worker, now + lease_s),
            )
        return None

    def release(self, device_id: str, clip_id: str, worker: str) -> None:
        with self._tx() as db:
            db.execute(
                "DELETE FROM feedback_claims WHERE device_id = ? AND clip_id = ? AND worker = ?",
                (device_id, clip_id, worker),
            )


def _feedback(r: sqlite3.Row, cipher: StoreCipher) -> StoredFeedback:
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
