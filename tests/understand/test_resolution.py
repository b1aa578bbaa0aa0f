"""Which devices a request is about: names, aliases, rooms, the speaker's room, misheard
names, and a question (never an action) when it is not clear."""

from __future__ import annotations

from device_bridge.devices import Area, Device, DeviceType
from voicebot.understand import Understander


def test_name_and_alias(nlu: Understander) -> None:
    assert nlu.understand("turn on the floor lamp").device_ids == ["floor_lamp"]
    u = nlu.understand("turn on the standing lamp")  # alias
    assert (u.device_ids, u.slots["name"]) == (["floor_lamp"], "Floor Lamp")
    assert nlu.understand("is the front door locked").device_ids == ["front_door_lock"]


def test_area_and_area_alias_with_kind(nlu: Understander) -> None:
    u = nlu.understand("turn off the lights in the lounge")
    assert sorted(u.device_ids) == ["floor_lamp", "living_room_ceiling_light"]
    assert u.slots["area"] == "Living Room"
    assert nlu.understand("turn off the lights in the study").device_ids == ["desk_lamp"]


def test_floor(nlu: Understander) -> None:
    u = nlu.understand("turn off the lights upstairs")
    assert u.slots["floor"] == "First Floor"
    assert sorted(u.device_ids) == ["bedroom_ceiling_light", "bedside_lamp", "desk_lamp", "night_light"]


def test_same_name_in_two_rooms_is_a_question(nlu: Understander) -> None:
    u = nlu.understand("turn on the ceiling light")
    assert u.intent == "HassTurnOn"
    assert u.device_ids == []
    assert sorted(u.candidates) == ["bedroom_ceiling_light", "living_room_ceiling_light"]
    assert u.confidence <= 0.6


def test_speaker_area_settles_the_name_and_in_here(nlu: Understander) -> None:
    assert nlu.understand("turn on the ceiling light", speaker_area="Bedroom").device_ids == ["bedroom_ceiling_light"]
    u = nlu.understand("can you make it a bit darker in here", speaker_area="Kitchen")
    assert u.slots["area"] == "Kitchen"
    assert sorted(u.device_ids) == ["kitchen_light", "under_cabinet_lights"]
    assert nlu.understand("turn on the light", speaker_area="Office").device_ids == ["desk_lamp"]


def test_kind_with_several_and_no_room_is_a_question(nlu: Understander) -> None:
    u = nlu.understand("turn on the light")
    assert u.device_ids == [] and len(u.candidates) >= 9


def test_only_one_of_its_kind_needs_no_room(nlu: Understander) -> None:
    assert nlu.understand("start the fan").device_ids == ["desk_fan"]
    assert nlu.understand("close the curtains").device_ids == ["bedroom_curtains"]


def test_misheard_name_close_enough_is_resolved(nlu: Understander) -> None:
    u = nlu.understand("turn on the flour lamp")
    assert (u.device_ids, u.slots["name"]) == (["floor_lamp"], "Floor Lamp")
    assert u.confidence < 0.9  # a fuzzy match is less sure than an exact name
    assert nlu.understand("switch on the coffee mashine").device_ids == ["coffee_machine"]


def test_weak_match_is_only_a_question(nlu: Understander) -> None:
    u = nlu.understand("turn on the hole light")
    assert u.device_ids == []
    assert u.candidates == ["hallway_light"]  # "did you mean the hallway light?"


def test_unknown_device_is_never_acted_on(nlu: Understander) -> None:
    u = nlu.understand("turn on the glitter ball")
    assert u.intent == "HassTurnOn"
    assert u.device_ids == [] and u.candidates == []


def test_a_bare_room_never_reaches_a_lock_or_garage_door(nlu: Understander) -> None:
    u = nlu.understand("turn off the hallway")
    assert u.device_ids == ["hallway_light"]
    u = nlu.understand("turn off the garage")
    assert "garage_door" not in u.device_ids


def test_registry_changes_are_seen_on_the_next_turn() -> None:
    devices = [
        Device(id="lamp1", name="Reading Lamp", type=DeviceType.LIGHT, area="Den"),
        Device(id="lamp2", name="Sofa Lamp", type=DeviceType.LIGHT, area="Den"),
    ]
    areas = [Area("Den")]
    nlu = Understander(lambda: devices, lambda: areas)
    assert nlu.understand("turn on the reading lamp").device_ids == ["lamp1"]
    devices[0] = Device(id="lamp1", name="Piano Lamp", type=DeviceType.LIGHT, area="Den")
    assert nlu.understand("turn on the reading lamp").device_ids == []
    assert nlu.understand("turn on the piano lamp").device_ids == ["lamp1"]


def test_empty_home_understands_but_resolves_nothing() -> None:
    nlu = Understander(lambda: [], lambda: [])
    u = nlu.understand("turn on the kitchen light")
    assert u.intent == "HassTurnOn" and u.device_ids == [] and u.candidates == []


def test_a_question_about_all_of_a_kind_reads_them_all(nlu: Understander) -> None:
    u = nlu.understand("are the doors locked?")
    assert (u.intent, u.slots["state"]) == ("HassGetState", "locked")
    assert sorted(u.device_ids) == ["back_door_lock", "front_door_lock"]


def test_speaker_area_by_alias_and_unknown_room(nlu: Understander) -> None:
    assert nlu.understand("turn on the lights in here", speaker_area="study").device_ids == ["desk_lamp"]
    u = nlu.understand("turn on the lights in here", speaker_area="Attic")
    assert u.device_ids == []  # an unknown room restricts nothing and is never guessed


def test_aliases_that_are_rooms_or_kinds_yield_to_the_sentence() -> None:
    """In Home Assistant homes aliases such as "garage" (the garage door) or "fan" are common."""
    areas = [Area("Garage"), Area("Bedroom"), Area("Bathroom")]
    devices = [
        Device(id="gd", name="Garage Door", aliases=["garage"], type=DeviceType.COVER, area="Garage",
               device_class="garage"),
        Device(id="gl", name="Garage Light", type=DeviceType.LIGHT, area="Garage"),
        Device(id="bf", name="Bedroom Ceiling Fan", aliases=["fan"], type=DeviceType.FAN, area="Bedroom"),
        Device(id="xf", name="Bathroom Fan", type=DeviceType.FAN, area="Bathroom"),
    ]
    nlu = Understander(lambda: devices, lambda: areas)
    assert nlu.understand("open the garage").device_ids == ["gd"]
    assert nlu.understand("turn off the lights in the garage").device_ids == ["gl"]
    assert nlu.understand("turn on the fan").device_ids == ["bf"]
    assert nlu.understand("turn on the fan in the bathroom").device_ids == ["xf"]


def test_numbered_names() -> None:
    devices = [Device(id=f"p{i}", name=f"Plug {i}", type=DeviceType.SWITCH, area="Office") for i in (1, 2)]
    nlu = Understander(lambda: devices, lambda: [Area("Office")])
    assert nlu.understand("turn on plug one").device_ids == ["p1"]
    assert nlu.understand("turn off plug two").device_ids == ["p2"]
    assert nlu.understand("turn off plug 1").device_ids == ["p1"]


def test_a_shared_name_in_the_plural_means_all_of_them(nlu: Understander) -> None:
    for text in ("turn on the ceiling lights", "turn on both ceiling lights"):
        assert sorted(nlu.understand(text).device_ids) == ["bedroom_ceiling_light", "living_room_ceiling_light"]
    assert nlu.understand("turn on the ceiling lights in the bedroom").device_ids == ["bedroom_ceiling_light"]
