"""Which Whisper model hears a clip: the configured one, or the multilingual model for clips
whose locale is not English when the configured model is English-only (``*.en``)."""

from __future__ import annotations

from collections.abc import Callable

from voicebot.config import Settings
from voicebot.feedback.settings import FeedbackSettings
from voicebot.models import load_transcriber
from voicebot.transcribe import Transcriber


def transcriber_picker(settings: Settings, fs: FeedbackSettings) -> Callable[[str | None], Transcriber]:
    english_only = settings.transcribe.model.endswith(".en") or "tiny.en" in settings.transcribe.model
    multilingual = settings.model_copy(
        update={"transcribe": settings.transcribe.model_copy(update={"model": fs.multilingual_model, "language": None})}
    )

    def pick(language: str | None) -> Transcriber:
        if language and language != "en" and english_only:
            return load_transcriber(multilingual)
        return load_transcriber(settings)

    return pick
