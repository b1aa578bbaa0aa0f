"""The "dialogue" configuration section: escalation, callback promises, device policies.

Everything the bot may promise a customer comes from here; with nothing configured it
promises nothing it cannot keep (no callback time, no live transfer).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field, field_validator

from voicebot.dialogue.safety import risky_classes
from voicebot.timezones import TimezoneName

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class Window(BaseModel):
    """A weekly time window, e.g. Monday to Friday 08:00-18:00, in the section's timezone."""

    days: list[Weekday] = Field(min_length=1)
    start: dt.time
    end: dt.time

    @field_validator("end", mode="before")
    @classmethod
    def _midnight(cls, value: object) -> object:
        return dt.time.max if value in ("24:00", "24:00:00") else value  # to the end of the day

    @field_validator("end")
    @classmethod
    def _after_start(cls, end: dt.time, info: object) -> dt.time:
        start = getattr(info, "data", {}).get("start")
        if start is not None and end <= start:
            raise ValueError(f"window end {end} must be after its start {start}")
        return end

    def contains(self, moment: dt.datetime) -> bool:
        now = moment.time().replace(tzinfo=None)
        return WEEKDAYS[moment.weekday()] in self.days and self.start <= now and (now < self.end or self.end == dt.time.max)


class SensitiveRule(BaseModel):
    """A command that needs explicit spoken confirmation (or is refused when policy is "forbid")."""

    domain: str  # Home Assistant domain: lock, cover, alarm_control_panel
    device_class: str | None = None  # e.g. garage, gate; None: any device of the domain
    state: str  # the requested state that is sensitive: unlocked, open, disarmed


DEFAULT_SENSITIVE = [
    SensitiveRule(domain="lock", state="unlocked"),
    SensitiveRule(domain="cover", device_class="garage", state="open"),
    SensitiveRule(domain="cover", device_class="gate", state="open"),
    SensitiveRule(domain="alarm_control_panel", state="disarmed"),
]


class DialogueSettings(BaseModel):
    """voicebot.dialogue (config section "dialogue", env VOICEBOT_DIALOGUE__<FIELD>)."""

    store: str | None = None  # a SQLite file or postgresql://…; None: store.url, else <data_dir>/voicebot.sqlite3
    playbook_dirs: list[Path] = Field(default_factory=list)  # more playbooks beside the bundled ones
    command_timeout_s: float = Field(3.0, gt=0)
    min_confidence: float = Field(0.5, ge=0, le=1)  # below this nothing is done to a device
    confirm_below: float = Field(0.7, ge=0, le=1)  # between the two: "Do you want me to ...?" first
    # Devices (names, aliases or ids) the bot must never operate, whoever asks.
    forbidden_devices: list[str] = Field(default_factory=list)
    sensitive_commands: list[SensitiveRule] = Field(default_factory=lambda: list(DEFAULT_SENSITIVE))
    sensitive_policy: Literal["confirm", "forbid"] = "confirm"  # forbid: every risky action is refused
    # Risky action classes of safety.yaml (garage_door, gate, lock, alarm_panel, water_valve,
    # gas_valve, oven, heater) with a policy of their own, and devices (name, alias or id) with
    # one that wins over their class: confirm | forbid | allow.
    risky_classes: dict[str, Literal["confirm", "forbid", "allow"]] = Field(default_factory=dict)
    risky_devices: dict[str, Literal["confirm", "forbid", "allow"]] = Field(default_factory=dict)
    escalate_after_misunderstandings: int = Field(3, ge=1)  # consecutive turns not understood
    escalate_on_frustration: bool = True  # the understanding stage's frustration signal
    ticket_topic: str = "voicebot/tickets/new"
    timezone: TimezoneName = "UTC"
    # When agents call customers back. Empty: the bot gives no callback time at all.
    callback_windows: list[Window] = Field(default_factory=list)
    callback_within_hours: float | None = None  # promised only when set
    # Live transfer to an agent during agent_hours, on channels that can transfer (phone).
    live_transfer: bool = False
    agent_hours: list[Window] = Field(default_factory=list)
    emergency_number: str | None = None  # said in safety replies; None: "your local emergency number"
    # Languages besides the conversation's own that the understander recognises per turn; a turn
    # in one of them switches the replies to it (when replies/<lang>.yaml exists).
    languages: list[str] = Field(default_factory=list)
    # How long diagnosis may watch a device the customer says keeps dropping off, to see it drop.
    watch_drops_s: float = Field(7.0, ge=0)
    max_playbook_steps: int = Field(40, ge=5)  # a loop guard for playbooks written in a circle

    @field_validator("risky_classes")
    @classmethod
    def _known_classes(cls, value: dict[str, str]) -> dict[str, str]:
        known = {rc.name for rc in risky_classes()}
        unknown = sorted(set(value) - known)
        if unknown:
            raise ValueError(f"unknown risky class {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        return value

    def now(self) -> dt.datetime:
        return dt.datetime.now(ZoneInfo(self.timezone))
