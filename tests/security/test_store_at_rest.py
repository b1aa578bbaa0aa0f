"""What customers said is unreadable in the store's files, yet exportable; erasure removes it;
a wrong or missing key gives one clear error and changes nothing; the key can be rotated."""

from __future__ import annotations

import hashlib
import json
import logging
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import text

from voicebot.dialogue.engine import DialogueEngine
from voicebot.dialogue.settings import DialogueSettings
from voicebot.feedback.store import FeedbackStore, FeedbackStoreError
from voicebot.store import Store, StoreError
from voicebot.store_admin import erase_customer, export_customer, prune, rotate_key
from voicebot.store_crypto import RetentionDays, StoreSettings, new_key
from voicebot.testing.scenario import Home, simulated_home, standard_customers

if TYPE_CHECKING:
    from tests.conftest import CliDone

ROOT = Path(__file__).resolve().parents[2]
HOME = ROOT / "tests" / "scenarios" / "home.yaml"
SAID = ["the kitchen light won't come on since Tuesday afternoon", "I can't, no"]
# Words of the conversation a reader of the files must not find (what the customer said, and
# words only the bot's replies and the ticket carry).
SECRET_WORDS = ["Tuesday", "afternoon", "won't", "can't"]
FEEDBACK_WORDS = ["grandmother", "unbearable"]
AUDIO = b"RIFF\x00\x00\x00\x00WAVEdata the customer's own recorded voice"


@pytest.fixture(scope="module")
def home(mosquitto) -> Iterator[Home]:  # type: ignore[no-untyped-def]
    with simulated_home(mosquitto.url, HOME) as h:
        yield h


def store_files(db: Path) -> list[Path]:
    return [p for p in db.parent.iterdir() if p.name.startswith(db.name) and not p.name.endswith(".key")]


def grep_a(word: str, files: list[Path]) -> list[str]:
    """``grep -a -i -l WORD FILES``: the files in which the word can be read."""
    result = subprocess.run(["grep", "-a", "-i", "-l", "-F", word, *map(str, files)], capture_output=True, text=True)
    return result.stdout.split()


def _converse(home: Home, db: Path) -> tuple[str, str]:
    home.reset()
    store = Store(db, store_settings=StoreSettings())
    standard_customers(store)
    engine = DialogueEngine(home.bridge, store, DialogueSettings(command_timeout_s=1.2))
    home.inject("Kitchen Light", "offline")
    conv = engine.conversation("phone", customer_id="alice", caller="+4930111111")
    replies = [conv.handle(text) for text in SAID]
    conv.end("escalated")
    engine.learned.learn("alice", "the big lamp", home.device_id("Kitchen Light"), "en", "teach")
    assert replies[-1].escalated and replies[-1].ticket_id
    feedback = FeedbackStore(db, store_settings=StoreSettings())
    feedback.add(_feedback_row())
    feedback.add_chunk("speaker-1", "clip-in-progress", 0, AUDIO)  # an upload not finished yet
    feedback.close()
    store.close()
    return conv.id, replies[-1].ticket_id


def _feedback_row() -> dict[str, object]:
    now = time.time()
    return {
        "device_id": "speaker-1", "clip_id": "clip-1", "audio_sha256": hashlib.sha256(AUDIO).hexdigest(),
        "model": "m", "firmware": "1", "locale": "en", "recorded_at": now, "received_at": now,
        "stored_at": now, "duration_s": 2.0, "audio_format": "wav",
        "transcript": "my grandmother finds the noise unbearable", "language": "en", "confidence": 0.9,
        "sentiment": -0.6, "label": "negative", "emotions": ["anger"], "topics": {"noise": ["unbearable"]},
        "urgency": "normal", "urgency_reasons": ["grandmother"], "audio": AUDIO,
    }


def test_nothing_said_is_readable_in_the_files_but_export_shows_it_and_erase_removes_it(
    home: Home, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    db = tmp_path / "voicebot.sqlite3"
    caplog.set_level(logging.INFO)
    conv_id, ticket_id = _converse(home, db)
    for word in [*SECRET_WORDS, "+4930111111"]:
        assert word not in caplog.text, f"{word!r} is in the INFO log"
    files = store_files(db)
    assert {p.name for p in files} >= {"voicebot.sqlite3"}
    # (The profile's phone numbers stay readable: calls are matched to customers by them.)
    for word in [*SECRET_WORDS, *FEEDBACK_WORDS, "recorded voice"]:
        assert grep_a(word, files) == [], f"{word!r} is readable in the store's files"
    key_file = tmp_path / "voicebot.sqlite3.key"
    assert key_file.stat().st_mode & 0o777 == 0o600

    store = Store(db, store_settings=StoreSettings())
    exported = json.dumps(export_customer(store, "alice", devices=["speaker-1"]), ensure_ascii=False)
    for word in ["Tuesday", "afternoon", "grandmother", "+4930111111", conv_id]:
        assert word in exported, word
    assert json.loads(exported)["tickets"][0]["id"] == int(ticket_id)
    assert [n["phrase"] for n in json.loads(exported)["learned_names"]] == ["big lamp"]

    removed = erase_customer(store, "alice", devices=["speaker-1"])
    assert removed >= 6
    after = export_customer(store, "alice", devices=["speaker-1"])
    assert after["profile"] is None
    assert all(after[t] == [] for t in ("conversations", "turns", "tickets", "trace", "feedback", "learned_names"))
    assert store.tickets_for_customer("alice") == [] and store.customer("bob") is not None
    erasures = store._read(text("SELECT * FROM erasures"))
    assert len(erasures) == 1 and set(erasures[0].keys()) == {"id", "at", "rows"}  # not whose
    store.close()
    for word in ["Tuesday", "grandmother", "alice", "+4930111111"]:
        assert grep_a(word, store_files(db)) == [], f"{word!r} survived the erasure"


def test_wrong_or_missing_key_is_one_clear_error_and_changes_nothing(home: Home, tmp_path: Path) -> None:
    db = tmp_path / "voicebot.sqlite3"
    _converse(home, db)
    before = {p.name: p.read_bytes() for p in store_files(db)}
    with pytest.raises(StoreError, match=r"store\.key .* does not open") as wrong:
        Store(db, store_settings=StoreSettings(key=new_key()))
    assert "\n" not in str(wrong.value)
    key_file = tmp_path / "voicebot.sqlite3.key"
    key = key_file.read_text()
    key_file.unlink()
    with pytest.raises(StoreError, match=r"key file .* is missing"):
        Store(db, store_settings=StoreSettings())
    with pytest.raises(FeedbackStoreError, match=r"key file .* is missing"):
        FeedbackStore(db, store_settings=StoreSettings())
    assert not key_file.exists(), "no new key was made for a store that has encrypted data"
    assert {p.name: p.read_bytes() for p in store_files(db)} == before
    key_file.write_text(key)
    assert Store(db, store_settings=StoreSettings()).customer("alice") is not None


def test_rotate_key_re_encrypts_and_only_the_new_key_opens(home: Home, tmp_path: Path) -> None:
    db = tmp_path / "voicebot.sqlite3"
    conv_id, _ = _converse(home, db)
    key_file = tmp_path / "voicebot.sqlite3.key"
    old = key_file.read_text().strip()
    store = Store(db, store_settings=StoreSettings())
    rotate_key(store, StoreSettings(), new_key())
    store.close()
    new = key_file.read_text().strip()
    assert new != old and key_file.stat().st_mode & 0o777 == 0o600
    assert not (tmp_path / "voicebot.sqlite3.key.new").exists()
    reopened = Store(db, store_settings=StoreSettings())
    assert any("Tuesday" in t["user_text"] for t in reopened.turns(conv_id))
    assert FeedbackStore(db, store_settings=StoreSettings()).audio(1) == AUDIO
    with pytest.raises(StoreError, match="does not open"):
        Store(db, store_settings=StoreSettings(key=old))


def test_retention_removes_what_is_older_than_its_kind_allows(home: Home, tmp_path: Path) -> None:
    db = tmp_path / "voicebot.sqlite3"
    conv_id, ticket_id = _converse(home, db)
    store = Store(db, store_settings=StoreSettings())
    kept = prune(store, RetentionDays(conversations=30, tickets=30, feedback=30))
    assert kept == {"conversations": 0, "tickets": 0, "feedback": 0}
    store.update_ticket(ticket_id, "closed")
    later = time.time() + 31 * 86400
    removed = prune(store, RetentionDays(conversations=30, tickets=30, feedback=30), now=later)
    assert removed == {"conversations": 1, "tickets": 1, "feedback": 1}
    assert store.conversation(conv_id) is None and store.turns(conv_id) == []
    assert store.customer("alice") is not None  # profiles are not conversations


def test_customers_export_and_erase_commands(home: Home, tmp_path: Path, voicebot_cli: Callable[..., CliDone]) -> None:
    db = tmp_path / "voicebot.sqlite3"
    _converse(home, db)
    env = {"HOME": str(tmp_path), "XDG_DATA_HOME": str(tmp_path)}

    def run(*args: str) -> CliDone:  # the commands in this process; the process itself: below
        return voicebot_cli(list(args), **env)

    exported = run("customers", "export", "alice", "--store", str(db))
    assert exported.returncode == 0, exported.stderr
    assert "Tuesday" in exported.stdout and json.loads(exported.stdout)["profile"]["name"] == "Alice Example"
    erased = run("customers", "erase", "alice", "--yes", "--store", str(db))
    assert erased.returncode == 0 and json.loads(erased.stdout)["erased"], erased.stderr
    after = run("customers", "export", "alice", "--store", str(db))
    again = json.loads(after.stdout)
    assert again["profile"] is None and again["turns"] == [] and again["tickets"] == []
    assert "nothing is held about 'alice'" in after.stderr
    assert "nothing is held" not in exported.stderr
    listed = run("tickets", "list", "--customer", "alice", "--store", str(db))
    assert listed.returncode == 0 and listed.stdout == ""
    # a wrong key: the real command prints one line and exits 2, no traceback
    wrong = subprocess.run(
        [sys.executable, "-c", "from voicebot.cli import main; main()", "customers", "export", "bob", "--store",
         str(db)], capture_output=True, text=True, timeout=180,
        env={**env, "PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "VOICEBOT_STORE__KEY": new_key()},
    )
    assert wrong.returncode == 2 and wrong.stderr.count("\n") == 1 and "does not open" in wrong.stderr


def test_a_running_service_applies_retention_by_itself(tmp_path: Path) -> None:
    """What the runtime and the feedback workers start: old conversations go without anyone
    running `voicebot store prune`."""
    from tests.waiting import until
    from voicebot.store_admin import RetentionPruner

    store = Store(tmp_path / "voicebot.sqlite3", store_settings=StoreSettings())
    old = store.start_conversation("phone", "alice", "+4930111111")
    store.add_turn(old, "the heating is broken", "I can help with that.")
    recent = store.start_conversation("phone", "alice", "+4930111111")
    with store._tx() as db:
        db.execute(text("UPDATE conversations SET started_at = started_at - 40 * 86400 WHERE id = :id"), {"id": old})
    pruner = RetentionPruner(store, StoreSettings(retention_days=RetentionDays(conversations=30))).start()
    try:
        assert until(lambda: store.conversation(old) is None, 10)
        assert store.turns(old) == [] and store.conversation(recent) is not None
    finally:
        pruner.stop()
        store.close()
