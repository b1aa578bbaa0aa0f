"""The database every store opens: a SQLite file by default (one host; WAL lets the dialogue,
the phone line and the feedback workers of that host share it) or PostgreSQL (``postgresql://…``)
when several hosts share the work. SQLAlchemy Core through ``voicebot.database``; the tables are
declared on ``voicebot.database.METADATA`` and brought up to date by the Alembic migrations in
``voicebot.migrations`` when a store opens.

The module keeps its historical name; the class is ``StoreDatabase`` (``SqliteDatabase`` is the
old name of the same class).
"""

from __future__ import annotations

import re
import threading
import weakref
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

from sqlalchemy import Column, Connection, Engine, Table, Text, create_engine, event, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from sqlalchemy.pool import StaticPool

from voicebot.database import METADATA, DatabaseError, is_sqlite, open_engine, own_engine, redacted
from voicebot.store_crypto import StoreCipher, StoreKeyError, StoreSettings, load_cipher

# One sealed known value: opening it at start tells a wrong key apart from a right one before
# anything is read or written (a wrong key must give one clear error, not garbage or a crash later).
STORE_META = Table(
    "store_meta", METADATA,
    Column("name", Text, primary_key=True),
    Column("value", Text, nullable=False),
)
CANARY = "voicebot store key check"
DEFAULT_FILE = "voicebot.sqlite3"


def store_location(settings: Any, explicit: str | Path | None = None, section_store: str | None = None) -> str | Path:
    """Where the store is: ``--store``, else the section's own ``store`` (``dialogue.store``,
    ``feedback.store``), else ``store.url``, else ``<data_dir>/voicebot.sqlite3``."""
    from voicebot.config import section

    for candidate in (explicit, section_store, section(StoreSettings, "store", settings).url):
        if candidate:
            text = str(candidate)
            return text if text == ":memory:" or "://" in text else Path(text).expanduser()
    return Path(settings.data_dir) / DEFAULT_FILE


def is_file_location(location: str | Path) -> bool:
    """A SQLite file (a path or sqlite:///), as opposed to a server or ``:memory:``."""
    text = str(location)
    return text != ":memory:" and ("://" not in text or text.startswith("sqlite:///"))


class StoreDatabase:
    """Opens ``location`` (a path, ``sqlite:///…``, ``postgresql://…`` or ``:memory:``), migrates it
    and checks the key. Problems opening it raise ``error`` with a message naming ``what``.

    ``engine`` and ``cipher`` are public: other stores on the same database use them."""

    def __init__(
        self,
        location: str | Path,
        *,
        what: str,
        error: type[Exception],
        cipher: StoreCipher | None = None,
        store_settings: StoreSettings | None = None,
    ) -> None:
        text = str(location)
        if text.startswith("sqlite:///"):
            text = text[len("sqlite:///"):] or ":memory:"
        self.what = what
        self._error = error
        self.memory = text == ":memory:"
        # ``path`` is the file for SQLite (":memory:" when in memory), the address without its
        # password for a server; ``key_base`` is what the default key file is named after.
        try:
            if self.memory:
                self.engine = _memory_engine()
                self.path = ":memory:"
            elif is_file_location(text):
                self.engine = own_engine(text)
            else:
                self.engine = open_engine(text)
            if not self.memory:
                self.path = (self.engine.url.database or text) if is_sqlite(self.engine) else redacted(self.engine.url)
        except DatabaseError as exc:
            raise error(f"cannot open {what} {redacted(text)}: {exc}") from None
        self.sqlite = is_sqlite(self.engine)
        if self.sqlite:  # a store dropped without close() lets go of its file as well
            weakref.finalize(self, self.engine.dispose)
        self.key_base: str | Path = self.path if self.sqlite else _server_key_base(self.engine)
        # Serialises this object's use of SQLite (one writer at a time anyway; in memory there is
        # one connection). PostgreSQL needs no lock: each call takes its own pooled connection.
        self._lock: Any = threading.RLock() if self.sqlite else nullcontext()
        try:
            from voicebot.migrations import create_fresh, upgrade

            # A throw-away database (tests, demos) is made in one step rather than revision by revision.
            (create_fresh if self.memory else upgrade)(self.engine)
            with self.engine.connect() as db:
                canary = db.execute(select(STORE_META.c.value).where(STORE_META.c.name == "canary")).scalar()
        except SQLAlchemyError as exc:
            self.close()
            raise error(f"cannot open {what} {self.path}: {_reason(exc)}") from None
        except DatabaseError as exc:
            self.close()
            raise error(f"cannot open {what} {self.path}: {exc}") from None
        try:
            self.cipher = cipher or load_cipher(self.key_base, store_settings, create=canary is None)
            if canary is None:
                with self._tx() as db:
                    db.execute(upsert(self.engine, STORE_META, {"name": "canary", "value": self.cipher.seal(CANARY)},
                                      ["name"], update=False))
            elif self.cipher.open(canary) != CANARY:
                raise StoreKeyError(f"the store key from {self.cipher.source} does not open {self.path}")
        except StoreKeyError as exc:
            self.close()
            raise error(str(exc)) from None

    def close(self) -> None:
        """Closes a SQLite store's connections, so that SQLite, when the last one goes,
        checkpoints its WAL into the file and removes it; an in-memory database is dropped. A
        server's pool is the process's, shared by its stores, and stays."""
        if self.sqlite:
            self.engine.dispose()

    @contextmanager
    def _tx(self) -> Iterator[Connection]:
        """One transaction. On SQLite it takes the write lock at once (BEGIN IMMEDIATE), so a
        read-then-write inside it cannot be overtaken by another process."""
        with self._unreachable(), self._lock, self.engine.connect() as db:
            if self.sqlite:
                db.exec_driver_sql("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.rollback()
                raise
            db.commit()

    def _read(self, statement: Any, params: Mapping[str, Any] | None = None) -> list[Any]:
        """Rows as mappings (column name → value) of a SQLAlchemy statement or ``text()``."""
        with self._unreachable(), self._lock, self.engine.connect() as db:
            return list(db.execute(statement, params or {}).mappings().all())

    @contextmanager
    def _unreachable(self) -> Iterator[None]:
        """A database that is down or unreachable (a server restarting, a network cut, a locked
        file) is the store's error with one clear line; the caller decides whether to go on. The
        pool checks connections before use, so the first call after the server is back works."""
        try:
            yield
        except OperationalError as exc:
            raise self._error(f"{self.what} {self.path} cannot be used now: {_reason(exc)}") from exc


SqliteDatabase = StoreDatabase  # the name it had when only SQLite was supported


def upsert(engine: Engine | Connection, table: Table, values: Mapping[str, Any], keys: list[str],
           update: bool = True) -> Any:
    """INSERT … ON CONFLICT (keys) DO UPDATE, or DO NOTHING (with no keys: on any conflict),
    in the engine's own dialect."""
    dialect = engine.dialect.name
    stmt = (pg_insert if dialect == "postgresql" else sqlite_insert)(table).values(**values)
    if not update:
        return stmt.on_conflict_do_nothing(index_elements=keys or None)
    rest = {c: stmt.excluded[c] for c in values if c not in keys}
    return stmt.on_conflict_do_update(index_elements=keys, set_=rest)


def _memory_engine() -> Engine:
    """A private in-memory SQLite database: one connection (StaticPool), so every thread of this
    store sees the same data and no other store does."""
    engine = create_engine("sqlite://", poolclass=StaticPool, connect_args={"check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.execute("PRAGMA foreign_keys = ON")

    return engine


def _server_key_base(engine: Engine) -> Path:
    """Where the key file of a server database is by default: the data directory, named after
    the server and database (every host needs the same key: set store.key or store.key_file)."""
    from voicebot.config import load_settings

    url = engine.url
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", f"{url.host or 'local'}_{url.port or 5432}_{url.database or ''}")
    return Path(load_settings().data_dir) / f"store-{name}"


def _reason(exc: SQLAlchemyError) -> str:
    """The driver's own message, without SQLAlchemy's SQL echo and links."""
    orig = getattr(exc, "orig", None)
    return str(orig if orig is not None else exc).strip().splitlines()[0]


__all__ = ["STORE_META", "SqliteDatabase", "StoreDatabase", "store_location", "upsert"]
