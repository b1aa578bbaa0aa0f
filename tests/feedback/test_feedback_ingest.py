"""Devices publish real speech through a real Mosquitto; a worker stores each clip once,
redacted, and acknowledges only what it stored. Bad input gets a precise error and the worker
carries on."""

from __future__ import annotations

import base64
import json
import re
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest
from feedback_testkit import PREFIX, Device, encode

from tests.waiting import until
from voicebot.feedback.store import FeedbackStore


def _rows(store: FeedbackStore) -> list[Any]:
    return store.all()


def test_whole_clip_is_transcribed_analysed_redacted_and_acknowledged(
    start_worker: Any, device: Device, spoken_clips: dict[str, bytes]
) -> None:
    w = start_worker()
    device.send_clip("thermo-1", "w-burn-1", spoken_clips["burning"], model="T100", firmware="1.4.2",
                     locale="en-US", time="2026-11-20T10:30:00Z")
    ack = device.ack_for("w-burn-1")
    assert ack["status"] == "stored", ack
    stored = w.store.get(ack["feedback_id"])
    assert stored is not None
    assert (stored.device_id, stored.model, stored.firmware, stored.locale) == ("thermo-1", "T100", "1.4.2", "en-US")
    assert stored.recorded_at == 1795170600.0
    text = stored.transcript.lower()
    assert "thermostat" in text and "burning" in text and "returning" in text
    assert stored.language == "en" and stored.label == "negative"
    assert stored.urgency == "critical" and "burning" in stored.urgency_reasons
    assert "thermostat" in stored.topics["devices"] and "not_working" in stored.topics["problems"]
    assert not stored.has_audio  # audio is not kept unless configured


def test_personal_data_never_reaches_the_store(
    start_worker: Any, device: Device, spoken_clips: dict[str, bytes], tmp_path: Path
) -> None:
    w = start_worker()
    device.send_clip("lock-7", "w-pii-1", spoken_clips["personal"])
    ack = device.ack_for("w-pii-1")
    assert ack["status"] == "stored", ack
    stored = w.store.get(ack["feedback_id"])
    assert "[NAME]" in stored.transcript and "[PHONE]" in stored.transcript, stored.transcript
    # Nothing in the whole database file holds the name or the number, tickets included.
    db = sqlite3.connect(tmp_path / "voicebot.sqlite3")
    dump = "\n".join(db.iterdump())
    # Only text values can hold them; timestamps such as 1.7953099e+09 may contain the digits.
    texts = "\n".join(re.findall(r"'((?:[^']|'')*)'", dump))
    for secret in ("Sarah", "Johnson", "867", "5309"):
        assert secret not in texts
    assert "lock" in stored.topics["devices"], stored.transcript


def test_retries_are_stored_once(start_worker: Any, device: Device, spoken_clips: dict[str, bytes]) -> None:
    w = start_worker()
    clip = spoken_clips["happy"]
    device.send_clip("spk-1", "w-dup-1", clip, model="S200", firmware="2.0")
    first = device.ack_for("w-dup-1")
    device.send_clip("spk-1", "w-dup-1", clip, model="S200", firmware="2.0")  # the same retry
    second = device.ack_for("w-dup-1")
    device.send_clip("spk-1", "w-dup-2", clip, model="S200", firmware="2.0")  # same bytes, new id
    third = device.ack_for("w-dup-2")
    assert first["status"] == "stored"
    assert second["status"] == "duplicate" and second["feedback_id"] == first["feedback_id"]
    assert third["status"] == "duplicate" and third["feedback_id"] == first["feedback_id"]
    assert [f.clip_id for f in w.store.all()] == ["w-dup-1"]


def test_raw_audio_with_mqtt5_properties_and_kept_audio(
    start_worker: Any, device: Device, recordings: dict[str, bytes]
) -> None:
    w = start_worker(keep_audio=True)
    device.send_raw("cam-3", "w-raw-1", recordings["jfk"], locale="en-GB")
    ack = device.ack_for("w-raw-1")
    assert ack["status"] == "stored", ack
    stored = w.store.get(ack["feedback_id"])
    assert "ask not what your country can do for you" in stored.transcript.lower()
    assert stored.locale == "en-GB" and stored.has_audio
    assert w.store.audio(stored.id) == recordings["jfk"]


def test_streamed_clip_with_reordered_repeated_and_missing_chunks(
    start_worker: Any, device: Device, spoken_clips: dict[str, bytes]
) -> None:
    w = start_worker()
    audio = spoken_clips["offline"]
    parts = [audio[i : i + 12000] for i in range(0, len(audio), 12000)]
    assert len(parts) >= 5
    order = [3, 0, 4, 0, *range(5, len(parts)), 2]  # out of order, chunk 0 twice, chunk 1 missing
    device.stream("plug-9", "w-stream-1", audio, chunk=12000, order=order)
    ack = device.ack_for("w-stream-1")
    assert ack["status"] == "error" and ack["error"] == "missing_chunks" and ack["missing"] == [1], ack
    # The device resends what is missing, then the end again.
    device.publish(f"{PREFIX}/plug-9/clip/w-stream-1/chunk/1", parts[1])
    device.end("plug-9", "w-stream-1", audio, len(parts))
    ack = device.ack_for("w-stream-1")
    assert ack["status"] == "stored", ack
    stored = w.store.get(ack["feedback_id"])
    assert (stored.model, stored.firmware) == ("S200", "2.1")
    assert "wifi" in stored.transcript.lower().replace("-", "") or "wi-fi" in stored.transcript.lower()
    assert "offline" in stored.topics["problems"] and "frustration" in stored.emotions
    # The chunks are gone from the store once the clip is stored; a late copy changes nothing.
    assert w.store.chunk_numbers("plug-9", "w-stream-1") == set()
    device.stream("plug-9", "w-stream-1", audio, chunk=12000)
    assert device.ack_for("w-stream-1")["status"] in ("duplicate",)
    assert len([f for f in w.store.all() if f.clip_id == "w-stream-1"]) == 1


BAD_INPUT = {
    "empty": "empty",
    "text": "unknown_format",
    "silent": "silent",
    "truncated": "truncated",
    "too_long": "too_long",
    "too_large": "too_large",
    "too_large_whole": "too_large",
    "no_metadata": "metadata_missing",
    "bad_json": "bad_request",
    "bad_base64": "bad_request",
    "stream_without_start": "metadata_missing",
    "stream_bad_checksum": "checksum_mismatch",
    "bad_checksum": "checksum_mismatch",
}


def _send_bad(device: Device, case: str, clip_id: str, good: bytes) -> None:
    import numpy as np

    if case == "empty":
        device.send_clip("dev-bad", clip_id, b"")
    elif case == "text":
        device.send_clip("dev-bad", clip_id, b"RIFF? no, just a text file pretending\n" * 30)
    elif case == "silent":
        device.send_clip("dev-bad", clip_id, encode(np.zeros(48000, dtype=np.int16), 16000))
    elif case == "truncated":
        device.send_clip("dev-bad", clip_id, good[: len(good) // 2])
    elif case == "too_long":
        device.send_clip("dev-bad", clip_id, encode(np.zeros(16000 * 31, dtype=np.int16) + 1000, 16000, "FLAC"))
    elif case == "too_large":
        device.stream("dev-bad", clip_id, good * 3, chunk=50_000)
    elif case == "too_large_whole":
        device.send_clip("dev-bad", clip_id, good * 3)
    elif case == "no_metadata":
        # A full-size clip without model and firmware: the error still names the clip.
        device.publish(f"{PREFIX}/dev-bad/clip", json.dumps({"clip_id": clip_id, "audio": base64.b64encode(good).decode()}))
    elif case == "bad_json":
        device.publish(f"{PREFIX}/dev-bad/clip/{clip_id}/start", b"{not json")
    elif case == "bad_base64":
        device.publish(f"{PREFIX}/dev-bad/clip", json.dumps({"clip_id": clip_id, "model": "m", "firmware": "f", "audio": "@@@"}))
    elif case == "bad_checksum":
        device.send_clip("dev-bad", clip_id, good, sha256="0" * 64)
    elif case == "stream_without_start":
        device.stream("dev-bad", clip_id, good, start=False)
    elif case == "stream_bad_checksum":
        parts = device.stream("dev-bad", clip_id, good, order=[])  # no chunks yet: learn the count
        device.ack_for(clip_id)  # missing_chunks
        for i, part in enumerate(parts):
            device.publish(f"{PREFIX}/dev-bad/clip/{clip_id}/chunk/{i}", part[::-1] if i == 1 else part)
        device.end("dev-bad", clip_id, good, len(parts))


@pytest.mark.parametrize(("case", "error"), sorted(BAD_INPUT.items()))
def test_bad_input_gets_a_clear_error(
    start_worker: Any, device: Device, spoken_clips: dict[str, bytes], case: str, error: str
) -> None:
    w = start_worker(max_seconds=30.0, max_bytes=400_000)
    clip_id = f"bad-{case}"
    _send_bad(device, case, clip_id, spoken_clips["happy"])
    ack = device.ack_for(clip_id)
    assert ack["status"] == "error" and ack["error"] == error, ack
    assert ack["message"]
    assert w.store.all() == []


def test_after_every_kind_of_bad_input_the_worker_carries_on(
    start_worker: Any, device: Device, spoken_clips: dict[str, bytes], caplog: pytest.LogCaptureFixture
) -> None:
    w = start_worker(max_seconds=30.0, max_bytes=400_000)
    good = spoken_clips["happy"]
    with caplog.at_level("WARNING", logger="voicebot.feedback.ingest"):
        for case in BAD_INPUT:
            _send_bad(device, case, f"all-{case}", good)
        deadline = time.monotonic() + 60
        while True:
            errors = {a["clip_id"][4:]: a["error"] for a in list(device.all_acks)}  # the last error per clip
            if errors == BAD_INPUT or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        device.send_clip("dev-bad", "all-then-good", good)
        assert device.ack_for("all-then-good")["status"] == "stored"
    assert errors == BAD_INPUT
    assert [f.clip_id for f in w.store.all()] == ["all-then-good"]
    # Each refusal left a log line naming the clip and the reason.
    for case, code in BAD_INPUT.items():
        assert any(f"all-{case}" in r.getMessage() and code in r.getMessage() for r in caplog.records), case


def test_fault_reports_open_a_ticket_and_request_contact(
    start_worker: Any, device: Device, spoken_clips: dict[str, bytes], tmp_path: Path
) -> None:
    device.listen("voicebot/support/contact")
    w = start_worker(on_fault="both", contact_min_urgency="high")
    device.send_clip("thermo-2", "w-fault-1", spoken_clips["burning"])
    device.send_clip("spk-2", "w-fault-2", spoken_clips["happy"])
    fault, praise = device.ack_for("w-fault-1"), device.ack_for("w-fault-2")
    stored = w.store.get(fault["feedback_id"])
    assert stored.ticket_id is not None and stored.contacted
    assert w.store.get(praise["feedback_id"]).ticket_id is None
    from voicebot.store import Store

    tickets = Store(tmp_path / "voicebot.sqlite3")
    ticket = tickets.ticket(stored.ticket_id)
    tickets.close()
    assert ticket is not None and ticket.status == "open" and "not_working" in ticket.problem
    topic, payload = device.other.get(timeout=30)
    request = json.loads(payload)
    assert topic == "voicebot/support/contact"
    assert request["device_id"] == "thermo-2" and request["urgency"] == "critical"
    assert request["ticket_id"] == stored.ticket_id


def test_clip_in_another_language_uses_the_multilingual_model(
    start_worker: Any, device: Device, tmp_path: Path
) -> None:
    import subprocess

    wav = tmp_path / "de.wav"
    subprocess.run(
        ["espeak-ng", "-v", "de", "-w", str(wav), "Mein Thermostat ist kaputt und die Heizung bleibt kalt."],
        check=True,
    )
    w = start_worker()
    device.send_clip("thermo-de", "w-de-1", wav.read_bytes(), locale="de-DE")
    ack = device.ack_for("w-de-1", timeout=60)
    assert ack["status"] == "stored", ack
    stored = w.store.get(ack["feedback_id"])
    assert stored.language == "de"
    assert "kaputt" in stored.transcript.lower() and "heizung" in stored.transcript.lower()


def test_mqtt5_response_topic_and_correlation_data_are_honoured(
    start_worker: Any, device: Device, spoken_clips: dict[str, bytes]
) -> None:
    import queue

    from paho.mqtt.packettypes import PacketTypes
    from paho.mqtt.properties import Properties

    start_worker()
    replies: queue.Queue[Any] = queue.Queue()
    device.client.message_callback_add("devices/vac-5/replies", lambda c, u, m: replies.put(m))
    device.listen("devices/vac-5/replies")
    props = Properties(PacketTypes.PUBLISH)
    props.ResponseTopic = "devices/vac-5/replies"
    props.CorrelationData = b"req-77"
    body = {"clip_id": "w-resp-1", "model": "V1", "firmware": "3", "audio": base64.b64encode(spoken_clips["update"]).decode()}
    device.publish(f"{PREFIX}/vac-5/clip", json.dumps(body), props)
    msg = replies.get(timeout=30)
    ack = json.loads(msg.payload)
    assert ack["clip_id"] == "w-resp-1" and ack["status"] == "stored"
    assert msg.properties.CorrelationData == b"req-77"


def test_worker_metrics_count_acks_by_status_and_error(
    mosquitto: Any, settings: Any, device: Device, spoken_clips: dict[str, bytes], tmp_path: Path
) -> None:
    import urllib.request

    from feedback_testkit import RunningWorker

    from device_bridge.broker import free_port
    from voicebot.feedback.settings import FeedbackSettings
    from voicebot.feedback.worker import build_worker

    port = free_port()
    fs = FeedbackSettings(store=str(tmp_path / "voicebot.sqlite3"))
    worker = RunningWorker(build_worker(settings, mosquitto.url, None, fs=fs, metrics_port=port))
    try:
        device.send_clip("m-1", "w-met-1", spoken_clips["happy"])
        device.send_clip("m-1", "w-met-1", spoken_clips["happy"])
        device.send_clip("m-1", "w-met-2", b"not audio at all" * 10)
        for clip_id in ("w-met-1", "w-met-1", "w-met-2"):
            device.ack_for(clip_id)
        expected = ['voicebot_feedback_acks_total{error="",status="stored"} 1.0',
                    'voicebot_feedback_acks_total{error="",status="duplicate"} 1.0',
                    'voicebot_feedback_acks_total{error="unknown_format",status="error"} 1.0',
                    "voicebot_feedback_clip_seconds_count 3.0"]
        text = ""

        def counted() -> bool:
            nonlocal text
            text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
            return all(line in text for line in expected)

        # the worker counts an ack once it has sent it: the device may read it first
        assert until(counted, 10), text
    finally:
        worker.stop()


def test_an_unusable_response_topic_does_not_stop_the_worker(
    start_worker: Any, device: Device, spoken_clips: dict[str, bytes]
) -> None:
    from paho.mqtt.packettypes import PacketTypes
    from paho.mqtt.properties import Properties

    w = start_worker()
    props = Properties(PacketTypes.PUBLISH)
    props.ResponseTopic = "devices/+/replies"  # a wildcard: nothing can be published there
    body = {"clip_id": "w-wild-1", "model": "V1", "firmware": "3", "audio": base64.b64encode(spoken_clips["confused"]).decode()}
    device.publish(f"{PREFIX}/vac-6/clip", json.dumps(body), props)
    device.send_clip("vac-6", "w-wild-2", spoken_clips["happy"])
    assert device.ack_for("w-wild-2")["status"] == "stored"
    assert {f.clip_id for f in w.store.all()} == {"w-wild-1", "w-wild-2"}  # stored, though unanswerable
