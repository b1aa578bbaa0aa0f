"""A peer controls counts, sizes and nesting in what it sends; each is capped by a named
setting. Exceeding one gets a final, small "rejected" acknowledgement (retry: false) at once,
the worker's memory stays flat, and it goes on serving and stops when told to."""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from feedback_testkit import PREFIX, Device

from device_bridge.broker import MosquittoBroker
from tests.waiting import until


def _assert_rejected(ack: dict[str, Any], setting: str) -> None:
    assert ack["status"] == "rejected" and ack["error"] == "limit_exceeded", ack
    assert ack["retry"] is False and setting in ack["message"], ack


@pytest.mark.parametrize("chunks", [100_000_000, 1_000_000])
def test_an_end_announcing_absurdly_many_chunks_is_rejected_at_once(
    start_worker: Any, device: Device, chunks: int
) -> None:
    start_worker()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    base = f"{PREFIX}/dev-hostile/clip/many-{chunks}"
    device.publish(f"{base}/start", json.dumps({"model": "m", "firmware": "f"}))
    started = time.monotonic()
    device.publish(f"{base}/end", json.dumps({"chunks": chunks}))
    ack = device.ack_for(f"many-{chunks}", timeout=10)
    _assert_rejected(ack, "feedback.max_chunks")
    assert time.monotonic() - started < 5
    assert len(json.dumps(ack)) < 1000  # not a list of a million missing chunk numbers
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert grown_mb < 200, f"the worker grew by {grown_mb:.0f} MB"


def test_deep_nesting_huge_chunk_numbers_and_big_control_messages_are_rejected(
    start_worker: Any, device: Device
) -> None:
    start_worker()
    base = f"{PREFIX}/dev-hostile/clip"
    device.publish(f"{base}/deep/start", "[" * 30_000 + "]" * 30_000)
    device.publish(f"{base}/deep2/end", json.dumps({"chunks": 1, "x": [[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]}))
    device.publish(base, json.dumps({"clip_id": "deep3", "model": "m", "firmware": "f",
                                                "audio": "", "x": json.loads("[" * 50 + "]" * 50)}))
    device.publish(f"{base}/hugeseq/chunk/{'9' * 5000}", b"\x00" * 10)
    device.publish(f"{base}/farseq/chunk/99999999", b"\x00" * 10)
    device.publish(f"{base}/bigend/end", json.dumps({"chunks": 1, "pad": "x" * 200_000}))
    limits = {"deep": "json_depth", "deep2": "json_depth", "deep3": "json_depth", "hugeseq": "chunks",
              "farseq": "chunks", "bigend": "message_bytes"}
    # the acks come from two queues, in any order
    until(lambda: {a["clip_id"] for a in device.all_acks} == set(limits), 30)
    acks = {a["clip_id"]: a for a in device.all_acks}
    assert set(acks) == set(limits), device.all_acks
    for clip_id, setting in limits.items():
        _assert_rejected(acks[clip_id], f"feedback.max_{setting}")
        assert acks[clip_id]["device_id"] == "dev-hostile"


def test_the_limits_are_settings(start_worker: Any, device: Device) -> None:
    start_worker(max_chunks=4)
    base = f"{PREFIX}/dev-hostile/clip/five"
    device.publish(f"{base}/start", json.dumps({"model": "m", "firmware": "f"}))
    device.publish(f"{base}/end", json.dumps({"chunks": 5}))
    _assert_rejected(device.ack_for("five", timeout=10), "at most 4")


def test_a_worker_sent_a_hostile_end_stops_on_sigterm(mosquitto: MosquittoBroker, device: Device,
                                                      tmp_path: Path) -> None:
    env = {**os.environ, "VOICEBOT_FEEDBACK__STORE": str(tmp_path / "fb.sqlite3"),
           "VOICEBOT_DATA_DIR": str(tmp_path)}
    proc = subprocess.Popen([sys.executable, "-c", "from voicebot.cli import main; main()", "feedback", "--broker", mosquitto.url],
                            env=env, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stderr is not None
        seen = [proc.stderr.readline() for _ in range(1)]
        while seen[-1] and "listening on" not in seen[-1]:
            seen.append(proc.stderr.readline())
        assert "listening on" in seen[-1], seen
        base = f"{PREFIX}/dev-hostile/clip/sigterm"
        device.publish(f"{base}/start", json.dumps({"model": "m", "firmware": "f"}))
        device.publish(f"{base}/end", json.dumps({"chunks": 100_000_000}))
        _assert_rejected(device.ack_for("sigterm", timeout=30), "feedback.max_chunks")
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
