"""The smart speaker says a contact at the next good moment: after the customer has finished
speaking and the bot has answered, never over either; and not when the conversation already
opened with the same finding. A real session (Whisper, Piper) over a virtual sound card."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import numpy as np

from device_bridge.simulator import Simulator
from tests.proactive.conftest import HOME
from tests.waiting import until
from voicebot.channels.virtual import Cue, VirtualLine
from voicebot.config import Settings
from voicebot.demo import espeak
from voicebot.proactive.announce import Announcements
from voicebot.runtime import build_runtime
from voicebot.session import Session, SessionSettings

SAID = ("A note from your home assistant: The back door sensor's battery is at 4%. "
        "Just ask me whenever you'd like help with it.")


def test_the_speaker_announces_a_contact_when_nobody_is_talking(run, sim: Simulator, mosquitto, transcriber,  # type: ignore[no-untyped-def]
                                                                 synthesizer) -> None:
    service, contacts = run()
    rt = build_runtime(Settings(), broker=mosquitto.url, home=HOME, store_path=Path(service.store_location), models=False)
    try:
        conn = rt.bridge.conn  # type: ignore[attr-defined]
        announcements = Announcements(conn, service.options.contact_topic, lambda: {d.id for d in rt.bridge.devices()},
                                      quiet_s=0.6).start()
        assert conn.wait_subscribed(10)
        talking: list[float] = []

        def battery_runs_low_while_the_customer_talks() -> None:
            assert until(lambda: session.listener.mid_turn, 10)
            talking.append(session.listener.audio_t)
            sim.inject("back_door_sensor", "low_battery")

        cue = Cue(espeak("thank you very much"), "thank you very much",
                  on_start=lambda: threading.Thread(target=battery_runs_low_while_the_customer_talks).start())
        line = VirtualLine([cue], speed=4.0, tail_s=1.0, max_s=60)
        session = Session(line, rt.conversation(channel="speaker", speaker_area="Hallway"), transcriber,
                          synthesizer, rt.settings, session_settings=SessionSettings(), announce=announcements.take)
        def announcement_sounded() -> bool:
            return bool(session.announced) and any(f.any() for f in line._spoken[round(session.announced[0][0] / 0.03):])

        # once the customer has spoken, the line stays open until an announcement sounded (or a minute passed)
        line.busy = lambda: session.busy() or (cue.speech_end is not None and not announcement_sounded())
        result = asyncio.run(session.run())
        assert contacts.about("back_door_sensor")
        replies = [(t.user_text, t.reply_text) for t in result.turns]
        assert [t for _, t in session.announced] == [SAID], replies
        at = session.announced[0][0]
        assert talking and cue.speech_end is not None and at > cue.speech_end  # not over the customer
        answered = [t for t in result.turns if not t.ignored]
        assert answered and "welcome" in answered[0].reply_text.lower(), replies
        # not over the bot either: the speaker was silent for the half second before it, and said it after
        spoken = line._spoken  # the speaker's output, 30 ms per frame
        i = round(at / 0.03)
        assert not np.concatenate(spoken[i - 15:i]).any() and np.concatenate(spoken[i:]).any()
        announcements.stop()
    finally:
        rt.close()


def test_a_finding_the_conversation_opened_with_is_not_announced_again(run, sim: Simulator, mosquitto) -> None:  # type: ignore[no-untyped-def]
    service, contacts = run()
    rt = build_runtime(Settings(), broker=mosquitto.url, home=HOME, store_path=Path(service.store_location), models=False)
    try:
        findings = rt.engine.openers[0].store  # type: ignore[attr-defined]

        def offered(finding_id: int) -> bool:
            f = findings.finding(finding_id)
            return f is not None and f.offered_at is not None

        announcements = Announcements(rt.bridge.conn, service.options.contact_topic,  # type: ignore[attr-defined]
                                      lambda: {d.id for d in rt.bridge.devices()}, quiet_s=0.0,
                                      already_said=offered).start()
        assert rt.bridge.conn.wait_subscribed(10)  # type: ignore[attr-defined]
        sim.inject("back_door_sensor", "low_battery")
        contacts.wait_for("back_door_sensor")
        assert until(lambda: announcements.pending() == 1, 15)
        conv = rt.conversation(channel="speaker")
        assert "battery is at 4%" in conv.greet().text
        assert announcements.take(10.0) is None and announcements.pending() == 0
        conv.end("abandoned")
        announcements.stop()
    finally:
        rt.close()


def test_an_open_question_holds_the_announcement(run, sim: Simulator, mosquitto, transcriber,  # type: ignore[no-untyped-def]
                                                 synthesizer) -> None:
    service, contacts = run()
    rt = build_runtime(Settings(), broker=mosquitto.url, home=HOME, store_path=Path(service.store_location), models=False)
    try:
        announcements = Announcements(rt.bridge.conn, service.options.contact_topic,  # type: ignore[attr-defined]
                                      lambda: {d.id for d in rt.bridge.devices()}, quiet_s=0.3).start()
        assert rt.bridge.conn.wait_subscribed(10)  # type: ignore[attr-defined]
        sim.inject("back_door_sensor", "low_battery")
        contacts.wait_for("back_door_sensor")
        assert until(lambda: announcements.pending() == 1, 15)
        # the greeting asks "Shall I walk you through changing it?"; the customer has not answered
        line = VirtualLine([], speed=4.0, tail_s=4.0, max_s=30)
        session = Session(line, rt.conversation(channel="speaker"), transcriber, synthesizer, rt.settings,
                          session_settings=SessionSettings(), announce=announcements.take)
        line.busy = session.busy
        result = asyncio.run(session.run())
        assert "Shall I walk you through changing it?" in result.greeting
        # four seconds of quiet after the question, far more than the 0.3 s an announcement needs: held
        assert session.announced == [] and announcements.pending() == 1
        announcements.stop()
    finally:
        rt.close()
