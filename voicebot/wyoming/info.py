"""``describe`` → ``info``: the three programs voicebot offers on its port, all ``installed``.

- asr ``voicebot-stt``: the configured Whisper model and its languages (English only for ``*.en``
  models, every Whisper language for a multilingual one);
- tts ``voicebot-tts``: each voice with its language: the Piper voices (Piper names them like
  ``en_US``) and, for each reply language without one, espeak-ng's voice (``espeak-ng-de``, ``de``);
- handle ``voicebot``: the conversation agent in the languages it has replies for, with
  ``supports_home_control`` (it switches devices itself, over MQTT).
"""

from __future__ import annotations

from dataclasses import dataclass

from wyoming.info import (
    AsrModel,
    AsrProgram,
    Attribution,
    HandleModel,
    HandleProgram,
    Info,
    TtsProgram,
    TtsVoice,
)

from voicebot import __version__
from voicebot.wyoming.tts import Voice

VOICEBOT = Attribution(name="voicebot", url="")  # no public home page to point to
WHISPER = Attribution(name="OpenAI Whisper (faster-whisper)", url="https://github.com/SYSTRAN/faster-whisper")
PIPER = Attribution(name="Piper", url="https://github.com/rhasspy/piper")
ESPEAK = Attribution(name="eSpeak NG", url="https://github.com/espeak-ng/espeak-ng")


@dataclass(frozen=True)
class Offer:
    """What the service has to offer, gathered once at start."""

    asr_model: str
    asr_languages: tuple[str, ...]
    voices: tuple[Voice, ...]
    handle_languages: tuple[str, ...]


def whisper_languages(multilingual: bool) -> tuple[str, ...]:
    if not multilingual:
        return ("en",)
    from faster_whisper.tokenizer import _LANGUAGE_CODES  # the list Whisper's tokenizer accepts

    return tuple(_LANGUAGE_CODES)


def build_info(offer: Offer) -> Info:
    asr = AsrProgram(
        name="voicebot-stt",
        description="voicebot speech to text (Whisper, short-command window, hallucination rejection)",
        attribution=VOICEBOT,
        installed=True,
        version=__version__,
        models=[
            AsrModel(
                name=offer.asr_model,
                description=f"Whisper {offer.asr_model}",
                attribution=WHISPER,
                installed=True,
                version=None,
                languages=list(offer.asr_languages),
            )
        ],
        supports_transcript_streaming=True,
    )
    tts = TtsProgram(
        name="voicebot-tts",
        description="voicebot text to speech (Piper, espeak-ng for languages without a Piper voice; sentence by sentence)",
        attribution=VOICEBOT,
        installed=True,
        version=__version__,
        voices=[
            TtsVoice(
                name=v.name,
                description=v.description or v.name,
                attribution=ESPEAK if v.engine == "espeak-ng" else PIPER,
                installed=True,
                version=None,
                languages=list(v.languages),
            )
            for v in offer.voices
        ],
        supports_synthesize_streaming=True,
    )
    handle = HandleProgram(
        name="voicebot",
        description="voicebot support assistant: device control over MQTT, troubleshooting, tickets",
        attribution=VOICEBOT,
        installed=True,
        version=__version__,
        models=[
            HandleModel(
                name="voicebot-dialogue",
                description="rules and troubleshooting playbooks",
                attribution=VOICEBOT,
                installed=True,
                version=__version__,
                languages=list(offer.handle_languages),
            )
        ],
        supports_handled_streaming=False,
        supports_home_control=True,
    )
    return Info(asr=[asr], tts=[tts], handle=[handle])
