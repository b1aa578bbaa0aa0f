"""Home Assistant's conversation ids → voicebot dialogue conversations, and the satellite's room.

Home Assistant opens a new connection for every turn and names the conversation in the
``transcript``'s context; the dialogue state (the last device, a troubleshooting playbook under
way, a pending confirmation) lives here between turns. A conversation unused for ``idle_s`` is
ended as abandoned; beyond ``max_count`` the one unused longest goes first.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from device_bridge.devices import Area
from voicebot.dialogue.types import Conversation

log = logging.getLogger(__name__)

# (speaker_area, language, satellite or device id) → a new dialogue conversation
NewConversation = Callable[[str | None, str, str | None], Conversation]


@dataclass
class Held:
    conversation: Conversation
    used_at: float
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)  # one turn at a time per conversation


class Conversations:
    """Used from the event loop only; creating and ending conversations touches the store, so
    those run in worker threads."""

    def __init__(
        self, new: NewConversation, idle_s: float, max_count: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._new = new
        self.idle_s = idle_s
        self.max_count = max_count
        self._clock = clock
        self._held: OrderedDict[str, Held] = OrderedDict()

    def __len__(self) -> int:
        return len(self._held)

    def __contains__(self, key: str) -> bool:
        return key in self._held

    async def get(self, key: str, area: str | None, language: str, satellite: str | None = None) -> tuple[Held, bool]:
        """The conversation behind ``key`` (True: made now)."""
        await self._expire()
        held = self._held.get(key)
        if held is not None:
            held.used_at = self._clock()
            self._held.move_to_end(key)
            return held, False
        conversation = await asyncio.to_thread(self._new, area, language, satellite)
        raced = self._held.get(key)
        if raced is not None:  # another connection started the same conversation meanwhile
            await asyncio.to_thread(conversation.end, "abandoned")
            raced.used_at = self._clock()
            return raced, False
        held = self._held[key] = Held(conversation, self._clock())
        while len(self._held) > self.max_count:
            _, oldest = self._held.popitem(last=False)
            await asyncio.to_thread(oldest.conversation.end, "abandoned")
        return held, True

    async def end(self, key: str, outcome: str) -> None:
        held = self._held.pop(key, None)
        if held is not None:
            await asyncio.to_thread(held.conversation.end, outcome)

    async def close(self) -> None:
        while self._held:
            _, held = self._held.popitem()
            await asyncio.to_thread(held.conversation.end, "abandoned")

    async def _expire(self) -> None:
        now = self._clock()
        stale = [k for k, h in self._held.items() if now - h.used_at > self.idle_s and not h.lock.locked()]
        for key in stale:
            await self.end(key, "abandoned")


def _words(text: str) -> str:
    return " " + " ".join(re.findall(r"[a-z0-9]+", text.lower().replace("_", " "))) + " "


def satellite_area(context: dict[str, object], configured: dict[str, str], areas: Iterable[Area]) -> str | None:
    """The room of the satellite (or device) that heard the turn: the configured one for its id;
    else an ``area`` the context names, if the home has it; else a home area whose name or alias
    is spelt in the id, as Home Assistant's ids usually are ("assist_satellite.kitchen_voice")."""
    ids = [str(context[k]) for k in ("satellite_id", "device_id") if context.get(k)]
    for ident in ids:
        if ident in configured:
            return configured[ident]
    known = list(areas)
    named = context.get("area")
    if isinstance(named, str) and named.strip():
        for a in known:
            if _words(named) in (_words(a.name), *(_words(x) for x in a.aliases)):
                return a.name
    candidates = sorted(
        ((name, a.name) for a in known for name in (a.name, *a.aliases)), key=lambda p: len(p[0]), reverse=True
    )
    for ident in ids:
        spelt = _words(ident)
        for name, area in candidates:
            if _words(name) in spelt:
                return area
    return None
