"""Home Assistant's slot conventions (ha_slots.py and ``ha_slots`` in data/<lang>.yaml), in a
home of this test's own: which slots a request fills is what HA's own tests expect."""

from __future__ import annotations

from typing import Any

import pytest

from device_bridge.home import load_home
from voicebot.understand import Understander


@pytest.fixture(scope="module")
def nlu() -> Understander:
    home = load_home({"areas": [{"name": "Study", "floor": "Upstairs"}, {"name": "Porch"}, {"name": "Despacho"},
                                {"name": "Baño"}], "devices": [
        {"name": "Desk Fan", "type": "fan", "area": "Study"},
        {"name": "Tower Fan", "type": "fan", "area": "Study"},
        {"name": "Study Lamp", "type": "light", "area": "Study"},
        {"name": "Porch Light", "type": "light", "area": "Porch"},
        {"name": "Movie Night", "type": "scene"},
        {"name": "Wake Up", "type": "script"},
        {"name": "Garden Tap", "type": "valve", "area": "Porch"},
        {"name": "Maria", "type": "person"},
        {"name": "Tom", "type": "person"},
        {"name": "Anwesenheit", "type": "binary_sensor", "device_class": "presence"},
        {"name": "Greenhouse", "type": "sensor", "device_class": "temperature", "area": "Porch"},
        {"name": "Study Thermostat", "type": "climate", "area": "Study"},
        {"name": "Study Blind", "type": "cover", "device_class": "blind", "area": "Study"},
        {"name": "Ventilador de pie", "type": "fan", "area": "Despacho"},
        {"name": "Lámpara del despacho", "type": "light", "area": "Despacho"},
        {"name": "Luz del baño", "type": "light", "area": "Baño"},
        {"name": "Persiana del despacho", "type": "cover", "device_class": "shutter", "area": "Despacho"},
        {"name": "Llave del riego", "type": "valve", "area": "Porch"},
    ]})
    devices, areas = [hd.device for hd in home.devices], list(home.areas)
    return Understander(lambda: devices, lambda: areas, language="en", languages=["es", "de"], learned=False)


HA = ("name", "area", "floor", "domain", "device_class", "state", "brightness", "color", "position")


def _ha(slots: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in slots.items() if k in HA}


@pytest.mark.parametrize(
    ("language", "text", "area", "intent", "slots"),
    [
        # the fans of a room said aloud are every fan there (name: all); in the speaker's room not
        ("en", "switch on the fans in the study", None, "HassTurnOn", {"area": "Study", "domain": "fan", "name": "all"}),
        ("en", "turn the study fan off", None, "HassTurnOff", {"area": "Study", "domain": "fan", "name": "all"}),
        ("en", "turn off the fans", "Study", "HassTurnOff", {"area": "Study", "domain": "fan"}),
        ("es", "apaga los ventiladores del despacho", None, "HassTurnOff",
         {"area": "Despacho", "domain": "fan", "name": "all"}),
        # Spanish: switching off every light of the house is name: all, switching them on is not
        ("es", "apaga todas las luces de la casa", None, "HassTurnOff", {"domain": "light", "name": "all"}),
        ("es", "enciende todas las luces de la casa", None, "HassTurnOn", {"domain": "light"}),
        # lights only: brightness and colour name no domain
        ("en", "dim the study lamp to 30 percent", None, "HassLightSet", {"name": "Study Lamp", "brightness": 30}),
        ("es", "pon la luz al 30%", "Despacho", "HassLightSet", {"area": "Despacho", "brightness": 30}),
        # scenes, scripts, valves and people are named with their domain
        ("en", "activate movie night", None, "HassTurnOn", {"name": "Movie Night", "domain": "scene"}),
        ("en", "run the wake up script", None, "HassTurnOn", {"name": "Wake Up", "domain": "script"}),
        ("en", "shut the garden tap", None, "HassTurnOff", {"name": "Garden Tap", "domain": "valve"}),
        ("en", "where is maria", None, "HassGetState", {"name": "Maria", "domain": "person"}),
        ("es", "activa la escena movie night", None, "HassTurnOn", {"name": "Movie Night", "domain": "scene"}),
        # a named cover's position names its domain
        ("en", "set the study blind to 40%", None, "HassSetPosition",
         {"name": "Study Blind", "domain": "cover", "position": 40}),
        ("es", "pon la llave del riego al 30%", None, "HassSetPosition",
         {"name": "Llave del riego", "domain": "valve", "position": 30}),
        # "la habitación" is the room the speaker is in here, not a room named: no name: all
        ("es", "apaga los ventiladores de la habitación", "Despacho", "HassTurnOff",
         {"area": "Despacho", "domain": "fan"}),
    ],
)
def test_slots_follow_home_assistant(nlu: Understander, language: str, text: str, area: str | None, intent: str,
                                     slots: dict[str, Any]) -> None:
    u = nlu.understand(text, language=language, speaker_area=area)
    assert u.intent == intent, u
    assert _ha(u.slots) == slots


def test_name_all_still_acts_on_every_device_of_the_room(nlu: Understander) -> None:
    u = nlu.understand("turn on the fans in the study", language="en")
    assert sorted(u.device_ids) == ["desk_fan", "tower_fan"]


@pytest.mark.parametrize(
    ("language", "text", "devices", "state"),
    [
        # people at home are the home's persons, not a presence sensor
        ("en", "is somebody at home", ["maria", "tom"], "home"),
        ("en", "how many people are home right now", ["maria", "tom"], "home"),
        ("en", "is tom home", ["tom"], "home"),
        # the home zone in the language's own words is the state home
        ("de", "ist Tom daheim", ["tom"], "home"),
        ("de", "ist jemand zu Hause", ["maria", "tom"], "home"),
    ],
)
def test_people_at_home_are_persons(nlu: Understander, language: str, text: str, devices: list[str],
                                    state: str) -> None:
    u = nlu.understand(text, language=language)
    assert u.intent == "HassGetState"
    assert (sorted(u.device_ids), u.slots.get("domain"), u.slots.get("state")) == (devices, "person", state)


def test_a_named_temperature_sensor_is_read_as_its_state(nlu: Understander) -> None:
    u = nlu.understand("what's the greenhouse temperature", language="en")
    assert (u.intent, u.device_ids) == ("HassGetState", ["greenhouse"])
    thermostat = nlu.understand("what's the temperature in the study", language="en")
    assert (thermostat.intent, thermostat.device_ids) == ("HassClimateGetTemperature", ["study_thermostat"])


@pytest.mark.parametrize("text", ["apaga los focos del despacho", "apaga cada bombilla del despacho"])
def test_spanish_words_for_bulbs_are_lights(nlu: Understander, text: str) -> None:
    u = nlu.understand(text, language="es")
    assert (u.intent, u.device_ids) == ("HassTurnOff", ["l_mpara_del_despacho"])


@pytest.mark.parametrize(
    "text",
    ["who is the mayor of springfield", "check my inbox for new messages", "how is the weather looking",
     "are there any concerts on near me"],
)
def test_questions_about_nothing_of_the_home_are_no_device_questions(nlu: Understander, text: str) -> None:
    u = nlu.understand(text, language="en")
    assert u.intent is None, u
    assert u.device_ids == [] and u.candidates == []


def test_who_is_in_a_room_of_the_home_is_about_people(nlu: Understander) -> None:
    u = nlu.understand("who is in the study", language="en")
    assert u.intent == "HassGetState"
    assert u.slots.get("domain") == "person"
