"""What a fault report sets in motion, by configuration (``feedback.on_fault``): a
troubleshooting ticket in the shared store, and/or a proactive-contact request on MQTT
(``feedback.contact_topic``) for whoever calls or messages the customer back."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from voicebot.feedback.analyze import URGENCY_LEVELS, Analysis
from voicebot.feedback.messages import ClipMeta
from voicebot.feedback.settings import FeedbackSettings
from voicebot.store import Store

log = logging.getLogger(__name__)

Publish = Callable[[str, bytes], None]


class FollowUp:
    def __init__(self, fs: FeedbackSettings, store_path: str | Path, publish: Publish | None = None) -> None:
        self.fs = fs
        self.store_path = store_path
        self.publish = publish
        self._tickets: Any = None  # voicebot.store.Store, opened on the first fault

    def __call__(self, feedback_id: int, meta: ClipMeta, analysis: Analysis, transcript: str) -> tuple[str | None, bool]:
        """Returns (ticket id or None, whether contact was requested)."""
        if not analysis.is_fault or self.fs.on_fault == "none":
            return None, False
        problem = ", ".join(analysis.topics.problems) or ", ".join(analysis.urgency_reasons) or "fault"
        summary = {
            "source": "feedback",
            "feedback_id": feedback_id,
            "device_id": meta.device_id,
            "model": meta.model,
            "firmware": meta.firmware,
            "clip_id": meta.clip_id,
            "transcript": transcript,  # already redacted
            "urgency": analysis.urgency,
            "urgency_reasons": analysis.urgency_reasons,
            "topics": analysis.topics.as_dict(),
            "sentiment": analysis.sentiment,
            "emotions": analysis.emotions,
        }
        ticket_id = None
        if self.fs.on_fault in ("ticket", "both"):
            ticket_id = self._open_ticket(problem, summary)
        contacted = False
        wanted = URGENCY_LEVELS.index(analysis.urgency) >= URGENCY_LEVELS.index(self.fs.contact_min_urgency)
        if self.fs.on_fault in ("contact", "both") and wanted and self.publish is not None:
            self.publish(self.fs.contact_topic, json.dumps({**summary, "ticket_id": ticket_id}).encode())
            contacted = True
        return ticket_id, contacted

    def _open_ticket(self, problem: str, summary: dict[str, Any]) -> str:
        if self._tickets is None:
            self._tickets = Store(self.store_path)
        reason = "safety" if summary["urgency"] == "critical" else "feedback"
        ticket = self._tickets.create_ticket(None, None, reason, problem, summary)
        log.info("feedback %s opened ticket %s", summary["feedback_id"], ticket.id)
        log.debug("ticket %s: %s", ticket.id, problem)
        return str(ticket.id)

    def close(self) -> None:
        if self._tickets is not None:
            self._tickets.close()
            self._tickets = None
