"""What safety asks of the dialogue, from safety.yaml.

- Danger words that stop everything: gas, fire or smoke, water leaks, being locked out.
- Risky actions: the device classes (garage doors, gates, locks, alarm panels, water and gas
  valves, ovens, heaters) that a spoken command moves only after a yes, or never.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Literal

import yaml

from device_bridge.devices import Device

SAFETY_FILE = Path(__file__).with_name("safety.yaml")


@dataclass(frozen=True)
class Danger:
    kind: str  # gas | fire | water | locked_out
    advices: tuple[tuple[str, str], ...]  # (language, advice with {emergency} still to fill)

    @property
    def advice(self) -> str:
        return self.text("en")

    def text(self, language: str) -> str:
        texts = dict(self.advices)
        return texts.get(language) or texts["en"]


def _danger(kind: str, rule: dict[str, object]) -> Danger:
    advice = rule.get("advice", "")
    texts = advice if isinstance(advice, dict) else {"en": advice}
    return Danger(kind, tuple((str(k), " ".join(str(v).split())) for k, v in texts.items()))


@cache
def _file() -> dict[str, dict[str, Any]]:
    data = yaml.safe_load(SAFETY_FILE.read_text(encoding="utf-8"))
    assert isinstance(data, dict) and isinstance(data.get("dangers"), dict)
    return data


def _rules() -> dict[str, dict[str, object]]:
    return _file()["dangers"]


def _has(text: str, phrase: str) -> bool:
    return re.search(rf"\b{re.escape(phrase.lower())}\b", text) is not None


def detect_danger(text: str) -> Danger | None:
    t = " ".join(text.lower().replace("’", "'").split())
    for kind, rule in _rules().items():
        words = rule.get("words") or []
        unless = rule.get("unless") or []
        assert isinstance(words, list) and isinstance(unless, list)
        if any(_has(t, w) for w in words) and not any(_has(t, u) for u in unless):
            return _danger(kind, rule)
    return None


# The understanding stage's own danger labels, mapped to the advice above.
UNDERSTANDING_KINDS = {"carbon_monoxide": "gas", "gas": "gas", "fire": "fire", "smoke": "fire",
                       "water_leak": "water", "locked_out": "locked_out"}


def danger_of_kind(label: str) -> Danger:
    kind = UNDERSTANDING_KINDS.get(label, "fire" if "smoke" in label else label)
    rule = _rules().get(kind) or _rules()["fire"]
    return _danger(kind, rule)


# --- risky actions ---------------------------------------------------------------------------

Policy = Literal["confirm", "forbid", "allow"]
POLICIES: tuple[str, ...] = ("confirm", "forbid", "allow")


@dataclass(frozen=True)
class RiskyClass:
    name: str  # garage_door, gate, lock, ...
    domains: tuple[str, ...]
    device_classes: tuple[str, ...]
    name_words: tuple[str, ...]
    states: tuple[str, ...]  # requested states that are risky; "any": every change
    policy: Policy

    def covers(self, device: Device) -> bool:
        domain = str(device.type.value if hasattr(device.type, "value") else device.type)
        if self.domains and domain not in self.domains:
            return False
        if device.device_class and device.device_class in self.device_classes:
            return True
        names = " ".join([device.name, *device.aliases, device.id.replace("_", " ")]).lower()
        if any(_has(names, w) for w in self.name_words):
            return True
        # A class named by its domain alone (lock) takes every device of that domain.
        return not self.device_classes and not self.name_words

    def risky(self, wanted: str) -> bool:
        return "any" in self.states or wanted in self.states


@cache
def risky_classes() -> tuple[RiskyClass, ...]:
    out = []
    for name, rule in (_file().get("risky_actions") or {}).items():
        policy = str(rule.get("policy", "confirm"))
        if policy not in POLICIES:
            raise ValueError(f"{SAFETY_FILE}: risky_actions.{name}: policy must be one of {', '.join(POLICIES)}")
        out.append(RiskyClass(
            name,
            tuple(str(x) for x in rule.get("domains") or ()),
            tuple(str(x) for x in rule.get("device_classes") or ()),
            tuple(str(x).lower() for x in rule.get("name_words") or ()),
            tuple(str(x).lower() for x in rule.get("states") or ("any",)),
            policy,  # type: ignore[arg-type]
        ))
    return tuple(out)


def requested_state(device: Device, changes: dict[str, Any]) -> str:
    """The state a change asks for, in one word: "open" for a cover sent to 30%, "heat" for a
    thermostat's mode, "on" for a switch."""
    want = str(changes.get("state", changes.get("hvac_mode", ""))).lower()
    if not want and "position" in changes:
        try:
            want = "open" if float(changes["position"] or 0) > 0 else "closed"
        except (TypeError, ValueError):
            want = "open"
    if not want and "temperature" in changes:
        want = "heat"  # a new set point can start the heating
    return want or "change"


@dataclass(frozen=True)
class Risk:
    policy: Policy  # confirm | forbid
    risky_class: str  # garage_door, lock, ... or "device" for a rule naming the device


def risk_of(
    device: Device,
    changes: dict[str, Any],
    class_policies: dict[str, str] | None = None,
    device_policies: dict[str, str] | None = None,
    also_confirm: bool = False,
) -> Risk | None:
    """Whether a change to ``device`` needs a yes ("confirm") or is refused ("forbid"); None: do it.
    ``device_policies`` (by name, alias or id) win over ``class_policies`` (by class name), which
    win over safety.yaml. A device rule applies to every change of that device. ``also_confirm``:
    another rule (the configured sensitive_commands) asks for a yes as well."""
    names = {device.id.lower(), device.name.lower(), *(a.lower() for a in device.aliases)}
    for key, policy in (device_policies or {}).items():
        if key.lower() in names:
            return None if policy == "allow" else Risk(policy, "device")  # type: ignore[arg-type]
    wanted = requested_state(device, changes)
    found: Risk | None = None
    for rc in risky_classes():
        if not rc.covers(device) or not rc.risky(wanted):
            continue
        policy = (class_policies or {}).get(rc.name, rc.policy)
        if policy == "forbid":
            return Risk("forbid", rc.name)
        if policy == "confirm" and found is None:
            found = Risk("confirm", rc.name)
    if found is None and also_confirm:
        found = Risk("confirm", "sensitive_commands")
    return found
