"""The seam between a phone transport (AudioSocket, Twilio) and the call it carries.

A server turns its connection into a ``Leg`` (how the call talks back) and feeds the call what
the caller sends through ``CallInput``. Everything above this seam is the same for both
transports.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Protocol

import numpy as np


class Leg(Protocol):
    transport: str  # "audiosocket" or "twilio"
    rate: int  # the call's audio rate, in and out
    fill_silence: bool  # send silence while idle (AudioSocket hangs up after 2 s without traffic)
    confirms_playback: bool  # the far end reports when queued audio has played (Twilio marks)

    async def send_audio(self, frame: np.ndarray) -> None:
        """One frame of int16 mono audio at ``rate``."""
        ...

    async def mark(self, name: str) -> None:
        """Ask to be told (``CallInput.played``) when the audio sent so far has played."""
        ...

    async def clear(self) -> None:
        """Drop audio already sent but not yet played (barge-in)."""
        ...

    async def hangup(self) -> None:
        """End the bot's leg of the call; the dialplan or TwiML continues from there."""
        ...


class CallInput(Protocol):
    def audio(self, pcm: np.ndarray, rate: int) -> None:
        """Caller audio, int16 mono at ``rate``."""
        ...

    def dtmf(self, digit: str) -> None: ...

    def played(self, mark: str) -> None:
        """The far end played everything sent before ``mark``."""
        ...

    def hangup(self, by: str, error: str | None = None) -> None:
        """The leg is gone: ``by`` is "caller" or "error" (with what went wrong)."""
        ...


async def wind_down(runner: asyncio.Task[None], leg: Leg) -> None:
    """After a transport's read loop: stop the call if it still runs, then end the leg."""
    if not runner.done():
        runner.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await runner
    await leg.hangup()
