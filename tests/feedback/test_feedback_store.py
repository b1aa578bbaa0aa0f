"""The store's guarantees the workers rely on: one row per clip, claims with leases, chunk
assembly, and forgetting abandoned uploads."""

from __future__ import annotations

import time
from pathlib import Path

from voicebot.feedback.store import FeedbackStore


def _row(clip_id: str, sha: str) -> dict[str, object]:
    return {
        "device_id": "d1", "clip_id": clip_id, "audio_sha256": sha, "model": "m", "firmware": "f", "locale": None,
        "recorded_at": 1.0, "received_at": 1.0, "stored_at": 1.0, "duration_s": 1.0, "audio_format": "WAV/PCM_16",
        "transcript": "t", "language": "en", "confidence": 1.0, "sentiment": 0.0, "label": "neutral",
        "emotions": [], "topics": {}, "urgency": "normal", "urgency_reasons": [], "worker": "w", "audio": None,
    }


def test_one_row_per_clip_id_and_per_content(tmp_path: Path) -> None:
    a, b = FeedbackStore(tmp_path / "s.sqlite3"), FeedbackStore(tmp_path / "s.sqlite3")  # two workers
    first, new = a.add(_row("c1", "aaa"))
    assert new
    assert b.add(_row("c1", "bbb")) == (first, False)  # same clip id
    assert b.add(_row("c2", "aaa")) == (first, False)  # same bytes
    assert a.find("d1", "c2", "aaa") == first and a.find("d1", "c3", "ccc") is None
    assert len(b.all()) == 1


def test_claims_keep_a_second_worker_off_until_the_lease_expires(tmp_path: Path) -> None:
    a, b = FeedbackStore(tmp_path / "s.sqlite3"), FeedbackStore(tmp_path / "s.sqlite3")
    assert a.claim("d1", "c1", "worker-a", lease_s=0.3) is None
    assert b.claim("d1", "c1", "worker-b", lease_s=0.3) == "worker-a"
    assert a.claim("d1", "c1", "worker-a", lease_s=0.3) is None  # the holder may renew
    time.sleep(0.35)  # worker-a died
    assert b.claim("d1", "c1", "worker-b", lease_s=5) is None
    b.release("d1", "c1", "worker-b")
    assert a.claim("d1", "c1", "worker-a", lease_s=5) is None


def test_chunks_from_several_workers_assemble_in_order(tmp_path: Path) -> None:
    a, b = FeedbackStore(tmp_path / "s.sqlite3"), FeedbackStore(tmp_path / "s.sqlite3")
    a.start_upload("d1", "c1", {"model": "m"})
    b.add_chunk("d1", "c1", 2, b"cc")
    a.add_chunk("d1", "c1", 0, b"aa")
    b.add_chunk("d1", "c1", 0, b"XX")  # a repeat changes nothing
    assert a.add_chunk("d1", "c1", 1, b"bb") == 6
    assert b.chunk_numbers("d1", "c1") == {0, 1, 2}
    assert b.assemble("d1", "c1", 3) == b"aabbcc"
    assert b.upload_meta("d1", "c1") == {"model": "m"}


def test_abandoned_uploads_are_forgotten(tmp_path: Path) -> None:
    s = FeedbackStore(tmp_path / "s.sqlite3")
    s.start_upload("d1", "old", {})
    s.add_chunk("d1", "old", 0, b"x")
    time.sleep(0.2)
    s.add_chunk("d1", "fresh", 0, b"y")
    assert s.expire_uploads(older_than_s=0.1) == 1
    assert s.chunk_numbers("d1", "old") == set() and s.upload_meta("d1", "old") is None
    assert s.chunk_numbers("d1", "fresh") == {0}
