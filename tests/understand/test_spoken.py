"""Understanding what Whisper actually writes: real recordings, and spoken commands (Piper's
voice) transcribed by the bundled Whisper tiny.en, then understood."""

from __future__ import annotations

from pathlib import Path

import pytest

from voicebot.audio import read_audio
from voicebot.understand import Understander


def test_real_recording_of_a_command(transcriber, shared_audio: Path, nlu: Understander) -> None:
    heard = transcriber.transcribe(read_audio(shared_audio / "would_you_please_turn_on_living_room_lamp.wav"))
    u = nlu.understand(heard.text)
    assert u.intent == "HassTurnOn", heard.text
    assert u.device_ids == ["floor_lamp"]  # the living room's lamp, not its ceiling light (nor the TV)


def test_real_recording_out_of_scope(transcriber, shared_audio: Path, nlu: Understander) -> None:
    heard = transcriber.transcribe(read_audio(shared_audio / "what_time_is_it.wav"))
    u = nlu.understand(heard.text)
    assert u.intent is None and u.device_ids == []


@pytest.mark.parametrize(
    ("spoken", "intent", "slot", "value", "devices"),
    [
        ("Set the thermostat to twenty one degrees.", "HassClimateSetTemperature", "temperature", 21, ["thermostat"]),
        ("Dim the floor lamp to thirty percent.", "HassLightSet", "brightness", 30, ["floor_lamp"]),
        ("My kitchen lights won't come on.", "ReportProblem", "symptom", "wont_turn_on",
         ["kitchen_light", "under_cabinet_lights"]),
        ("Is the front door locked?", "HassGetState", "state", "locked", ["front_door_lock"]),
    ],
)
def test_spoken_command_round_trip(transcriber, synthesizer, nlu: Understander, spoken: str, intent: str,
                                   slot: str, value: object, devices: list[str]) -> None:
    heard = transcriber.transcribe(synthesizer.speak_all(spoken, 16000))
    u = nlu.understand(heard.text)
    assert (u.intent, u.slots.get(slot)) == (intent, value), heard.text
    assert sorted(u.device_ids) == devices
