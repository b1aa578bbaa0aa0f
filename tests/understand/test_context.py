"""Follow-up turns read against the conversation: pronouns, "the other one", a new room,
relative changes, and answers to the bot's questions."""

from __future__ import annotations

from voicebot.understand import ConversationContext, Understander


def turn(nlu: Understander, ctx: ConversationContext, text: str, **kw: str):
    u = nlu.understand(text, ctx, **kw)
    ctx.update(u)
    return u


def test_turn_it_off(nlu: Understander, ctx: ConversationContext) -> None:
    turn(nlu, ctx, "turn on the desk lamp")
    u = turn(nlu, ctx, "now turn it off")
    assert (u.intent, u.device_ids) == ("HassTurnOff", ["desk_lamp"])


def test_it_never_carries_to_a_lock_for_a_bare_on_off(nlu: Understander, ctx: ConversationContext) -> None:
    turn(nlu, ctx, "is the front door locked?")
    u = turn(nlu, ctx, "turn it off")
    assert "front_door_lock" not in u.device_ids


def test_what_about_the_bedroom(nlu: Understander, ctx: ConversationContext) -> None:
    turn(nlu, ctx, "what's the temperature in the living room")
    u = turn(nlu, ctx, "what about the bedroom?")
    assert u.intent == "HassClimateGetTemperature"
    assert u.slots["area"] == "Bedroom"
    assert u.device_ids and u.device_ids[0].startswith("bedroom")


def test_new_room_keeps_the_request_values(nlu: Understander, ctx: ConversationContext) -> None:
    turn(nlu, ctx, "set the thermostat to 21 degrees")
    u = turn(nlu, ctx, "and the bedroom too")
    assert (u.intent, u.slots["temperature"], u.device_ids) == (
        "HassClimateSetTemperature", 21, ["bedroom_thermostat"])


def test_make_it_warmer_after_talking_about_a_thermostat(nlu: Understander, ctx: ConversationContext) -> None:
    turn(nlu, ctx, "what's the temperature in the bedroom")
    u = turn(nlu, ctx, "make it warmer")
    assert (u.intent, u.slots["temperature_step"]) == ("HassClimateSetTemperature", 1)
    assert u.device_ids == ["bedroom_thermostat"]


def test_answer_to_which_one(nlu: Understander, ctx: ConversationContext) -> None:
    u = turn(nlu, ctx, "turn on the ceiling light")
    assert u.candidates and ctx.pending is not None
    u = turn(nlu, ctx, "the one in the bedroom")
    assert (u.intent, u.device_ids) == ("HassTurnOn", ["bedroom_ceiling_light"])
    assert ctx.pending is None


def test_answer_by_position_and_the_other_one(nlu: Understander, ctx: ConversationContext) -> None:
    ctx.ask_which(["living_room_ceiling_light", "bedroom_ceiling_light"], "HassTurnOff", {"domain": "light"})
    u = turn(nlu, ctx, "the second one")
    assert (u.intent, u.device_ids) == ("HassTurnOff", ["bedroom_ceiling_light"])
    u = turn(nlu, ctx, "and the other one")
    assert (u.intent, u.device_ids) == ("HassTurnOff", ["living_room_ceiling_light"])


def test_both(nlu: Understander, ctx: ConversationContext) -> None:
    turn(nlu, ctx, "turn off the ceiling light")
    u = turn(nlu, ctx, "both of them")
    assert sorted(u.device_ids) == ["bedroom_ceiling_light", "living_room_ceiling_light"]


def test_yes_no_question_wins_over_a_report(nlu: Understander, ctx: ConversationContext) -> None:
    ctx.ask_yes_no(topic="did_that_fix_it")
    assert turn(nlu, ctx, "no, it's still not working").intent == "No"
    ctx.ask_yes_no(topic="is_it_plugged_in")
    assert turn(nlu, ctx, "yeah it's plugged in").intent == "Yes"


def test_a_new_request_is_not_mistaken_for_a_follow_up(nlu: Understander, ctx: ConversationContext) -> None:
    turn(nlu, ctx, "turn on the kitchen light")
    u = turn(nlu, ctx, "what's the weather in the kitchen like")
    assert u.device_ids == [] or u.intent != "HassTurnOn"
    assert turn(nlu, ctx, "I smell gas in the kitchen").slots["safety"] == "gas"


def test_misunderstood_turns_are_counted(nlu: Understander, ctx: ConversationContext) -> None:
    turn(nlu, ctx, "banana banana")
    turn(nlu, ctx, "flibbertigibbet")
    assert ctx.misunderstood == 2
    turn(nlu, ctx, "help")
    assert ctx.misunderstood == 0


def test_saying_the_same_again_is_noticed(nlu: Understander, ctx: ConversationContext) -> None:
    turn(nlu, ctx, "turn on the kitchen light")
    assert not ctx.repeated
    turn(nlu, ctx, "Turn on the kitchen light!")
    assert ctx.repeated


def test_plural_answer_takes_all_it_names(nlu: Understander, ctx: ConversationContext) -> None:
    u = turn(nlu, ctx, "my lights aren't working")
    assert u.intent == "ReportProblem" and u.candidates
    u = turn(nlu, ctx, "the kitchen ones")
    assert (u.intent, sorted(u.device_ids)) == ("ReportProblem", ["kitchen_light", "under_cabinet_lights"])


def test_still_off_is_about_the_same_device(nlu: Understander, ctx: ConversationContext) -> None:
    turn(nlu, ctx, "the desk lamp won't turn on")
    u = turn(nlu, ctx, "it's still off")
    assert (u.intent, u.device_ids) == ("ReportProblem", ["desk_lamp"])


def test_an_unknown_name_never_falls_back_on_the_last_device(nlu: Understander, ctx: ConversationContext) -> None:
    turn(nlu, ctx, "turn on the kitchen light")
    u = turn(nlu, ctx, "now turn off the glitter ball")
    assert u.intent == "HassTurnOff" and u.device_ids == []
    for room in ("Office", "Living Room"):
        u = nlu.understand("set the glitter ball to 50%", speaker_area=room)
        assert u.device_ids == [], room


def test_a_new_request_is_not_read_as_the_answer_to_which_one(nlu: Understander, ctx: ConversationContext) -> None:
    turn(nlu, ctx, "turn on the ceiling light")
    u = turn(nlu, ctx, "turn off the lamps in the bedroom and the living room")
    assert sorted(u.device_ids) == ["bedroom_ceiling_light", "bedside_lamp", "floor_lamp", "living_room_ceiling_light"]
