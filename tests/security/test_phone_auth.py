"""Who may reach the phone line: the HTTP API answers only with the bearer token, Twilio streams
only with Twilio's signature, and a listener open to the network without authentication is refused."""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from voicebot.channels.phone.auth import ListenerRefused, api_token, check_listeners
from voicebot.channels.phone.calls import CallRecord, CallRegistry, start_http
from voicebot.channels.phone.peers import twilio_signature
from voicebot.channels.phone.twilio import TwilioServer

TOKEN = "s3cret-api-token"
TWILIO_TOKEN = "12345678901234567890123456789012"


@contextlib.asynccontextmanager
async def api() -> AsyncIterator[tuple[str, CallRegistry]]:
    registry = CallRegistry(max_announced=50)
    record = registry.open(CallRecord("call-1", "audiosocket", caller="+15550142", customer_id="c-42"))
    registry.close(record, "resolved", "bot")
    runner = await start_http(registry, "127.0.0.1", 0, token=TOKEN)
    host, port = runner.addresses[0][:2]
    try:
        yield f"http://{host}:{port}", registry
    finally:
        await runner.cleanup()


def test_http_api_answers_only_with_the_bearer_token() -> None:
    asyncio.run(_http_api_answers_only_with_the_bearer_token())


async def _http_api_answers_only_with_the_bearer_token() -> None:
    async with api() as (base, _), aiohttp.ClientSession() as http:
        for path in ("/calls", "/calls/call-1", "/calls/call-1/outcome"):
            async with http.get(base + path) as resp:  # curl http://HOST:PORT/calls
                assert resp.status == 401, path
                assert resp.headers["WWW-Authenticate"].startswith("Bearer")
                assert "+15550142" not in await resp.text()
            async with http.get(base + path, headers={"Authorization": "Bearer wrong"}) as resp:
                assert resp.status == 401, path
        good = {"Authorization": f"Bearer {TOKEN}"}
        async with http.get(base + "/calls", headers=good) as resp:  # curl -H 'Authorization: Bearer …'
            assert resp.status == 200
        async with http.get(base + "/calls/call-1", headers=good) as resp:
            assert resp.status == 200 and (await resp.json())["caller"] == "+15550142"
        async with http.get(
            base + "/healthz"
        ) as resp:  # liveness probes need no token, learn nothing private
            assert resp.status == 200 and "caller" not in await resp.text()


def test_binding_a_call_to_a_customer_needs_the_token() -> None:
    asyncio.run(_binding_a_call_to_a_customer_needs_the_token())


async def _binding_a_call_to_a_customer_needs_the_token() -> None:
    async with api() as (base, registry), aiohttp.ClientSession() as http:
        async with http.post(base + "/calls/new-call", data={"customer_id": "c-42"}) as resp:
            assert resp.status == 401
        assert registry.open(CallRecord("new-call", "audiosocket")).customer_id is None
        headers = {"Authorization": f"Bearer {TOKEN}"}
        async with http.post(
            base + "/calls/other-call", data={"customer_id": "c-42"}, headers=headers
        ) as resp:
            assert resp.status == 200
        assert registry.open(CallRecord("other-call", "audiosocket")).customer_id == "c-42"
        # Announcements for calls that never come are bounded: the oldest are dropped.
        for i in range(120):
            async with http.post(
                base + f"/calls/flood-{i}", data={"caller": "+1555"}, headers=headers
            ) as resp:
                assert resp.status == 200
        assert registry.pending_announcements() == 50
        async with http.post(base + "/calls/big", data={"caller": "1" * 100_000}, headers=headers) as resp:
            assert resp.status == 413


def test_generated_token_is_private_and_kept(tmp_path: Path) -> None:
    first = api_token(None, tmp_path)
    assert first.created and first.file is not None
    assert first.file.stat().st_mode & 0o777 == 0o600
    again = api_token(None, tmp_path)
    assert not again.created and again.value == first.value
    assert api_token("configured", tmp_path).value == "configured"


def _no_calls(*_: object) -> object:
    raise AssertionError("a call was started for a stream that is not Twilio's")


@contextlib.asynccontextmanager
async def twilio() -> AsyncIterator[tuple[str, TwilioServer]]:
    server = TwilioServer(CallRegistry(), _no_calls, auth_token=TWILIO_TOKEN, start_timeout_s=0.5)
    host, port = await server.start("127.0.0.1", 0)
    try:
        yield f"ws://{host}:{port}/media", server
    finally:
        await server.close()


@pytest.mark.parametrize(
    "signature",
    [None, "", "not-base64!", "signed-with-another-token", "signed-for-another-url"],
)
def test_unsigned_or_mis_signed_twilio_streams_are_refused(signature: str | None) -> None:
    asyncio.run(_refused(signature))


async def _refused(signature: str | None) -> None:
    async with twilio() as (url, server):
        if signature == "signed-with-another-token":
            signature = twilio_signature("0" * 32, url)
        elif signature == "signed-for-another-url":
            signature = twilio_signature(TWILIO_TOKEN, url + "?caller=%2B15550142")
        headers = {"X-Twilio-Signature": signature} if signature is not None else None
        with pytest.raises(InvalidStatus) as refused:
            await connect(url, additional_headers=headers)
        assert refused.value.response.status_code == 403
        assert server.refused == 1


def test_a_stream_signed_as_twilio_signs_is_let_in() -> None:
    asyncio.run(_let_in())


async def _let_in() -> None:
    async with twilio() as (url, server):
        async with connect(
            url, additional_headers={"X-Twilio-Signature": twilio_signature(TWILIO_TOKEN, url)}
        ) as ws:
            # Past the handshake the server waits for Twilio's "start"; none comes, so it closes.
            with pytest.raises(ConnectionClosed) as closed:
                await asyncio.wait_for(ws.recv(), 10)
        assert closed.value.rcvd is not None and closed.value.rcvd.reason == "no start message"
        assert server.refused == 0


def test_listeners_open_to_the_network_without_authentication_are_refused() -> None:
    check_listeners({"audiosocket": ("127.0.0.1", 9092), "twilio": None}, [], None)
    with pytest.raises(ListenerRefused, match="audiosocket_peers"):
        check_listeners({"audiosocket": ("0.0.0.0", 9092)}, [], None)
    check_listeners({"audiosocket": ("0.0.0.0", 9092)}, ["192.0.2.10/32"], None)
    with pytest.raises(ListenerRefused, match="twilio_auth_token"):
        check_listeners({"twilio": ("127.0.0.1", 8765)}, [], None)


def test_phone_command_refuses_an_open_audiosocket_before_loading_anything(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "from voicebot.cli import main; main()",
            "phone",
            "--audiosocket",
            "0.0.0.0:0",
        ],
        capture_output=True,
        text=True,
        timeout=180,
        env={
            "HOME": str(tmp_path),
            "XDG_DATA_HOME": str(tmp_path),
            "PATH": "/usr/bin:/bin",
            "PYTHONPATH": str(Path(__file__).resolve().parents[2]),
        },
    )
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0, result.stderr  # one clear line
    assert "phone.audiosocket_peers" in result.stderr
