"""The ``customers`` section of the configuration (``VOICEBOT_CUSTOMERS__*``)."""

from __future__ import annotations

from pydantic import BaseModel, Field


class CustomerSettings(BaseModel):
    """How a customer's history follows them from one channel to the next."""

    # A conversation's context (its devices, an open problem, the language) is picked up by the
    # customer's next conversation on any channel within this many hours; older is not brought up.
    carry_over_hours: float = Field(72.0, ge=0)
    # Open a conversation with what is still open ("You called yesterday about the kitchen light.
    # Is it still not working?"); off: the context still carries over, silently.
    open_with_history: bool = True
