"""A customer who was contacted about a finding hears it first in their next conversation, on the
phone line and on the speaker, and a yes starts the finding's playbook from its evidence."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from device_bridge.simulator import Simulator
from tests.proactive.conftest import HOME
from tests.waiting import COMMAND_TIMEOUT_S
from voicebot.config import Settings
from voicebot.runtime import Runtime, build_runtime

FINDING = "The back door sensor's battery is at 4%."


@pytest.fixture()
def contacted(run, sim: Simulator, mosquitto) -> Iterator[Callable[[], Runtime]]:  # type: ignore[no-untyped-def]
    """Anna was contacted about the back door sensor's battery; runtime() is a voicebot (as the
    phone line and the speaker run it) on the same store."""
    service, contacts = run()
    sim.inject("back_door_sensor", "low_battery")
    contacts.wait_for("back_door_sensor", timeout=30)
    runtimes: list[Runtime] = []

    def runtime() -> Runtime:
        settings = Settings(extra={"dialogue": {"command_timeout_s": COMMAND_TIMEOUT_S}})
        rt = build_runtime(settings, broker=mosquitto.url, home=HOME, store_path=Path(service.store_location),
                           models=False)
        runtimes.append(rt)
        return rt

    yield runtime
    for rt in runtimes:
        rt.close()


def test_the_phone_line_opens_with_the_finding_and_yes_starts_its_playbook(contacted) -> None:  # type: ignore[no-untyped-def]
    rt = contacted()
    conv = rt.conversation(channel="phone", caller="+4930555000")  # Anna's number
    greeting = conv.greet().text
    assert greeting == f"Hello, Anna! I'm the automated home assistant. Before we start: {FINDING} " \
                       "Shall I walk you through changing it?"
    reply = conv.handle("yes please")
    assert "battery is at 4%" in reply.text and "replace the batteries" in reply.text
    assert not reply.escalated
    conv.end("abandoned")
    # offered once: the next conversation does not start with it again
    again = rt.conversation(channel="phone", caller="+4930555000")
    assert FINDING not in again.greet().text
    again.end("abandoned")


def test_the_speaker_opens_with_the_finding(contacted) -> None:  # type: ignore[no-untyped-def]
    rt = contacted()
    conv = rt.conversation(channel="speaker", speaker_area="Hallway")  # no customer: the home's speaker
    assert f"Before we start: {FINDING} Shall I walk you through changing it?" in conv.greet().text
    assert "replace the batteries" in conv.handle("yes").text
    conv.end("abandoned")


def test_a_speaker_woken_without_a_greeting_says_it_after_the_first_answer(contacted) -> None:  # type: ignore[no-untyped-def]
    rt = contacted()
    conv = rt.conversation(channel="speaker", speaker_area="Hallway")
    reply = conv.handle("turn on the hallway plug")
    assert reply.actions and reply.actions[0].device_id == "hallway_plug"
    assert reply.text.endswith(f"One more thing: {FINDING} Shall I walk you through changing it?")
    assert "replace the batteries" in conv.handle("yes").text
    conv.end("abandoned")


def test_nothing_is_offered_once_it_was_fixed(contacted, sim: Simulator) -> None:  # type: ignore[no-untyped-def]
    rt = contacted()
    sim.customer_action("back_door_sensor", "replace_battery")
    store = rt.engine.openers[0].store  # type: ignore[attr-defined]
    from tests.waiting import until

    assert until(lambda: not store.findings(None, {"back_door_sensor"}), 10)
    conv = rt.conversation(channel="phone", caller="+4930555000")
    assert "battery" not in conv.greet().text
    conv.end("abandoned")


def test_a_real_phone_call_from_the_customer_opens_with_the_finding(contacted, transcriber, synthesizer) -> None:  # type: ignore[no-untyped-def]
    """The phone line as Asterisk reaches it (a wire-exact AudioSocket caller from Anna's number;
    Whisper and Piper): the first thing the caller hears is the finding."""
    import asyncio

    import aiohttp
    import numpy as np

    from voicebot.audio import resample
    from voicebot.channels.phone.peers import AudioSocketCaller
    from voicebot.phone.dial import wait_reply
    from voicebot.phone.service import PhoneLine, PhoneSettings

    rt = contacted()
    token = "proactive-test-token"

    async def call() -> str:
        line = PhoneLine(transcriber, synthesizer, rt.conversation, rt.settings, rt.store,
                         # a caller starved for a moment on a busy machine is not a frozen one
                         PhoneSettings(api_token=token, idle_timeout_s=5.0))
        await line.start(audiosocket=("127.0.0.1", 0), http=("127.0.0.1", 0))
        try:
            caller = AudioSocketCaller(*line.addresses["audiosocket"], rate=8000)
            http = "http://{}:{}".format(*line.addresses["http"])
            async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {token}"}) as session, \
                    session.post(f"{http}/calls/{caller.call_id}", data={"caller": "+49 30 555000"}) as resp:
                assert resp.status == 200
            await caller.connect()
            loop = asyncio.get_running_loop()
            deadline, heard = loop.time() + 40, ""
            try:
                # everything said since the call began, transcribed, until the finding is in it (a
                # loaded machine may pause between the greeting's sentences)
                while loop.time() < deadline and "battery" not in heard:
                    spoken = await wait_reply(caller, after=0.0, quiet_s=1.0, timeout=deadline - loop.time())
                    if spoken:
                        pcm = resample(np.concatenate([u.pcm for u in spoken]), caller.rate, 16000)
                        heard = (await asyncio.to_thread(transcriber.transcribe, pcm)).text.lower()
                    await asyncio.sleep(0.2)
            finally:
                await caller.hangup()
        finally:
            await line.close()
        return heard

    heard = asyncio.run(call())
    assert "anna" in heard and "before we start" in heard and "backdoorsensor" in heard.replace(" ", ""), heard
    assert "battery" in heard and ("4%" in heard or "4 %" in heard or "four percent" in heard), heard
