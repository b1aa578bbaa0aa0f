"""The device model (capabilities, validation, confirmation) and home files."""

from __future__ import annotations

import pytest

from device_bridge.devices import (
    CAPABILITIES,
    OPERABLE,
    Code,
    Device,
    DeviceType,
    InvalidCommand,
    confirms,
    validate_changes,
)
from device_bridge.home import FAULTS, HomeFileError, builtin_home, load_home

LAMP = Device("lamp", "Lamp", DeviceType.LIGHT)
DIMMER_ONLY = Device("d", "Desk Lamp", DeviceType.LIGHT, features=["state", "brightness"])


def test_commands_are_normalised_to_home_assistant_terms() -> None:
    assert validate_changes(LAMP, {"state": "ON"}) == {"state": "on"}
    assert validate_changes(LAMP, {"state": "toggle"}, {"state": "on"}) == {"state": "off"}
    assert validate_changes(LAMP, {"brightness_pct": 40}) == {"brightness": 102, "state": "on"}
    assert validate_changes(LAMP, {"brightness": 0}) == {"state": "off"}
    assert validate_changes(LAMP, {"color_temp_kelvin": 2700}) == {"color_temp": 370, "state": "on"}
    assert validate_changes(LAMP, {"rgb_color": [255, 0, 0]}) == {"hs_color": [0.0, 100.0], "state": "on"}
    assert validate_changes(LAMP, {"color_name": "Orange"})["hs_color"] == [38.8, 100.0]
    lock = Device("l", "Front Door", DeviceType.LOCK)
    assert validate_changes(lock, {"state": "unlock"}) == {"state": "unlocked"}
    cover = Device("c", "Garage Door", DeviceType.COVER, device_class="garage", features=["state"])
    assert validate_changes(cover, {"state": "close"}) == {"state": "closed"}
    vacuum = Device("v", "Robot", DeviceType.VACUUM)
    assert validate_changes(vacuum, {"state": "return_to_base"}) == {"state": "docked"}
    tv = Device("t", "TV", DeviceType.MEDIA_PLAYER)
    assert validate_changes(tv, {"volume": "0.5", "is_volume_muted": "off"}) == {"volume_level": 0.5, "is_volume_muted": False}


@pytest.mark.parametrize(
    ("device", "changes", "code", "facts"),
    [
        (DIMMER_ONLY, {"color_name": "red"}, Code.UNSUPPORTED, {"attribute": "hs_color"}),
        (LAMP, {"brightness": -1}, Code.OUT_OF_RANGE, {"attribute": "brightness", "value": -1, "low": 0, "high": 255}),
        (LAMP, {"brightness": True}, Code.NOT_A_NUMBER, {"attribute": "brightness", "value": True}),
        (LAMP, {"brightness_pct": 120}, Code.OUT_OF_RANGE,
         {"attribute": "brightness_pct", "value": 120, "low": 0, "high": 100}),
        (LAMP, {"color_temp": 100}, Code.OUT_OF_RANGE, {"attribute": "color_temp", "value": 100, "low": 153, "high": 500}),
        (LAMP, {"speed": 3}, Code.UNSUPPORTED, {"attribute": "speed"}),
        (LAMP, {"color_name": "plaid"}, Code.UNKNOWN_COLOUR, {"value": "plaid"}),
        (LAMP, {"rgb_color": [300, 0, 0]}, Code.UNKNOWN_COLOUR, {"value": [300, 0, 0]}),
        (Device("c", "Blind", DeviceType.COVER), {"state": "open", "position": 50}, Code.POSITION_AND_STATE, {}),
        (Device("g", "Garage Door", DeviceType.COVER, features=["state"]), {"position": 50},
         Code.UNSUPPORTED, {"attribute": "position"}),
        (Device("h", "Heating", DeviceType.CLIMATE, ranges={"temperature": (5, 30)}), {"temperature": 31},
         Code.OUT_OF_RANGE, {"attribute": "temperature", "value": 31, "low": 5, "high": 30}),
        (Device("h", "Heating", DeviceType.CLIMATE, options={"hvac_mode": ["off", "heat"]}), {"hvac_mode": "cool"},
         Code.NOT_ALLOWED, {"attribute": "hvac_mode", "value": "cool", "allowed": ["off", "heat"]}),
        (Device("s", "Door", DeviceType.BINARY_SENSOR), {"state": "on"}, Code.READ_ONLY, {}),
        (LAMP, {}, Code.NOTHING_TO_CHANGE, {}),
    ],
)
def test_invalid_commands_carry_a_code_and_its_facts(device: Device, changes: dict, code: Code, facts: dict) -> None:
    """No sentence: the dialogue words the code and its fields in the customer's language."""
    with pytest.raises(InvalidCommand) as err:
        validate_changes(device, changes)
    assert (err.value.code, err.value.facts, err.value.device) == (code, facts, device)


def test_a_cover_is_open_or_closed_only_at_its_end_position() -> None:
    """Zigbee2MQTT says "open" for a cover stopped at 30 %: that is not the arrival of "open"."""
    blind = Device("b", "Blind", DeviceType.COVER)
    assert not confirms(blind, {"state": "open"}, {"state": "open", "current_position": 30})
    assert not confirms(blind, {"state": "closed"}, {"state": "closing", "current_position": 0})
    assert confirms(blind, {"state": "open"}, {"state": "open", "current_position": 100})
    assert confirms(blind, {"state": "closed"}, {"state": "closed"})  # a cover without a position


def test_confirmation_tolerates_device_rounding_but_not_a_different_state() -> None:
    assert confirms(LAMP, {"state": "on", "brightness": 102}, {"state": "on", "brightness": 101})  # 0-254 scale
    assert not confirms(LAMP, {"state": "on", "brightness": 102}, {"state": "on", "brightness": 140})
    assert confirms(LAMP, {"hs_color": [359, 50]}, {"hs_color": [1, 51]})  # hue wraps
    cover = Device("c", "Blind", DeviceType.COVER)
    assert not confirms(cover, {"state": "open"}, {"state": "opening", "current_position": 40})
    assert confirms(cover, {"position": 40}, {"state": "open", "current_position": 40})
    heat = Device("h", "Heating", DeviceType.CLIMATE)
    assert confirms(heat, {"temperature": 21.5}, {"temperature": 21.5, "hvac_mode": "heat"})
    assert not confirms(heat, {"hvac_mode": "off"}, {"hvac_mode": "heat"})


def test_demo_home_is_a_realistic_house() -> None:
    home = load_home(builtin_home())
    devices = [hd.device for hd in home.devices if hd.device.topics.get("role") != "hub"]
    assert len(devices) >= 15
    assert {d.type for d in devices} == OPERABLE  # every kind voicebot operates
    assert {d.convention for d in devices} == {"zigbee2mqtt", "homeassistant", "tasmota"}
    assert len({a.floor for a in home.areas}) >= 3 and len(home.areas) >= 6
    assert any(hd.device.topics.get("role") == "hub" for hd in home.devices)
    assert sum(hd.battery for hd in home.devices) >= 4
    assert home.device("Front Door Lock").device.type is DeviceType.LOCK
    garage = home.device("garage door").device
    assert garage.type is DeviceType.COVER and garage.device_class == "garage"
    # every room with something to control also has a sensor to check it against
    for area in ("Living Room", "Kitchen", "Bedroom", "Hallway", "Garage"):
        kinds = {d.type for d in devices if d.area == area}
        assert kinds & {DeviceType.SENSOR, DeviceType.BINARY_SENSOR}, area
    assert all(d.aliases for d in devices)
    assert set(CAPABILITIES) == OPERABLE  # the other Home Assistant domains are read only


@pytest.mark.parametrize(
    ("home", "message"),
    [
        ({"devices": [{"type": "light"}]}, "device #1 needs a name"),
        ({"devices": [{"name": "A", "type": "light"}, {"name": "a", "type": "switch"}]}, "already has the id 'a'"),
        ({"devices": [{"name": "A", "type": "light", "convention": "knx"}]}, "convention must be one of"),
        ({"devices": [{"name": "A", "type": "lock", "convention": "tasmota"}]}, "Tasmota devices can be a"),
        ({"areas": ["Hall"], "devices": [{"name": "A", "type": "light", "area": "Attic"}]}, "area 'Attic' is not among"),
        ({"devices": [{"name": "A", "type": "light", "faults": ["melted"]}]}, "fault must be one of offline"),
        ({"devices": [{"name": "A", "type": "light", "state": "on"}]}, "state must be a mapping"),
        (["not", "a", "mapping"], "a home file is a mapping"),
    ],
)
def test_bad_home_files_say_what_is_wrong(home: object, message: str) -> None:
    with pytest.raises(HomeFileError, match=message):
        load_home(home)  # type: ignore[arg-type]


def test_fault_names_are_the_documented_ones() -> None:
    assert FAULTS == ("offline", "unresponsive", "stuck", "weak_signal", "low_battery", "wrong_reading", "intermittent")


def test_a_home_as_home_assistant_has_it() -> None:
    """Every Home Assistant domain, entity ids like light.kitchen and friendly names that repeat
    (a "Phone" battery and a "Phone" charging sensor) load; nothing is rejected (issue 12)."""
    from device_bridge.home import ha_fixture_home, load_home

    fixture = {
        "floors": [{"name": "Ground", "id": "g"}],
        "areas": [{"name": "Kitchen", "id": "kitchen_id", "floor": "g"}],
        "entities": [
            {"name": "Kitchen", "id": "light.kitchen", "area": "kitchen_id", "state": "on"},
            {"name": "Phone", "id": "binary_sensor.phone_battery", "state": "off",
             "attributes": {"device_class": "battery"}},
            {"name": "Phone", "id": "binary_sensor.phone_charging", "state": "on",
             "attributes": {"device_class": "battery_charging"}},
            {"name": "Party Mode", "id": "scene.party_mode"},
            {"name": "Main Valve", "id": "valve.main_valve", "state": "open"},
            {"name": "Joseph", "id": "person.joseph", "state": "home"},
            {"name": "London", "id": "weather.london", "state": "rainy"},
            {"name": "Chores", "id": "todo.chores", "state": ""},
            {"name": "Guest Mode", "id": "input_boolean.guest_mode", "state": "off"},
            {"name": "Doorbell", "id": "button.doorbell"},
        ],
    }
    home = load_home(ha_fixture_home(fixture))
    by_id = {hd.device.id: hd for hd in home.devices}
    assert set(by_id) == {e["id"] for e in fixture["entities"]}
    assert by_id["light.kitchen"].device.area == "Kitchen" and home.areas[0].floor == "Ground"
    assert by_id["binary_sensor.phone_charging"].device.device_class == "battery_charging"
    assert by_id["scene.party_mode"].device.type is DeviceType.SCENE
    assert by_id["person.joseph"].state["state"] == "home"
