"""The store's guarantees the workers rely on: one row per clip, claims (leases on SQLite, row
locks on PostgreSQL), chunk assembly, and forgetting abandoned uploads; on both engines."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.waiting import until
from voicebot.database import open_engine
from voicebot.feedback.store import CLAIMS, FeedbackStore
from voicebot.store_crypto import StoreSettings

ROOT = Path(__file__).resolve().parents[2]


def _row(clip_id: str, sha: str) -> dict[str, object]:
    return {
        "device_id": "d1", "clip_id": clip_id, "audio_sha256": sha, "model": "m", "firmware": "f", "locale": None,
        "recorded_at": 1.0, "received_at": 1.0, "stored_at": 1.0, "duration_s": 1.0, "audio_format": "WAV/PCM_16",
        "transcript": "t", "language": "en", "confidence": 1.0, "sentiment": 0.0, "label": "neutral",
        "emotions": [], "topics": {}, "urgency": "normal", "urgency_reasons": [], "worker": "w", "audio": None,
    }


def test_one_row_per_clip_id_and_per_content(store_location: str) -> None:
    a, b = FeedbackStore(store_location), FeedbackStore(store_location)  # two workers
    first, new = a.add(_row("c1", "aaa"))
    assert new
    assert b.add(_row("c1", "bbb")) == (first, False)  # same clip id
    assert b.add(_row("c2", "aaa")) == (first, False)  # same bytes
    assert a.find("d1", "c2", "aaa") == first and a.find("d1", "c3", "ccc") is None
    assert len(b.all()) == 1


def test_claims_keep_a_second_worker_off_until_the_lease_expires(tmp_path: Path) -> None:
    """SQLite (one host): a claim is a lease."""
    a, b = FeedbackStore(tmp_path / "s.sqlite3"), FeedbackStore(tmp_path / "s.sqlite3")
    # a lease long enough to outlast the next claims on a busy machine (0.3 s did not always)
    assert a.claim("d1", "c1", "worker-a", lease_s=1.5) is None
    assert b.claim("d1", "c1", "worker-b", lease_s=1.5) == "worker-a"
    assert a.claim("d1", "c1", "worker-a", lease_s=1.5) is None  # the holder may renew
    # worker-a died: once its lease has run out, worker-b takes the clip
    assert until(lambda: b.claim("d1", "c1", "worker-b", lease_s=5) is None, 10)
    b.release("d1", "c1", "worker-b")
    assert a.claim("d1", "c1", "worker-a", lease_s=5) is None


def test_chunks_from_several_workers_assemble_in_order(store_location: str) -> None:
    a, b = FeedbackStore(store_location), FeedbackStore(store_location)
    a.start_upload("d1", "c1", {"model": "m"})
    b.add_chunk("d1", "c1", 2, b"cc")
    a.add_chunk("d1", "c1", 0, b"aa")
    b.add_chunk("d1", "c1", 0, b"XX")  # a repeat changes nothing
    assert a.add_chunk("d1", "c1", 1, b"bb") == 6
    assert b.chunk_numbers("d1", "c1") == {0, 1, 2}
    assert b.assemble("d1", "c1", 3) == b"aabbcc"
    assert b.upload_meta("d1", "c1") == {"model": "m"}


def test_abandoned_uploads_are_forgotten(store_location: str) -> None:
    s = FeedbackStore(store_location)
    s.start_upload("d1", "old", {})
    s.add_chunk("d1", "old", 0, b"x")
    time.sleep(0.5)
    fresh_at = time.time()
    s.add_chunk("d1", "fresh", 0, b"y")
    # the cut 0.25 s before the fresh chunk, however long writing it took on a busy machine
    assert s.expire_uploads(older_than_s=time.time() - fresh_at + 0.25) == 1
    assert s.chunk_numbers("d1", "old") == set() and s.upload_meta("d1", "old") is None
    assert s.chunk_numbers("d1", "fresh") == {0}


@pytest.mark.postgresql
def test_a_claim_on_postgresql_is_a_row_lock_freed_the_moment_its_worker_dies(postgres, postgres_template, postgres_store_key) -> None:  # type: ignore[no-untyped-def]
    """Two worker processes: one claims a clip and is killed; the other takes the clip at once,
    not after a lease of minutes."""
    url = postgres.new_database(template=postgres_template)
    env = {**os.environ, "VOICEBOT_STORE__KEY": postgres_store_key, "PYTHONPATH": str(ROOT)}
    code = (
        "import sys\n"
        "from voicebot.feedback.store import FeedbackStore\n"
        "s = FeedbackStore(sys.argv[1])\n"
        "assert s.claim('d1', 'c1', 'worker-a', lease_s=3600) is None\n"
        "print('claimed', flush=True)\n"
        "sys.stdin.read()\n"  # holds the claim until killed
    )
    worker_a = subprocess.Popen([sys.executable, "-c", code, url], env=env, stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, text=True)
    try:
        assert worker_a.stdout is not None and worker_a.stdout.readline().strip() == "claimed"
        b = FeedbackStore(url, store_settings=StoreSettings(key=postgres_store_key))
        assert b.claim("d1", "c1", "worker-b", lease_s=3600) == "worker-a"  # held: skipped, not waited for
        assert b.claim("d1", "c2", "worker-b", lease_s=3600) is None  # other clips are free
        worker_a.kill()
        worker_a.wait(10)
        # The server notices the dropped connection and frees the row; no lease to wait out.
        assert until(lambda: b.claim("d1", "c1", "worker-b", lease_s=3600) is None, 10)
        b.release("d1", "c1", "worker-b")
        b.release("d1", "c2", "worker-b")
        assert b.expire_uploads(3600) == 0
        assert b._read(select(CLAIMS)) == []
        b.close()
    finally:
        worker_a.kill()
        open_engine(url).dispose()
        postgres.drop_database(url)
