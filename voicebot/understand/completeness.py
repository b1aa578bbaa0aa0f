"""Is a (speculative) transcript a complete request? The understanding's judgement for the end
of a turn (``voicebot.turn_taking.TurnJudge``): a complete request may end after a shorter
silence, one that is not complete yet waits longer, since the rest of it is likely to come.

    judge = UnderstandingJudge(understander, lambda: conversation.context, speaker_area="Kitchen")
    judge.completeness("turn on the kitchen light")   # "complete"
    judge.completeness("set the thermostat")          # "incomplete": no temperature yet

Read from what the understanding makes of the words in this home and conversation, never from
the words alone: "turn on the light" is complete in a flat with one light and incomplete in a
house of six. Nothing here changes the conversation (its context is only read), and the learned
layer is not asked (what only it would read is unsure anyway, and it is the slow part).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Literal, Protocol

from voicebot.understand.context import YES_NO, ConversationContext, PendingQuestion
from voicebot.understand.types import DEVICE_INTENTS, Understanding

Completeness = Literal["complete", "incomplete"]

# Said in full or not at all: nothing can follow that makes them a different request. Not a
# greeting or thanks: they lead into what the caller wants ("hi, | my heating is off", "thanks, |
# that's all"), so the words and the voice decide as before.
_WHOLE = frozenset({"Goodbye", "Help", "AskIfBot", "AskHuman", "Repeat", "Cancel", "TicketStatus", "AskWhy"})
# A value a device intent cannot be carried out without (any one of them; a step up or down,
# "dim the lamp", is one).
_NEEDS = {
    "HassClimateSetTemperature": ("temperature", "temperature_step"),
    "HassLightSet": ("brightness", "brightness_step", "color", "color_temp", "temperature"),
    "HassSetPosition": ("position", "position_step"),
    "HassSetVolume": ("volume_level", "volume_step"),
}
# The dialogue's confirm_below default: under it the dialogue asks before it acts, so the
# words were not yet a request it would simply carry out.
CONFIDENT = 0.7


def completeness(u: Understanding, pending: PendingQuestion | None = None,
                 confident: float = CONFIDENT) -> Completeness | None:
    """"complete": the dialogue could act on or answer it as it stands; "incomplete": it asks
    for something of the home that is not yet pinned down (no device, several devices, a value
    missing, or words that name a device but no request yet); None: nothing to say (a problem
    report or feedback, which people go on describing, or words about nothing of the home)."""
    if u.intent is None:
        # "set the thermostat", "Schalte das Licht": the home is named, the request not yet
        return "incomplete" if u.confidence > 0 else None
    if u.intent in ("Yes", "No"):
        # an answer only when the bot asked a yes/no question ("okay, that is fine" is no request)
        return "complete" if pending is not None and pending.kind == YES_NO and u.confidence >= confident else None
    if u.intent in _WHOLE:
        return "complete" if u.confidence >= confident else None
    if u.intent not in DEVICE_INTENTS:
        return None
    if u.deferred:
        return None  # "... in ten minutes": the dialogue offers it now; the words may well go on
    if not u.device_ids or u.candidates or u.confidence < confident:
        return "incomplete"
    needs = _NEEDS.get(u.intent)
    if needs and not any(u.slots.get(k) is not None for k in needs):
        return "incomplete"
    return "complete"


class Understand(Protocol):
    def understand(self, text: str, context: ConversationContext | None = None, speaker_area: str | None = None,
                   language: str | None = None, prior: str | None = None, learned: bool = True) -> Understanding: ...


class UnderstandingJudge:
    """A ``TurnJudge`` over an understander, the conversation's context (read afresh at each
    pause: a question the bot just asked counts) and where the speaker is."""

    def __init__(
        self,
        understander: Understand | Callable[[], Understand | None],
        context: Callable[[], ConversationContext | None] = lambda: None,
        speaker_area: str | None = None,
        language: Callable[[], str | None] = lambda: None,
        confident: float = CONFIDENT,
    ) -> None:
        # an understander, or where to get it when judging (the dialogue engine builds its own
        # on first use; None: no judgement)
        self._understander = understander
        self.context = context
        self.speaker_area = speaker_area
        self.language = language
        self.confident = confident

    def completeness(self, text: str) -> Completeness | None:
        # A shallow copy: the dialogue's thread may be updating the context meanwhile, and the
        # understanding must not see half of that nor touch the original.
        understander = self._understander if hasattr(self._understander, "understand") else self._understander()
        if understander is None:
            return None
        ctx = copy.copy(self.context())
        u = understander.understand(text, ctx, self.speaker_area, language=self.language(), learned=False)
        return completeness(u, ctx.pending if ctx is not None else None, self.confident)
