"""Corrections are parsed from data in three languages, and learnt names are stored per home,
used to rewrite what the customer says, and listed and deleted with `voicebot learned`."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from device_bridge.devices import Device, DeviceType
from voicebot.dialogue.corrections import LearnedNames, parse_correction, spoken_phrase
from voicebot.store import Store

if TYPE_CHECKING:
    from tests.conftest import CliDone

DEVICES = [
    Device("living_room_ceiling_light", "Ceiling Light", DeviceType.LIGHT, area="Living Room"),
    Device("bedroom_ceiling_light", "Ceiling Light", DeviceType.LIGHT, area="Bedroom"),
    Device("floor_lamp", "Floor Lamp", DeviceType.LIGHT, area="Living Room"),
]


@pytest.mark.parametrize(
    ("text", "language", "kind", "target"),
    [
        ("no, I meant the floor lamp", "en", "meant", "floor lamp"),
        ("not that one, the other one", "en", "other", ""),
        ("the other lamp", "en", "other", ""),
        ("put it back", "en", "undo", ""),
        ("the big light is the ceiling light", "en", "teach", "ceiling light"),
        ("nein, ich meinte die Stehlampe", "de", "meant", "stehlampe"),
        ("mach das rückgängig", "de", "undo", ""),
        ("no, me refería a la lámpara de pie", "es", "meant", "lámpara de pie"),
        ("la otra", "es", "other", ""),
    ],
)
def test_corrections_are_recognised(text: str, language: str, kind: str, target: str) -> None:
    c = parse_correction(text, language)
    assert c is not None and c.kind == kind and c.target == target


@pytest.mark.parametrize("text", ["turn on the lamp", "is the kitchen light on", "it is fine", "what is the temperature"])
def test_requests_are_not_corrections(text: str) -> None:
    c = parse_correction(text)
    assert c is None or c.kind == "teach"  # a statement is only a lesson when it names a device (checked later)


@pytest.mark.parametrize(("text", "language"), [
    ("where is Joseph", "en"), ("what is the living room lamp", "en"), ("who is the floor lamp", "en"),
    ("wo ist die Stehlampe", "de"), ("was ist die Stehlampe", "de"), ("dónde está la lámpara", "es"),
    ("qué es la lámpara de pie", "es"),
])
def test_a_question_never_teaches_a_name(text: str, language: str) -> None:
    # "where is Joseph" was stored as "from now on, 'where' means Joseph"
    assert parse_correction(text, language) is None


def test_a_phrase_is_taken_from_a_request() -> None:
    assert spoken_phrase("turn on the reading light please") == "reading light"
    assert spoken_phrase("switch off my big light in the living room") == "big light"


def test_learnt_names_are_per_home_and_rewrite_requests(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.sqlite3")
    names = LearnedNames(store)
    names.learn("alice", "the big light", "living_room_ceiling_light", "en", "taught")
    assert names.rewrite("alice", "turn on the big light", DEVICES) == "turn on the living room ceiling light"
    assert names.rewrite("bob", "turn on the big light", DEVICES) == "turn on the big light"
    names.learn("alice", "big light", "floor_lamp")  # taught again: the newer meaning wins
    assert [n.device_id for n in names.names("alice")] == ["floor_lamp"]
    assert names.rewrite("alice", "the big light", DEVICES[:1]) == "the big light"  # device gone: no rewrite
    store.close()


def test_the_cli_lists_and_forgets(tmp_path: Path, voicebot_cli: Callable[..., CliDone]) -> None:
    db = tmp_path / "s.sqlite3"
    store = Store(db)
    LearnedNames(store).learn("alice", "big light", "living_room_ceiling_light", "en", "taught")
    store.close()

    def run(*args: str) -> CliDone:  # the `voicebot learned` commands, in this process
        return voicebot_cli(["learned", *args, "--store", str(db)])

    listed = run("list", "--customer", "alice")
    assert listed.returncode == 0 and "big light" in listed.stdout and "living_room_ceiling_light" in listed.stdout
    assert run("forget", "--customer", "alice", "big light").returncode == 0
    again = run("forget", "--customer", "alice", "big light")
    assert again.returncode == 1 and "nothing learnt" in again.stderr
    assert "big light" not in run("list").stdout
