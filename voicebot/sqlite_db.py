"""The SQLite connection both stores share: one file, used from many threads and, in WAL mode,
by several processes (dialogue, phone line, feedback workers)."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from voicebot.store_crypto import StoreCipher, StoreKeyError, StoreSettings, load_cipher

# One sealed known value: opening it at start tells a wrong key apart from a right one before
# anything is read or written (a wrong key must give one clear error, not garbage or a crash later).
META_SCHEMA = """
CREATE TABLE IF NOT EXISTS store_meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
"""
CANARY = "voicebot store key check"


class SqliteDatabase:
    """Opens ``path`` (creating its folder), applies ``schema``, and serialises access with a lock.
    Problems opening it raise ``error`` with a message for the user naming ``what``."""

    def __init__(
        self,
        path: str | Path,
        schema: str,
        *,
        what: str,
        error: type[Exception],
        foreign_keys: bool = False,
        cipher: StoreCipher | None = None,
        store_settings: StoreSettings | None = None,
    ) -> None:
        self.path = str(path)
        if self.path != ":memory:":
            try:
                Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise error(f"cannot create the folder for {what} {self.path}: {exc.strerror}") from exc
        try:
            # Other processes write the same file: wait for their locks rather than fail.
            self._db = sqlite3.connect(self.path, timeout=30, check_same_thread=False, isolation_level=None)
            self._db.row_factory = sqlite3.Row
            if foreign_keys:
                self._db.execute("PRAGMA foreign_keys = ON")
            if self.path != ":memory:":
                self._db.execute("PRAGMA journal_mode = WAL")
            self._db.execute("PRAGMA busy_timeout = 30000")
            # Deleted rows (erasure, retention, finished uploads) are overwritten, not left in free pages.
            self._db.execute("PRAGMA secure_delete = ON")
            self._db.executescript(META_SCHEMA + schema)
            canary = self._db.execute("SELECT value FROM store_meta WHERE name = 'canary'").fetchone()
        except sqlite3.Error as exc:
            raise error(f"cannot open {what} {self.path}: {exc}") from exc
        self._lock = threading.RLock()
        try:
            self.cipher = cipher or load_cipher(self.path, store_settings, create=canary is None)
            if canary is None:
                self._db.execute(
                    "INSERT OR IGNORE INTO store_meta (name, value) VALUES ('canary', ?)", (self.cipher.seal(CANARY),)
                )
            elif self.cipher.open(canary["value"]) != CANARY:
                raise StoreKeyError(f"the store key from {self.cipher.source} does not open {self.path}")
        except StoreKeyError as exc:
            self._db.close()
            raise error(str(exc)) from None

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _rows(self, sql: str, args: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        with self._lock:
            return self._db.execute(sql, args).fetchall()
