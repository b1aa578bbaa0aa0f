"""One store for several processes and hosts: concurrent writers lose nothing, a phone call's
outcome is answered by a process that did not take the call, and a database outage is one clear
error after which the same process carries on."""

from __future__ import annotations

import asyncio
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from tests.waiting import until
from voicebot.channels.phone.call_store import CallStore
from voicebot.channels.phone.calls import CallRecord, CallRegistry, Turn, http_app
from voicebot.store import Store, StoreError
from voicebot.store_crypto import StoreSettings, new_key

ROOT = Path(__file__).resolve().parents[2]
WRITER = """
import sys
from voicebot.store import Store
store = Store(sys.argv[1])
name, n = sys.argv[2], int(sys.argv[3])
conv = store.start_conversation("phone", name, None)
print("ready", flush=True)
sys.stdin.readline()  # both writers start together
for i in range(n):
    store.add_turn(conv, f"{name} turn {i}", "ok")
    store.create_ticket(conv, name, "asked", f"{name} problem {i}", {"i": i})
    store.add_trace(conv, name, "command", None, {"i": i})
print(conv, flush=True)
"""


def test_two_processes_writing_one_store_at_once_lose_nothing(store_location: str) -> None:
    n = 25
    writers = [
        subprocess.Popen([sys.executable, "-c", WRITER, store_location, name, str(n)], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
        for name in ("alice", "bob")
    ]
    try:
        for w in writers:
            assert w.stdout is not None and w.stdout.readline().strip() == "ready"
        for w in writers:
            assert w.stdin is not None
            w.stdin.write("go\n")
            w.stdin.flush()
        convs = [w.stdout.readline().strip() for w in writers if w.stdout is not None]
        assert [w.wait(120) for w in writers] == [0, 0]
    finally:
        for w in writers:
            w.kill()
    store = Store(store_location)
    for name, conv in zip(("alice", "bob"), convs, strict=True):
        assert [t["user_text"] for t in store.turns(conv)] == [f"{name} turn {i}" for i in range(n)]
        tickets = store.tickets_for_customer(name)
        assert sorted(t.summary["i"] for t in tickets) == list(range(n))
        assert len(store.trace(customer_id=name, limit=1000)) == n
    assert len({t.id for t in store.all_tickets(limit=1000)}) == 2 * n  # no number given twice


def test_any_phone_process_answers_for_a_call_another_one_took(store_location: str) -> None:
    """Two phone processes on one database: the dialplan's GET /calls/{uuid} may reach either."""
    took, other = Store(store_location), Store(store_location)
    taking = CallRegistry(store=CallStore(took))
    answering = CallRegistry(store=CallStore(other))
    call_id = "3f1a2b4c-0000-4000-8000-00000000abcd"
    record = taking.open(CallRecord(call_id=call_id, transport="audiosocket", caller="+4930111111"))
    record.turns.append(Turn(user="the heating is off", bot="I opened ticket 7 for you."))
    record.ticket_id = "7"
    taking.close(record, "transfer", "bot")
    assert until(lambda: (answering.stored(call_id) or {}).get("state") == "ended", 10)

    async def ask() -> tuple[int, dict, str, int]:
        async with TestClient(TestServer(http_app(answering, "secret"))) as client:
            auth = {"Authorization": "Bearer secret"}
            whole = await client.get(f"/calls/{call_id.upper()}", headers=auth)
            outcome = await client.get(f"/calls/{call_id}/outcome", headers=auth)
            unknown = await client.get("/calls/00000000-0000-4000-8000-000000000000", headers=auth)
            return whole.status, await whole.json(), await outcome.text(), unknown.status

    status, data, outcome, unknown = asyncio.run(ask())
    assert status == 200 and outcome == "transfer" and unknown == 404
    assert data["ticket_id"] == "7" and data["caller"] == "+4930111111"
    assert data["turns"][0]["user"] == "the heating is off"
    with other.engine.connect() as db:  # what the caller said is sealed at rest like the rest of the store
        sealed = db.exec_driver_sql("SELECT record FROM calls").scalar_one()
    assert "heating" not in sealed and "+4930111111" not in sealed


@pytest.mark.postgresql
def test_a_database_outage_is_one_clear_error_and_the_store_carries_on_after(caplog: pytest.LogCaptureFixture) -> None:
    """A server of the test's own, stopped under an open store and started again."""
    from voicebot.testing.postgres import PostgresServer

    key = StoreSettings(key=new_key())
    with PostgresServer() as server:
        url = server.new_database()
        store = Store(url, store_settings=key)
        conv = store.start_conversation("phone", "alice", None)
        calls = CallStore(store)
        server.halt()
        try:
            with pytest.raises(StoreError) as down:
                store.add_turn(conv, "is anyone there", "yes")
            message = str(down.value)
            assert "cannot be used now" in message and str(server.port) in message and "\n" not in message
            with pytest.raises(StoreError, match="cannot open the store"):
                Store(url, store_settings=key)  # a new process starting during the outage is told, not hung
            with caplog.at_level(logging.WARNING):  # the phone line goes on without its record
                assert calls.save({"uuid": "abc", "state": "ended"}) is False
            assert "could not be stored" in caplog.text
        finally:
            server.resume()
        store.add_turn(conv, "hello again", "hi")  # the same store object, no restart
        assert [t["user_text"] for t in store.turns(conv)] == ["hello again"]
        assert calls.save({"uuid": "abc", "state": "ended"}) is True


@pytest.mark.postgresql
def test_a_sqlite_store_moves_to_postgresql_whole(tmp_path: Path, postgres, postgres_store_key: str) -> None:  # type: ignore[no-untyped-def]
    """`voicebot store copy --to postgresql://…`: what was said, tickets and their numbering move."""
    from typer.testing import CliRunner

    from voicebot.cli import app
    from voicebot.dialogue.corrections import LearnedNames

    settings = StoreSettings(key=postgres_store_key)
    path = tmp_path / "voicebot.sqlite3"
    old = Store(path, store_settings=settings)
    conv = old.start_conversation("phone", "alice", "+4930111111")
    old.add_turn(conv, "the boiler is cold", "Let us check the boiler.")
    first = old.create_ticket(conv, "alice", "asked", "boiler cold", {"steps": [1]})
    LearnedNames(old).learn("alice", "the big lamp", "light.kitchen")
    old.close()
    url = postgres.new_database()
    env = {"VOICEBOT_STORE__KEY": postgres_store_key}
    done = CliRunner().invoke(app, ["store", "copy", "--store", str(path), "--to", url], env=env)
    assert done.exit_code == 0, done.output
    assert '"turns": 1' in done.output and '"tickets": 1' in done.output
    moved = Store(url, store_settings=settings)
    assert [t["user_text"] for t in moved.turns(conv)] == ["the boiler is cold"]
    assert moved.conversation(conv)["caller"] == "+4930111111"  # type: ignore[index]
    assert [n.phrase for n in LearnedNames(moved).names("alice")] == ["big lamp"]
    assert int(moved.create_ticket(None, "bob", "asked", "x", {}).id) == int(first.id) + 1
    again = CliRunner().invoke(app, ["store", "copy", "--store", str(path), "--to", url], env=env)
    assert again.exit_code == 2 and "already holds" in again.output


def test_a_copy_without_the_sources_key_is_refused_before_the_target_is_touched(tmp_path: Path) -> None:
    """Forgetting scale.md's step 2 (store.key = the file's key) costs nothing: the retry with
    the key works, because the refused copy did not make the target a key of its own."""
    from typer.testing import CliRunner

    from voicebot.cli import app

    path, target = tmp_path / "voicebot.sqlite3", tmp_path / "copy.sqlite3"
    old = Store(path)  # its key file beside it
    conv = old.start_conversation("phone", "alice", None)
    old.add_turn(conv, "the boiler is cold", "Let us check the boiler.")
    old.close()
    env = {"VOICEBOT_DATA_DIR": str(tmp_path), "VOICEBOT_STORE__KEY": ""}
    refused = CliRunner().invoke(app, ["store", "copy", "--store", str(path), "--to", str(target)], env=env)
    assert refused.exit_code == 2
    assert f"set store.key (VOICEBOT_STORE__KEY) to the contents of {path}.key" in refused.output, refused.output
    assert not target.exists() and not Path(f"{target}.key").exists()
    key = Path(f"{path}.key").read_text().strip()
    done = CliRunner().invoke(app, ["store", "copy", "--store", str(path), "--to", str(target)],
                              env={**env, "VOICEBOT_STORE__KEY": key})
    assert done.exit_code == 0, done.output
    moved = Store(target, store_settings=StoreSettings(key=key))
    assert [t["user_text"] for t in moved.turns(conv)] == ["the boiler is cold"]
