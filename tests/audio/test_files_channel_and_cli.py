"""The files channel and the audio commands, as a user runs them."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import soundfile as sf
from typer.testing import CliRunner

from voicebot.audio import write_wav
from voicebot.channels.files import listen_file, listen_pcm
from voicebot.cli import app
from voicebot.wer import word_error_rate

from .sounds import join, room, speech_only

runner = CliRunner()


def two_commands(shared_audio: Path) -> np.ndarray:
    return join(
        room(0.6),
        speech_only(shared_audio / "turn_on_living_room_lamp.wav"),
        room(1.4, 1),
        speech_only(shared_audio / "would_you_please_turn_on_living_room_lamp.wav", within_db=15),
        room(0.9, 2),
    )


def test_listen_pcm_streams_like_live_and_speculates(transcriber, shared_audio: Path) -> None:
    utterances = list(listen_pcm(two_commands(shared_audio), transcriber))
    assert [round(word_error_rate(r, u.text), 2) for r, u in zip(
        ["turn on the living room lamp", "would you please turn on the living room lamp"], utterances, strict=True
    )] == [0.0, 0.0]
    for u in utterances:
        assert u.speculative  # transcribed at SpeechPaused, kept at TurnEnded
        assert u.start < u.end < u.decided_at <= u.text_ready_at
        assert u.reason == "silence" and u.rejected is None


def test_listen_file_without_speculation_gives_the_same_text(transcriber, shared_audio: Path, tmp_path: Path) -> None:
    wav = write_wav(tmp_path / "two.wav", two_commands(shared_audio))
    spec = [u.text for u in listen_file(wav, transcriber)]
    plain = list(listen_file(wav, transcriber, speculate=False))
    assert [u.text for u in plain] == spec and not any(u.speculative for u in plain)


def test_transcribe_command_json_and_broken_files(transcriber, shared_audio: Path, tmp_path: Path) -> None:
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    broken = tmp_path / "broken.flac"
    broken.write_bytes(b"fLaC but not really")
    good = shared_audio / "what_time_is_it.wav"
    result = runner.invoke(app, ["transcribe", "--json", str(empty), str(good), str(broken)])
    assert result.exit_code == 1
    lines = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    assert len(lines) == 1 and lines[0]["file"] == str(good)
    assert word_error_rate("what time is it", lines[0]["text"]) == 0
    assert lines[0]["language"] == "en" and 0 < lines[0]["confidence"] <= 1
    assert lines[0]["timings"]["transcribe_s"] > 0 and lines[0]["timings"]["audio_s"] > 2
    assert f"error: {empty}: the file is empty" in result.stderr
    assert f"error: {broken}: not a readable audio file" in result.stderr
    assert "Traceback" not in result.output


def test_transcribe_command_plain_text(transcriber, shared_audio: Path) -> None:
    result = runner.invoke(app, ["transcribe", str(shared_audio / "jfk.flac")])
    assert result.exit_code == 0
    assert word_error_rate(
        "and so my fellow americans ask not what your country can do for you ask what you can do for your country",
        result.stdout,
    ) == 0


def test_say_writes_a_wav_at_the_asked_rate_that_transcribes_back(transcriber, synthesizer, tmp_path: Path) -> None:
    out = tmp_path / "reply.wav"
    result = runner.invoke(app, ["say", "Sure. The hallway light is now on.", "-o", str(out), "--rate", "8000"])
    assert result.exit_code == 0, result.output
    info = sf.info(out)
    assert info.samplerate == 8000 and info.channels == 1 and info.duration > 1.5
    heard = runner.invoke(app, ["transcribe", str(out)])
    assert word_error_rate("sure the hallway light is now on", heard.stdout) <= 0.15


def test_say_refuses_empty_text(tmp_path: Path) -> None:
    result = runner.invoke(app, ["say", "  ", "-o", str(tmp_path / "x.wav")])
    assert result.exit_code == 2 and "nothing to say" in result.stderr
    assert not (tmp_path / "x.wav").exists()


def test_listen_file_command_prints_one_json_object_per_utterance(
    transcriber, shared_audio: Path, tmp_path: Path
) -> None:
    wav = write_wav(tmp_path / "two.wav", two_commands(shared_audio))
    result = runner.invoke(app, ["listen-file", "--json", str(wav), str(tmp_path / "missing.wav")])
    assert result.exit_code == 1
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(rows) == 2
    for row in rows:
        assert {"start", "end", "decided_at", "transcribe_s", "text"} <= row.keys()
    assert rows[0]["end"] < rows[1]["start"]
    assert "missing.wav: no such file" in result.stderr


def test_model_error_is_one_line_without_traceback(shared_audio: Path, monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("VOICEBOT_TRANSCRIBE__MODEL", str(tmp_path / "nowhere"))
    import voicebot.config as config

    monkeypatch.setattr(config, "_settings", None)
    result = runner.invoke(app, ["transcribe", str(shared_audio / "jfk.flac")])
    monkeypatch.setattr(config, "_settings", None)
    assert result.exit_code == 2
    assert result.stderr.startswith("error: Whisper model") and "Traceback" not in result.output
