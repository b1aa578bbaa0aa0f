"""What understanding produces from one user turn."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# Home Assistant intents (names as in home-assistant-intents).
DEVICE_INTENTS = (
    "HassTurnOn",
    "HassTurnOff",
    "HassToggle",
    "HassLightSet",
    "HassClimateSetTemperature",
    "HassClimateGetTemperature",
    "HassGetState",
    "HassSetPosition",
    "HassMediaPause",
    "HassMediaUnpause",
    "HassMediaNext",
    "HassMediaPrevious",
    "HassSetVolume",
    "HassVacuumStart",
    "HassVacuumReturnToBase",

)
# Support intents of our own.
SUPPORT_INTENTS = (
    "ReportProblem",  # slots: name/area/domain (the device), symptom
    "AskHuman",
    "TicketStatus",  # slots: ticket (id) optional
    "GiveFeedback",  # slots: feedback (text)
    "Help",
    "Yes",
    "No",
    "Repeat",
    "Cancel",
    "AskIfBot",  # "am I talking to a robot?"
    "AskWhy",  # "why did you turn that off?"
    "Greeting",
    "Thanks",
    "Goodbye",
)


@dataclass
class Sentiment:
    compound: float  # -1..1 (VADER compound)
    label: str  # "negative" | "neutral" | "positive"
    emotions: list[str] = field(default_factory=list)  # e.g. ["frustration"], ["anger"]


@dataclass
class Understanding:
    text: str
    intent: str | None  # None: not understood
    slots: dict[str, Any]  # Home Assistant slot names: name, area, floor, domain, device_class, state,
    # brightness (0-100 %), color, temperature, position, volume_level; ours: symptom, ticket, feedback
    confidence: float  # 0..1
    device_ids: list[str] = field(default_factory=list)  # resolved against the live registry
    candidates: list[str] = field(default_factory=list)  # when ambiguous: device ids that fit equally
    sentiment: Sentiment | None = None
    language: str = "en"
    # what decided the intent, for traces and for people editing the data files:
    # "en_intents.yaml HassTurnOn: <pattern>", "template HassTurnOn", "follow-up", "answer", "safety"
    matched: str | None = None
    # a change asked for later or on a condition ("in 10 minutes", "if it gets dark"): nothing
    # here schedules or watches, so the dialogue offers to do it now instead of doing it
    deferred: bool = False
