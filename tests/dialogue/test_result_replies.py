"""Every reply key in every language, and every command result and rejection code worded in every
language: complete catalogues, every placeholder filled, and no English clause in a German or
Spanish reply (every word of a rendered reply must come from that language's own texts)."""

from __future__ import annotations

import re
import string
import time
from typing import Any

import pytest

from device_bridge.devices import (
    CAPABILITIES,
    Code,
    CommandResult,
    Device,
    DeviceType,
    default_state,
    travels,
)
from voicebot.dialogue.commands import NotApplicable
from voicebot.dialogue.describe import BINARY, VERBS, WORDS, spoken_change, spoken_progress
from voicebot.dialogue.replies import Replies
from voicebot.dialogue.results import enum_values, fact_text, not_applicable_text, value_words

REPLIES = Replies()
LANGUAGES = REPLIES.languages
TRANSLATED = [lang for lang in LANGUAGES if lang != "en"]
EN = REPLIES.texts["en"]

# Names a customer's home might use, in no particular language, so that every other word in a
# rendered reply must come from the reply language's own texts.
DEVICES = [Device(f"d_{t.value}", f"Zeta {i}", t, device_class="door" if t is DeviceType.BINARY_SENSOR else None,
                  unit="°C" if t is DeviceType.SENSOR else None)
           for i, t in enumerate([*CAPABILITIES, DeviceType.HUMIDIFIER])]  # the kinds it operates, and one it only reads
HUB = "Kappa"
STRANGE = "xyz"  # a word the customer said that the bot does not know (a colour, a mode)

# English words that are no German or Spanish word: one of them in a translated reply is a leak.
ENGLISH = frozenset([
    "the", "is", "are", "were", "it", "its", "it's", "and", "not", "can", "can't", "cannot", "did", "didn't",
    "does", "doesn't", "don't", "with", "would", "could", "should", "you", "your", "please", "sorry", "set",
    "between", "must", "be", "has", "have", "respond", "responded", "answered", "change", "changed", "unknown",
    "reason", "sent", "nothing", "reach", "already", "because", "there", "this", "that", "what", "which", "when",
    "percent", "degrees", "on", "off", "open", "opened", "closed", "close", "locked", "unlocked", "heating",
    "colour", "brightness", "moving", "stopped", "device", "isn't", "hasn't", "got", "yet", "far", "short",
    "of", "started", "arrived", "now", "done", "setting",
])


def _placeholders(text: str) -> set[str]:
    return {n for _, n, _, _ in string.Formatter().parse(text) if n}


def _texts(value: str | list[str]) -> list[str]:
    return value if isinstance(value, list) else [value]


def _words(text: str) -> set[str]:
    """The words of a text; a Spanish ending placeholder gives both genders ("apagad{o}")."""
    if "{o}" in text:
        return _words(text.replace("{o}", "o")) | _words(text.replace("{o}", "a"))
    return {w.lower() for w in re.findall(r"[^\W\d_]+(?:'[^\W\d_]+)?", text)}


def _vocabulary(lang: str) -> set[str]:
    """Every word the language's own data has: its reply texts and its state and change words."""
    words: set[str] = set()
    for value in REPLIES.texts[lang].values():
        for text in _texts(value):
            words |= _words(text)
    for text in WORDS.get(lang, {}).values():
        words |= _words(text)
    for pair in BINARY.get(lang, {}).values():
        words |= _words(" ".join(pair))
    column = {"de": (2, 3), "es": (4, 5)}.get(lang, (0, 1))
    for verbs in VERBS.values():
        words |= _words(" ".join(verbs[c] for c in column))
    return words | _words(" ".join(d.name for d in DEVICES)) | _words(f"{HUB} {STRANGE}") | {"o", "a"}


def _check(lang: str, text: str, what: str) -> None:
    assert text.strip(), f"{lang} {what}: empty"
    assert "{" not in text and "}" not in text, f"{lang} {what}: unfilled placeholder in {text!r}"
    assert "None" not in text and "  " not in text and " ." not in text and " ," not in text, (
        f"{lang} {what}: a value is missing in {text!r}")
    if lang == "en":
        return
    english = _words(text) & ENGLISH
    assert not english, f"{lang} {what}: English {sorted(english)} in {text!r}"
    foreign = _words(text) - _vocabulary(lang)
    assert not foreign, f"{lang} {what}: words {sorted(foreign)} from no {lang} text in {text!r}"


def test_every_language_has_every_key() -> None:
    """A missing key would fall back to English in front of a customer: caught here instead."""
    assert {"en", "de", "es"} <= set(LANGUAGES)
    for lang in TRANSLATED:
        missing = sorted(set(EN) - set(REPLIES.texts[lang]))
        assert not missing, f"{lang}.yaml lacks {missing}"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_key_renders_with_every_placeholder_filled(lang: str) -> None:
    for key, value in EN.items():
        given = set().union(*(_placeholders(t) for t in _texts(value)))
        for text in _texts(REPLIES.texts[lang][key]):
            extra = _placeholders(text) - given - {"o"}
            assert not extra, f"{lang}.{key} uses {extra}, which the code does not fill"
            if "o" in _placeholders(text):
                assert key.startswith(("result_", "na_")), f"{lang}.{key}: only result texts get the {{o}} ending"
        rendered = REPLIES.say(key, lang, **{p: "Zeta" for p in given | {"o"}})
        assert "{" not in rendered, f"{lang}.{key}: {rendered!r}"


def _facts(code: Code, device: Device) -> list[dict[str, Any]]:
    """Facts as the bridge gives them with each code (several shapes where a code has several)."""
    attrs = list(CAPABILITIES.get(device.type, {}).values())
    names = [a.name for a in attrs] + ["brightness_pct", "color_temp_kelvin", "speed"]
    if code in (Code.MOVING, Code.STOPPED_SHORT, Code.STILL_MOVING, Code.NEVER_MOVED):
        if not travels(device):
            return []  # only covers and locks travel
        return [{"state": "stopped", "position": 30, "target": 100}, {"state": "open", "position": 45.5, "target": 0}]
    if code is Code.DEVICE_OFFLINE:
        return [{"last_seen": None}, {"last_seen": time.time() - 3 * 3600}, {"last_seen": time.time() - 20},
                {"last_seen": time.time() - 1200}, {"last_seen": time.time() - 4 * 86400}]
    if code is Code.HUB_OFFLINE:
        return [{"hub": HUB, "hub_id": "kappa"}]
    if code is Code.UNCHANGED:
        if not any(a.settable for a in attrs):
            return []  # a sensor is never sent a command
        table = CAPABILITIES.get(device.type, {})
        states = table["state"].values if "state" in table else ()
        return [{"state": s} for s in (*states, "jammed", None)]
    if code is Code.UNSUPPORTED:
        return [{"attribute": n} for n in names]
    if code is Code.OUT_OF_RANGE:
        return [{"attribute": n, "value": 40.5, "low": 5, "high": 35} for n in names]
    if code is Code.NOT_A_NUMBER:
        return [{"attribute": n, "value": STRANGE} for n in names]
    if code is Code.NOT_ALLOWED:
        return [{"attribute": a.name, "value": STRANGE, "allowed": list(a.values)} for a in attrs if a.values] + [
            {"attribute": "is_volume_muted", "value": STRANGE, "allowed": ["on", "off"]}]
    if code is Code.UNKNOWN_COLOUR:
        return [{"value": STRANGE}, {"value": [300, 0, 0]}]
    return [{}]


def _requested(device: Device) -> list[dict[str, Any]]:
    t = device.type
    if t is DeviceType.COVER:
        return [{"state": "closed"}, {"state": "open"}, {"position": 40}]
    if t is DeviceType.LOCK:
        return [{"state": "locked"}, {"state": "unlocked"}]
    if t is DeviceType.LIGHT:
        return [{"state": "on", "brightness": 102}, {"state": "off"}]
    if t is DeviceType.CLIMATE:
        return [{"temperature": 21.5}, {"hvac_mode": "off"}]
    if t is DeviceType.MEDIA_PLAYER:
        return [{"volume_level": 0.4}, {"state": "paused"}]
    if t is DeviceType.VACUUM:
        return [{"state": "docked"}, {"state": "cleaning"}]
    return [{"state": "on"}]


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("code", list(Code), ids=lambda c: c.value)
def test_every_result_code_is_worded_in_every_language(lang: str, code: Code) -> None:
    for device in DEVICES:
        for facts in _facts(code, device):
            for requested in _requested(device):
                observed = {**default_state(device.type), **({"state": facts["state"]} if facts.get("state") else {})}
                result = CommandResult(code, device, requested, observed, facts)
                text = fact_text(REPLIES, lang, device, code, facts, requested=requested, observed=observed)
                _check(lang, text, f"{code.value} {device.type.value} {facts} {requested}")
                assert result.reason.startswith(code.value)  # the bridge's own line stays technical


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_reason_a_request_does_not_fit_is_worded(lang: str) -> None:
    for code in NotApplicable.CODES:
        for device in DEVICES:
            facts = {"attribute": "brightness"} if code == "unknown_current" else {}
            text = not_applicable_text(REPLIES, lang, device, NotApplicable(code, **facts))
            _check(lang, text, f"na {code} {device.type.value}")


@pytest.mark.parametrize("lang", LANGUAGES)
def test_changes_and_values_are_worded_in_the_language(lang: str) -> None:
    for value in enum_values():
        assert f"value_{value}" in EN, f"no value_{value} text"
        _check(lang, value_words(REPLIES, lang, value), f"value {value}")
    for device in DEVICES:
        for requested in _requested(device):
            for past in (False, True):
                _check(lang, spoken_change(device, requested, past=past, language=lang), f"change {requested}")
            if device.type in (DeviceType.COVER, DeviceType.LOCK):
                _check(lang, spoken_progress(device, requested, lang), f"progress {requested}")


def test_the_check_itself_catches_an_english_clause() -> None:
    """The old German reply with a reason from the bridge would fail the walk above."""
    with pytest.raises(AssertionError, match="English"):
        _check("de", "Das geht mit Zeta 1 nicht: the Zeta 1 did not respond.", "old reply")
    with pytest.raises(AssertionError, match="placeholder"):
        _check("es", "He enviado la orden, pero {device} no ha respondido.", "unfilled")


def test_spanish_adjectives_agree_with_the_kind_of_device() -> None:
    light = Device("l", "Luz de la cocina", DeviceType.LIGHT)
    fan = Device("f", "Ventilador", DeviceType.FAN)
    done = Code.CONFIRMED
    assert fact_text(REPLIES, "es", light, done, {}, requested={"state": "off"}, observed={"state": "off"}) == (
        "Hecho: Luz de la cocina está apagada.")
    assert fact_text(REPLIES, "es", fan, done, {}, requested={"state": "on"}, observed={"state": "on"}) == (
        "Hecho: Ventilador está encendido.")
    blind = Device("b", "Persiana del salón", DeviceType.COVER)
    assert fact_text(REPLIES, "es", blind, Code.STOPPED_SHORT, {"position": 30, "target": 0}) == (
        "Persiana del salón empezó a moverse, pero se ha parado al 30 % de apertura, sin llegar al 0 %.")
    assert fact_text(REPLIES, "de", blind, Code.MOVING, {}, requested={"state": "closed"}) == (
        "Persiana del salón wird geschlossen.")
