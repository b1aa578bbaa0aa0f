"""Readings that went wrong before, each a general rule: a door in a place with smart locks and
no motorised door is its lock, but a garage door is a kind of door and never a lock nor "a door in
the garage"; a fault with "the light" in a room with several lights is about
one of them (which, is asked); "stop <scene>" is about the scene, not a media player."""

from __future__ import annotations

import pytest

from device_bridge.home import load_home
from voicebot.understand import Understander


@pytest.fixture(scope="module")
def nlu() -> Understander:
    home = load_home({"areas": [{"name": "Cocina"}, {"name": "Salón"}, {"name": "Diele"}, {"name": "Werkstatt"},
                                {"name": "Den"}, {"name": "Entrada"}, {"name": "Garage"}], "devices": [
        {"name": "Luz del techo", "id": "techo_salon", "type": "light", "area": "Salón"},
        {"name": "Luz del techo", "id": "techo_cocina", "type": "light", "area": "Cocina"},
        {"name": "Tira LED", "type": "light", "area": "Cocina"},
        {"name": "Haustür", "type": "lock", "area": "Diele"},
        {"name": "Kellertür", "type": "lock", "area": "Diele"},
        {"name": "Cerradura principal", "type": "lock", "area": "Entrada"},
        {"name": "Werkstatttor", "type": "cover", "device_class": "door", "area": "Werkstatt"},
        {"name": "Side Door", "type": "lock", "area": "Garage"},
        {"name": "Movie Night", "type": "scene"},
        {"name": "Bedtime", "type": "script"},
        {"name": "TV", "type": "media_player", "device_class": "tv", "area": "Den"},
    ]})
    devices, areas = [hd.device for hd in home.devices], list(home.areas)
    return Understander(lambda: devices, lambda: areas, language="en", languages=["de", "es"], learned=False)


@pytest.mark.parametrize(
    ("language", "text", "area", "intent", "devices", "candidates"),
    [
        # opening the doors of a hall with smart locks unlocks them (HA: a lock is on when locked)
        ("de", "mach in der Diele die Türen auf", None, "HassTurnOff", ["haust_r", "kellert_r"], []),
        ("de", "sperr alle Türen in der Diele ab", None, "HassTurnOn", ["haust_r", "kellert_r"], []),
        ("de", "entriegel die Türen in der Diele", None, "HassTurnOff", ["haust_r", "kellert_r"], []),
        # one door of two: which one is asked
        ("de", "mach die Tür auf", "Diele", "HassTurnOff", [], ["haust_r", "kellert_r"]),
        ("es", "abre la puerta de la entrada", None, "HassTurnOff", ["cerradura_principal"], []),
        # a motorised door where it is said stays a door that opens
        ("de", "mach die Tür in der Werkstatt auf", None, "HassTurnOn", ["werkstatttor"], []),
    ],
)
def test_doors_are_their_locks_where_no_door_opens(
    nlu: Understander, language: str, text: str, area: str | None, intent: str, devices: list[str],
    candidates: list[str],
) -> None:
    u = nlu.understand(text, language=language, speaker_area=area)
    assert (u.intent, sorted(u.device_ids), sorted(u.candidates)) == (intent, devices, candidates), u


@pytest.mark.parametrize(
    ("language", "text", "area"),
    [
        ("es", "la luz de la cocina no se enciende", None),
        ("es", "la luz de la cocina no funciona", "Salón"),
        ("en", "the light in the cocina keeps flickering", None),
    ],
)
def test_a_fault_with_one_light_of_several_asks_which(nlu: Understander, language: str, text: str,
                                                       area: str | None) -> None:
    u = nlu.understand(text, language=language, speaker_area=area)
    assert u.intent == "ReportProblem"
    assert u.device_ids == []  # never troubleshooting a light of the room that was not meant
    assert sorted(u.candidates) == ["techo_cocina", "tira_led"]


def test_a_fault_with_the_lights_of_a_room_is_about_them_all(nlu: Understander) -> None:
    u = nlu.understand("las luces de la cocina no se encienden", language="es")
    assert u.intent == "ReportProblem"
    assert sorted(u.device_ids) == ["techo_cocina", "tira_led"]


@pytest.mark.parametrize("text", ["stop movie night", "please end the bedtime script"])
def test_stopping_a_scene_or_script_is_about_it(nlu: Understander, text: str) -> None:
    u = nlu.understand(text, language="en", speaker_area="Den")
    assert u.intent == "HassTurnOff"
    assert u.device_ids in (["movie_night"], ["bedtime"])
    assert u.slots.get("domain") in ("scene", "script")


def test_stopping_the_movie_still_pauses_the_player(nlu: Understander) -> None:
    u = nlu.understand("stop the movie", language="en", speaker_area="Den")
    assert u.intent == "HassMediaPause"
    assert u.device_ids == ["tv"]


@pytest.mark.parametrize(
    ("language", "text", "intent"),
    [
        ("en", "open the garage door", "HassTurnOn"),
        ("en", "close the garage door", "HassTurnOff"),
        ("es", "abre la puerta de la cochera", "HassTurnOn"),
        ("es", "cierra el portón del garaje", "HassTurnOff"),
    ],
)
def test_a_garage_door_is_a_kind_not_a_room_nor_a_lock(nlu: Understander, language: str, text: str,
                                                       intent: str) -> None:
    u = nlu.understand(text, language=language)
    assert u.intent == intent
    assert (u.slots.get("domain"), u.slots.get("device_class"), u.slots.get("area")) == ("cover", "garage", None)
    assert "side_door" not in u.device_ids + u.candidates  # the garage's lock is not its door
