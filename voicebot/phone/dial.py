"""Place a test call to a running phone line: greet, then say each recording once the bot has
finished its previous reply, and report what came back and how fast (and, with a transcriber,
what the bot said)."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import Any

import numpy as np

from voicebot.audio import SAMPLE_RATE, read_audio, resample
from voicebot.channels.phone.peers import AudioSocketCaller, TwilioCaller, Utterance, _Caller
from voicebot.phone.service import parse_hostport
from voicebot.transcribe import Transcriber


async def wait_reply(caller: _Caller, after: float = 0.0, quiet_s: float = 0.8, timeout: float = 15.0) -> list[Utterance]:
    """Wait until the bot has started speaking after loop time ``after`` and then been quiet for
    ``quiet_s``; returns what it said since ``after`` (empty if it said nothing in time)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        spoken = caller.utterances(after=after)
        if spoken and (loop.time() - spoken[-1].end > quiet_s or caller.closed.is_set()):
            return spoken
        if caller.closed.is_set():
            return spoken
        await asyncio.sleep(0.05)
    return caller.utterances(after=after)


async def place_call(
    files: list[Path],
    audiosocket: str | None,
    twilio: str | None,
    rate: int,
    caller_number: str | None,
    customer: str | None,
    wait: float,
    twilio_auth_token: str | None = None,
    hear: Transcriber | None = None,
) -> dict[str, Any]:
    """Dial, say each file after the bot's reply, hang up; with ``hear``, each reply the bot
    spoke is transcribed (greeting and per turn) so a line can be checked by what it says."""
    rate = rate if audiosocket else 8000
    recordings = [read_audio(path, rate) for path in files]  # a bad file fails before dialling
    if audiosocket:
        host, port = parse_hostport(audiosocket, "--audiosocket")
        caller: AudioSocketCaller | TwilioCaller = AudioSocketCaller(host, port, rate=rate)
        call_id = caller.call_id
    else:
        params = {k: v for k, v in (("caller", caller_number), ("customer_id", customer)) if v}
        caller = TwilioCaller(str(twilio), custom_parameters=params, auth_token=twilio_auth_token)
        call_id = caller.call_sid
    await caller.connect()
    turns: list[dict[str, Any]] = []
    greeting: list[Utterance] = []
    try:
        greeting = await wait_reply(caller, timeout=wait)
        for path, pcm in zip(files, recordings, strict=True):
            said = await caller.say(pcm)
            first = await caller.wait_audio_after(said.sent_end - 0.5, wait)
            turns.append(
                {
                    "file": str(path),
                    "end_of_speech_to_first_audio_s": round(first - said.speech_end, 3) if first else None,
                }
            )
            reply = await wait_reply(caller, after=said.speech_end, timeout=wait)
            if hear is not None:
                turns[-1]["bot_said"] = await asyncio.to_thread(_heard, hear, reply, caller.rate)
            if caller.closed.is_set():
                break
        # After its last words the bot may be ending the call: give it a moment to hang up.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(caller.closed.wait(), 3.0)
    finally:
        await caller.close()
    ended_by_bot = getattr(caller, "hangup_received", False) or getattr(caller, "close_code", None) == 1000
    out: dict[str, Any] = {"call": call_id}
    if hear is not None:
        out["greeting"] = await asyncio.to_thread(_heard, hear, greeting, caller.rate)
    return {
        **out,
        "turns": turns,
        "bot_utterances": len(caller.utterances()),
        "bot_ended_call": bool(ended_by_bot),
    }


def _heard(hear: Transcriber, spoken: list[Utterance], rate: int) -> str:
    """What the bot said in ``spoken`` (its audio at the line's ``rate``), as one text."""
    if not spoken:
        return ""
    pcm = resample(np.concatenate([u.pcm for u in spoken]), rate, SAMPLE_RATE)
    return hear.transcribe(pcm).text
