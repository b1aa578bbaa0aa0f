"""The labelled sentence sets stay well-formed, and the tuning (dev) set stays understood."""

from __future__ import annotations

from pathlib import Path

import yaml

from voicebot.understand import DEVICE_INTENTS, SUPPORT_INTENTS, Understander

DATA = Path(__file__).parent / "data"


def _items(name: str) -> list[dict]:
    return yaml.safe_load((DATA / f"{name}.yaml").read_text())["items"]


def test_sets_are_labelled_with_known_intents_and_devices(home_devices) -> None:
    ids = {d.id for d in home_devices[0]}
    known = set(DEVICE_INTENTS) | set(SUPPORT_INTENTS) | {None}
    heldout = _items("heldout")
    assert len(heldout) >= 150
    for item in heldout + _items("dev"):
        assert item["intent"] in known, item
        assert set(item.get("devices") or []) <= ids, item


def test_dev_set_intents(nlu: Understander) -> None:
    items = _items("dev")
    right = sum(nlu.understand(i["text"], speaker_area=i.get("area")).intent == i["intent"] for i in items)
    assert right / len(items) >= 0.95
