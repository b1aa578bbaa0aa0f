"""What follow-up turns refer to: the devices, area and request of the previous turns, and
the question the bot is waiting on.

The dialogue engine keeps one ``ConversationContext`` per conversation, passes it to
``Understander.understand(text, context)`` and, after acting on the result, calls
``context.update(understanding)``. When the bot asks a question it records it with
``ask_which`` (which of these devices?) or ``ask_yes_no`` so the answer is read against it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from voicebot.understand.types import DEVICE_INTENTS, Understanding

WHICH_DEVICE = "which_device"
YES_NO = "yes_no"


@dataclass
class PendingQuestion:
    """A question the bot asked and the answer to which the next turn may be."""

    kind: str  # WHICH_DEVICE | YES_NO | any label the dialogue uses for an open question
    candidates: list[str] = field(default_factory=list)  # device ids offered (WHICH_DEVICE)
    intent: str | None = None  # the request waiting on the answer
    slots: dict[str, Any] = field(default_factory=dict)
    topic: str | None = None  # free label for YES_NO questions, e.g. "confirm_unlock"


@dataclass
class ConversationContext:
    last_device_ids: list[str] = field(default_factory=list)
    last_candidates: list[str] = field(default_factory=list)
    last_area: str | None = None
    last_domain: str | None = None
    last_intent: str | None = None  # last device intent or ReportProblem: what "and the bedroom" repeats
    last_slots: dict[str, Any] = field(default_factory=dict)
    pending: PendingQuestion | None = None
    turns: int = 0
    misunderstood: int = 0  # consecutive turns with no intent
    repeated: bool = False  # this turn said the same as the one before (for FrustrationTracker)
    last_text: str = ""

    def update(self, understanding: Understanding) -> None:
        """Record a turn the dialogue has acted on."""
        self.turns += 1
        u = understanding
        said = " ".join(u.text.lower().split()).strip(" .!?")
        self.repeated = bool(said) and said == self.last_text
        self.last_text = said
        if u.intent is None:
            self.misunderstood += 1
            return
        self.misunderstood = 0
        slots = u.slots
        if u.intent in DEVICE_INTENTS or u.intent == "ReportProblem":
            self.last_intent = u.intent
            self.last_slots = {k: v for k, v in slots.items() if k not in ("safety",)}
        if u.device_ids:
            self.last_device_ids = list(u.device_ids)
        if slots.get("area"):
            self.last_area = slots["area"]
        if slots.get("domain"):
            self.last_domain = slots["domain"]
        if u.candidates and not u.device_ids:
            self.last_candidates = list(u.candidates)
            self.pending = PendingQuestion(WHICH_DEVICE, list(u.candidates), u.intent, dict(slots))
        elif u.intent in ("Yes", "No", "Cancel") or u.device_ids or u.intent in DEVICE_INTENTS:
            # the question was answered (or dropped): later turns are read on their own
            self.pending = None

    def ask_which(self, candidates: list[str], intent: str | None, slots: dict[str, Any] | None = None) -> None:
        """The bot asked which of ``candidates`` the customer means."""
        self.last_candidates = list(candidates)
        self.pending = PendingQuestion(WHICH_DEVICE, list(candidates), intent, dict(slots or {}))

    def ask_yes_no(self, topic: str | None = None, intent: str | None = None) -> None:
        """The bot asked a yes/no question; "yeah, it's still off" then reads as Yes."""
        self.pending = PendingQuestion(YES_NO, intent=intent, topic=topic)

    def clear_pending(self) -> None:
        self.pending = None
