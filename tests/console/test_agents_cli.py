"""`voicebot agents add/list/remove`: who may sign in, with passwords hashed by argon2id."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from voicebot.cli import app


def test_agents_are_added_listed_and_removed(tmp_path: Path) -> None:
    store = str(tmp_path / "voicebot.sqlite3")
    runner = CliRunner()
    added = runner.invoke(app, ["agents", "add", "carol", "--role", "supervisor", "--store", store],
                          input="a long enough password\n")
    assert added.exit_code == 0, added.output
    listed = runner.invoke(app, ["agents", "list", "--store", store])
    assert [json.loads(line)["role"] for line in listed.stdout.splitlines()] == ["supervisor"]

    from voicebot.config import Settings
    from voicebot.console.auth import authenticate
    from voicebot.console.server import open_console_db

    st, db = open_console_db(Settings(data_dir=tmp_path), store)
    _, stored = db.agent("carol") or (None, "")
    assert stored.startswith("$argon2id$") and "a long enough password" not in stored
    assert authenticate(db, "carol", "a long enough password") is not None
    assert authenticate(db, "carol", "a long enough passworD") is None
    st.close()

    assert runner.invoke(app, ["agents", "remove", "carol", "--store", store]).exit_code == 0
    assert runner.invoke(app, ["agents", "list", "--store", store]).stdout == ""
    assert runner.invoke(app, ["agents", "remove", "carol", "--store", store]).exit_code == 1


def test_bad_names_roles_and_short_passwords_are_refused(tmp_path: Path) -> None:
    store = str(tmp_path / "voicebot.sqlite3")
    runner = CliRunner()
    short = runner.invoke(app, ["agents", "add", "dave", "--store", store], input="short\n")
    assert short.exit_code == 2 and "at least" in short.output
    role = runner.invoke(app, ["agents", "add", "dave", "--role", "boss", "--store", store], input="long enough pw\n")
    assert role.exit_code == 2 and "unknown role" in role.output
    name = runner.invoke(app, ["agents", "add", "da ve", "--store", store], input="long enough pw\n")
    assert name.exit_code == 2
    assert runner.invoke(app, ["agents", "add", "dave", "--store", store], input="long enough pw\n").exit_code == 0
    again = runner.invoke(app, ["agents", "add", "dave", "--store", store], input="long enough pw\n")
    assert again.exit_code == 2 and "exists already" in again.output
