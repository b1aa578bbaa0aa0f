"""Values in Home Assistant's slot names: numbers said as words, percent, degrees, colours,
relative changes, states, symptoms."""

from __future__ import annotations

import pytest

from voicebot.understand import Understander


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("set the thermostat to twenty one degrees", 21),
        ("set the thermostat to 21.5 degrees", 21.5),
        ("set the thermostat to twenty one point five", 21.5),
        ("Set the heating to 19°C.", 19),
        ("put the heating up to twenty-two", 22),
    ],
)
def test_temperature(nlu: Understander, text: str, value: float) -> None:
    u = nlu.understand(text)
    assert u.intent == "HassClimateSetTemperature"
    assert u.slots["temperature"] == value
    assert u.device_ids == ["thermostat"]


@pytest.mark.parametrize(
    ("text", "slot", "value"),
    [
        ("dim the floor lamp to thirty percent", "brightness", 30),
        ("floor lamp brightness to 75%", "brightness", 75),
        ("set the floor lamp to half brightness", "brightness", 50),
        ("open the living room blinds halfway", "position", 50),
        ("set the living room blinds to 40%", "position", 40),
        ("set the TV volume to twenty five percent", "volume_level", 25),
        ("mute the kitchen speaker", "volume_level", 0),
    ],
)
def test_percentages_go_to_the_slot_of_the_device_kind(nlu: Understander, text: str, slot: str, value: int) -> None:
    assert nlu.understand(text).slots[slot] == value


@pytest.mark.parametrize(
    ("text", "slot", "value"),
    [
        ("make the floor lamp brighter", "brightness_step", 20),
        ("can you make the floor lamp a bit darker", "brightness_step", -10),
        ("the floor lamp is way too bright", "brightness_step", -40),
        ("make the bedroom warmer", "temperature_step", 1),
        ("it's freezing in the bedroom", "temperature_step", 2),
        ("lower the temperature in the bedroom by 3 degrees", "temperature_step", -3),
        ("turn the tv up", "volume_step", 10),
        ("the tv is too loud", "volume_step", -20),
        ("raise the living room blinds a bit", "position_step", 10),
    ],
)
def test_relative_changes(nlu: Understander, text: str, slot: str, value: int) -> None:
    u = nlu.understand(text)
    assert u.slots.get(slot) == value, u.slots


def test_colour(nlu: Understander) -> None:
    u = nlu.understand("turn the bedside lamp warm white")
    assert (u.intent, u.slots["color"], u.device_ids) == ("HassLightSet", "warm white", ["bedside_lamp"])


@pytest.mark.parametrize(
    ("text", "state"),
    [("is the front door locked?", "locked"), ("is the back door unlocked", "unlocked"),
     ("are the bedroom curtains closed", "closed"), ("did I leave the kitchen light on", "on")],
)
def test_state_question(nlu: Understander, text: str, state: str) -> None:
    u = nlu.understand(text)
    assert (u.intent, u.slots["state"]) == ("HassGetState", state)


@pytest.mark.parametrize(
    ("text", "symptom"),
    [
        ("my kitchen lights won't come on", "wont_turn_on"),
        ("the coffee machine won't switch off", "wont_turn_off"),
        ("the hallway thing is off again", "turns_off_by_itself"),
        ("the front door lock won't unlock", "unlock_failed"),
        ("the desk lamp is not responding", "not_responding"),
        ("the coffee machine shows as unavailable", "offline"),
        ("the bedroom thermostat says 30 degrees but it's freezing", "wrong_reading"),
        ("the front door lock's battery is nearly dead", "battery"),
        ("the hall light takes ages to come on", "slow"),
        ("the desk fan makes a buzzing noise", "noisy"),
        ("the floor lamp keeps flickering", "flickering"),
        ("the garage door is stuck", "stuck"),
        ("the bedroom thermostat is broken", "not_working"),
    ],
)
def test_problem_symptom(nlu: Understander, text: str, symptom: str) -> None:
    u = nlu.understand(text)
    assert (u.intent, u.slots.get("symptom")) == ("ReportProblem", symptom)


def test_ticket_number(nlu: Understander) -> None:
    u = nlu.understand("what's happening with ticket number 4411?")
    assert (u.intent, u.slots["ticket"]) == ("TicketStatus", "4411")


def test_state_questions_about_what_sensors_sense() -> None:
    """Home Assistant's binary-sensor questions: any/which/how many, and one named device."""
    from device_bridge.home import load_home
    from voicebot.understand import Understander

    home = load_home({"areas": ["Kitchen"], "devices": [
        {"name": "Phone", "id": "phone_battery", "type": "binary_sensor", "device_class": "battery"},
        {"name": "Phone", "id": "phone_charging", "type": "binary_sensor", "device_class": "battery_charging"},
        {"name": "Gas", "type": "binary_sensor", "device_class": "gas", "area": "Kitchen"},
        {"name": "Pet Door", "type": "binary_sensor", "device_class": "door"},
    ]})
    devices, areas = [hd.device for hd in home.devices], list(home.areas)
    nlu = Understander(lambda: devices, lambda: areas)
    cases = {
        "are any batteries low?": ({"domain": "binary_sensor", "device_class": "battery", "state": "on"}, ["phone_battery"]),
        "is the phone charging?": ({"domain": "binary_sensor", "device_class": "battery_charging", "state": "on",
                                    "name": "Phone"}, ["phone_charging"]),
        "which gas sensors are on?": ({"domain": "binary_sensor", "device_class": "gas", "state": "on"}, ["gas"]),
        "is the pet door closed?": ({"domain": "binary_sensor", "device_class": "door", "state": "off",
                                     "name": "Pet Door"}, ["pet_door"]),
    }
    for text, (slots, ids) in cases.items():
        u = nlu.understand(text)
        assert (u.intent, u.device_ids) == ("HassGetState", ids), text
        assert slots.items() <= u.slots.items(), (text, u.slots)


def test_state_questions_in_german_and_spanish() -> None:
    """The same questions asked in German and Spanish are answered from the sensors (issue 12)."""
    from device_bridge.home import load_home
    from voicebot.understand import Understander

    home = load_home({"areas": ["Küche", "Cocina"], "devices": [
        {"name": "Handy", "id": "handy_akku", "type": "binary_sensor", "device_class": "battery"},
        {"name": "Küchenfenster", "id": "kuchenfenster", "type": "binary_sensor", "device_class": "window", "area": "Küche"},
        {"name": "Ventana cocina", "type": "binary_sensor", "device_class": "window", "area": "Cocina"},
        {"name": "Puerta del cobertizo", "type": "binary_sensor", "device_class": "opening"},
        {"name": "Pet Door", "type": "binary_sensor", "device_class": "door"},
        {"name": "Front Door", "type": "lock"},
    ]})
    devices, areas = [hd.device for hd in home.devices], list(home.areas)
    cases = {
        ("de", "sind Batterien schwach?"): ({"device_class": "battery", "state": "on"}, ["handy_akku"]),
        ("de", "ist das Küchenfenster offen?"): ({"device_class": "window", "state": "on"}, ["kuchenfenster"]),
        ("de", "sind alle fenster zu?"): ({"device_class": "window", "state": "off"}, None),
        ("es", "¿hay alguna ventana abierta?"): ({"device_class": "window", "state": "on"}, None),
        ("es", "¿está baja la batería del teléfono?"): ({"device_class": "battery", "state": "on"}, ["handy_akku"]),
        # a named sensor of another class: its class is the question, not "door"
        ("es", "¿Está la puerta del cobertizo abierta?"): ({"device_class": "opening", "state": "on"},
                                                          ["puerta_del_cobertizo"]),
    }
    for (language, text), (slots, ids) in cases.items():
        nlu = Understander(lambda: devices, lambda: areas)
        u = nlu.understand(text, language=language)
        assert u.intent == "HassGetState", (text, u)
        assert {"domain": "binary_sensor", **slots}.items() <= u.slots.items(), (text, u.slots)
        if ids is not None:
            assert u.device_ids == ids, (text, u.device_ids)
    # a lock question is not a door sensor's
    u = Understander(lambda: devices, lambda: areas).understand("¿está cerrada con llave la puerta?", language="es")
    assert u.slots.get("domain") != "binary_sensor", u.slots
