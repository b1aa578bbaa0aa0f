"""Bad input and bad clients end only their own connection, each with one clear log line; the
service goes on serving everyone else."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from pathlib import Path

import pytest
from wyoming.audio import AudioChunk, AudioStart
from wyoming.client import AsyncTcpClient
from wyoming.event import async_write_event
from wyoming.info import Describe

from tests.waiting import until
from voicebot.audio import read_audio
from voicebot.testing.ha_wyoming import converse, describe, read_until, synthesize, transcribe

SERVER_LOG = "voicebot.wyoming.server"


@pytest.fixture()
def server_log(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.INFO, logger="voicebot.wyoming")
    return caplog


def logged(caplog: pytest.LogCaptureFixture, *words: str) -> bool:
    return any(all(w in r.getMessage() for w in words) for r in caplog.records if r.name == SERVER_LOG)


async def send_raw(host: str, port: int, data: bytes, then_close: bool = False) -> bytes:
    """Bytes as a broken client sends them; what the server answers before it closes."""
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(data)
    await writer.drain()
    if then_close:
        writer.close()
        return b""
    answer = await asyncio.wait_for(reader.read(), 10)  # until the server closes the connection
    writer.close()
    return answer


def still_serving(server) -> None:
    info = asyncio.run(describe(server.host, server.port))
    assert info.handle and info.asr and info.tts


@pytest.mark.parametrize(
    ("sent", "reason"),
    [
        (b"this is not json\n", "malformed header: not JSON"),
        (b'["a", "list"]\n', "malformed header: expected a JSON object"),
        (b'{"data": {}}\n', "malformed header: no event type"),
        (b'{"type": "audio-chunk", "payload_length": -5}\n', "payload_length must be a non-negative integer"),
        (b'{"type": "audio-chunk", "payload_length": 999999999}\n', "oversized event: payload_length 999999999"),
        (b'{"type": "describe", "data_length": 10}\n[1,2,3,4]\n', "malformed data of 'describe'"),
        # over the 4,096-byte limit, and under the 8 KiB the reader buffers, so the server has read
        # it all when it closes (unread bytes would turn its close into a reset)
        (b"x" * 6_000, "oversized header"),
    ],
    ids=["not-json", "not-an-object", "no-type", "negative-length", "oversized-payload", "bad-data-block", "endless-header"],
)
def test_malformed_or_oversized_input_ends_only_that_connection(wyoming_server, server_log, sent: bytes,
                                                                   reason: str) -> None:
    answer = asyncio.run(send_raw(wyoming_server.host, wyoming_server.port, sent))
    assert until(lambda: logged(server_log, reason, "closing this connection"), 10.0), server_log.text
    header = json.loads(answer.split(b"\n", 1)[0])
    assert header["type"] == "error"  # the client is told why before the connection closes
    still_serving(wyoming_server)


def test_an_unknown_event_is_dropped_and_the_connection_goes_on(wyoming_server, server_log) -> None:
    async def unknown_then_describe() -> str:
        async with AsyncTcpClient(wyoming_server.host, wyoming_server.port) as client:
            await async_write_event(Describe().event().__class__(type="teleport", data={"to": "mars"}), client._writer)
            await client.write_event(Describe().event())
            return (await read_until(client, "info"))[-1].type

    assert asyncio.run(unknown_then_describe()) == "info"
    assert logged(server_log, "ignoring unknown event type 'teleport'")


def test_audio_out_of_order_is_answered_with_an_error_and_the_connection_stays(wyoming_server) -> None:
    async def chunk_first() -> tuple[str, str]:
        async with AsyncTcpClient(wyoming_server.host, wyoming_server.port) as client:
            await client.write_event(AudioChunk(rate=16000, width=2, channels=1, audio=b"\0\0" * 160).event())
            error = (await read_until(client, "error"))[-1]
            await client.write_event(AudioStart(rate=16000, width=7, channels=1).event())
            width = (await read_until(client, "error"))[-1]
            await client.write_event(Describe().event())
            await read_until(client, "info")
            return error.data["text"], width.data["text"]

    order, width = asyncio.run(chunk_first())
    assert "audio-chunk before audio-start" in order
    assert "unsupported sample width 7" in width


def test_a_client_that_vanishes_mid_stream_is_logged_and_forgotten(wyoming_server, server_log) -> None:
    # audio-start, then an audio-chunk header announcing 2,048 bytes of which 100 arrive
    start = json.dumps({"type": "audio-start", "data": {"rate": 16000, "width": 2, "channels": 1}}).encode()
    chunk = json.dumps({"type": "audio-chunk", "data": {"rate": 16000, "width": 2, "channels": 1},
                        "payload_length": 2048}).encode()
    asyncio.run(send_raw(wyoming_server.host, wyoming_server.port,
                         start + b"\n" + chunk + b"\n" + b"\1" * 100, then_close=True))
    # the log line names the client and what it was doing when it went (the audio was under way)
    assert until(lambda: logged(server_log, "went away", "audio-", "closing this connection"), 10.0), server_log.text
    still_serving(wyoming_server)


def test_twenty_clients_at_once_are_each_served_while_bad_ones_are_closed(
    wyoming_server, server_log, shared_audio: Path
) -> None:
    host, port = wyoming_server.host, wyoming_server.port
    lamp = read_audio(shared_audio / "what_time_is_it.wav").tobytes()

    async def client(i: int) -> str:
        kind = i % 5
        if kind == 0:
            return (await transcribe(host, port, lamp)).text
        if kind == 1:
            result = await synthesize(host, port, "Okay.")
            return f"{len(result.streams()[0])} samples"
        if kind == 2:
            return (await converse(host, port, "what time is it", f"crowd-{i}")).type
        if kind == 3:
            return str(len((await describe(host, port)).tts))
        await send_raw(host, port, b"{broken\n")
        return "closed"

    async def crowd() -> list[str]:
        return await asyncio.gather(*(client(i) for i in range(20)))

    results = asyncio.run(crowd())
    for i, got in enumerate(results):
        kind = i % 5
        if kind == 0:
            assert got.lower().strip(" ?.") == "what time is it", got
        elif kind == 1:
            assert got != "0 samples"
        elif kind == 2:
            assert got in ("handled", "not-handled")
        elif kind == 3:
            assert got == "1"
    bad = [r for r in server_log.records if r.levelno == logging.WARNING and "malformed header" in r.getMessage()]
    assert len(bad) == 4, [r.getMessage() for r in bad]  # only the four broken clients were closed for it
    still_serving(wyoming_server)


def test_connections_over_the_limit_are_refused_and_silent_ones_closed(wyoming_runtime, server_log) -> None:
    from tests.wyoming.conftest import TEST_SETTINGS, Running
    from voicebot.wyoming.service import WyomingService

    # silent for 2 s: the two first clients must still be there when the third connects, also when
    # this thread is starved for a moment on a busy machine
    small = Running(WyomingService(wyoming_runtime, TEST_SETTINGS.model_copy(
        update={"max_connections": 2, "idle_timeout_s": 2.0})))
    try:
        async def scenario() -> tuple[str, str]:
            first = await asyncio.open_connection(small.host, small.port)
            second = await asyncio.open_connection(small.host, small.port)
            third_reader, third_writer = await asyncio.open_connection(small.host, small.port)
            refused = await asyncio.wait_for(third_reader.read(), 15)  # answered, then closed
            third_writer.close()
            idle = await asyncio.wait_for(first[0].read(), 15)  # closed after 2 s of silence
            for _, w in (first, second):
                w.close()
            return refused.decode(), idle.decode()

        refused, idle = asyncio.run(scenario())
        assert '"type": "error"' in refused and "busy" in refused
        assert idle == ""
        assert logged(server_log, "refused", "2 connections already served")
        assert until(lambda: logged(server_log, "sent nothing for 2 s"), 10.0)
    finally:
        small.close()


def test_off_loopback_only_the_listed_networks_may_connect(wyoming_runtime, server_log) -> None:
    from tests.wyoming.conftest import TEST_SETTINGS, Running
    from voicebot.channels.phone.auth import ListenerRefused
    from voicebot.wyoming.discovery import lan_address
    from voicebot.wyoming.service import WyomingService, check_listener

    with pytest.raises(ListenerRefused, match=r"wyoming\.peers"):
        check_listener("0.0.0.0", [])
    lan = lan_address()
    if lan == "127.0.0.1":
        pytest.skip("this machine has no address besides loopback to connect from")
    # listening on every interface, allowing one unrelated network: a client from this
    # machine's own LAN address is refused, one from loopback is served
    service = WyomingService(wyoming_runtime, TEST_SETTINGS.model_copy(update={"peers": ["198.51.100.0/24"]}))
    running = Running(service, "tcp://0.0.0.0:0")
    port = running.port
    try:
        answer = asyncio.run(send_raw(lan, port, b""))  # closed at once, with nothing said
        assert answer == b""
        assert until(lambda: logged(server_log, "refused: not a network in wyoming.peers", lan), 10.0)
        assert asyncio.run(describe("127.0.0.1", port)).handle
    finally:
        running.close()


def test_ping_is_answered_and_a_program_selection_accepted(wyoming_server) -> None:
    from wyoming.info import SelectProgram
    from wyoming.ping import Ping

    async def scenario() -> list[str]:
        async with AsyncTcpClient(wyoming_server.host, wyoming_server.port) as client:
            await client.write_event(Ping(text="hello").event())
            pong = (await read_until(client, "pong"))[-1]
            await client.write_event(SelectProgram(name="voicebot-stt").event())
            await client.write_event(Describe().event())
            return [pong.data.get("text"), (await read_until(client, "info"))[-1].type]

    assert asyncio.run(scenario()) == ["hello", "info"]


@pytest.mark.parametrize(
    ("rate", "channels", "seconds", "reason"),
    [(16000, 1, 21.0, "more than 20 s of audio"), (48000, 8, 1.5, "more than 1048576 bytes of audio")],
    ids=["too-long", "too-many-bytes"],
)
def test_endless_audio_ends_only_that_connection(wyoming_server, server_log, rate: int, channels: int,
                                                 seconds: float, reason: str) -> None:
    async def stream() -> None:
        client = AsyncTcpClient(wyoming_server.host, wyoming_server.port)
        await client.connect()
        fmt = {"rate": rate, "width": 2, "channels": channels}
        await client.write_event(AudioStart(**fmt).event())
        chunk = b"\0" * 32_000
        with pytest.raises(ConnectionError):  # the server closes instead of answering
            for _ in range(int(rate * 2 * channels * seconds) // len(chunk) + 1):
                await client.write_event(AudioChunk(audio=chunk, **fmt).event())
            await read_until(client, "never", timeout=10)
        with contextlib.suppress(ConnectionError):  # closed mid-send: the close may be a reset
            await client.disconnect()

    asyncio.run(stream())
    assert until(lambda: logged(server_log, reason, "closing this connection"), 10.0), server_log.text
    still_serving(wyoming_server)
