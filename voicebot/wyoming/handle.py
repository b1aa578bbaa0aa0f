"""The conversation agent: a ``transcript`` with its ``context`` → ``handled`` with the reply, or
``not-handled`` when voicebot did not understand (Home Assistant then shows it as an error and
still speaks the text). The turn goes through the same dialogue as the phone line: device control
over MQTT, troubleshooting playbooks, escalation with a ticket; the satellite's area is the
speaker's room, and the reply is in the language the customer used.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable, Iterable

from wyoming.asr import Transcript
from wyoming.event import Event
from wyoming.handle import Handled, NotHandled

from device_bridge.devices import Area
from voicebot.dialogue.types import Reply
from voicebot.languages import primary_language
from voicebot.wyoming.conversations import Conversations, satellite_area
from voicebot.wyoming.wire import RequestError

log = logging.getLogger(__name__)


def understood(reply: Reply) -> bool:
    """A reply to something voicebot understood (acted on, asked about, escalated)."""
    return bool(reply.intent or reply.actions or reply.escalated or reply.ticket_id)


class ConversationAgent:
    """Shared by every connection of the service."""

    def __init__(
        self,
        conversations: Conversations,
        areas: Callable[[], Iterable[Area]],
        satellite_areas: dict[str, str],
        max_text_chars: int,
    ) -> None:
        self.conversations = conversations
        self._areas = areas
        self._satellite_areas = satellite_areas
        self._max_chars = max_text_chars

    async def on_transcript(self, event: Event) -> Event:
        request = Transcript.from_event(event)
        text = request.text or ""
        if len(text) > self._max_chars:
            raise RequestError(f"text of {len(text)} characters is over the limit of {self._max_chars}",
                               "text-too-long")
        context = request.context if isinstance(request.context, dict) else {}
        key = str(context.get("conversation_id") or "") or uuid.uuid4().hex
        language = primary_language(request.language) or "en"
        area = satellite_area(context, self._satellite_areas, self._areas())
        # who is speaking: the satellite's customer (voicebot.customers), else the household's
        satellite = next((str(context[k]) for k in ("satellite_id", "device_id") if context.get(k)), None)
        held, new = await self.conversations.get(key, area, language, satellite)
        if new:
            log.info("conversation %s started (area %s, language %s)", held.conversation.id, area or "unknown", language)
        async with held.lock:
            reply = await asyncio.to_thread(held.conversation.handle, text)
        if reply.end_conversation:
            await self.conversations.end(key, reply.outcome or "resolved")
        answer_context = {"conversation_id": key}
        if understood(reply):
            return Handled(text=reply.text, context=answer_context).event()
        return NotHandled(text=reply.text, context=answer_context).event()
