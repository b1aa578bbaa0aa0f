"""One database for every store: SQLite by default (one file on one host), PostgreSQL when
several hosts share the work. SQLAlchemy 2 Core, so the same tables and queries run on both.

Every table of every store is declared on ``METADATA``; stores open their engine with
``open_engine(location)``, where ``location`` is what a user gives as ``--store`` or ``store.url``:
a file path, ``sqlite:///…``, or ``postgresql://…``.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import MetaData, Table, create_engine, event
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

METADATA = MetaData()

_ENGINES: dict[str, Engine] = {}
_ENGINES_LOCK = threading.Lock()


class DatabaseError(RuntimeError):
    """The database cannot be opened or used; the message names it (without its password)."""


def database_url(location: str | Path) -> URL:
    """The SQLAlchemy URL for a store location: a path means a SQLite file; ``postgresql://`` uses
    psycopg 3 (SQLAlchemy's default PostgreSQL driver would be psycopg2, which is not installed)."""
    text = str(location)
    if text == ":memory:":
        return make_url("sqlite://")
    if "://" not in text:
        return make_url("sqlite:///" + str(Path(text).expanduser().resolve()))
    try:
        url = make_url(text)
    except ArgumentError as exc:
        raise DatabaseError(f"not a database address: {redacted(text)} ({exc})") from None
    if url.drivername in ("postgresql", "postgres"):
        url = url.set(drivername="postgresql+psycopg")
    if url.get_backend_name() not in ("sqlite", "postgresql"):
        raise DatabaseError(
            f"unsupported database {url.get_backend_name()!r}: use a file path, sqlite:/// or postgresql://"
        )
    return url


def redacted(location: str | Path | URL) -> str:
    """The location as it may be shown in logs and errors: never the password."""
    try:
        url = location if isinstance(location, URL) else make_url(str(location))
    except ArgumentError:
        return str(location) if "@" not in str(location) else "<database address>"
    return url.render_as_string(hide_password=True)


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def open_engine(location: str | Path) -> Engine:
    """The process's one engine for ``location`` (a pool shared by every store on it)."""
    url = database_url(location)
    key = url.render_as_string(hide_password=False)
    with _ENGINES_LOCK:
        engine = _ENGINES.get(key)
        if engine is None:
            engine = _create(url)
            _ENGINES[key] = engine
        return engine


def own_engine(location: str | Path) -> Engine:
    """An engine of its own for ``location`` (not the process's shared one): a SQLite store that
    closes it lets go of the file, so SQLite checkpoints and removes its WAL as before."""
    return _create(database_url(location))


def _create(url: URL) -> Engine:
    if url.get_backend_name() == "sqlite":
        if url.database:
            try:
                Path(url.database).parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise DatabaseError(f"cannot create the folder for {url.database}: {exc.strerror}") from None
        # Other processes write the same file: wait for their locks rather than fail.
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    # pre_ping: a connection the server dropped (restart, failover) is replaced, not handed out.
    # connect_timeout: a server that is down is an error within seconds, not a hang.
    connect_args = {} if "connect_timeout" in url.query else {"connect_timeout": 5}
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10, connect_args=connect_args)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.execute("PRAGMA busy_timeout = 30000")
    cursor.execute("PRAGMA journal_mode = WAL")
    # Deleted rows (erasure, retention) are overwritten, not left in free pages.
    cursor.execute("PRAGMA secure_delete = ON")
    cursor.close()


def ensure_tables(engine: Engine, tables: Sequence[Table]) -> None:
    """Creates ``tables`` where they are missing."""
    try:
        METADATA.create_all(engine, tables=list(tables), checkfirst=True)
    except SQLAlchemyError as exc:
        raise DatabaseError(f"cannot prepare tables in {redacted(engine.url)}: {exc}") from None
