"""Model resolution: bundled names, user paths, and one clear error for missing or damaged models."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from voicebot.config import Settings
from voicebot.models import ModelError, load_synthesizer, load_transcriber, resolve_voice, resolve_whisper


def test_bundled_names_resolve_without_network() -> None:
    tiny = resolve_whisper("tiny.en")
    assert (tiny / "model.bin").is_file()
    onnx, cfg = resolve_voice("joe")
    assert onnx.suffix == ".onnx" and cfg.name.endswith(".onnx.json")


def test_loaders_share_one_instance_per_model(transcriber, synthesizer) -> None:
    assert load_transcriber(Settings()) is transcriber
    assert load_synthesizer(Settings()) is synthesizer


def test_a_model_directory_by_path_works(tiny_model_path: Path, tmp_path: Path, shared_audio: Path) -> None:
    from voicebot.audio import read_audio

    own = tmp_path / "my-whisper"
    shutil.copytree(tiny_model_path, own)
    settings = Settings(transcribe={"model": str(own)}, data_dir=tmp_path)
    t = load_transcriber(settings)
    assert t.model_dir == own
    assert "time" in t.transcribe(read_audio(shared_audio / "what_time_is_it.wav")).text.lower()


@pytest.mark.parametrize("name", ["/no/such/model", "small.en"])
def test_unknown_whisper_model_names_what_to_use(name: str) -> None:
    with pytest.raises(ModelError, match="neither a bundled name"):
        resolve_whisper(name)


def test_incomplete_and_corrupt_whisper_models_say_what_to_do(tiny_model_path: Path, tmp_path: Path) -> None:
    incomplete = tmp_path / "incomplete"
    incomplete.mkdir()
    (incomplete / "config.json").write_text("{}")
    with pytest.raises(ModelError, match=r"lacks model\.bin.*tokenizer\.json"):
        resolve_whisper(str(incomplete))
    corrupt = tmp_path / "corrupt"
    shutil.copytree(tiny_model_path, corrupt)
    (corrupt / "model.bin").write_bytes(b"\x00garbage" * 1000)
    with pytest.raises(ModelError, match="damaged"):
        load_transcriber(Settings(transcribe={"model": str(corrupt)}, data_dir=tmp_path))


def test_voice_errors(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="neither a bundled voice"):
        resolve_voice("amy")
    with pytest.raises(ModelError, match="is missing"):
        resolve_voice(str(tmp_path / "voice.onnx"))
    _, cfg = resolve_voice("joe")
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"not onnx")
    shutil.copyfile(cfg, tmp_path / "bad.onnx.json")
    with pytest.raises(ModelError, match="damaged"):
        load_synthesizer(Settings(speak={"voice": str(bad)}, data_dir=tmp_path))
    (tmp_path / "bad.onnx.json").write_text("{not json")
    with pytest.raises(ModelError, match="not valid JSON"):
        resolve_voice(str(bad))


def test_multilingual_base_is_joined_once_and_detects_german(tmp_path: Path) -> None:
    from voicebot.audio import read_audio

    path = resolve_whisper("base", tmp_path)
    model = path / "model.bin"
    assert path == tmp_path / "models" / "whisper-base" and model.is_file()
    mtime = model.stat().st_mtime_ns
    assert resolve_whisper("base", tmp_path) == path and model.stat().st_mtime_ns == mtime
    wav = tmp_path / "de.wav"
    subprocess.run(["espeak-ng", "-v", "de", "-w", str(wav), "Schalte bitte das Licht im Wohnzimmer ein."], check=True)
    base = load_transcriber(Settings(transcribe={"model": "base"}, data_dir=tmp_path))
    result = base.transcribe(read_audio(wav))
    assert result.language == "de"
    assert "licht" in result.text.lower()
