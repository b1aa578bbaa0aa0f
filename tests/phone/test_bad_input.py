"""Bad input from the far end: each broken call ends cleanly with a log line and a recorded
reason, the conversation so far is stored, and the server keeps serving the other calls."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable

import numpy as np
import pytest
from phone_helpers import TWILIO_AUTH_TOKEN, ended, exchange, hear, phone_line

from voicebot.channels.phone import audiosocket_wire as wire
from voicebot.channels.phone.peers import AudioSocketCaller, TwilioCaller
from voicebot.runtime import Runtime

Speech = Callable[..., np.ndarray]


async def _closed_by_server(reader: asyncio.StreamReader, timeout: float = 15.0) -> bytes:
    """Everything the server sent until it closed the connection."""
    return await asyncio.wait_for(reader.read(), timeout)


def test_audiosocket_bad_input_ends_only_the_broken_calls(
    phone_runtime: Runtime, speech: Speech, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="voicebot.channels.phone")

    async def main() -> None:
        async with phone_line(phone_runtime) as line:
            host, port = line.addresses["audiosocket"]
            good = AudioSocketCaller(host, port)
            await good.connect()
            greeting = hear(phone_runtime, good, expect=("help",))

            async def no_uuid() -> None:
                reader, writer = await asyncio.open_connection(host, port)
                assert await _closed_by_server(reader) == b"", "closed without a word"
                writer.close()

            async def audio_before_uuid() -> None:
                reader, writer = await asyncio.open_connection(host, port)
                writer.write(wire.encode(wire.Kind.SLIN_8K, bytes(320)))
                assert await _closed_by_server(reader) == wire.HANGUP
                writer.close()

            async def broken(garbage: bytes, close: bool, expect_error: str) -> None:
                caller = AudioSocketCaller(host, port)
                await caller.connect()
                await asyncio.sleep(0.3)  # a little real audio first
                await caller.go_silent()  # so the garbage is not cut into by the next frame
                await caller.send_raw(garbage)
                if close:
                    # The stream ends mid-message; half-close, so the bytes sent are read first
                    # (a full close makes the server's next write fail before it reads them).
                    assert caller.writer is not None
                    caller.writer.write_eof()
                record = await ended(line, caller.call_id)
                assert record.ended_by == "error" and expect_error in (record.error or ""), record
                assert record.outcome == "abandoned"
                await caller.close()

            async def frozen_peer() -> None:
                caller = AudioSocketCaller(host, port)
                await caller.connect()
                await asyncio.sleep(0.3)
                await caller.go_silent()
                record = await ended(line, caller.call_id)
                assert record.ended_by == "error" and "no traffic" in (record.error or "")
                await caller.close()

            async def vanished_peer() -> None:
                caller = AudioSocketCaller(host, port)
                await caller.connect()
                await asyncio.sleep(0.3)
                await caller.close()  # the socket closes with no hangup message
                record = await ended(line, caller.call_id)
                assert record.ended_by == "caller" and record.outcome == "abandoned"

            async def garbage_after_a_turn() -> None:
                caller = AudioSocketCaller(host, port)
                await caller.connect()
                await hear(phone_runtime, caller, expect=("help",))
                reply = await exchange(phone_runtime, caller, speech("The kitchen light won't turn on.", 8000), ("lit",))
                assert "lit" in reply.text
                await caller.send_raw(b"\x42\x00\x01x")
                record = await ended(line, caller.call_id)
                # the line records the call's end, then hangs up: the caller hears it a moment later
                await asyncio.wait_for(caller.closed.wait(), 15)
                assert record.error and "unknown message kind 0x42" in record.error
                stored = phone_runtime.store.conversation(record.conversation_id)
                assert stored is not None and stored["ended_at"] is not None
                said = [t["user_text"] for t in phone_runtime.store.turns(record.conversation_id)]
                assert any("kitchen light" in s.lower() for s in said), said
                await caller.close()

            await asyncio.gather(
                no_uuid(),
                audio_before_uuid(),
                broken(b"\x10\x01", close=True, expect_error="truncated header"),
                broken(b"\x10\x01\x40" + bytes(100), close=True, expect_error="truncated payload"),
                broken(b"\x10\x00\x00", close=False, expect_error="zero-length"),
                broken(b"\x07\x00\x02ab", close=False, expect_error="unknown message kind 0x07"),
                broken(wire.encode_uuid(uuid.uuid4()), close=False, expect_error="second UUID"),
                broken(b"\x10\x00\x03abc", close=False, expect_error="odd length"),
                broken(b"\xff\x00\x01\x05", close=False, expect_error="peer reported an error"),
                frozen_peer(),
                vanished_peer(),
                garbage_after_a_turn(),
            )
            # The call that behaved was served all along and still is.
            assert "help" in (await greeting).text
            answer = await exchange(phone_runtime, good, speech("Goodbye.", 8000), ("calling",))
            assert "goodbye" in answer.text or "thank" in answer.text
            await asyncio.wait_for(good.closed.wait(), 10)
            assert good.hangup_received
            await good.close()

    asyncio.run(main())
    logged = "\n".join(r.getMessage() for r in caplog.records)
    for reason in ("no UUID", "not a UUID", "truncated header", "truncated payload", "zero-length",
                   "unknown message kind 0x07", "no traffic"):
        assert reason in logged, f"no log line about {reason!r}"
    # A socket closed without a hangup message reads as EOF or, if our audio hit it first, EPIPE.
    assert "the caller hung up" in logged or "the caller is gone" in logged


def test_twilio_bad_input_ends_only_the_broken_streams(
    phone_runtime: Runtime, speech: Speech, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="voicebot.channels.phone")

    async def main() -> None:
        async with phone_line(phone_runtime) as line:
            url = "ws://{}:{}/".format(*line.addresses["twilio"])
            good = TwilioCaller(url, auth_token=TWILIO_AUTH_TOKEN)
            await good.connect()
            greeting = hear(phone_runtime, good, expect=("help",))

            async def never_starts() -> None:
                caller = TwilioCaller(url, auth_token=TWILIO_AUTH_TOKEN)
                await caller.connect(start=False, stream=False)
                await caller.send_raw('{"event":"connected","protocol":"Call","version":"1.0.0"}')
                await asyncio.wait_for(caller.closed.wait(), 15)
                assert caller.close_code == 1008

            async def media_before_start() -> None:
                caller = TwilioCaller(url, auth_token=TWILIO_AUTH_TOKEN)
                await caller.connect(start=False, stream=True)
                await asyncio.wait_for(caller.closed.wait(), 15)
                assert caller.close_code == 1008

            async def broken(frame: str | bytes, expect_error: str) -> None:
                caller = TwilioCaller(url, auth_token=TWILIO_AUTH_TOKEN)
                await caller.connect()
                await asyncio.sleep(0.3)
                await caller.send_raw(frame)
                record = await ended(line, caller.call_sid)
                assert record.ended_by == "error" and expect_error in (record.error or ""), record
                await asyncio.wait_for(caller.closed.wait(), 15)
                assert caller.close_code == 1008
                await caller.close()

            async def vanished() -> None:
                caller = TwilioCaller(url, auth_token=TWILIO_AUTH_TOKEN)
                await caller.connect()
                await asyncio.sleep(0.3)
                caller.ws.transport.abort()  # type: ignore[attr-defined]  # no close frame, no stop
                record = await ended(line, caller.call_sid)
                assert record.ended_by == "caller" and record.outcome == "abandoned"
                assert "connection lost" in (record.error or "")
                await caller.close()

            await asyncio.gather(
                never_starts(),
                media_before_start(),
                broken(b"\x00\x01\x02", "binary frame"),
                broken("{this is not json", "not JSON"),
                broken('{"event":"party"}', "unknown event"),
                broken('{"event":"media","media":{"payload":"%%%"}}', "not base64"),
                vanished(),
            )
            assert "help" in (await greeting).text
            answer = await exchange(phone_runtime, good, speech("Goodbye.", 8000), ("calling",))
            assert "goodbye" in answer.text or "thank" in answer.text
            await asyncio.wait_for(good.closed.wait(), 10)
            assert good.close_code == 1000
            await good.close()

    asyncio.run(main())
    logged = "\n".join(r.getMessage() for r in caplog.records)
    for reason in ("no start message", "before start", "binary frame", "not JSON", "unknown event", "connection lost"):
        assert reason in logged, f"no log line about {reason!r}"
