"""A sentence's Piper audio in pieces: the latent frames of the whole sentence first (text encoder,
durations, flow: the prosody is the whole sentence's), then the decoder over the first ~0.56 s,
then over pieces twice as long as the one before, each with context frames on both sides so the
samples are the whole sentence's (see :mod:`voicebot.piper_split`). The first piece is heard
while the rest is decoded: a long sentence starts in about half the time (docs/audio.md).

Level: Piper scales each sentence to full scale by its loudest sample, which is unknown until the
whole sentence is decoded. The first piece sets the scale (Piper's own whenever the loudest
sample is in it, and always for a sentence short enough to be one piece); a later sample that
would then pass full scale is brought under it by a look-ahead limiter (a smooth gain dip of
~20 ms around it), never clipped.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

FIRST_FRAMES = 48  # the first piece: 48 × 256 samples = 0.56 s at 22,050 Hz
CONTEXT_FRAMES = 16  # each side of a piece; the decoder's reach is under it (measured: 1e-6 of the whole)
LIMIT_BLOCK = 64  # samples per step of the limiter's gain
LIMIT_SPREAD = 8  # blocks its gain takes to dip and to come back (8 × 64 samples = 23 ms)


def plan(frames: int, first: int = FIRST_FRAMES) -> list[tuple[int, int]]:
    """The pieces of a sentence of ``frames`` latent frames, as (start, end): one piece when it
    is under two first pieces long (decoding it whole costs little more), else the first piece
    and then pieces each twice the one before, the last taking what is left."""
    if frames <= 2 * first:
        return [(0, frames)]
    out, start, size = [], 0, first
    while start < frames:
        end = frames if frames - (start + size) < size else start + size
        out.append((start, end))
        start, size = end, size * 2
    return out


class PieceDecoder:
    """Piper's voice as its two halves (``text`` session: phonemes → latent frames; ``decoder``
    session: latent frames → audio). Thread-safe as onnxruntime's ``run`` is."""

    def __init__(self, text: Any, decoder: Any, latent: str, hop: int, speakers: int, default_speaker: int) -> None:
        self.text, self.decoder, self.latent_name, self.hop = text, decoder, latent, hop
        self._speaker = default_speaker if speakers > 1 else None

    def latent(self, phoneme_ids: list[int], scales: np.ndarray) -> np.ndarray:
        """The sentence's latent frames, [1, channels, frames]."""
        ids = np.array([phoneme_ids], dtype=np.int64)
        feed = {"input": ids, "input_lengths": np.array([ids.shape[1]], dtype=np.int64), "scales": scales}
        if self._speaker is not None:
            feed["sid"] = np.array([self._speaker], dtype=np.int64)
        return self.text.run(None, feed)[0]

    def decode(self, z: np.ndarray, start: int, end: int, context: int = CONTEXT_FRAMES) -> np.ndarray:
        """float32 audio of frames [start, end), decoded with ``context`` frames around them."""
        lo, hi = max(0, start - context), min(z.shape[2], end + context)
        audio = self.decoder.run(None, {self.latent_name: z[:, :, lo:hi]})[0].reshape(-1)
        return audio[(start - lo) * self.hop : (end - lo) * self.hop]

    def pieces(self, phoneme_ids: list[int], scales: np.ndarray) -> Iterator[tuple[np.ndarray, bool]]:
        """A sentence's audio piece by piece, in [-1, 1] (see the module's doc for the level),
        each with whether it is the last."""
        z = self.latent(phoneme_ids, scales)
        spans = plan(z.shape[2])
        gain = None
        for i, (start, end) in enumerate(spans):
            audio = self.decode(z, start, end)
            if gain is None:
                peak = float(np.max(np.abs(audio))) if len(audio) else 0.0
                gain = 1.0 / peak if peak >= 1e-8 else 0.0
                out = np.clip(audio * gain, -1.0, 1.0).astype(np.float32)
            else:
                out = limit(audio * gain)
            yield out, i == len(spans) - 1


def limit(audio: np.ndarray, ceiling: float = 0.999) -> np.ndarray:
    """``audio`` with any stretch above ``ceiling`` brought under it by a smooth gain dip (a
    look-ahead limiter: the gain starts falling ``LIMIT_SPREAD`` blocks before the peak)."""
    level = np.abs(audio)
    if not len(audio) or float(level.max()) <= ceiling:
        return audio.astype(np.float32)
    blocks = -(-len(audio) // LIMIT_BLOCK)
    peaks = np.pad(level, (0, blocks * LIMIT_BLOCK - len(audio))).reshape(blocks, LIMIT_BLOCK).max(axis=1)
    need = np.minimum(1.0, ceiling / np.maximum(peaks, 1e-9))  # the gain each block can have at most
    k = 2 * LIMIT_SPREAD + 1
    low = np.lib.stride_tricks.sliding_window_view(np.pad(need, LIMIT_SPREAD, constant_values=1.0), k).min(axis=1)
    # A moving average of a moving minimum of the same width never exceeds the minimum's input.
    smooth = np.convolve(np.pad(low, LIMIT_SPREAD, mode="edge"), np.ones(k) / k, mode="valid")
    # The gain at each block's edges (the lower of its two blocks), interpolated within the block.
    edges = np.minimum(np.concatenate([[smooth[0]], smooth]), np.concatenate([smooth, [smooth[-1]]]))
    at = np.arange(blocks + 1) * LIMIT_BLOCK
    gain = np.interp(np.arange(len(audio)), at, edges)
    return np.clip(audio * gain, -1.0, 1.0).astype(np.float32)
