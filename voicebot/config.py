"""Configuration: defaults, then a YAML/TOML file, then environment variables.

Environment variables use the prefix ``VOICEBOT_`` and ``__`` between nested
sections, e.g. ``VOICEBOT_TRANSCRIBE__MODEL=/srv/models/whisper-small``.
The file is named by ``VOICEBOT_CONFIG`` or ``--config`` (YAML or TOML).
Each stage owns one section; a stage reads only its own section.

The core sections' models and the file's reading are in :mod:`voicebot.settings` (re-exported
here), the strict checks in :mod:`voicebot.config_check`; this module loads settings once and
reads a later stage's section.
"""

from __future__ import annotations

import os
from typing import TypeVar

from pydantic import BaseModel

from voicebot import config_check
from voicebot.settings import (
    ConfigError,
    ListenSettings,
    MqttSettings,
    Settings,
    SpeakSettings,
    TranscribeSettings,
    read_config_file,
    read_raw_config,
)

__all__ = [
    "ConfigError", "ListenSettings", "MqttSettings", "Settings", "SpeakSettings", "TranscribeSettings",
    "load_settings", "read_config_file", "read_raw_config", "section", "strict_settings",
]

T = TypeVar("T", bound=BaseModel)

_settings: Settings | None = None


def load_settings(config_file: str | os.PathLike[str] | None = None) -> Settings:
    """Load settings once; ``config_file`` overrides VOICEBOT_CONFIG. Unknown keys and
    wrong values (file or environment) raise one ConfigError naming each of them."""
    global _settings
    if config_file is not None:
        os.environ["VOICEBOT_CONFIG"] = str(config_file)
        _settings = None
    if _settings is None:
        _settings = strict_settings()
    return _settings


def strict_settings() -> Settings:
    """Settings() with every problem of the file's top level, the core sections and the
    ``VOICEBOT_*`` variables reported at once (sections of later stages: see ``section``)."""
    return config_check.checked_settings()


def section(model: type[T], name: str, settings: Settings | None = None) -> T:
    """A stage's own section, from the config file's top-level key ``name`` and
    environment variables ``VOICEBOT_<NAME>__<FIELD>``. Unknown keys and wrong values are a
    ConfigError that names each (with the nearest valid key), never a traceback."""
    s = settings or load_settings()
    data = s.extra.get(name) or {}
    if not isinstance(data, dict):
        raise ConfigError(f"invalid configuration:\n  {name}: expected a section of settings (a mapping), got {data!r:.60}")
    return config_check.checked_section(model, name, dict(data))
