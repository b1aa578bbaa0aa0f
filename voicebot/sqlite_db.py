"""The SQLite connection both stores share: one file, used from many threads and, in WAL mode,
by several processes (dialogue, phone line, feedback workers)."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


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
            self._db.executescript(schema)
        except sqlite3.Error as exc:
            raise error(f"cannot open {what} {self.path}: {exc}") from exc
        self._lock = threading.RLock()

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
