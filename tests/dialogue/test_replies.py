"""Reply texts are data: every key the code says exists in English, translations add no new keys."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from voicebot.dialogue.replies import HERE, Replies

CODE = Path(__file__).resolve().parents[2] / "voicebot" / "dialogue"


class _NoDuplicates(yaml.SafeLoader):
    def construct_mapping(self, node, deep=False):  # type: ignore[no-untyped-def]
        keys = [self.construct_object(k, deep=deep) for k, _ in node.value]
        dupes = {k for k in keys if keys.count(k) > 1}
        assert not dupes, f"duplicate reply keys: {dupes}"
        return super().construct_mapping(node, deep=deep)


def test_every_key_the_code_uses_has_an_english_text() -> None:
    replies = Replies()
    used: set[str] = set()
    for path in CODE.rglob("*.py"):
        used |= set(re.findall(r"""say\(\s*["']([a-z_]+)["']""", path.read_text()))
    missing = sorted(k for k in used if k not in replies.texts["en"])
    assert not missing, missing


def test_reply_files_have_no_duplicate_keys() -> None:
    for path in HERE.glob("*.yaml"):
        yaml.load(path.read_text(encoding="utf-8"), Loader=_NoDuplicates)


def test_german_falls_back_to_english_only_where_untranslated() -> None:
    r = Replies()
    assert r.say("goodbye", "de").startswith("Auf Wiederhören")
    assert r.say("help", "fr") == r.say("help", "en")
    assert r.say("state_is", "de", device="Küchenlicht", state="an") == "Küchenlicht ist an."


def test_a_moving_cover_is_said_to_be_on_its_way_not_arrived() -> None:
    from device_bridge.devices import Device, DeviceType
    from voicebot.dialogue.describe import spoken_progress

    blinds = Device("b", "Living Room Blinds", DeviceType.COVER)
    assert spoken_progress(blinds, {"state": "closed"}) == "closing the living room blinds"
    assert spoken_progress(blinds, {"position": 100}) == "opening the living room blinds"
    assert spoken_progress(blinds, {"position": 40}) == "moving the living room blinds to 40% open"
    assert spoken_progress(blinds, {"state": "open"}, "de") == "Living Room Blinds wird geöffnet"


def test_plural_device_names_agree_with_their_verb() -> None:
    replies = Replies()
    assert replies.say("state_is", device="the living room blinds", state="open") == "The living room blinds are open."
    assert replies.say("state_is", device="the kitchen light", state="on") == "The kitchen light is on."
    # German texts are left to their own grammar.
    assert "are" not in replies.say("state_is", "de", device="die Jalousien", state="offen")
