"""`voicebot phone` as a user runs it, and `voicebot phone dial` placing a call to it."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.subprocess_env import shared_cache
from voicebot.audio import write_wav

ROOT = Path(__file__).resolve().parents[2]
VOICEBOT = [sys.executable, "-c", "from voicebot.cli import main; main()"]


def test_phone_command_answers_a_dialled_call(
    phone_broker: Any, speech: Callable[..., np.ndarray], tmp_path: Path
) -> None:
    server = subprocess.Popen(
        [*VOICEBOT, "phone", "--audiosocket", "127.0.0.1:0", "--http", "127.0.0.1:0",
         "--home", str(ROOT / "tests/phone/home.yaml"), "--simulate", "--broker", phone_broker.url,
         "--store", str(tmp_path / "phone.sqlite3")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env={"XDG_DATA_HOME": str(tmp_path), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path), **shared_cache()},
    )
    try:
        bound: dict[str, str] = {}
        deadline = time.monotonic() + 180  # models, a broker and a home load first
        assert server.stdout is not None
        while len(bound) < 2 and time.monotonic() < deadline:
            line = server.stdout.readline()
            if not line:
                break
            name, _, addr = line.strip().partition(": ")
            bound[name] = addr
        assert set(bound) == {"audiosocket", "http"}, (bound, server.stderr.read() if server.poll() is not None else "")

        wav = write_wav(tmp_path / "bye.wav", speech("Goodbye.", 16000), 16000)
        dial = subprocess.run(
            [*VOICEBOT, "phone", "dial", "--audiosocket", bound["audiosocket"], "--wait", "60", "--hear", str(wav)],
            capture_output=True, text=True, cwd=ROOT, timeout=180,
            env={"XDG_DATA_HOME": str(tmp_path), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path), **shared_cache()},
        )
        assert dial.returncode == 0, dial.stderr
        result = json.loads(dial.stdout)
        assert result["turns"][0]["end_of_speech_to_first_audio_s"] is not None, result
        assert result["bot_utterances"] >= 2, result  # the greeting and the goodbye
        assert result["bot_ended_call"], result
        # --hear: what the bot said, as Whisper hears it on the line
        assert "assistant" in result["greeting"].lower(), result
        assert "thank you for calling" in result["turns"][0]["bot_said"].lower(), result

        # No token configured: the line made one, readable only by its user, in the data directory.
        token_file = tmp_path / "voicebot" / "phone-api-token"
        assert token_file.stat().st_mode & 0o777 == 0o600
        url = f"http://{bound['http']}/calls/{result['call']}/outcome"
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(url, timeout=5)
        assert refused.value.code == 401
        request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token_file.read_text().strip()}"})
        with urllib.request.urlopen(request, timeout=5) as resp:
            assert resp.read().decode() == "resolved"
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
    assert server.returncode == 0
