"""The feedback section is read from the configuration file and the environment, and the
feedback tables go into the same database file as the dialogue's."""

from __future__ import annotations

from pathlib import Path

import pytest

from voicebot.config import Settings
from voicebot.feedback.settings import feedback_settings, store_path


def test_section_from_file_and_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    conf = tmp_path / "voicebot.yaml"
    conf.write_text(
        f"data_dir: {tmp_path}/data\n"
        "dialogue:\n  store: /srv/voicebot/main.sqlite3\n"
        "feedback:\n  keep_audio: true\n  on_fault: contact\n  max_seconds: 60\n"
    )
    monkeypatch.setenv("VOICEBOT_FEEDBACK__MAX_SECONDS", "45")
    monkeypatch.setenv("VOICEBOT_CONFIG", str(conf))
    settings = Settings()
    fs = feedback_settings(settings)
    assert fs.keep_audio and fs.on_fault == "contact" and fs.max_seconds == 45.0
    assert store_path(fs, settings) == Path("/srv/voicebot/main.sqlite3")


def test_default_store_is_the_shared_database_in_the_data_dir(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    fs = feedback_settings(settings)
    assert store_path(fs, settings) == tmp_path / "voicebot.sqlite3"
    assert fs.topic_prefix == "voicebot/feedback" and fs.share_group == "voicebot" and not fs.keep_audio
