"""A finding in the customer's words: one sentence per check (``finding_<check>`` in
voicebot/dialogue/replies/<language>.yaml) and the offer of the playbook that fixes it."""

from __future__ import annotations

from typing import Any

from device_bridge.devices import Device, DeviceType
from voicebot.dialogue.describe import device_label
from voicebot.dialogue.replies import Replies
from voicebot.dialogue.results import ago


def label(name: str, language: str) -> str:
    """A device name as said in a sentence ("the back door sensor")."""
    return device_label(Device(id="", name=name, type=DeviceType.SENSOR), language)


def _number(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _has(replies: Replies, key: str) -> bool:
    return key in replies.texts["en"]


def describe(replies: Replies, language: str, check: str, device_name: str, evidence: dict[str, Any],
             now: float) -> str:
    """The finding as one sentence: "The back door sensor's battery is at 4%." """
    values: dict[str, Any] = {"device": label(device_name, language)}
    values.update({k: _number(v) for k, v in evidence.items() if isinstance(v, (int, float, str))})
    key = f"finding_{check}"
    if check == "offline_for":
        values["ago"] = ago(replies, language, max(0.0, now - float(evidence.get("offline_since", now))))
    elif check == "reading_outlier":
        unit = evidence.get("unit") or ""
        sep = "" if not unit or unit == "%" else " "
        values["reading"] = f"{_number(evidence['reading'])}{sep}{unit}"
        values["reference"] = f"{_number(evidence['neighbour_reading'])}{sep}{unit}"
        values["neighbour"] = label(str(evidence["neighbour"]), language)
    elif check == "alarm" and _has(replies, f"finding_alarm_{evidence.get('device_class')}"):
        key = f"finding_alarm_{evidence.get('device_class')}"
    return replies.say(key, language, **values)


def offer(replies: Replies, language: str, kind: str, playbook: str | None) -> str:
    """ "Shall I walk you through changing it?" (none when no playbook fixes it)."""
    if not playbook:
        return ""
    key = f"finding_offer_{kind}" if _has(replies, f"finding_offer_{kind}") else "finding_offer"
    return replies.say(key, language)
