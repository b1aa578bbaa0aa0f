"""The MiniLM graph as onnxruntime runs it, prepared once and kept on disk, so a process loads
only what it runs (issue 12: the learned layer's memory budget is 150 MB).

onnxruntime's basic optimisation folds the int8 weights into float ones when a session is made:
the session then held the float weights, the int8 ones and the graph (+168 MB measured, each
first in its process). Saved once with the float weights in a file beside the graph, a later
session loads that graph without optimising again and the weights file is mapped, not copied:
+60 MB, the same CPU time per sentence and the same vectors to the last bit (the graph is the
one the basic optimisation made). The preparation runs in a child process, so its one-time
peak is never the service's. Derived from the pinned, verified model file only (nothing is
downloaded); keyed by the model's digest and the onnxruntime version, and checked by digest
before every use.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

log = logging.getLogger(__name__)

GRAPH = "model.onnx"
WEIGHTS = "weights.bin"
DIGESTS = "digests.json"
# What the child process runs: the basic optimisation, saved with the weights in their own file.
_PREPARE = """
import sys
import onnxruntime as ort
options = ort.SessionOptions()
options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
options.optimized_model_filepath = sys.argv[2]
options.add_session_config_entry("session.optimized_model_external_initializers_file_name", sys.argv[3])
options.add_session_config_entry("session.optimized_model_external_initializers_min_size_in_bytes", "1024")
ort.InferenceSession(sys.argv[1], options, providers=["CPUExecutionProvider"])
"""


def cache_dir() -> Path:
    """Where the learned layer keeps what it derives (indexes, examples, the prepared graph)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "voicebot" / "semantic"


def prepared_graph(model: Path, model_sha256: str, cache: Path) -> Path | None:
    """The prepared graph for ``model`` (already verified by the caller), made on first use;
    None when it cannot be made or kept (the caller then optimises in process, as before)."""
    import onnxruntime as ort

    folder = cache / f"minilm-{model_sha256[:16]}-ort{ort.__version__}"
    if _intact(folder):
        return folder / GRAPH
    try:
        if folder.exists():
            shutil.rmtree(folder)  # damaged or half-written: never used, made anew
        cache.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(dir=cache, prefix=".prepare-"))
        done = subprocess.run(
            [sys.executable, "-c", _PREPARE, str(model), str(work / GRAPH), WEIGHTS],
            capture_output=True, text=True, timeout=300, check=False,
        )
        if done.returncode != 0 or not (work / GRAPH).is_file() or not (work / WEIGHTS).is_file():
            log.warning("cannot prepare the MiniLM graph (%s): optimising in process", done.stderr[-300:])
            shutil.rmtree(work, ignore_errors=True)
            return None
        (work / DIGESTS).write_text(json.dumps({n: _digest(work / n) for n in (GRAPH, WEIGHTS)}))
        try:
            os.replace(work, folder)  # whole or not at all: a second process never reads half
        except OSError:
            shutil.rmtree(work, ignore_errors=True)  # another process was first: use its copy
    except (OSError, subprocess.SubprocessError) as exc:
        log.warning("cannot keep the prepared MiniLM graph in %s (%s): optimising in process", cache, exc)
        return None
    return folder / GRAPH if _intact(folder) else None


def _intact(folder: Path) -> bool:
    try:
        digests = json.loads((folder / DIGESTS).read_text())
        return all(_digest(folder / name) == digests.get(name) for name in (GRAPH, WEIGHTS))
    except (OSError, ValueError):
        return False


def _digest(path: Path) -> str:
    with path.open("rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()
