"""What a live session hands back: each turn's record and its stage timings, folded from the
turn's stage events (:mod:`voicebot.events`), and the session's result.

Home Assistant assist_pipeline style: points in seconds after the end of the user's speech
(``endpoint``: turn end decided, ``transcript``, ``reply_text``, ``first_audio``: first reply
audio handed to the channel) and durations (``transcribe_s``, ``understand_s``, ``dialogue_s``,
``synth_first_s``). The store keeps them with the turn's row (:func:`store_timings`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, fields
from typing import Any, Protocol

import numpy as np

from voicebot.dialogue.types import Reply
from voicebot.events import EventBus, Phase, Stage, StageEvent
from voicebot.listener import BargeIn

log = logging.getLogger(__name__)


@dataclass
class TurnTimings:
    speech_start: float | None = None  # audio time the user began
    speech_end: float | None = None  # audio time their speech ended
    endpoint: float | None = None
    end_reason: str | None = None  # silence | quick | max_length
    speculative: bool | None = None  # the transcript came from the transcription started at the pause
    transcript: float | None = None
    transcribe_s: float | None = None
    transcribe_queued_s: float | None = None  # of the transcript used: time queued behind other calls' turns
    understand_s: float | None = None
    dialogue_s: float | None = None
    reply_text: float | None = None
    synth_first_s: float | None = None
    first_audio: float | None = None
    _eos_wall: float | None = None  # monotonic time the speech ended (at real-time pace)

    def apply(self, e: StageEvent) -> None:
        """Fold one of the turn's events in."""
        d = e.data
        if e.stage is Stage.LISTEN and e.phase is Phase.TURN_ENDED:
            self.speech_start, self.speech_end = d["start"], d["end"]
            self.endpoint = d["decided"] - d["end"]
            self.end_reason, self.speculative = d["reason"], d["speculative"]
            self._eos_wall = d["eos_wall"]
        elif e.stage is Stage.TRANSCRIBE and e.phase is Phase.END:
            self.transcript = self._since(e.time)
            self.transcribe_s = d.get("transcribe_s")
            self.transcribe_queued_s = d.get("queued_s")
        elif e.stage is Stage.UNDERSTAND and e.phase is Phase.END:
            self.understand_s = (self.understand_s or 0.0) + d["elapsed_s"]
        elif e.stage is Stage.DIALOGUE and e.phase is Phase.END:
            self.dialogue_s = d["elapsed_s"]
            self.reply_text = self._since(e.time)
        elif e.stage is Stage.SPEAK and e.phase is Phase.FIRST_AUDIO:
            self.synth_first_s = d.get("synth_s")
            self.first_audio = self._since(e.time)

    def _since(self, t: float) -> float | None:
        return None if self._eos_wall is None else t - self._eos_wall

    def as_dict(self, digits: int | None = None) -> dict[str, Any]:
        """The timings that were measured (floats rounded to ``digits`` when given)."""
        out: dict[str, Any] = {}
        for f in fields(self):
            v = getattr(self, f.name)
            if v is not None and not f.name.startswith("_"):
                out[f.name] = round(v, digits) if isinstance(v, float) and digits is not None else v
        return out


@dataclass
class TurnRecord:
    """One user turn and the bot's answer, with its stage timings."""

    index: int
    user_text: str
    start: float  # audio time the user began
    end: float  # audio time the user's speech ended
    timings: TurnTimings = field(default_factory=TurnTimings)
    reply_text: str = ""
    intent: str | None = None
    actions: list[dict[str, Any]] = field(default_factory=list)
    escalated: bool = False
    ticket_id: str | None = None
    ended_conversation: bool = False
    interrupted: bool = False  # the user barged in before the reply finished
    ignored: str | None = None  # why no reply was given (nothing heard, no wake word, echo)
    reply_audio: list[np.ndarray] = field(default_factory=list, repr=False)  # at the channel's rate

    def take(self, reply: Reply) -> None:
        """What the dialogue answered (the text follows as it is spoken)."""
        self.intent, self.escalated, self.ticket_id = reply.intent, reply.escalated, reply.ticket_id
        self.ended_conversation = reply.end_conversation
        self.actions = [
            {"device_id": a.device_id, "device": a.device_name, "changes": a.changes, "outcome": str(a.outcome),
             "reason": a.reason}
            for a in reply.actions
        ]

    def as_dict(self) -> dict[str, Any]:
        return {
            "index": self.index, "user": self.user_text, "reply": self.reply_text,
            "start": round(self.start, 3), "end": round(self.end, 3), "intent": self.intent,
            "actions": self.actions, "escalated": self.escalated, "ticket_id": self.ticket_id,
            "interrupted": self.interrupted, "ignored": self.ignored, "timings": self.timings.as_dict(4),
        }


@dataclass(frozen=True)
class Greeting:
    text: str


SessionEvent = TurnRecord | BargeIn | Greeting


@dataclass
class SessionResult:
    conversation_id: str
    outcome: str  # the conversation's outcome: resolved | transfer | abandoned
    turns: list[TurnRecord]
    barge_ins: list[BargeIn]
    greeting: str = ""
    ended_by: str = "channel"  # "dialogue" (goodbye or handover), "channel" (line closed) or "timeout"


class TurnClock:
    """Folds each turn's stage events (those tagged with its number) into its TurnTimings."""

    def __init__(self, bus: EventBus) -> None:
        self._timings: dict[int, TurnTimings] = {}
        bus.subscribe(self._on)

    def timings(self, turn: int) -> TurnTimings:
        return self._timings.setdefault(turn, TurnTimings())

    def done(self, turn: int) -> None:
        self._timings.pop(turn, None)

    def _on(self, e: StageEvent) -> None:
        if e.turn is None or e.stage is Stage.TURN:
            return
        if e.phase is Phase.TURN_ENDED:
            self._timings[e.turn] = TurnTimings()
        if e.turn in self._timings:
            self._timings[e.turn].apply(e)


class TimingsStore(Protocol):
    """What keeps turn timings (voicebot.store.Store)."""

    def set_turn_timings(self, conversation_id: str, timings: dict[str, Any]) -> bool: ...


def store_timings(bus: EventBus, store: TimingsStore) -> None:
    """Subscribe ``store`` to ``bus``: each answered turn's timings join the turn's row."""

    def on(e: StageEvent) -> None:
        if e.stage is not Stage.TURN or e.phase is not Phase.END or e.conversation_id is None:
            return
        record = e.data["record"]
        if record.ignored is not None:
            return
        data = {"turn": record.index, "user": record.user_text, **record.timings.as_dict()}
        try:
            store.set_turn_timings(e.conversation_id, data)
        except Exception:  # losing a timing record must not break the conversation
            log.exception("could not store the turn timings")

    bus.subscribe(on)
