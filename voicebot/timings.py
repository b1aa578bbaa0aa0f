"""A spoken turn's stage timings, folded from its stage events (:mod:`voicebot.events`).

Home Assistant assist_pipeline style: points in seconds after the end of the user's speech
(``endpoint``: turn end decided, ``transcript``, ``reply_text``, ``first_audio``: first reply
audio handed to the channel) and durations (``transcribe_s``, ``understand_s``, ``dialogue_s``,
``synth_first_s``). The store keeps them with the turn's row (:func:`store_timings`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, fields
from typing import Any, Protocol

from voicebot.events import EventBus, Phase, Stage, StageEvent

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
