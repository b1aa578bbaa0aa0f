"""Scenes and scripts are what they are named (issue 12): "turn off movie night" is about the
scene (which is run, never switched back), not a question about which device is meant; "start
movie night" runs it. Real Mosquitto and simulator for the conversation."""

from __future__ import annotations

from pathlib import Path

import pytest

from device_bridge.devices import Device
from tests.waiting import COMMAND_TIMEOUT_S, until
from voicebot.dialogue.settings import DialogueSettings
from voicebot.store import Store
from voicebot.testing.scenario import simulated_home
from voicebot.understand import Understander

HOME = """
areas: [{name: Living Room, floor: Ground}]
devices:
  - {name: Living Room Lamp, type: light, area: Living Room}
  - {name: TV, type: media_player, area: Living Room}
  - {name: Movie Night, type: scene, convention: homeassistant, area: Living Room}
  - {name: Goodnight, type: script, convention: homeassistant}
"""


@pytest.mark.parametrize(("text", "intent", "device"), [
    ("turn off movie night", "HassTurnOff", "Movie Night"),
    ("switch the goodnight script off", "HassTurnOff", "Goodnight"),
    ("start movie night", "HassTurnOn", "Movie Night"),
    ("trigger goodnight", "HassTurnOn", "Goodnight"),
    ("activate movie night", "HassTurnOn", "Movie Night"),
])
def test_the_scene_or_script_named_is_the_target(
    demo: tuple[Understander, dict[str, Device], list[str]], text: str, intent: str, device: str,
) -> None:
    nlu, devices, _ = demo
    u = nlu.understand(text, None, speaker_area="Living Room")
    assert u.intent == intent and [devices[i].name for i in u.device_ids] == [device], (u.intent, u.device_ids, u.matched)
    assert not u.candidates


def test_turning_a_scene_off_is_explained_not_asked_about(mosquitto, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "home.yaml"
    path.write_text(HOME)
    with simulated_home(mosquitto.url, path) as h:
        conv = h.engine(DialogueSettings(command_timeout_s=COMMAND_TIMEOUT_S), Store()).conversation("chat")
        out = conv.handle("turn off movie night")
        assert "movie night" in out.text.lower() and "switched off" in out.text, out.text
        assert "which" not in out.text.lower() and not out.actions, out.text
        assert h.simulator.activations("movie_night") == 0
        out = conv.handle("start movie night")
        assert until(lambda: h.simulator.activations("movie_night") == 1, 15), out.text
        assert h.simulator.state("tv")["state"] != "on" and h.simulator.state("living_room_lamp")["state"] == "off"
