"""A room or name that matches nothing never falls back to the only device of that kind
(issue 19 finding 1): in a home whose only light is a floor lamp in the living room, "turn on
the garage light" must not switch the floor lamp on."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from device_bridge.home import load_home
from voicebot.understand import ConversationContext, Understander

ONE_LIGHT = {
    "areas": [{"name": "Living Room"}],
    "devices": [{"name": "Floor Lamp", "type": "light", "area": "Living Room"}],
}


@pytest.fixture(scope="module")
def one_light() -> Understander:
    home = load_home(ONE_LIGHT)
    devices, areas = [hd.device for hd in home.devices], list(home.areas)
    return Understander(lambda: devices, lambda: areas)


@pytest.mark.parametrize("text", [
    "turn on the garage light",
    "turn on the light in the garage",
    "turn on the bedroom lamp",
    "switch off the attic lights",
    "turn on the disco light",
    "turn on the garage",
    "turn on the lights upstairs",
])
@pytest.mark.parametrize("speaker_area", [None, "Living Room"])
def test_a_target_that_is_not_here_operates_nothing(one_light: Understander, text: str, speaker_area: str | None) -> None:
    u = one_light.understand(text, ConversationContext(), speaker_area=speaker_area)
    assert u.device_ids == [], (text, u)


def test_nor_the_previous_turns_device(one_light: Understander) -> None:
    ctx = ConversationContext()
    first = one_light.understand("turn on the floor lamp", ctx)
    ctx.update(first)
    assert first.device_ids == ["floor_lamp"]
    assert one_light.understand("now the garage light", ctx).device_ids == []


@pytest.mark.parametrize("text", ["turn on the light", "turn on the living room light", "turn on the floor lamp please"])
def test_what_is_here_still_works(one_light: Understander, text: str) -> None:
    assert one_light.understand(text, ConversationContext()).device_ids == ["floor_lamp"]


def test_chat_does_not_operate_the_floor_lamp(tmp_path: Path) -> None:
    home = tmp_path / "home.yaml"
    home.write_text(json.dumps(ONE_LIGHT), encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-c", "from voicebot.cli import main; main()", "chat", "--json", "--home", str(home)],
        input="turn on the garage light\n", capture_output=True, text=True, timeout=180,
    )
    assert done.returncode == 0, done.stderr
    turn = json.loads(done.stdout.splitlines()[0])
    assert turn["actions"] == [], turn
    assert "floor lamp" not in turn["reply"].lower()
