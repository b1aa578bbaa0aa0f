"""The conversation agent as Home Assistant's Wyoming conversation entity drives it: the
satellite's room, the customer's language, escalation with a ticket, and what it does not
understand; conversations kept by Home Assistant's conversation id."""

from __future__ import annotations

import asyncio

from device_bridge.devices import Area
from tests.waiting import until
from voicebot.dialogue.types import Reply
from voicebot.testing.ha_wyoming import converse
from voicebot.wyoming.conversations import Conversations, satellite_area


def is_on(rt, device_id: str) -> bool:
    return str(rt.bridge.get(device_id).state.get("state", "")).lower() == "on"


def test_the_satellites_area_is_the_speakers_room(wyoming_server, wyoming_runtime) -> None:
    host, port = wyoming_server.host, wyoming_server.port
    # Home Assistant's satellite ids usually spell the room; "the light" is the one there
    reply = asyncio.run(converse(host, port, "turn on the light", "sat-1",
                                 satellite_id="assist_satellite.bedroom_voice_pe", device_id="0a1b2c"))
    assert reply.type == "handled", reply
    assert until(lambda: is_on(wyoming_runtime, "bedroom_light"), 5.0)
    assert not is_on(wyoming_runtime, "kitchen_light")
    # an id that says nothing: the configured mapping (wyoming.satellite_areas) names the room
    reply = asyncio.run(converse(host, port, "turn on the light", "sat-2", satellite_id="satellite-in-the-office"))
    assert reply.type == "handled", reply
    assert until(lambda: is_on(wyoming_runtime, "office_desk_lamp"), 5.0)
    for conv, device in (("sat-1", "bedroom_light"), ("sat-2", "office_desk_lamp")):
        asyncio.run(converse(host, port, "turn it off", conv))
        assert until(lambda device=device: not is_on(wyoming_runtime, device), 5.0)


def test_the_reply_is_in_the_language_the_customer_used(wyoming_server, wyoming_runtime) -> None:
    host, port = wyoming_server.host, wyoming_server.port
    reply = asyncio.run(converse(host, port, "schalte das Licht in der Küche ein", "de-1", language="de"))
    assert reply.type == "handled" and reply.data["text"].startswith("Erledigt"), reply
    assert until(lambda: is_on(wyoming_runtime, "kitchen_light"), 5.0)
    reply = asyncio.run(converse(host, port, "mach es wieder aus", "de-1", language="de"))
    assert reply.type == "handled" and "aus" in reply.data["text"], reply
    assert until(lambda: not is_on(wyoming_runtime, "kitchen_light"), 5.0)


def test_asking_for_a_person_opens_a_ticket_as_on_the_phone(wyoming_server, wyoming_runtime) -> None:
    before = {t.id for t in wyoming_runtime.store.tickets_for_customer("c-wyoming")}
    reply = asyncio.run(converse(wyoming_server.host, wyoming_server.port, "I want to talk to a person", "esc-1"))
    assert reply.type == "handled", reply
    new = [t for t in wyoming_runtime.store.tickets_for_customer("c-wyoming") if t.id not in before]
    assert len(new) == 1 and "ticket" in reply.data["text"].lower(), reply


def test_what_it_does_not_understand_is_not_handled_with_a_reply_to_speak(wyoming_server) -> None:
    reply = asyncio.run(converse(wyoming_server.host, wyoming_server.port, "blorp fizz wobble", "nonsense-1"))
    assert reply.type == "not-handled", reply
    assert reply.data["text"]  # Home Assistant still speaks it


# --- the parts, without the network ---------------------------------------------------------
AREAS = [Area("Living Room", aliases=["lounge"]), Area("Kitchen"), Area("Kids Room", aliases=["nursery"])]


def test_satellite_area_from_the_mapping_the_context_or_the_id() -> None:
    mapping = {"abc123": "Kitchen"}
    assert satellite_area({"satellite_id": "abc123"}, mapping, AREAS) == "Kitchen"
    assert satellite_area({"device_id": "abc123"}, mapping, AREAS) == "Kitchen"
    assert satellite_area({"satellite_id": "assist_satellite.living_room_pe"}, {}, AREAS) == "Living Room"
    assert satellite_area({"satellite_id": "assist_satellite.nursery"}, {}, AREAS) == "Kids Room"
    assert satellite_area({"area": "kitchen"}, {}, AREAS) == "Kitchen"
    assert satellite_area({"satellite_id": "assist_satellite.hallway"}, {}, AREAS) is None
    assert satellite_area({"satellite_id": "assist_satellite.kitchenette"}, {}, AREAS) is None  # words, not letters
    assert satellite_area({}, mapping, AREAS) is None


class _Conversation:
    """A stand-in dialogue that only records its end (the registry's behaviour is under test)."""

    def __init__(self) -> None:
        self.id = "c"
        self.ended: str | None = None

    def greet(self) -> Reply:
        return Reply("hi")

    def handle(self, text: str) -> Reply:
        return Reply(text)

    def handle_dtmf(self, digit: str) -> Reply:
        return Reply(digit)

    def end(self, outcome: str) -> None:
        self.ended = outcome


def test_conversations_are_kept_per_id_until_idle_or_crowded_out() -> None:
    now = [0.0]
    made: list[_Conversation] = []

    def new(area: str | None, language: str, satellite: str | None = None) -> _Conversation:
        made.append(_Conversation())
        return made[-1]

    async def scenario() -> None:
        convs = Conversations(new, idle_s=300, max_count=2, clock=lambda: now[0])
        a, fresh = await convs.get("a", None, "en")
        assert fresh and (await convs.get("a", None, "en"))[0] is a
        await convs.get("b", None, "en")
        await convs.get("c", None, "en")  # over max_count: the one unused longest ("a") ends
        assert "a" not in convs and made[0].ended == "abandoned"
        now[0] = 301
        await convs.get("d", None, "en")  # b and c were idle too long
        assert made[1].ended == made[2].ended == "abandoned" and len(convs) == 1

    asyncio.run(scenario())
