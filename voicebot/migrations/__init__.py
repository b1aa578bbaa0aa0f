"""The database's schema history (Alembic). Every store brings its database up to date when it
opens: ``upgrade(engine)`` runs ``alembic upgrade heads`` (plural: revisions added on parallel
branches by different features are all applied), once per database per process, under a lock
that keeps two processes opening a new database at once from racing (an advisory lock on
PostgreSQL, the write lock on SQLite).

Alembic itself is imported only when a database lacks a revision (or for the commands): a
service whose database is up to date reads the heads from the revision files and the database's
``alembic_version`` with plain SQL, and does not keep Alembic, Mako and Pygments in memory
(~8 MB resident in every process; tests/store/test_migrations.py checks the heads agree).

To add a table or a column: declare it on ``voicebot.database.METADATA``, list its module in
``TABLE_MODULES``, then write a revision (docs/scale.md, "Changing the schema").
"""

from __future__ import annotations

import ast
import importlib
import threading
import weakref
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Column, Engine, MetaData, String, Table, create_mock_engine, inspect, select, text

from voicebot.database import METADATA, DatabaseError, redacted

if TYPE_CHECKING:
    from alembic.config import Config

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

# Alembic's own table of the revisions a database has (its default name and column).
_VERSION = Table("alembic_version", MetaData(), Column("version_num", String(32), primary_key=True))
_ADVISORY_LOCK = 0x766F6963  # "voic": one number every voicebot process agrees on
_DONE: weakref.WeakSet[Engine] = weakref.WeakSet()
_LOCK = threading.Lock()


def target_metadata() -> MetaData:
    for name in TABLE_MODULES:
        importlib.import_module(name)
    return METADATA


@cache
def _config() -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(HERE))
    config.set_main_option("version_locations", str(HERE / "versions"))
    config.set_main_option("path_separator", "os")
    return config


def alembic_config() -> Config:
    """A fresh Alembic configuration for this package (for commands: revision, current, heads)."""
    from alembic.config import Config

    config = Config()
    for key in ("script_location", "version_locations", "path_separator"):
        config.set_main_option(key, _config().get_main_option(key) or "")
    return config


@cache
def _heads() -> frozenset[str]:
    """The revisions no other revision follows, read from the revision files' ``revision`` and
    ``down_revision`` assignments (what Alembic's ``ScriptDirectory.get_heads`` answers)."""
    revisions: set[str] = set()
    followed: set[str] = set()
    for path in sorted((HERE / "versions").glob("*.py")):
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.AnnAssign) and node.value is not None:
                name, value = node.target, node.value
            elif isinstance(node, ast.Assign) and len(node.targets) == 1:
                name, value = node.targets[0], node.value
            else:
                continue
            if isinstance(name, ast.Name) and name.id == "revision":
                revisions.add(ast.literal_eval(value))
            elif isinstance(name, ast.Name) and name.id == "down_revision":
                down = ast.literal_eval(value) or ()
                followed.update([down] if isinstance(down, str) else down)
    return frozenset(revisions - followed)


def _current(engine: Engine) -> bool:
    """Whether the database already has every head revision (a plain read)."""
    try:
        with engine.connect() as db:
            if not inspect(db).has_table(_VERSION.name):
                return False
            have = set(db.execute(select(_VERSION.c.version_num)).scalars())
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
    version = _VERSION
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
        if _current(engine):  # nothing to do: no write lock taken, nothing touched
            _DONE.add(engine)
            return
        config = alembic_config()
        with engine.connect() as db:
            if engine.dialect.name == "sqlite":
                db.exec_driver_sql("BEGIN IMMEDIATE")
            else:  # held to the end of this transaction; PostgreSQL's DDL is transactional
                db.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _ADVISORY_LOCK})
            config.attributes["connection"] = db
            from alembic import command

            try:
                command.upgrade(config, "heads")
            except Exception as exc:
                db.rollback()
                raise DatabaseError(f"cannot bring {redacted(engine.url)} up to date: {exc}") from exc
            db.commit()
        _DONE.add(engine)
