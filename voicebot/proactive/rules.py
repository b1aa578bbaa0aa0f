"""The proactive rules as data: ``rules.yaml`` read and checked, one ``Rule`` per entry.

A rule names a check (the code that looks at a device: ``voicebot.proactive.checks``), the kind of
finding it raises (for deduplication and opt-outs), its severity, the playbook that fixes it and the
check's parameters. A bad file is a ``RuleFileError`` naming the rule and the field."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from device_bridge.devices import Device

BUNDLED = Path(__file__).with_name("rules.yaml")
Severity = Literal["info", "warning", "critical", "safety"]
SEVERITIES: tuple[str, ...] = ("info", "warning", "critical", "safety")


class RuleFileError(ValueError):
    """The rules file cannot be used; the message names the file, the rule and what is wrong."""


class _Params(BaseModel):
    model_config = ConfigDict(extra="forbid")


class BatteryBelow(_Params):
    percent: float = Field(15, gt=0, le=100)


class BatteryFalling(_Params):
    points: float = Field(20, gt=0, le=100)  # percentage points lost ...
    within_s: float = Field(86400, gt=0)  # ... within this long


class OfflineFor(_Params):
    grace_s: float = Field(900, ge=0)


class LinkQuality(_Params):
    below: int = Field(30, ge=0, le=255)
    collapse_ratio: float = Field(0.3, gt=0, lt=1)  # under this share of the device's usual level
    min_samples: int = Field(1, ge=1)  # readings of the usual level before the ratio counts


class ReadingOutlier(_Params):
    max_difference: dict[str, float] = Field(default_factory=lambda: {"temperature": 3.0, "humidity": 15.0})
    max_age_s: float = Field(7200, gt=0)  # readings older than this are not compared


class Flapping(_Params):
    changes: int = Field(6, ge=2)  # online/offline changes ...
    within_s: float = Field(1800, gt=0)  # ... within this long


class CommandFailures(_Params):
    failures: int = Field(3, ge=1)
    within_s: float = Field(3600, gt=0)
    confirm_s: float = Field(10, gt=0)


class Alarm(_Params):
    device_classes: list[str] = Field(default_factory=lambda: ["moisture", "smoke", "gas", "carbon_monoxide"])


PARAMS: dict[str, type[_Params]] = {
    "battery_below": BatteryBelow,
    "battery_falling": BatteryFalling,
    "offline_for": OfflineFor,
    "link_quality": LinkQuality,
    "reading_outlier": ReadingOutlier,
    "flapping": Flapping,
    "command_failures": CommandFailures,
    "alarm": Alarm,
}


class Rule(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1)
    check: str
    kind: str = Field(min_length=1)
    severity: Severity = "warning"
    playbook: str | dict[str, str | None] | None = None
    params: dict[str, Any] = Field(default_factory=dict)
    enabled: bool = True

    @field_validator("check")
    @classmethod
    def _known_check(cls, value: str) -> str:
        if value not in PARAMS:
            raise ValueError(f"unknown check {value!r}; known: {', '.join(PARAMS)}")
        return value

    def settings(self) -> Any:
        """The check's parameters, typed (validated when the file is loaded)."""
        return PARAMS[self.check].model_validate(self.params)

    def playbook_for(self, device: Device) -> str | None:
        """The playbook for this device: by device class, then type, then "hub", then "default"."""
        if self.playbook is None or isinstance(self.playbook, str):
            return self.playbook
        keys = [device.device_class, device.type.value, "hub" if device.topics.get("role") == "hub" else None]
        for key in keys:
            if key and key in self.playbook:
                return self.playbook[key]
        return self.playbook.get("default")

    def playbooks(self) -> set[str]:
        if self.playbook is None:
            return set()
        if isinstance(self.playbook, str):
            return {self.playbook}
        return {p for p in self.playbook.values() if p}


def load_rules(path: Path | None = None) -> list[Rule]:
    """The enabled rules of ``path`` (default: the bundled file)."""
    path = path or BUNDLED
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise RuleFileError(f"cannot read the rules file {path}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise RuleFileError(f"{path} is not valid YAML: {exc}") from None
    entries = data.get("rules") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        raise RuleFileError(f"{path}: expected a mapping with a 'rules' list")
    rules: list[Rule] = []
    problems: list[str] = []
    for i, entry in enumerate(entries):
        label = entry.get("id") if isinstance(entry, dict) and entry.get("id") else f"#{i + 1}"
        try:
            rule = Rule.model_validate(entry)
            rule.settings()
        except ValidationError as exc:
            for err in exc.errors():
                where = ".".join(str(p) for p in err["loc"]) or "rule"
                problems.append(f"rule {label}: {where}: {err['msg']}")
            continue
        if any(r.id == rule.id for r in rules):
            problems.append(f"rule {label}: the id is used twice")
            continue
        rules.append(rule)
    if problems:
        raise RuleFileError(f"{path}:\n  " + "\n  ".join(problems))
    return [r for r in rules if r.enabled]


def check_playbooks(rules: list[Rule], known: set[str]) -> None:
    """Every playbook a rule names must exist (a typo would leave the customer without a fix)."""
    missing = sorted({f"{r.id}: {p}" for r in rules for p in r.playbooks() if p not in known})
    if missing:
        raise RuleFileError("rules name playbooks that do not exist: " + ", ".join(missing))
