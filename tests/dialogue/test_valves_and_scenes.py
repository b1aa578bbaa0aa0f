"""Valves, scenes and scripts by voice (issue 12): a water or gas valve moves only after a spoken
yes, like a lock, and is reported open or closed only when it says so; a scene is "on" only when
the broker accepted the command, and nothing is claimed about the devices it sets. Real Mosquitto,
real simulator."""

from __future__ import annotations

from pathlib import Path

from tests.waiting import COMMAND_TIMEOUT_S, until
from voicebot.dialogue.settings import DialogueSettings
from voicebot.store import Store
from voicebot.testing.scenario import simulated_home

HOME = """
areas: [{name: Utility Room, floor: Ground}, {name: Living Room, floor: Ground}]
devices:
  - {name: Main Water Valve, aliases: [water valve], type: valve, device_class: water, area: Utility Room,
     state: {state: closed}}
  - {name: Garden Valve, type: valve, convention: homeassistant, area: Utility Room, state: {state: closed}}
  - {name: Living Room Lamp, type: light, area: Living Room}
  - {name: Movie Night, type: scene, convention: homeassistant, area: Living Room}
  - {name: Goodnight, type: script, convention: homeassistant}
"""


def _home(tmp_path: Path) -> Path:
    path = tmp_path / "home.yaml"
    path.write_text(HOME)
    return path


def test_the_water_valve_asks_first_then_acts_and_reports_what_it_did(mosquitto, tmp_path) -> None:  # type: ignore[no-untyped-def]
    with simulated_home(mosquitto.url, _home(tmp_path)) as h:
        conv = h.engine(DialogueSettings(command_timeout_s=COMMAND_TIMEOUT_S), Store()).conversation("chat")
        ask = conv.handle("open the water valve")
        assert not ask.actions and "to be sure" in ask.text and "main water valve" in ask.text, ask.text
        assert h.simulator.state("main_water_valve")["state"] == "closed"
        done = conv.handle("yes")
        assert [a.outcome for a in done.actions] == ["confirmed"], done.text
        assert "open" in done.text and h.simulator.state("main_water_valve")["state"] == "open"
        # "no" leaves it as it is
        assert "to be sure" in conv.handle("close the water valve").text
        assert not conv.handle("no").actions and h.simulator.state("main_water_valve")["state"] == "open"


def test_a_valve_that_does_not_answer_is_never_said_to_be_closed(mosquitto, tmp_path) -> None:  # type: ignore[no-untyped-def]
    with simulated_home(mosquitto.url, _home(tmp_path)) as h:
        h.simulator.set_state("garden_valve", {"state": "open"})
        assert until(lambda: h.bridge.get("garden_valve").state.get("state") == "open", 15)
        h.inject("Garden Valve", "unresponsive")
        conv = h.engine(DialogueSettings(command_timeout_s=1.0), Store()).conversation("chat")
        out = conv.handle("close the garden valve")
        assert [a.outcome for a in out.actions] != ["confirmed"] and "did not respond" in out.text, out.text


def test_a_scene_and_a_script_run_and_nothing_else_is_claimed(mosquitto, tmp_path) -> None:  # type: ignore[no-untyped-def]
    with simulated_home(mosquitto.url, _home(tmp_path)) as h:
        conv = h.engine(DialogueSettings(command_timeout_s=COMMAND_TIMEOUT_S), Store()).conversation("chat")
        out = conv.handle("activate movie night")
        assert out.text.startswith("The movie night is on.") and "lamp" not in out.text.lower(), out.text
        assert until(lambda: h.simulator.activations("movie_night") == 1, 15)
        out = conv.handle("run the goodnight script")
        assert [a.outcome for a in out.actions] == ["confirmed"], out.text
        assert until(lambda: h.simulator.activations("goodnight") == 1, 15)
        assert h.simulator.state("living_room_lamp")["state"] == "off"
