"""The ``feedback`` configuration section (read with ``voicebot.config.section``)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from voicebot.config import Settings, section


class FeedbackSettings(BaseModel):
    """Feedback workers, their limits, what they keep and what a fault report triggers."""

    topic_prefix: str = "voicebot/feedback"  # devices publish under <prefix>/<device_id>/clip…
    share_group: str = "voicebot"  # MQTT 5 shared subscription group: $share/<group>/…
    store: str | None = None  # a SQLite file or postgresql://…; default: the dialogue store (one database)
    keep_audio: bool = False  # keep the clip's original bytes beside the transcript
    max_bytes: int = Field(16 * 1024 * 1024, gt=0)  # larger clips are refused (too_large)
    max_seconds: float = Field(120.0, gt=0)  # longer clips are refused (too_long)
    min_seconds: float = 0.3  # shorter audio counts as empty
    silence_dbfs: float = -55.0  # a clip whose loudest second stays below this is silent
    # limits on what one peer may ask of a worker; exceeding one gets a final "rejected" ack
    max_chunks: int = Field(4096, ge=1)  # chunks in one streamed clip (the `end`'s count, chunk numbers)
    max_message_bytes: int = Field(64 * 1024, ge=1024)  # a start or end message (JSON)
    max_json_depth: int = Field(16, ge=2)  # nesting of lists/objects in any JSON message
    # what one device, or all of them together, may have waiting; beyond it the device is told to
    # retry later (status "error", retry: true): nothing a well-behaved device sends is lost
    max_open_uploads: int = Field(8, ge=1)  # streamed clips one device may have started and not ended
    max_queued_jobs: int = Field(256, ge=1)  # messages a worker holds for its threads (QoS 1 ones: + receive_maximum)
    chunk_wait_s: float = 3.0  # how long an `end` waits for chunks still being stored by other workers
    claim_lease_s: float = 300.0  # a worker's claim on a clip expires after this (a dead worker's clip is retried)
    upload_ttl_s: float = 3600.0  # unfinished streamed uploads are forgotten after this
    session_expiry_s: int = 86400  # the broker keeps a stopped worker's queue this long
    receive_maximum: int = Field(16, ge=1)  # unacknowledged messages the broker may hand one worker
    multilingual_model: str = "base"  # Whisper model for clips whose locale is not English
    on_fault: Literal["none", "ticket", "contact", "both"] = "ticket"
    contact_topic: str = "voicebot/support/contact"  # where proactive-contact requests are published
    contact_min_urgency: Literal["normal", "high", "critical"] = "high"


class _DialogueStore(BaseModel):
    """The one key of the dialogue's section that says where its database is."""

    model_config = ConfigDict(extra="ignore")
    store: str | None = None


def feedback_settings(settings: Settings | None = None) -> FeedbackSettings:
    return section(FeedbackSettings, "feedback", settings)


def store_path(fs: FeedbackSettings, settings: Settings) -> Path | str:
    """The feedback tables live in the same database as conversations and tickets
    (``dialogue.store``, else ``store.url``, else <data_dir>/voicebot.sqlite3), unless
    ``feedback.store`` says otherwise. A SQLite file or postgresql://…"""
    from voicebot.sqlite_db import store_location

    return store_location(settings, fs.store or section(_DialogueStore, "dialogue", settings).store)
