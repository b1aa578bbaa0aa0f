"""Helpers for the phone tests: a phone line on free loopback ports, hearing the bot's replies
by transcribing the caller's received audio back to text."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

import numpy as np

from voicebot.audio import resample
from voicebot.channels.phone.calls import CallRecord
from voicebot.channels.phone.peers import _Caller
from voicebot.phone.dial import wait_reply
from voicebot.phone.service import PhoneLine, PhoneSettings
from voicebot.runtime import Runtime

API_TOKEN = "test-phone-api-token"
TWILIO_AUTH_TOKEN = "test-twilio-auth-token"
AUTH = {"Authorization": f"Bearer {API_TOKEN}"}  # what a dialplan's CURL() or a dashboard sends
TEST_SETTINGS = PhoneSettings(
    # Callers and line share one process: on a busy machine it can be starved for over a second,
    # and a well-behaved caller must not be taken for a frozen one, nor for one that never says
    # who it is (its UUID, Twilio's start message).
    uuid_timeout_s=3.0,
    idle_timeout_s=5.0,
    start_timeout_s=3.0,
    api_token=API_TOKEN,
    twilio_auth_token=TWILIO_AUTH_TOKEN,
    # Tests open a dozen calls at once (broken ones among them) and are not about admission; the
    # default limit follows the machine's cores (4 each), so it is set here (test_admission sets 1).
    max_calls=64,
)


@contextlib.asynccontextmanager
async def phone_line(rt: Runtime, settings: PhoneSettings = TEST_SETTINGS) -> AsyncIterator[PhoneLine]:
    line = PhoneLine(
        transcriber=rt.transcriber,
        synthesizer=rt.synthesizer,
        conversation=rt.conversation,
        voicebot_settings=rt.settings,
        store=rt.store,
        settings=settings,
    )
    loopback = ("127.0.0.1", 0)
    await line.start(audiosocket=loopback, twilio=loopback, http=loopback)
    try:
        yield line
    finally:
        await line.close()


@dataclass
class Heard:
    text: str  # the bot's reply, transcribed back from the audio the caller received
    seconds: float


def transcribe_back(rt: Runtime, pcm: np.ndarray, rate: int) -> str:
    if not len(pcm):
        return ""
    return rt.transcriber.transcribe(resample(pcm, rate, 16000)).text.lower()


async def hear(
    rt: Runtime,
    caller: _Caller,
    after: float = 0.0,
    expect: tuple[str, ...] = (),
    timeout: float = 30.0,
    quiet_s: float = 1.0,
) -> Heard:
    """The bot's reply after loop time ``after``, transcribed back. With ``expect``, keep
    listening (a loaded machine may leave holes between sentences) until one of those words has
    been heard, the bot has been quiet, or ``timeout`` passes."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    heard = Heard("", 0.0)
    seen = 0
    while loop.time() < deadline:
        spoken = await wait_reply(caller, after=after, quiet_s=quiet_s, timeout=deadline - loop.time())
        if len(spoken) > seen:
            seen = len(spoken)
            pcm = np.concatenate([u.pcm for u in spoken])
            text = await asyncio.to_thread(transcribe_back, rt, pcm, caller.rate)
            heard = Heard(text, len(pcm) / caller.rate)
            if not expect or has_any(text, *expect):
                return heard
        if caller.closed.is_set():
            return heard
        await asyncio.sleep(0.1)
    return heard


async def exchange(rt: Runtime, caller: _Caller, pcm: np.ndarray, expect: tuple[str, ...] = (), timeout: float = 30.0) -> Heard:
    """Say ``pcm`` and hear the bot's answer."""
    said = await caller.say(pcm)
    return await hear(rt, caller, after=said.speech_end, expect=expect, timeout=timeout)


async def ended(line: PhoneLine, call_id: str, timeout: float = 30.0) -> CallRecord:
    """The call's record once the line has recorded its end (it notices a hang-up on its own time)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        record = line.registry.get(call_id)
        if record is not None and record.state == "ended":
            return record
        await asyncio.sleep(0.05)
    raise AssertionError(f"call {call_id} did not end: {line.registry.get(call_id)}")


def has_any(text: str, *words: str) -> bool:
    return any(w in text for w in words)
