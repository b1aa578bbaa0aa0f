"""A phone call's turn ends as the live session's does: the dialogue judges whether the words so
far are a complete request (voicebot/understand/completeness.py). The call wraps its dialogue to
note each reply on the call record; the judgement must come through that wrapper."""

from __future__ import annotations

from voicebot.phone.call import _ObservedConversation
from voicebot.runtime import Runtime
from voicebot.session import turn_judge_of


def test_a_call_judges_its_turns_with_its_dialogue(phone_runtime: Runtime) -> None:
    inner = phone_runtime.conversation(channel="phone", customer_id="c-42", caller="+15550142")
    judge = turn_judge_of(_ObservedConversation(inner, call=None))  # type: ignore[arg-type]
    assert judge is not None, "the phone line's sessions got no end-of-turn judgement"
    assert judge.completeness("turn on the kitchen light") == "complete"
    # two thermostats in the test home and no temperature yet: more is likely to come
    assert judge.completeness("set the thermostat") == "incomplete"
