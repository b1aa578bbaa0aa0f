"""A sentence that describes a fault is a problem report about that device, never a command:
"the blinds stop halfway" must not move the blinds to 50%. A device the home lacks gets none."""

from __future__ import annotations

import pytest

from device_bridge.devices import Area, Device, DeviceType
from voicebot.understand import Understander

AREAS = [Area("Living Room"), Area("Kitchen"), Area("Office")]
HOME = [
    Device("living_room_blinds", "Living Room Blinds", DeviceType("cover"), area="Living Room", device_class="blind"),
    Device("coffee_machine", "Coffee Machine", DeviceType("switch"), area="Kitchen", device_class="outlet"),
    Device("robot_vacuum", "Robot Vacuum", DeviceType("vacuum"), area="Living Room"),
    Device("office_window", "Office Window", DeviceType("binary_sensor"), area="Office", device_class="window"),
    Device("garage_door", "Garage Door", DeviceType("cover"), area="Office", device_class="garage"),
]


@pytest.fixture(scope="module")
def home_nlu() -> Understander:
    return Understander(lambda: HOME, lambda: AREAS, learned=False)


@pytest.fixture(scope="module")
def bare_nlu() -> Understander:
    """A home with none of those devices."""
    kitchen_light = Device("kitchen_light", "Kitchen Light", DeviceType("light"), area="Kitchen")
    return Understander(lambda: [kitchen_light], lambda: AREAS, learned=False)


REPORTS = [
    ("The blinds stop halfway", "stuck", ["living_room_blinds"]),
    ("the blinds stopped halfway down", "stuck", ["living_room_blinds"]),
    ("my blinds keep stopping half way", "stuck", ["living_room_blinds"]),
    ("the coffee machine keeps tripping", "tripping", ["coffee_machine"]),
    ("the coffee machine trips the breaker", "tripping", ["coffee_machine"]),
    ("the vacuum won't dock", "not_docking", ["robot_vacuum"]),
    ("the roomba doesn't go back to its dock", "not_docking", ["robot_vacuum"]),
    ("the office window says open when it's closed", "wrong_reading", ["office_window"]),
    ("the garage door shows closed when it is open", "wrong_reading", ["garage_door"]),
]


@pytest.mark.parametrize(("text", "symptom", "devices"), REPORTS)
def test_a_fault_statement_is_a_report_about_that_device(home_nlu: Understander, text: str, symptom: str,
                                                        devices: list[str]) -> None:
    u = home_nlu.understand(text)
    assert (u.intent, u.slots.get("symptom"), u.device_ids) == ("ReportProblem", symptom, devices)


@pytest.mark.parametrize(("text", "symptom", "devices"), REPORTS)
def test_a_device_the_home_lacks_gets_no_action(bare_nlu: Understander, text: str, symptom: str,
                                               devices: list[str]) -> None:
    u = bare_nlu.understand(text)
    assert u.intent == "ReportProblem" and u.device_ids == []


@pytest.mark.parametrize(
    ("text", "intent"),
    [("open the blinds halfway", "HassSetPosition"), ("set the blinds to half", "HassSetPosition"),
     ("send the vacuum back to its dock", "HassVacuumReturnToBase"), ("turn on the coffee machine", "HassTurnOn")],
)
def test_commands_stay_commands(home_nlu: Understander, text: str, intent: str) -> None:
    assert home_nlu.understand(text).intent == intent


LIVING_ROOM = [
    Device("reading_lamp", "Reading Lamp", DeviceType("light"), area="Living Room"),
    Device("floor_lamp", "Floor Lamp", DeviceType("light"), area="Living Room"),
    Device("kitchen_light", "Kitchen Light", DeviceType("light"), area="Kitchen"),
]


@pytest.fixture(scope="module")
def lamps_nlu() -> Understander:
    return Understander(lambda: LIVING_ROOM, lambda: AREAS, learned=False)


@pytest.mark.parametrize(
    ("text", "area"),
    [("turn on the lamp", "Living Room"), ("turn on the light in the living room", None),
     ("switch off the living room lamp", None)],
)
def test_a_singular_name_that_fits_two_devices_asks_which(lamps_nlu: Understander, text: str,
                                                         area: str | None) -> None:
    u = lamps_nlu.understand(text, speaker_area=area)
    assert u.device_ids == [] and sorted(u.candidates) == ["floor_lamp", "reading_lamp"]


@pytest.mark.parametrize(
    ("text", "area"),
    [("turn on the lamps", "Living Room"), ("turn on all the lights in the living room", None),
     ("turn on the lights in the living room", None), ("turn off the living room", None)],
)
def test_plural_or_all_means_every_one(lamps_nlu: Understander, text: str, area: str | None) -> None:
    u = lamps_nlu.understand(text, speaker_area=area)
    assert sorted(u.device_ids) == ["floor_lamp", "reading_lamp"]
