"""`voicebot feedback-send`, the reference device client, delivers clips whole or streamed and
reports the worker's refusals."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from device_bridge.broker import MosquittoBroker
from voicebot.cli import app


def test_send_whole_and_streamed_then_a_retry(
    start_worker: Any, mosquitto: MosquittoBroker, spoken_clips: dict[str, bytes], tmp_path: Path
) -> None:
    w = start_worker()
    clip = tmp_path / "update.wav"
    clip.write_bytes(spoken_clips["update"])
    base = ["feedback-send", str(clip), "--broker", mosquitto.url, "--device", "hub-4", "--model", "H1", "--firmware", "0.9"]
    runner = CliRunner()
    streamed = runner.invoke(app, [*base, "--stream", "--chunk-size", "4096", "--clip-id", "send-1"])
    assert streamed.exit_code == 0, streamed.output
    ack = json.loads(streamed.output)
    assert ack["status"] == "stored" and ack["clip_id"] == "send-1"
    again = runner.invoke(app, [*base, "--clip-id", "send-1"])
    assert again.exit_code == 0 and json.loads(again.output)["status"] == "duplicate"
    stored = w.store.get(ack["feedback_id"])
    assert (stored.device_id, stored.model, stored.firmware) == ("hub-4", "H1", "0.9")
    assert "update" in stored.transcript.lower()


def test_a_refused_clip_exits_non_zero_with_the_reason(
    start_worker: Any, mosquitto: MosquittoBroker, tmp_path: Path
) -> None:
    start_worker()
    junk = tmp_path / "notes.txt"
    junk.write_text("not audio\n" * 50)
    result = CliRunner().invoke(
        app,
        ["feedback-send", str(junk), "--broker", mosquitto.url, "--device", "hub-5", "--model", "H1", "--firmware", "1"],
    )
    assert result.exit_code == 1
    assert "unknown_format" in result.output
