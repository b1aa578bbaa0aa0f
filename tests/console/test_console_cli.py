"""`voicebot console` as an operator runs it: it says where it listens (port 0 picks a free one),
serves the API to a signed-in agent, stops cleanly on SIGTERM, and a busy address is one line."""

from __future__ import annotations

import base64
import json
import os
import signal
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from typer.testing import CliRunner

from voicebot.cli import app

VOICEBOT = str(Path(sys.executable).parent / "voicebot")


def _get(url: str, password: str | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(url)
    if password is not None:
        request.add_header("Authorization", "Basic " + base64.b64encode(f"alice:{password}".encode()).decode())
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, answer.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def test_the_console_serves_an_agent_and_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    store = str(tmp_path / "voicebot.sqlite3")
    env = {**os.environ, "VOICEBOT_DATA_DIR": str(tmp_path)}
    added = CliRunner().invoke(app, ["agents", "add", "alice", "--store", store], input="a long password\n", env=env)
    assert added.exit_code == 0, added.output
    server = subprocess.Popen([VOICEBOT, "console", "--http", "127.0.0.1:0", "--store", store], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert server.stderr is not None
        line = server.stderr.readline()  # printed once the socket is bound
        assert line.startswith("voicebot console on http://127.0.0.1:"), line
        base = line.split(" on ", 1)[1].strip()
        assert not base.endswith(":0/")  # the port it really has
        assert _get(base + "api/tickets")[0] == 401
        status, body = _get(base + "api/tickets", "a long password")
        assert status == 200 and json.loads(body) == []
    finally:
        server.send_signal(signal.SIGTERM)
        code = server.wait(timeout=30)
    err = server.stderr.read() if server.stderr else ""
    assert code == 0, err  # systemd's stop: the store and connections closed, not killed midway
    assert "Traceback" not in err, err


def test_a_busy_address_is_one_clear_line(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = subprocess.run([VOICEBOT, "console", "--http", f"127.0.0.1:{port}", "--store", str(tmp_path / "s.sqlite3")],
                              env={**os.environ, "VOICEBOT_DATA_DIR": str(tmp_path)}, capture_output=True, text=True,
                              timeout=60)
    assert proc.returncode == 1
    assert proc.stderr.strip() == f"voicebot console: cannot listen on 127.0.0.1:{port}: Address already in use"


@pytest.mark.parametrize("address", ["8088", "127.0.0.1:http", "127.0.0.1:70000"])
def test_a_malformed_address_is_refused(address: str) -> None:
    refused = CliRunner().invoke(app, ["console", "--http", address])
    assert refused.exit_code == 2 and "use HOST:PORT" in refused.output
