"""Admission control over the real AudioSocket path: past ``phone.max_calls`` a caller hears
"all lines are busy" with a callback ticket and the leg is ended; a freed line admits again."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import aiohttp
from phone_helpers import AUTH, TEST_SETTINGS, hear, phone_line

from voicebot.channels.phone import audiosocket_wire as aswire
from voicebot.channels.phone.peers import AudioSocketCaller
from voicebot.runtime import Runtime


async def _get(url: str) -> tuple[int, str]:
    async with aiohttp.ClientSession(headers=AUTH) as http, http.get(url) as resp:
        return resp.status, await resp.text()


async def _hangup_survives_a_caller_still_talking(line: Any, host: str, port: int) -> None:
    """A caller that keeps sending audio and reads nothing until after the bot has hung up (as
    a busy Asterisk may) still finds the hangup message: the bot's side is half-closed and the
    caller's audio drained, never answered with a reset that would discard the hangup."""
    call_id = uuid.uuid4()
    reader, writer = await asyncio.open_connection(host, port)
    frame = aswire.encode(aswire.Kind.SLIN_8K, bytes(320))
    try:
        writer.write(aswire.encode_uuid(str(call_id)))

        async def talk_until_ended() -> None:
            while (record := line.registry.get(str(call_id))) is None or record.state == "active":
                writer.write(frame)
                await writer.drain()
                await asyncio.sleep(0.02)

        await asyncio.wait_for(talk_until_ended(), 30)
        for _ in range(25):  # half a second more of audio after the bot's hangup
            writer.write(frame)
            await writer.drain()
            await asyncio.sleep(0.02)
        received = await asyncio.wait_for(reader.read(), 15)  # everything, up to the bot's close
    finally:
        writer.close()
    assert received.endswith(aswire.HANGUP), received[-16:]


async def _busy_then_free(rt: Runtime, line: Any) -> None:
    host, port = line.addresses["audiosocket"]
    http = "http://{}:{}".format(*line.addresses["http"])
    first = AudioSocketCaller(host, port, rate=8000)
    await first.connect()
    try:
        assert await first.wait_audio_after(0.0, 20) is not None  # the first caller is being greeted

        second = AudioSocketCaller(host, port, rate=8000)
        async with (
            aiohttp.ClientSession(headers=AUTH) as session,
            session.post(f"{http}/calls/{second.call_id}", data={"caller": "+1 555 0199"}) as resp,
        ):
            assert resp.status == 200
        await second.connect()
        try:
            busy = await hear(rt, second, expect=("call you back",))
            await asyncio.wait_for(second.closed.wait(), 15)
        finally:
            await second.close()
        assert "busy" in busy.text and "ticket" in busy.text and "call you back" in busy.text, busy
        assert second.hangup_received, "the bot ends the busy caller's leg itself"

        status, body = await _get(f"{http}/calls/{second.call_id}")
        record = json.loads(body)
        assert status == 200 and record["outcome"] == "busy" and record["ended_by"] == "bot", record
        ticket = rt.store.ticket(record["ticket_id"])
        assert ticket is not None and ticket.reason == "lines_busy"
        assert ticket.summary["caller"] == "+1 555 0199" and ticket.summary["callback"] is True
        assert f"ticket number {ticket.id};" in record["turns"][0]["bot"], record  # what was said

        await _hangup_survives_a_caller_still_talking(line, host, port)

        _, health = await _get(f"{http}/healthz")
        assert json.loads(health)["admission"] == {"limit": 1, "active": 1, "admitted": 1, "busy": 2}
        _, metrics = await _get(f"{http}/metrics")
        assert 'voicebot_phone_calls_total{result="busy"} 2.0' in metrics
        assert "voicebot_phone_active_calls 1.0" in metrics
    finally:
        await first.close()  # the first caller hangs up: the line is free again

    async def freed() -> None:
        while line.admission.active:
            await asyncio.sleep(0.02)

    await asyncio.wait_for(freed(), 10)
    third = AudioSocketCaller(host, port, rate=8000)
    await third.connect()
    try:
        assert await third.wait_audio_after(0.0, 20) is not None
        record = line.registry.get(third.call_id)
        assert record is not None and [t.source for t in record.turns] == ["greeting"], record  # not "busy"
    finally:
        await third.close()
    assert line.admission.stats()["admitted"] == 2


def test_a_call_past_the_limit_hears_lines_busy_with_a_callback_ticket(phone_runtime: Runtime) -> None:
    async def main() -> None:
        async with phone_line(phone_runtime, TEST_SETTINGS.model_copy(update={"max_calls": 1})) as line:
            await _busy_then_free(phone_runtime, line)

    asyncio.run(main())


def test_busy_reply_exists_in_every_reply_language() -> None:
    from voicebot.dialogue.replies import default_replies

    replies = default_replies()
    for lang in ("en", "de", "es"):
        texts = replies.texts[lang]
        for key in ("lines_busy", "lines_busy_callback", "lines_busy_no_number", "lines_busy_later"):
            assert key in texts, (lang, key)
        assert "{ticket}" in str(texts["lines_busy_callback"]), lang
