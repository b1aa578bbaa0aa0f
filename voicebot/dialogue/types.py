"""What the dialogue returns for each turn, and the seam a session talks to."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass
class Action:
    """A device command the dialogue sent, and what came of it."""

    device_id: str
    device_name: str
    changes: dict[str, Any]
    outcome: str  # device_bridge.devices.Outcome value
    reason: str = ""


@dataclass
class Reply:
    text: str  # what the bot says
    intent: str | None = None
    slots: dict[str, Any] = field(default_factory=dict)
    actions: list[Action] = field(default_factory=list)
    escalated: bool = False
    ticket_id: str | None = None
    end_conversation: bool = False  # the conversation is over (goodbye, or handed to a human)
    outcome: str | None = None  # at the end: "resolved" | "transfer" | "escalated" (ticket, no transfer) | "abandoned"
    sentiment: float | None = None  # VADER compound of the user's turn
    language: str = "en"
    handled_by: str = "rules"  # "rules" or "llm"


class Conversation(Protocol):
    """One conversation's dialogue state. Blocking; sessions call it from a worker thread."""

    id: str

    def greet(self) -> Reply: ...

    def handle(self, text: str) -> Reply: ...

    def handle_dtmf(self, digit: str) -> Reply: ...

    def end(self, outcome: str) -> None:
        """The channel closed (hang-up, timeout): record the outcome."""
        ...


@dataclass
class Opening:
    """What a conversation starts from before anything else: a problem found without the customer
    saying a word (voicebot.proactive), offered with the troubleshooting that fixes it."""

    text: str  # the finding, in the conversation's language: "The back door sensor's battery is at 4%."
    offer: str  # the question after it ("Shall I walk you through changing it?"); "" when nothing is offered
    device_id: str | None = None
    playbook: str | None = None  # a yes starts this playbook, from the device's evidence
    symptom: str = ""
    on_said: Callable[[], None] | None = None  # called once the customer has heard it


class Opener(Protocol):
    """Finds what a new conversation should open with (DialogueEngine.openers)."""

    def opening(self, customer_id: str | None, channel: str, language: str) -> Opening | None: ...
