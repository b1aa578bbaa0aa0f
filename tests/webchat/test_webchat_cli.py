"""`voicebot webchat` as an operator runs it: a customer profile, a link printed by `webchat
link`, the server on its own (embedded broker, a simulated home), a chat through the link, and a
clean stop on SIGTERM."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from websockets.asyncio.client import connect

from voicebot.store import Customer, Store

VOICEBOT = [str(Path(sys.executable).parent / "voicebot")]


def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*VOICEBOT, *args], env=env, capture_output=True, text=True, timeout=180)


def test_a_printed_link_opens_a_chat_on_the_served_webchat(tmp_path: Path) -> None:
    env = {**os.environ, "VOICEBOT_DATA_DIR": str(tmp_path), "VOICEBOT_WEBCHAT__SECRET": "cli-test-secret-0123456789"}
    store = str(tmp_path / "voicebot.sqlite3")
    profiles = Store(store)  # its key file beside it, where the commands will find it
    profiles.save_customer(Customer("c-cli", "Casey"))
    profiles.close()
    refused = _run(["webchat", "link", "c-nobody", "--store", store], env)
    assert refused.returncode == 1 and "no customer 'c-nobody'" in refused.stderr
    home = str(Path(__file__).parent / "home.yaml")
    server = subprocess.Popen([*VOICEBOT, "webchat", "--http", "127.0.0.1:0", "--home", home, "--simulate", "--store", store], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        line = server.stdout.readline()  # printed once it listens
        assert line.startswith("webchat: 127.0.0.1:"), (line, server.stderr.read() if server.poll() is not None else "")
        port = int(line.rsplit(":", 1)[1])
        hint = server.stderr.readline()  # not the configured port: the links need --base-url
        while hint and not hint.startswith("links:"):  # a log line before it
            hint = server.stderr.readline()
        assert hint.strip() == f"links: voicebot webchat link CUSTOMER --base-url http://127.0.0.1:{port}/", hint
        printed = _run(["webchat", "link", "c-cli", "--ttl", "2h", "--base-url", f"http://127.0.0.1:{port}/",
                        "--store", store], env)
        assert printed.returncode == 0 and "expires" in printed.stderr
        link = printed.stdout.strip()
        assert link.startswith(f"http://127.0.0.1:{port}/#t=")

        async def chat() -> tuple[dict, dict, dict, dict]:
            async with connect(f"ws://127.0.0.1:{port}/ws") as ws:
                await ws.send(json.dumps({"type": "hello", "token": link.split("#t=", 1)[1]}))
                ready = json.loads(await asyncio.wait_for(ws.recv(), 30))
                greeting = json.loads(await asyncio.wait_for(ws.recv(), 30))
                await ws.send(json.dumps({"type": "message", "text": "turn on the kitchen light"}))
                reply = json.loads(await asyncio.wait_for(ws.recv(), 30))
                # Typed like `voicebot chat`: a customer may write in any language with data.
                await ws.send(json.dumps({"type": "message", "text": "schalte das Licht in der Küche aus"}))
                german = json.loads(await asyncio.wait_for(ws.recv(), 30))
                return ready, greeting, reply, german

        ready, greeting, reply, german = asyncio.run(chat())
        assert ready["name"] == "Casey" and greeting["text"].startswith("Hello, Casey!")
        assert reply["actions"] and reply["actions"][0]["device"] == "Kitchen Light", reply
        assert german["language"] == "de" and german["actions"], german
        assert german["actions"][0]["changes"] == {"state": "off"}, german
    finally:
        server.send_signal(signal.SIGTERM)
        code = server.wait(timeout=30)
    err = server.stderr.read() if server.stderr else ""
    assert code == 0, err
    assert "Traceback" not in err, err  # systemd's stop (SIGTERM) is no error
