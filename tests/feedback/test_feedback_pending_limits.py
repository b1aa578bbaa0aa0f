"""What a device may leave pending with the workers is capped: streamed clips it has open
(feedback.max_open_uploads) and messages a worker holds for its threads (feedback.max_queued_jobs).
Beyond a cap the device is told, on its ack topic, to retry later; nothing is stored for the
refused message, and nothing a well-behaved device sends is lost."""

from __future__ import annotations

import json
from typing import Any

from feedback_testkit import PREFIX, Device

from tests.waiting import until


def _start(device: Device, device_id: str, clip_id: str) -> None:
    device.publish(f"{PREFIX}/{device_id}/clip/{clip_id}/start", json.dumps({"model": "S200", "firmware": "2.1"}))


def test_a_device_with_too_many_open_uploads_is_told_to_finish_them_first(
    start_worker: Any, device: Device, spoken_clips: dict[str, bytes]
) -> None:
    worker = start_worker(max_open_uploads=2)
    for clip_id in ("open-1", "open-2"):  # started, a chunk each, never ended
        _start(device, "chatty-1", clip_id)
        device.publish(f"{PREFIX}/chatty-1/clip/{clip_id}/chunk/0", b"\x00" * 100)
    assert until(lambda: worker.store.open_uploads("chatty-1") == {"open-1", "open-2"}, 10)

    _start(device, "chatty-1", "third")
    ack = device.ack_for("third", timeout=10)
    assert ack["status"] == "error" and ack["error"] == "too_many_uploads" and ack["retry"] is True, ack
    assert "feedback.max_open_uploads" in ack["message"] and ack["device_id"] == "chatty-1"
    # its chunks are dropped without an ack each and without being stored; its end says why again
    for seq in range(3):
        device.publish(f"{PREFIX}/chatty-1/clip/third/chunk/{seq}", b"\x01" * 100)
    device.publish(f"{PREFIX}/chatty-1/clip/third/end", json.dumps({"chunks": 3}))
    assert device.ack_for("third", timeout=10)["error"] == "too_many_uploads"
    assert worker.store.open_uploads("chatty-1") == {"open-1", "open-2"}
    assert [a for a in device.all_acks if a["clip_id"] == "third"] == [ack, device.all_acks[-1]]

    # another device is not affected, and once one upload ends the retried clip is taken
    device.stream("quiet-2", "fine", spoken_clips["happy"])
    assert device.ack_for("fine", timeout=60)["status"] == "stored"
    device.publish(f"{PREFIX}/chatty-1/clip/open-1/end", json.dumps({"chunks": 1, "sha256": "0" * 64}))
    assert device.ack_for("open-1", timeout=10)["error"] == "checksum_mismatch"
    device.stream("chatty-1", "third", spoken_clips["happy"])
    assert device.ack_for("third", timeout=60)["status"] == "stored"


def test_a_flood_is_answered_busy_while_a_well_behaved_device_loses_nothing(
    start_worker: Any, device: Device, spoken_clips: dict[str, bytes]
) -> None:
    worker = start_worker(max_queued_jobs=4)
    # a real clip keeps the worker's transcribing thread busy while the flood arrives
    device.send_clip("good-1", "first", spoken_clips["happy"])
    flood = [device.client.publish(f"{PREFIX}/flooder/clip", json.dumps({"clip_id": f"f{i}"}), qos=0)
             for i in range(500)]  # QoS 0: the broker does not hold these back
    for info in flood:
        info.wait_for_publish(5)
    device.send_clip("good-1", "second", spoken_clips["burning"])  # QoS 1, during the flood
    assert device.ack_for("first", timeout=60)["status"] == "stored"
    assert device.ack_for("second", timeout=60)["status"] == "stored"
    refused = [a for a in device.all_acks if a.get("error") == "busy"]
    assert refused, "no message of the flood was refused"
    assert all(a["device_id"] == "flooder" and a["retry"] is True and "feedback.max_queued_jobs" in a["message"]
               for a in refused), refused
    assert len(refused) <= 10, f"{len(refused)} busy replies: a flood must not get a flood of replies"
    # the worker goes on: the flooder's own next clip is answered normally
    device.send_clip("flooder", "after", b"not audio")
    assert device.ack_for("after", timeout=30)["error"] == "unknown_format"
    assert worker.worker.channel.connected
