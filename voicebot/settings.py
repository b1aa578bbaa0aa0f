"""The core settings' schema and the configuration file's reading: defaults, then a YAML/TOML
file, then environment variables.

Environment variables use the prefix ``VOICEBOT_`` and ``__`` between nested
sections, e.g. ``VOICEBOT_TRANSCRIBE__MODEL=/srv/models/whisper-small``.
The file is named by ``VOICEBOT_CONFIG`` or ``--config`` (YAML or TOML).
Each stage owns one section; a stage reads only its own section. Load them through
:mod:`voicebot.config` (``load_settings``, ``section``), which checks them strictly.
"""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, Field, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict


class ListenSettings(BaseModel):
    """Endpointing (voicebot.listen). Defaults and their reasons: docs/audio.md."""

    vad_aggressiveness: int = Field(2, ge=0, le=3)
    frame_ms: Literal[10, 20, 30] = 30
    start_ms: int = 210  # voiced audio needed before a turn starts; shorter bursts (clicks, knocks) are dropped
    preroll_ms: int = 300  # audio kept from before the start, so the first syllable survives
    pause_ms: int = 180  # trailing silence that fires SpeechPaused (a session may transcribe speculatively)
    end_silence_ms: int = 450  # trailing silence that ends a turn (must exceed pauses inside a sentence)
    max_utterance_s: float = 15.0
    min_snr_db: float = 9.0  # a voiced frame must be this much louder than the background noise floor
    min_level_dbfs: float = -55.0  # and at least this loud
    max_flatness: float = 0.5  # spectral flatness above this is broadband noise (hiss, rain, fans), not voice
    min_modulation_db: float = 2.0  # level spread over the last second; steady noise stays below, speech ~10


class TranscribeSettings(BaseModel):
    """Speech recognition (voicebot.transcribe)."""

    model: str = "tiny.en"  # a bundled name (tiny.en, base) or a faster-whisper model directory
    language: str | None = None  # None: the model's own (English for .en models) or detected
    threads: int = 2  # CTranslate2 intra-op threads per transcription
    workers: int = 1  # model replicas that run in parallel when several threads transcribe at once
    window_s: float = 10.0  # encoder window for short turns (docs/audio.md); longer audio uses 30 s


class LanguageVoice(BaseModel):
    """The Piper voice of one reply language (``speak.voices``)."""

    voice: str  # a path to a Piper .onnx voice (or the bundled "joe")
    config: str | None = None  # the voice's .onnx.json when not beside it


class SpeakSettings(BaseModel):
    """Speech synthesis (voicebot.speak; the voice per language: voicebot.voices)."""

    voice: str = "joe"  # the default voice: the bundled one, or a path to a Piper .onnx voice
    voice_config: str | None = None  # the voice's .onnx.json when not beside it
    # A Piper voice per reply language, e.g. {de: /srv/voices/de_DE-thorsten-medium.onnx} or
    # {de: {voice: ..., config: ...}}. A language without one (and not the default voice's own)
    # is spoken by ``fallback``.
    voices: dict[str, LanguageVoice] = Field(default_factory=dict)
    fallback: Literal["espeak-ng", "default"] = "espeak-ng"  # "default": the default voice reads it
    espeak_speed: int = Field(160, ge=80, le=450)  # espeak-ng's words per minute
    length_scale: float = 1.0  # > 1 speaks slower
    # Piper's sampling noise. 0 makes the same text give the same audio (cacheable) and was the
    # clearest for recognisers and phone lines; the voice's own values (0.667, 0.8) vary each time.
    noise_scale: float = 0.0
    noise_w: float = 0.0
    # onnxruntime threads per sentence: one leaves the other core to Whisper, so a transcription
    # never waits behind a sentence being synthesized (README, benchmark section)
    threads: int = Field(1, ge=1)
    # A long sentence is decoded in pieces and its first ~0.56 s played while the rest is made
    # (the voice cut at its decoder once, kept in the cache; voicebot.piper_pieces). False: whole.
    pieces: bool = True

    @field_validator("voices", mode="before")
    @classmethod
    def _voice_paths(cls, value: Any) -> Any:
        """Language codes as keys ("de", as replies name their language); a plain path is the
        voice without a config path."""
        if not isinstance(value, dict):
            return value
        out = {}
        for key, choice in value.items():
            code = str(key).strip().lower()
            if not re.fullmatch(r"[a-z]{2,3}", code):
                raise ValueError(f"language codes as keys (like de, es, fr), not {key!r}")
            out[code] = {"voice": choice} if isinstance(choice, str) else choice
        return out


class MqttSettings(BaseModel):
    """The device bridge's broker; empty means an embedded broker on loopback."""

    broker: str | None = None  # mqtt://host:port or mqtts://host:port
    username: str | None = None
    password: str | None = None
    ca_file: str | None = None
    cert_file: str | None = None
    key_file: str | None = None


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="VOICEBOT_", env_nested_delimiter="__", extra="ignore")

    data_dir: Path = Path(os.environ.get("XDG_DATA_HOME", Path.home() / ".local/share")) / "voicebot"
    listen: ListenSettings = ListenSettings()
    transcribe: TranscribeSettings = TranscribeSettings()
    speak: SpeakSettings = SpeakSettings()
    mqtt: MqttSettings = MqttSettings()
    # Sections added by later stages (dialogue, phone, feedback, llm) live in their own models
    # and are read from the same file through ``section()``.
    extra: dict[str, Any] = Field(default_factory=dict)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, _FileSource(settings_cls))


class _FileSource(PydanticBaseSettingsSource):
    """Reads the file named by VOICEBOT_CONFIG (YAML, or TOML by extension)."""

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        return read_config_file(os.environ.get("VOICEBOT_CONFIG"))


def read_config_file(path: str | os.PathLike[str] | None) -> dict[str, Any]:
    data = read_raw_config(path)
    known = set(Settings.model_fields) - {"extra"}
    extra = {k: v for k, v in data.items() if k not in known}
    out = {k: v for k, v in data.items() if k in known}
    out["extra"] = extra
    return out


def read_raw_config(path: str | os.PathLike[str] | None) -> dict[str, Any]:
    """The configuration file's mapping of sections, as written."""
    if not path:
        return {}
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read configuration file {p}: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"configuration file {p} is not UTF-8 text (byte {exc.start})") from None
    try:
        data = tomllib.loads(text) if p.suffix == ".toml" else (yaml.safe_load(text) or {})
    except Exception as exc:  # yaml and toml raise their own error types
        raise ConfigError(f"configuration file {p} is not valid: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"configuration file {p} must hold a mapping of sections")
    return data


class ConfigError(RuntimeError):
    """A configuration problem, with a message meant for the user."""
