"""``voicebot wyoming`` as a user runs it: it serves on the port it prints, Home Assistant's
zeroconf browser finds it as ``_wyoming._tcp.local.`` (on loopback: the test machine has no other
network), and it stops cleanly on SIGTERM."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path

from zeroconf import IPVersion, ServiceStateChange
from zeroconf.asyncio import AsyncServiceBrowser, AsyncServiceInfo, AsyncZeroconf

from tests.subprocess_env import shared_cache
from voicebot.testing.ha_wyoming import converse, describe
from voicebot.wyoming.discovery import SERVICE_TYPE, Advertisement

ROOT = Path(__file__).resolve().parents[2]
VOICEBOT = [sys.executable, "-c", "from voicebot.cli import main; main()"]


async def browse_for(name: str, timeout: float = 30.0) -> AsyncServiceInfo | None:
    """Browse for Wyoming services on loopback, as Home Assistant's zeroconf does on the LAN;
    the one called ``name``, resolved (address and port), or None."""
    zc = AsyncZeroconf(interfaces=["127.0.0.1"], ip_version=IPVersion.V4Only)
    found = asyncio.Event()

    def on_change(zeroconf, service_type: str, name: str, state_change: ServiceStateChange) -> None:
        if name == wanted and state_change is ServiceStateChange.Added:
            found.set()

    wanted = name
    browser = AsyncServiceBrowser(zc.zeroconf, SERVICE_TYPE, handlers=[on_change])
    try:
        await asyncio.wait_for(found.wait(), timeout)
        info = AsyncServiceInfo(SERVICE_TYPE, name)
        return info if await info.async_request(zc.zeroconf, 10000) else None
    except TimeoutError:
        return None
    finally:
        await browser.async_cancel()
        await zc.async_close()


def test_an_advertisement_on_loopback_is_found_by_a_zeroconf_browser() -> None:
    async def scenario() -> tuple[int, list[str]]:
        ad = Advertisement(10777, "127.0.0.1", name=f"voicebot-test-{uuid.uuid4().hex[:8]}")
        assert await ad.start()
        try:
            info = await browse_for(ad.name)
            assert info is not None, f"{ad.name} was not found"
            return info.port or 0, info.parsed_addresses()
        finally:
            await ad.stop()

    assert asyncio.run(scenario()) == (10777, ["127.0.0.1"])


def test_the_command_serves_advertises_and_stops(tmp_path: Path) -> None:
    # no --broker: an embedded broker and the simulated demo home, as for `voicebot chat`
    name = f"voicebot-cli-{uuid.uuid4().hex[:8]}"
    config = tmp_path / "voicebot.yaml"
    config.write_text(f"wyoming: {{zeroconf_name: {name}}}\n")
    server = subprocess.Popen(
        [*VOICEBOT, "-v", "-c", str(config), "wyoming", "--uri", "tcp://127.0.0.1:0",
         "--store", str(tmp_path / "voicebot.sqlite3")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
        env={**os.environ, "XDG_DATA_HOME": str(tmp_path), "HOME": str(tmp_path), **shared_cache()},
    )
    try:
        assert server.stdout is not None
        line = server.stdout.readline()  # printed once it listens: "wyoming: tcp://HOST:PORT"
        assert line.startswith("wyoming: tcp://127.0.0.1:"), (line, server.stderr.read() if server.poll() else "")
        port = int(line.rsplit(":", 1)[1])

        info = asyncio.run(browse_for(f"{name}.{SERVICE_TYPE}"))
        assert info is not None and info.port == port and info.parsed_addresses() == ["127.0.0.1"]
        assert asyncio.run(describe("127.0.0.1", port)).handle
        reply = asyncio.run(converse("127.0.0.1", port, "turn on the garden lights", "cli-1"))
        assert reply.type == "handled" and "garden" in reply.data["text"].lower(), reply
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            _, err = server.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            raise
    assert server.returncode == 0, err[-2000:]
    assert "zeroconf: advertising" in err
