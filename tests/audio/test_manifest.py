"""models/manifest.toml tells the truth about the installed model packages."""

from __future__ import annotations

import tomllib
from importlib.metadata import version
from pathlib import Path

from voicebot.models import BUNDLED_VOICES, BUNDLED_WHISPER, resolve_voice, resolve_whisper

MANIFEST = Path(__file__).resolve().parents[2] / "models" / "manifest.toml"


def test_manifest_lists_every_bundled_name_with_installed_versions_and_sizes() -> None:
    data = tomllib.loads(MANIFEST.read_text(encoding="utf-8"))
    assert set(data["whisper"]) == set(BUNDLED_WHISPER)
    assert set(data["voice"]) == set(BUNDLED_VOICES)
    tiny = data["whisper"]["tiny.en"]
    assert version(tiny["package"]) == tiny["version"]
    for name, size in tiny["files"].items():
        assert (resolve_whisper("tiny.en") / name).stat().st_size == size
    base = data["whisper"]["base"]
    assert all(version(p) == base["version"] for p in base["package"])
    joe = data["voice"]["joe"]
    assert version(joe["package"]) == joe["version"]
    onnx, _ = resolve_voice("joe")
    assert onnx.stat().st_size == joe["files"][onnx.name]
