"""A word naming a kind of device constrains what is acted on: "turn on the living room lamp"
must never reach the TV because its alias "living room tv" looks alike (a fuzzy match bridging
a kind word to another kind of device would be an action on the wrong device)."""

from __future__ import annotations

import pytest

from device_bridge.devices import Device
from voicebot.understand import ConversationContext, Understander
from voicebot.understand.normalize import normalize
from voicebot.understand.vocabulary import load


def _of_kind(device: Device, word: str) -> bool:
    """The device is of the kind the word names, or its own name says that kind ("Garden
    Lights" is a switch; "Hallway Light" too)."""
    kinds = load("en").domain_words
    kind = kinds[word]
    if str(device.type) == kind.domain and (
        kind.device_class is None or device.device_class in (None, kind.device_class)
    ):
        return True
    names = {w for n in [device.name, *device.aliases] for w in normalize(n).split()}
    if str(device.type) == kind.domain and set(word.split()) <= names:
        return True  # "the garage door sensor" is a door sensor whatever its class says
    return any(w in kinds and kinds[w].domain == kind.domain for w in names)


@pytest.mark.parametrize(
    "text",
    ["turn on the living room lamp", "would you please turn on the living room lamp",
     "Would you please turn on the living room lamp?", "switch on the lamp in the living room"],
)
def test_living_room_lamp_is_the_floor_lamp(demo: tuple[Understander, dict[str, Device], list[str]], text: str) -> None:
    nlu, _, _ = demo
    u = nlu.understand(text)
    assert u.intent == "HassTurnOn"
    assert u.device_ids == ["floor_lamp"]
    assert "tv" not in u.candidates


def test_plural_kind_word_means_every_light_in_the_room(demo: tuple[Understander, dict[str, Device], list[str]]) -> None:
    nlu, _, _ = demo
    u = nlu.understand("turn on the living room lights")
    assert sorted(u.device_ids) == ["floor_lamp", "living_room_ceiling_light"]


def test_misheard_name_still_found_within_its_kind(demo: tuple[Understander, dict[str, Device], list[str]]) -> None:
    nlu, _, _ = demo
    assert nlu.understand("turn on the flour lamp").device_ids == ["floor_lamp"]
    assert nlu.understand("turn on the gardn lights").device_ids == ["garden_lights"]


def test_kind_with_no_such_device_in_the_room_acts_on_nothing(demo: tuple[Understander, dict[str, Device], list[str]]) -> None:
    nlu, _, _ = demo
    for text in ("turn on the kitchen tv", "turn off the garage tv", "turn off the garage fan",
                 "turn off the garage door lock", "turn on the living room ceiling fan"):
        u = nlu.understand(text)
        assert u.device_ids == [], text


def test_sweep_every_area_and_kind_word(demo: tuple[Understander, dict[str, Device], list[str]]) -> None:
    """ "turn on the <area> <kind word>" over the whole demo home: whatever is acted on or
    offered is of the kind asked for; otherwise nothing is acted on."""
    nlu, devices, areas = demo
    words = sorted(load("en").domain_words)
    wrong: list[str] = []
    for i, area in enumerate(areas):
        for j, word in enumerate(words):
            # the verb does not pick the device: each pair once, the verbs taking turns so that
            # every area and every kind word is still asked with both
            verb = ("turn on", "turn off")[(i + j) % 2]
            text = f"{verb} the {area.lower()} {word}"
            u = nlu.understand(text)
            for device_id in u.device_ids + u.candidates:
                if not _of_kind(devices[device_id], word):
                    role = "acted on" if device_id in u.device_ids else "offered"
                    wrong.append(f"{text!r} {role} {device_id}")
    assert not wrong, "\n".join(wrong)


def test_no_sound_from_a_speaker_the_demo_kitchen_lacks(demo: tuple[Understander, dict[str, Device], list[str]]) -> None:
    """The demo kitchen has no speaker: a report about it, about no other device."""
    nlu, devices, _ = demo
    u = nlu.understand("no sound from the kitchen speaker")
    assert (u.intent, u.slots.get("symptom"), u.slots.get("domain")) == ("ReportProblem", "no_sound", "media_player")
    assert all(str(devices[i].type) == "media_player" for i in u.device_ids + u.candidates)


@pytest.mark.parametrize(
    "text",
    ["turn on the bathroom lamb", "turn on the bathroom tele", "turn on the living room vacume",
     "turn off the kitchen glitter ball", "turn on the garden tele"],
)
def test_a_word_nothing_explains_after_a_room_is_asked_about(
    demo: tuple[Understander, dict[str, Device], list[str]], text: str,
) -> None:
    """The room's fan or lights would be a guess: at most a question."""
    nlu, _, _ = demo
    u = nlu.understand(text)
    assert u.device_ids == [], (u.device_ids, u.candidates)
    assert u.confidence < 0.7


@pytest.mark.parametrize(
    "text",
    ["dim the tv", "make the tv brighter", "make the tv purple", "close the thermostat", "unlock the garage",
     "lock the garage door", "set the tv to 20 degrees", "open the tv", "open the blinds on the tv"],
)
def test_a_request_the_named_device_cannot_do_is_not_done_to_it(
    demo: tuple[Understander, dict[str, Device], list[str]], text: str,
) -> None:
    """Dimming a TV is not a light command on the TV; unlocking the garage is not closing it."""
    nlu, _, _ = demo
    u = nlu.understand(text)
    assert u.device_ids == [], (u.intent, u.device_ids)


@pytest.mark.parametrize(
    ("text", "intent", "slot", "value", "devices"),
    [("set the tv to 50 percent", "HassSetVolume", "volume_level", 50, ["tv"]),
     ("set the blinds to 40 percent", "HassSetPosition", "position", 40, ["living_room_blinds"]),
     ("set the floor lamp to 30 percent", "HassLightSet", "brightness", 30, ["floor_lamp"]),
     ("turn up the tv", "HassSetVolume", "volume_step", 10, ["tv"])],
)
def test_the_named_device_says_what_a_percentage_means(
    demo: tuple[Understander, dict[str, Device], list[str]], text: str, intent: str, slot: str, value: object,
    devices: list[str],
) -> None:
    nlu, _, _ = demo
    u = nlu.understand(text)
    assert (u.intent, u.slots.get(slot), u.device_ids) == (intent, value, devices)


@pytest.mark.parametrize(
    ("reply", "devices"),
    [("the ceiling one", ["living_room_ceiling_light"]), ("I mean the big one", ["living_room_ceiling_light"]),
     ("turn on the ceiling one", ["living_room_ceiling_light"]), ("the kitchen", ["kitchen_light"])],
)
def test_which_light_answered_by_a_word_of_its_name(
    demo: tuple[Understander, dict[str, Device], list[str]], reply: str, devices: list[str],
) -> None:
    """Asked which light, "the ceiling one" is the ceiling light, never the bedroom's ceiling fan."""
    nlu, _, _ = demo
    ctx = ConversationContext()
    first = nlu.understand("turn on the light", ctx)
    assert first.candidates and not first.device_ids
    ctx.update(first)
    u = nlu.understand(reply, ctx)
    assert u.device_ids == devices


@pytest.mark.parametrize("reply", ["the purple one", "the ceiling monkey", "banana"])
def test_which_light_answered_with_nothing_of_a_name_acts_on_nothing(
    demo: tuple[Understander, dict[str, Device], list[str]], reply: str,
) -> None:
    nlu, devices, _ = demo
    ctx = ConversationContext()
    ctx.update(nlu.understand("turn on the light", ctx))
    u = nlu.understand(reply, ctx)
    assert u.device_ids == []
    assert all(str(devices[i].type) == "light" for i in u.candidates)
