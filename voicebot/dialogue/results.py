"""Facts into words: a device command's result code and fields (device_bridge) become a sentence in
the customer's language, through the reply catalogues (``result_<code>``, ``attr_<name>``,
``value_<word>``). The bridge never words anything; this is the one place that does.
"""

from __future__ import annotations

import time
from typing import Any

from device_bridge.devices import CAPABILITIES, Code, CommandResult, Device, InvalidCommand
from voicebot.dialogue.commands import NotApplicable
from voicebot.dialogue.describe import describe_state, device_label, gender_ending, number, spoken_progress
from voicebot.dialogue.replies import Replies

# Every code has a reply key; a device offline with a known last sighting has its own.
RESULT_KEYS: dict[Code, str] = {code: f"result_{code.value}" for code in Code}
EXTRA_KEYS = ("result_device_offline_seen",)


def result_text(replies: Replies, language: str, result: CommandResult) -> str:
    """The sentence for a command's result."""
    return fact_text(replies, language, result.device, result.code, result.facts,
                     requested=result.requested, observed=result.observed)


def rejection_text(replies: Replies, language: str, exc: InvalidCommand) -> str:
    """The sentence for a command refused before anything was sent."""
    return fact_text(replies, language, exc.device, exc.code, exc.facts)


def fact_text(replies: Replies, language: str, device: Device, code: Code, facts: dict[str, Any],
              requested: dict[str, Any] | None = None, observed: dict[str, Any] | None = None) -> str:
    requested, observed = requested or {}, observed or {}
    key = RESULT_KEYS[code]
    values: dict[str, Any] = {"device": device_label(device, language), "o": gender_ending(device, language)}
    if code is Code.MOVING:
        values["doing"] = spoken_progress(device, requested, language)
    if code in (Code.CONFIRMED, Code.UNCHANGED, Code.NEVER_MOVED):
        shown = {**requested, **observed} if code is Code.CONFIRMED else dict(observed)
        values["state"] = describe_state(device, shown, language)
    if "position" in facts or "target" in facts:
        values["position"] = number(facts.get("position", "?"), language)
        values["target"] = number(facts.get("target", "?"), language)
    if code is Code.DEVICE_OFFLINE and facts.get("last_seen"):
        key = "result_device_offline_seen"
        values["ago"] = ago(replies, language, time.time() - float(facts["last_seen"]))
    if code is Code.HUB_OFFLINE:
        values["hub"] = str(facts.get("hub") or "")
    if "attribute" in facts:
        values["attribute"] = attribute_words(replies, language, str(facts["attribute"]))
    if "value" in facts:
        values["value"] = value_words(replies, language, facts["value"])
    for bound in ("low", "high"):
        if facts.get(bound) is not None:
            values[bound] = number(facts[bound], language)
    if facts.get("allowed"):
        words = [value_words(replies, language, v) for v in facts["allowed"]]
        values["allowed"] = joined(replies, language, words)
    return replies.say(key, language, **values)


def attribute_words(replies: Replies, language: str, attribute: str) -> str:
    key = f"attr_{attribute}"
    # an attribute no device type has (a request from the language model) is "that setting"
    return replies.say(key if key in replies.texts["en"] else "attr_other", language, part=True)


def value_words(replies: Replies, language: str, value: Any) -> str:
    """An enum value ("heat") in words; numbers in the language's notation; anything else as given."""
    if isinstance(value, bool):
        value = "on" if value else "off"
    if isinstance(value, (int, float)):
        return number(value, language)
    if isinstance(value, (list, tuple)):
        return " ".join(number(v, language) for v in value)
    word = str(value).strip().lower().replace(" ", "_")
    key = f"value_{word}"
    if key in replies.texts["en"]:
        return replies.say(key, language, part=True)
    return str(value)


def joined(replies: Replies, language: str, words: list[str]) -> str:
    """ "a, b or c" in the language's words."""
    if len(words) <= 1:
        return "".join(words)
    return ", ".join(words[:-1]) + replies.say("or", language, part=True) + words[-1]


def ago(replies: Replies, language: str, seconds: float) -> str:
    """How long ago, in words: "3 hours ago", "vor 3 Stunden", "hace 3 horas"."""
    if seconds < 90:
        return replies.say("ago_seconds", language, part=True, n=max(1, round(seconds)))
    if seconds < 5400:
        return replies.say("ago_minutes", language, part=True, n=round(seconds / 60))
    if seconds < 129600:
        return replies.say("ago_hours", language, part=True, n=round(seconds / 3600))
    return replies.say("ago_days", language, part=True, n=round(seconds / 86400))


def enum_values() -> set[str]:
    """Every enum value a device attribute takes (each needs a ``value_`` text in every language)."""
    return {v for attrs in CAPABILITIES.values() for a in attrs.values() for v in a.values}


def not_applicable_text(replies: Replies, language: str, device: Device, exc: NotApplicable) -> str:
    """Why an intent does not fit a device ("it is already off"), as a sentence."""
    values: dict[str, Any] = {"device": device_label(device, language), "o": gender_ending(device, language)}
    if "attribute" in exc.facts:
        values["attribute"] = attribute_words(replies, language, str(exc.facts["attribute"]))
    return replies.say(f"na_{exc.code}", language, **values)
