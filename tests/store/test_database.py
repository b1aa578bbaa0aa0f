"""The database seam every store opens: addresses, password hiding, one engine per address."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Column, Integer, String, Table, insert, select

from voicebot.database import METADATA, DatabaseError, database_url, ensure_tables, open_engine, redacted

ROWS = Table("database_seam_rows", METADATA, Column("id", Integer, primary_key=True), Column("text", String))


def test_a_path_is_a_sqlite_file_and_a_postgres_address_uses_psycopg3(tmp_path: Path) -> None:
    assert database_url(tmp_path / "s.db").render_as_string() == f"sqlite:///{tmp_path / 's.db'}"
    assert database_url("postgresql://bot:pw@db.example/voicebot").drivername == "postgresql+psycopg"
    assert database_url("postgres://bot@db/voicebot").drivername == "postgresql+psycopg"


def test_an_unsupported_database_is_named_in_the_error() -> None:
    with pytest.raises(DatabaseError, match="unsupported database 'mysql'"):
        database_url("mysql://bot:pw@db/voicebot")


def test_the_password_never_appears_in_what_is_shown() -> None:
    shown = redacted("postgresql://bot:hunter2@db.example:5432/voicebot")
    assert "hunter2" not in shown and "db.example" in shown


def test_rows_written_through_one_engine_are_read_through_the_same_address(tmp_path: Path) -> None:
    where = tmp_path / "nested" / "store.db"  # the folder is created
    engine = open_engine(where)
    assert open_engine(str(where)) is engine
    ensure_tables(engine, [ROWS])
    with engine.begin() as db:
        db.execute(insert(ROWS).values(text="kept"))
    with open_engine(where).connect() as db:
        assert db.execute(select(ROWS.c.text)).scalars().all() == ["kept"]
