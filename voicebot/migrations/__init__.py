"""The database's schema history (Alembic). Every store brings its database up to date when it
opens: ``upgrade(engine)`` runs ``alembic upgrade heads`` (plural: revisions added on parallel
branches by different features are all applied), once per database per process, under a lock
that keeps two processes opening a new database at once from racing (an advisory lock on
PostgreSQL, the write lock on SQLite).

To add a table or a column: declare it on ``voicebot.database.METADATA``, list its module in
``TABLE_MODULES``, then write a revision (docs/scale.md, "Changing the schema").
"""

from __future__ import annotations

import importlib
import threading
import weakref
from functools import cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Column, Engine, MetaData, String, Table, create_mock_engine, text

from voicebot.database import METADATA, DatabaseError, redacted

HERE = Path(__file__).parent

# The modules that declare tables on METADATA; importing them makes the picture complete for
# autogenerate (tests/store/test_migrations.py checks none is missing).
TABLE_MODULES = (
    "voicebot.sqlite_db",
    "voicebot.store",
    "voicebot.feedback.store",
    "voicebot.dialogue.corrections",
    "voicebot.store_admin",
    "voicebot.channels.phone.call_store",
    "voicebot.console.db",
    "voicebot.customers.tables",
    "voicebot.proactive.store",
    "voicebot.webchat.links",
)

_ADVISORY_LOCK = 0x766F6963  # "voic": one number every voicebot process agrees on
_DONE: weakref.WeakSet[Engine] = weakref.WeakSet()
_LOCK = threading.Lock()


def target_metadata() -> MetaData:
    for name in TABLE_MODULES:
        importlib.import_module(name)
    return METADATA


@cache
def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(HERE))
    config.set_main_option("version_locations", str(HERE / "versions"))
    config.set_main_option("path_separator", "os")
    return config


def alembic_config() -> Config:
    """A fresh Alembic configuration for this package (for commands: revision, current, heads)."""
    config = Config()
    for key in ("script_location", "version_locations", "path_separator"):
        config.set_main_option(key, _config().get_main_option(key) or "")
    return config


@cache
def _heads() -> frozenset[str]:
    return frozenset(ScriptDirectory.from_config(_config()).get_heads())


def _current(engine: Engine) -> bool:
    """Whether the database already has every head revision (a plain read)."""
    try:
        with engine.connect() as db:
            have = set(MigrationContext.configure(db).get_current_heads())
            db.rollback()
    except Exception:
        return False  # the upgrade under the lock says what is wrong
    return _heads() <= have


def create_fresh(engine: Engine) -> None:
    """A new, empty in-memory database: the tables as the revisions would leave them, made at once
    and stamped with the heads (tests/store/test_migrations.py checks that the revisions and
    METADATA agree, which is what makes this the same)."""
    with engine.begin() as db:
        for statement in _fresh_ddl(engine.dialect.name):
            db.exec_driver_sql(statement)
        db.execute(text("INSERT INTO alembic_version (version_num) VALUES (:v)"),
                   [{"v": head} for head in sorted(_heads())])
    _DONE.add(engine)


@cache
def _fresh_ddl(dialect: str) -> tuple[str, ...]:
    """CREATE statements for every table, compiled once per process (compiling is most of the cost)."""
    statements: list[str] = []
    version = Table("alembic_version", MetaData(), Column("version_num", String(32), primary_key=True))
    mock = create_mock_engine(f"{dialect}://", lambda sql, *_a, **_k: statements.append(str(sql.compile(dialect=mock.dialect))))
    target_metadata().create_all(mock, checkfirst=False)
    version.create(mock, checkfirst=False)
    return tuple(statements)


def upgrade(engine: Engine) -> None:
    """Apply every revision the database lacks (``upgrade heads``)."""
    if engine in _DONE:
        return
    with _LOCK:
        if engine in _DONE:
            return
        config = alembic_config()
        if _current(engine):  # nothing to do: no write lock taken, nothing touched
            _DONE.add(engine)
            return
        with engine.connect() as db:
            if engine.dialect.name == "sqlite":
                db.exec_driver_sql("BEGIN IMMEDIATE")
            else:  # held to the end of this transaction; PostgreSQL's DDL is transactional
                db.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _ADVISORY_LOCK})
            config.attributes["connection"] = db
            try:
                command.upgrade(config, "heads")
            except Exception as exc:
                db.rollback()
                raise DatabaseError(f"cannot bring {redacted(engine.url)} up to date: {exc}") from exc
            db.commit()
        _DONE.add(engine)
