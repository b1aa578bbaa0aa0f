"""A Piper voice cut in two at its decoder, so a sentence's audio can be made piece by piece.

A Piper voice is one ONNX graph (VITS): the text encoder, the duration predictor and the flow turn
a sentence's phonemes into latent frames (one per 256 samples), then the decoder (HiFi-GAN,
about 70 % of the time) turns those frames into audio. The decoder is convolutional, so a run of
frames with a few frames of context on each side gives the same samples as the whole sentence
(within 1e-6): the first half-second can be decoded and played while the rest is decoded.

The cut is made once per voice file with the ``onnx`` package, in a child process (importing it
costs ~40 MB the service should not keep), and kept in the cache with what the other models derive
(``$XDG_CACHE_HOME/voicebot/piper``, keyed by the voice file's size and time, the two halves
checked by digest before every use, as :mod:`voicebot.understand.semantic.prepared` does):

    python -m voicebot.piper_split VOICE.onnx OUT_DIR     # writes OUT_DIR/text.onnx, decoder.onnx

:func:`split_voice` returns the two files (made if missing), or None when the voice cannot be cut
(not a Piper VITS graph, ``onnx`` missing): the voice is then run whole, as before.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

FORMAT = 1  # bump when the files written change
DECODER_PREFIX = "/dec/"  # Piper's exporter names the decoder's nodes so


@dataclass(frozen=True)
class SplitVoice:
    text_model: Path  # phonemes → latent frames: inputs as the voice's, output ``latent``
    decoder_model: Path  # latent frames → audio
    latent: str  # the name of the tensor between them, [1, channels, frames]


def cache_dir() -> Path:
    """Where the cut voices are kept."""
    return Path(os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")) / "voicebot" / "piper"


def split_voice(model: Path, cache_dir: Path) -> SplitVoice | None:
    """The voice's two halves from ``cache_dir`` (made there first if missing), or None."""
    try:
        st = model.stat()
    except OSError:
        return None
    out = cache_dir / f"{model.name.removesuffix('.onnx')}-{st.st_size}-{st.st_mtime_ns}-v{FORMAT}"
    found = _read(out)
    if found is not None:
        return found
    if out.exists():
        shutil.rmtree(out, ignore_errors=True)  # damaged or half-written: never used, made anew
    tmp = out.with_name(f"{out.name}.{os.getpid()}.tmp")
    try:
        tmp.mkdir(parents=True, exist_ok=True)
        # The child imports this very module, wherever this process found it (a checkout run without installing).
        here = str(Path(__file__).resolve().parents[1])
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (here, os.environ.get("PYTHONPATH")) if p)}
        done = subprocess.run([sys.executable, "-m", "voicebot.piper_split", str(model), str(tmp)],
                              capture_output=True, text=True, timeout=300, env=env)
        if done.returncode != 0:
            log.warning("the Piper voice %s is run whole (it could not be cut at its decoder: %s)",
                        model.name, (done.stderr.strip().splitlines() or ["?"])[-1])
            return None
        with contextlib.suppress(OSError):  # OSError: another process made it meanwhile
            os.replace(tmp, out)
    except (OSError, subprocess.SubprocessError) as exc:
        log.warning("the Piper voice %s is run whole (%s)", model.name, exc)
        return None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return _read(out)


def _read(folder: Path) -> SplitVoice | None:
    """The halves kept in ``folder`` if they are whole and as written (else None: made anew)."""
    try:
        meta = json.loads((folder / "split.json").read_text(encoding="utf-8"))
        text, decoder = folder / "text.onnx", folder / "decoder.onnx"
        if not isinstance(meta.get("latent"), str) or meta.get("digests") != {"text": _digest(text), "decoder": _digest(decoder)}:
            return None
    except (OSError, ValueError, AttributeError):
        return None
    return SplitVoice(text, decoder, meta["latent"])


def _digest(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def cut(model: Path, out: Path) -> str:
    """Write ``out``/text.onnx and decoder.onnx; returns the latent tensor's name. Raises
    ValueError when the graph has no single tensor feeding its decoder."""
    import onnx
    from onnx.utils import Extractor

    m = onnx.load(str(model))
    g = m.graph
    decoder = [n for n in g.node if n.name.startswith(DECODER_PREFIX)]
    made = {o for n in decoder for o in n.output}
    weights = {i.name for i in g.initializer}
    feeding = {i for n in decoder for i in n.input if i and i not in made and i not in weights}
    if not decoder or len(feeding) != 1 or len(g.output) != 1:
        raise ValueError(f"not a Piper VITS graph (decoder nodes {len(decoder)}, inputs {sorted(feeding)})")
    latent = feeding.pop()
    extractor = Extractor(m)
    inputs = [i.name for i in g.input]
    onnx.save(extractor.extract_model(inputs, [latent]), str(out / "text.onnx"))
    onnx.save(extractor.extract_model([latent], [g.output[0].name]), str(out / "decoder.onnx"))
    digests = {"text": _digest(out / "text.onnx"), "decoder": _digest(out / "decoder.onnx")}
    (out / "split.json").write_text(json.dumps({"latent": latent, "from": str(model), "digests": digests}), encoding="utf-8")
    return latent


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: python -m voicebot.piper_split VOICE.onnx OUT_DIR")
    try:
        cut(Path(sys.argv[1]), Path(sys.argv[2]))
    except (ValueError, OSError, ImportError) as exc:
        sys.exit(f"cannot cut {sys.argv[1]}: {exc}")
