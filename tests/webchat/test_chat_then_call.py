"""One conversation, two channels, end to end: a customer reports a problem in the web chat (a
real WebSocket against uvicorn, the dialogue and a simulated home on a real broker), then calls
the phone line from their number (a wire-exact Asterisk AudioSocket caller, real Whisper and
Piper): the bot knows who is calling, brings the problem up, and a yes goes on with it."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

import aiohttp
import numpy as np

from tests.webchat.chat_client import say, serving, signed_in
from voicebot.audio import read_audio, resample
from voicebot.channels.phone.peers import AudioSocketCaller
from voicebot.phone.dial import wait_reply
from voicebot.phone.service import PhoneLine, PhoneSettings
from voicebot.runtime import Runtime

API_TOKEN = "webchat-test-phone-token"


def _speech(text: str, folder: Path, rate: int = 8000) -> np.ndarray:
    """The caller's words, by espeak-ng (a voice other than the bot's), after a breath."""
    path = folder / "turn.wav"
    subprocess.run(["espeak-ng", "-v", "en-us", "-s", "160", "-w", str(path), text], check=True)
    return np.concatenate([np.zeros(rate // 5, dtype=np.int16), read_audio(path, rate)])


async def _heard(rt: Runtime, caller: AudioSocketCaller, after: float, *words: str, timeout: float = 30.0) -> str:
    """What the bot said after ``after``, transcribed back; keeps listening until one of ``words``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    text = ""
    while loop.time() < deadline:
        spoken = await wait_reply(caller, after=after, quiet_s=1.0, timeout=deadline - loop.time())
        if spoken:
            pcm = resample(np.concatenate([u.pcm for u in spoken]), caller.rate, 16000)
            text = (await asyncio.to_thread(rt.transcriber.transcribe, pcm)).text.lower()
            if any(w in text for w in words):
                return text
        await asyncio.sleep(0.2)
    return text


def test_a_problem_reported_in_the_web_chat_is_continued_on_the_phone(webchat_runtime: Runtime, tmp_path: Path) -> None:
    rt = webchat_runtime
    rt.load_models()  # before the call: the greeting must not wait for Whisper and Piper to load
    yes = _speech("Yes.", tmp_path)

    async def chat_then_call() -> tuple[str, str, str, str | None]:
        async with serving(rt) as (web, url), signed_in(web, url, "c-jordan") as (ws, ready, greeting):
            assert greeting["text"].startswith("Hello, Jordan!")
            report = await say(ws, "The kitchen light won't turn on.")
            assert "kitchen light" in report["text"].lower(), report
            # The chat stays open in its tab; the customer picks up the phone instead.
            line = PhoneLine(rt.transcriber, rt.synthesizer, rt.conversation, rt.settings, rt.store,
                             # a caller starved for a moment on a busy machine is not a frozen one
                             PhoneSettings(api_token=API_TOKEN, idle_timeout_s=5.0))
            await line.start(audiosocket=("127.0.0.1", 0), http=("127.0.0.1", 0))
            try:
                caller = AudioSocketCaller(*line.addresses["audiosocket"], rate=8000)
                http = "http://{}:{}".format(*line.addresses["http"])
                # What the dialplan does before AudioSocket(): announce the caller's number.
                async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {API_TOKEN}"},
                                                 timeout=aiohttp.ClientTimeout(total=30)) as session, \
                        session.post(f"{http}/calls/{caller.call_id}", data={"caller": "+1 (555) 0177"}) as resp:
                    assert resp.status == 200
                await caller.connect()
                try:
                    opening = await _heard(rt, caller, 0.0, "working")
                    # bounded: a call the bot ended would never finish saying it
                    said = await asyncio.wait_for(caller.say(yes), 30)
                    answer = await _heard(rt, caller, said.speech_end, "lit", "light")
                finally:
                    await caller.hangup()
                record = line.registry.get(caller.call_id)
                assert record is not None
                customer = record.customer_id
                # The line notices the hang-up and records the call's end before it is closed.
                for _ in range(300):
                    if record.state == "ended":
                        break
                    await asyncio.sleep(0.1)
                assert record.state == "ended" and record.ended_by == "caller", record
            finally:
                await line.close()
            return opening, answer, ready["conversation_id"], customer

    # Bounded as a whole: a stall fails here, naming the await it stalled in, not at pytest's timeout.
    opening, answer, chat_id, customer = asyncio.run(asyncio.wait_for(chat_then_call(), 180))
    assert customer == "c-jordan"
    # The caller was recognised by number, and the bot opened with the chat's open problem.
    # (Whisper on a phone line may hear "kitchen line": the words around it are the bot's own.)
    assert "jordan" in opening and "about the kitchen li" in opening and "wrote to us" in opening, opening
    # "Yes" went on with that problem: the kitchen light's troubleshooting, not a question of which device.
    assert "kitchen li" in answer or "lit" in answer, answer
    calls = [c for c in rt.store.trace(customer_id="c-jordan", kind="playbook") if c.conversation_id != chat_id]
    assert calls and calls[0].device_id == "kitchen_light"
