"""Probes a careless user would run: a bad broker URL, a cut-off recording, a home file in
the wrong encoding or with a word where a number belongs. Each is one clear line on stderr
and a non-zero exit, never a traceback, a hang or a silent success."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

VOICEBOT = [sys.executable, "-c", "from voicebot.cli import main; main()"]
DEVICE_BRIDGE = [sys.executable, "-c", "from device_bridge.cli import main; main()"]


def _run(cmd: list[str], tmp_path: Path, stdin: str = "", timeout: float = 60, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("VOICEBOT_")}
    return subprocess.run(cmd, input=stdin, capture_output=True, text=True, timeout=timeout,
                          env={**clean, "VOICEBOT_DATA_DIR": str(tmp_path / "data"), **env})


def _one_clear_line(done: subprocess.CompletedProcess[str], *words: str) -> None:
    assert done.returncode not in (0, None), (done.returncode, done.stdout, done.stderr)
    assert "Traceback" not in done.stderr, done.stderr
    for w in words:
        assert w in done.stderr, done.stderr


@pytest.mark.parametrize(("url", "words"), [
    ("mqtt://127.0.0.1:99999", ("has an invalid port (1-65535)",)),
    ("ftp://broker.lan", ("must start with mqtt:// or mqtts://",)),
    ("mqtt://bot:hunter2@", ("names no host", "mqtt://bot:***@")),
])
def test_a_bad_broker_url_is_one_line_in_every_command(tmp_path: Path, url: str, words: tuple[str, ...]) -> None:
    for cmd in ([*VOICEBOT, "chat", "--broker", url], [*DEVICE_BRIDGE, "list", "--broker", url],
                [*VOICEBOT, "phone", "--broker", url]):
        done = _run(cmd, tmp_path, stdin="hello\n")
        _one_clear_line(done, *words)
        assert done.returncode == 2
        assert "hunter2" not in done.stderr


@pytest.mark.parametrize("broker", ["notaurl", "mqtt://no-such-host.invalid:1883"])
def test_a_feedback_worker_with_an_unusable_broker_says_so_and_exits(tmp_path: Path, broker: str) -> None:
    done = _run([*VOICEBOT, "feedback"], tmp_path, timeout=180, VOICEBOT_MQTT__BROKER=broker)
    _one_clear_line(done)
    assert "is not a URL" in done.stderr or "cannot be resolved" in done.stderr


def test_a_wav_cut_in_half_is_refused_like_the_feedback_worker_does(tmp_path: Path) -> None:
    whole = tmp_path / "whole.wav"
    rng = np.random.default_rng(7)
    sf.write(whole, (rng.standard_normal(32000) * 3000).astype(np.int16), 16000, subtype="PCM_16")
    cut = tmp_path / "cut.wav"
    data = whole.read_bytes()
    cut.write_bytes(data[: len(data) // 2])
    done = _run([*VOICEBOT, "transcribe", str(cut)], tmp_path, timeout=180)
    _one_clear_line(done, f"{cut}: the file is cut off: the WAV data chunk announces")


def test_home_files_with_the_wrong_encoding_or_a_word_for_a_number(tmp_path: Path) -> None:
    latin1 = tmp_path / "latin1.yaml"
    latin1.write_bytes(b"devices:\n  - {name: Caf\xe9 Light, type: light}\n")
    wordy = tmp_path / "wordy.yaml"
    wordy.write_text("areas: [{name: Kitchen}]\ndevices:\n"
                     "  - {name: Kitchen Light, type: light, area: Kitchen, state: {brightness: very bright}}\n")
    faulty = tmp_path / "faulty.yaml"
    faulty.write_text("devices:\n  - {name: Hall Sensor, type: sensor, device_class: temperature,\n"
                      "     faults: [{type: wrong_reading, offset: lots}]}\n")
    cases = [(latin1, f"home file {latin1} is not UTF-8 text (byte"),
             (wordy, "device 'Kitchen Light': state.brightness must be a number (like 200), not 'very bright'"),
             (faulty, "the wrong_reading fault's offset must be a number, not 'lots'")]
    for home, words in cases:
        _one_clear_line(_run([*VOICEBOT, "chat", "--json", "--home", str(home)], tmp_path,
                             stdin="turn on the kitchen light\n"), words)
        _one_clear_line(_run([*DEVICE_BRIDGE, "list", "--home", str(home)], tmp_path), words)
