"""`voicebot llm-serve` as a user runs it: it prints where the model answers, and stopping it
(SIGTERM, as `kill` and systemd do) stops the model server too."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.llm

VOICEBOT = str(Path(sys.executable).parent / "voicebot")


def test_stopping_llm_serve_stops_the_model_server(tmp_path: Path) -> None:
    # Its own process group, so that whatever it leaves behind when this test fails can be ended.
    proc = subprocess.Popen([VOICEBOT, "llm-serve"], env={**os.environ, "VOICEBOT_DATA_DIR": str(tmp_path)},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        _serve_and_stop(proc)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)


def _serve_and_stop(proc: subprocess.Popen[str]) -> None:
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()  # printed once the server answers
        found = re.search(r"http://127\.0\.0\.1:(\d+)/v1", line)
        assert found, (line, proc.stderr.read() if proc.poll() is not None and proc.stderr else "")
        port = int(found.group(1))
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/models", timeout=30) as answer:
            assert b"smollm2" in answer.read()
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=30)
    assert code == 0, proc.stderr.read() if proc.stderr else ""
    with pytest.raises(OSError):  # nobody listens there any more: the model server went with it
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
