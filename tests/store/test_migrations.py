"""The schema's history: a store file written before Alembic opens and is brought up to date, and
the migrations describe every table declared on METADATA (a table added without a revision is
reported here, by name)."""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

from sqlalchemy import inspect

from voicebot.feedback.store import FeedbackStore
from voicebot.migrations import TABLE_MODULES, _heads
from voicebot.store import Store
from voicebot.store_crypto import StoreSettings

ROOT = Path(__file__).resolve().parents[2]
OLD_SCHEMA = Path(__file__).with_name("data") / "store_before_alembic.sql"

# Run in a fresh interpreter: only voicebot's own tables are on METADATA there (tests declare
# tables of their own), as they are in a running service.
COMPARE = """
import importlib, json, sys
from pathlib import Path
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from voicebot.database import METADATA
from voicebot.store import Store
for module in sys.argv[2:]:
    importlib.import_module(module)
store = Store(sys.argv[1])  # opening migrates (upgrade heads)
with store.engine.connect() as db:
    diffs = compare_metadata(MigrationContext.configure(db, opts={"compare_type": True}), METADATA)
print(json.dumps([repr(d) for d in diffs]))
"""


def table_modules() -> list[str]:
    """Every voicebot module that declares a table on METADATA."""
    found = []
    for path in sorted((ROOT / "voicebot").rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        if re.search(r"Table\(\s*\n?\s*\"[a-z_]+\",\s*METADATA", text):
            found.append(".".join(path.relative_to(ROOT).with_suffix("").parts))
    return found


def test_every_module_with_tables_is_known_to_the_migrations() -> None:
    modules = table_modules()
    assert "voicebot.store" in modules and "voicebot.feedback.store" in modules
    missing = sorted(set(modules) - set(TABLE_MODULES))
    assert not missing, f"list these in voicebot.migrations.TABLE_MODULES and add a revision: {missing}"


def test_after_upgrade_autogenerate_finds_nothing_to_add(store_location: str) -> None:
    """A table or column declared without a revision shows up here (docs/scale.md says how to add one)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", COMPARE, store_location, *table_modules()],
                          capture_output=True, text=True, env=env, timeout=180)
    assert done.returncode == 0, done.stderr[-3000:]
    diffs = json.loads(done.stdout.strip().splitlines()[-1])
    assert diffs == [], "the database the migrations make differs from METADATA; write a revision:\n" + "\n".join(diffs)


def test_a_store_file_from_before_alembic_opens_with_its_data_and_is_migrated(tmp_path: Path) -> None:
    path = tmp_path / "voicebot.sqlite3"
    old = sqlite3.connect(path)
    old.executescript(OLD_SCHEMA.read_text(encoding="utf-8"))
    # What the old code wrote: rows in clear (before encryption), a ticket, a chunk without its size.
    old.execute("INSERT INTO conversations (id, channel, customer_id, caller, started_at) "
                "VALUES ('c0', 'phone', 'alice', '+4930111111', 1.0)")
    old.execute("INSERT INTO turns (conversation_id, at, user_text, reply) VALUES ('c0', 1.0, 'the heating is off', 'Let us check.')")
    old.execute("INSERT INTO tickets (conversation_id, customer_id, created_at, updated_at, reason, problem) "
                "VALUES ('c0', 'alice', 1.0, 1.0, 'asked', 'heating off')")
    old.execute("INSERT INTO feedback_chunks (device_id, clip_id, seq, data, received_at) VALUES ('d1', 'k1', 0, x'616263', 1.0)")
    old.commit()
    old.close()

    store = Store(path, store_settings=StoreSettings())
    assert [t["user_text"] for t in store.turns("c0")] == ["the heating is off"]
    assert store.conversation("c0")["caller"] == "+4930111111"  # type: ignore[index]
    [ticket] = store.tickets_for_customer("alice")
    assert ticket.problem == "heating off"
    newer = store.create_ticket(None, "alice", "asked", "boiler noise", {})
    assert int(newer.id) == int(ticket.id) + 1
    tables = set(inspect(store.engine).get_table_names())
    assert {"alembic_version", "calls", "store_meta"} <= tables
    assert "size" in {c["name"] for c in inspect(store.engine).get_columns("feedback_chunks")}
    with store.engine.connect() as db:
        assert set(db.exec_driver_sql("SELECT version_num FROM alembic_version").scalars()) == set(_heads())
    feedback = FeedbackStore(path, store_settings=StoreSettings())
    assert feedback.add_chunk("d1", "k1", 1, b"de") == 5  # the old chunk counts by its length
    assert feedback.assemble("d1", "k1", 2) == b"abcde"
    store.close()
    feedback.close()
    again = Store(path, store_settings=StoreSettings())  # a second open finds nothing to do
    assert again.ticket(newer.id) is not None


def test_the_heads_read_from_the_revision_files_are_alembics() -> None:
    from alembic.script import ScriptDirectory

    from voicebot.migrations import alembic_config

    assert _heads() == frozenset(ScriptDirectory.from_config(alembic_config()).get_heads())


# A store opened a second time (up to date) does not load Alembic: ~8 MB resident in every
# service process for a library only an upgrade uses.
REOPEN = """
import sys
from voicebot.store import Store
Store(sys.argv[1]).close()
print("alembic" in sys.modules)
"""


def test_an_up_to_date_store_opens_without_alembic(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    path = str(tmp_path / "store.sqlite3")
    loaded = []
    for _ in range(2):  # made (and migrated), then opened as it is
        done = subprocess.run([sys.executable, "-c", REOPEN, path], capture_output=True, text=True, env=env, timeout=120)
        assert done.returncode == 0, done.stderr[-3000:]
        loaded.append(done.stdout.strip().splitlines()[-1])
    assert loaded == ["True", "False"]
