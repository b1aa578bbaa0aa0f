"""Whole calls, placed by an Asterisk AudioSocket peer and a Twilio Media Streams peer speaking
the exact wire protocols in real time; the bot's audio is transcribed back to check what the
caller heard."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
import numpy as np
from phone_helpers import AUTH, TWILIO_AUTH_TOKEN, ended, exchange, has_any, hear, phone_line

from voicebot.audio import read_audio
from voicebot.channels.phone.peers import AudioSocketCaller, TwilioCaller
from voicebot.runtime import Runtime

Speech = Callable[..., np.ndarray]


async def _http_json(url: str) -> Any:
    async with aiohttp.ClientSession(headers=AUTH) as http, http.get(url) as resp:
        return resp.status, json.loads(await resp.text())


async def _troubleshooting_call(rt: Runtime, line: Any, speech: Speech) -> None:
    """Asterisk, 8 kHz in 30 ms frames: the dialplan announces the caller, the customer reports a light that
    stays off, the bot checks and switches it, the customer confirms, says goodbye, and the bot
    ends the leg; the outcome is read back over HTTP as a dialplan would."""
    host, port = line.addresses["audiosocket"]
    http = "http://{}:{}".format(*line.addresses["http"])
    caller = AudioSocketCaller(host, port, rate=8000, frame_ms=30)  # a 30 ms packetisation, which occurs
    # What a dialplan does with CURL(url,caller=${CALLERID(num)}) before AudioSocket().
    async with (
        aiohttp.ClientSession(headers=AUTH) as session,
        session.post(f"{http}/calls/{caller.call_id}", data={"caller": "+1 555 0142"}) as resp,
    ):
        assert resp.status == 200
    await caller.connect()
    try:
        greeting = await hear(rt, caller, expect=("help",))
        assert "alex" in greeting.text, greeting  # the caller's number found their profile
        # Paced in real time: the greeting arrived over (at least) as long as it lasts, not in a burst.
        spoken = caller.utterances()[0]
        assert spoken.end - spoken.start >= 0.9 * len(spoken.pcm) / 8000 - 0.04

        report = await exchange(rt, caller, speech("The kitchen light won't turn on.", 8000), ("lit now", "is it lit"))
        assert has_any(report.text, "is it lit", "lit now"), report
        done = await exchange(rt, caller, speech("Yes.", 8000), ("anything else",))
        assert has_any(done.text, "working again", "anything else"), done
        bye = await exchange(rt, caller, speech("Goodbye.", 8000), ("calling",))
        assert "goodbye" in bye.text or "thank" in bye.text, bye
        await asyncio.wait_for(caller.closed.wait(), 10)
        assert caller.hangup_received, "the bot ends its leg with a hangup message (00 00 00)"
        # Every message back was one 20 ms frame at 8 kHz (320 bytes), and frames kept coming while
        # the bot listened and thought: Asterisk drops a leg after 2 s without traffic, and that is
        # the bound (a loaded machine may delay a frame by a second; the call must survive it).
        assert {len(f) for f in caller.heard.frames} == {160}
        assert caller.max_gap() < 2.0
    finally:
        await caller.close()

    light = next(d for d in rt.bridge.devices() if d.name == "Kitchen Light")
    assert str(rt.bridge.get(light.id).state.get("state", "")).upper() == "ON"
    status, record = await _http_json(f"{http}/calls/{caller.call_id}")
    assert status == 200
    assert record["outcome"] == "resolved" and record["ended_by"] == "bot"
    assert record["caller"] == "+1 555 0142" and record["customer_id"] == "c-42"
    assert [t["source"] for t in record["turns"]][:1] == ["greeting"]
    assert len(record["turns"]) >= 4  # greeting and three answers (a split utterance adds one)
    stored = rt.store.conversation(record["conversation_id"])
    assert stored is not None and stored["outcome"] == "resolved"
    assert len(rt.store.turns(record["conversation_id"])) >= 3


async def _transfer_call(rt: Runtime, line: Any, speech: Speech) -> None:
    """Twilio: custom parameters carry the caller; "my thermostat" is the customer's own (their
    profile puts them in the bedroom); asking for a person transfers the call: the bot says what
    happens next, the stream is closed for the TwiML to go on, the outcome carries the ticket."""
    url = "ws://{}:{}/".format(*line.addresses["twilio"])
    http = "http://{}:{}".format(*line.addresses["http"])
    caller = TwilioCaller(url, auth_token=TWILIO_AUTH_TOKEN, custom_parameters={"caller": "+15550142", "customer_id": "c-42"})
    await caller.connect()
    try:
        greeting = await hear(rt, caller, expect=("help",))
        assert "alex" in greeting.text, greeting
        temp = await exchange(rt, caller, speech("How warm is it on my thermostat?", 8000, voice="piper"), ("degrees",))
        assert "bedroom" in temp.text and "19" in temp.text, temp
        t = asyncio.get_running_loop().time()
        await caller.dtmf("#")  # a Media Streams dtmf event: say that again
        again = await hear(rt, caller, after=t, expect=("degrees",))
        assert "bedroom" in again.text and "19" in again.text, again
        human = await exchange(rt, caller, speech("I want to talk to a person.", 8000), ("ticket",))
        assert has_any(human.text, "putting you through", "agent"), human
        assert "ticket" in human.text, human
        await asyncio.wait_for(caller.closed.wait(), 10)
        assert caller.close_code == 1000
        assert caller.marks_echoed, "the bot waited for Twilio's mark before ending the stream"
        assert set(caller.media_sizes) == {160}, "20 ms of mu-law per media message"
    finally:
        await caller.close()
    status, record = await _http_json(f"{http}/calls/{caller.call_sid}")
    assert status == 200 and record["outcome"] == "transfer" and record["ticket_id"]
    assert record["transport"] == "twilio" and record["customer_id"] == "c-42"
    async with aiohttp.ClientSession(headers=AUTH) as session, session.get(f"{http}/calls/{caller.call_sid}/outcome") as resp:
        assert await resp.text() == "transfer"
    ticket = rt.store.ticket(record["ticket_id"])
    assert ticket is not None and ticket.customer_id == "c-42"


async def _dtmf_call(rt: Runtime, line: Any) -> None:
    """AudioSocket with slin16: "#" says the last reply again, "5" gets the key help, "0" asks
    for a human: the call is transferred and the leg ended."""
    caller = AudioSocketCaller(*line.addresses["audiosocket"], rate=16000)
    await caller.connect()
    loop = asyncio.get_running_loop()
    try:
        greeting = await hear(rt, caller, expect=("help",))
        assert "how can i help" in greeting.text, greeting
        t = loop.time()
        await caller.dtmf("#")
        again = await hear(rt, caller, after=t, expect=("help",))
        assert "how can i help" in again.text, again
        t = loop.time()
        await caller.dtmf("5")
        keys = await hear(rt, caller, after=t, expect=("again",))
        assert has_any(keys.text, "press 1", "press one"), keys
        t = loop.time()
        await caller.dtmf("0")
        human = await hear(rt, caller, after=t, expect=("ticket",))
        assert has_any(human.text, "putting you through", "agent"), human
        await asyncio.wait_for(caller.closed.wait(), 10)
        assert caller.hangup_received
        assert set(caller.received_kinds) <= {0x12, 0x00}, "audio at the call's own rate (16 kHz), then hangup"
    finally:
        await caller.close()
    record = line.registry.get(caller.call_id)
    assert record is not None and record.outcome == "transfer" and record.ticket_id
    assert [t.user for t in record.turns if t.source == "dtmf"] == ["[DTMF 5]", "[DTMF 0]"]


def test_three_calls_at_once_troubleshooting_transfer_and_dtmf(phone_runtime: Runtime, speech: Speech) -> None:
    """Three independent calls on one line at the same time, sharing the loaded models."""

    async def main() -> None:
        async with phone_line(phone_runtime) as line:
            await asyncio.gather(
                _troubleshooting_call(phone_runtime, line, speech),
                _transfer_call(phone_runtime, line, speech),
                _dtmf_call(phone_runtime, line),
            )
            # Every call's turns went through the one shared transcription queue.
            assert line.pool.stats.requests >= 5

    asyncio.run(main())


def test_barge_in_stops_the_bot_and_clears_twilio_playback(phone_runtime: Runtime, shared_audio: Path) -> None:
    """The caller talks over the greeting: the bot stops within a moment, sends Twilio "clear",
    and answers what the caller said (a real recording)."""

    async def main() -> None:
        async with phone_line(phone_runtime) as line:
            caller = TwilioCaller("ws://{}:{}/".format(*line.addresses["twilio"]), auth_token=TWILIO_AUTH_TOKEN)
            await caller.connect()
            try:
                loop = asyncio.get_running_loop()
                started = await caller.wait_audio_after(0.0, 10)
                assert started is not None
                await asyncio.sleep(0.6)
                words = read_audio(shared_audio / "would_you_please_turn_on_living_room_lamp.wav", 8000)
                said_at = loop.time()
                said = await caller.say(words)
                assert caller.clears >= 1, "Twilio was told to drop the rest of the greeting"
                # The full greeting lasts ~4 s; it stopped soon after the caller began: nothing of
                # the bot was heard from 1.5 s into the caller's words until they finished.
                heard = zip(caller.heard.times, caller.heard.loud, strict=True)
                assert not [t for t, loud in heard if loud and said_at + 1.5 < t < said.speech_end]
                answer = await hear(phone_runtime, caller, after=said.speech_end, expect=("lamp",))
                assert has_any(answer.text, "floor lamp", "lamp", "living room"), answer
            finally:
                await caller.hangup()
            record = await ended(line, caller.call_sid)  # the line notices the hang-up on its own time
            assert record.barge_ins >= 1
            assert record.outcome in ("abandoned", "resolved") and record.ended_by == "caller"

    asyncio.run(main())

