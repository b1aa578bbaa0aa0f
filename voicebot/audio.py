"""Audio helpers: read/write any libsndfile format, convert to the pipeline's 16 kHz mono int16,
resample (soxr), cut into frames, and the G.711 mu-law codec for telephony.

Inside the pipeline audio is always ``np.ndarray`` of int16, mono, at ``SAMPLE_RATE`` (the one
``RATE`` of :mod:`voicebot.frames`); channels convert at the edge with :func:`to_pipeline` /
:func:`resample`.
"""

from __future__ import annotations

import io
import struct
import warnings
from collections.abc import Iterator
from os import PathLike
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

with warnings.catch_warnings():
    # audioop is in the standard library up to 3.12; on 3.13+ the audioop-lts package
    # provides the same module. It is the well-kept G.711 implementation.
    warnings.simplefilter("ignore", DeprecationWarning)
    import audioop

from voicebot.frames import RATE as SAMPLE_RATE  # the pipeline's rate (defined once, in frames)

PHONE_RATE = 8000


class AudioFileError(ValueError):
    """A file that cannot be used as audio; the message names the file and says why."""


def read_audio(path: str | PathLike[str], rate: int = SAMPLE_RATE) -> np.ndarray:
    """Read any libsndfile format (WAV, FLAC, OGG, ...) at any rate and channel count and
    return mono int16 at ``rate``. Raises AudioFileError for missing, broken or empty files."""
    samples, file_rate = read_float(path)
    return float_to_int16(soxr.resample(samples, file_rate, rate) if file_rate != rate else samples)


def read_float(path: str | PathLike[str]) -> tuple[np.ndarray, int]:
    """The file's audio downmixed to mono float32 in [-1, 1], with its own sample rate."""
    p = Path(path)
    if not p.exists():
        raise AudioFileError(f"{p}: no such file")
    if p.is_dir():
        raise AudioFileError(f"{p}: is a directory, not an audio file")
    if p.stat().st_size == 0:
        raise AudioFileError(f"{p}: the file is empty (0 bytes)")
    raw = p.read_bytes()
    try:
        info = sf.info(io.BytesIO(raw))
        data, file_rate = sf.read(io.BytesIO(raw), dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, TypeError, ValueError) as exc:
        raise AudioFileError(f"{p}: not a readable audio file ({_reason(exc)})") from exc
    if data.shape[0] == 0:
        raise AudioFileError(f"{p}: the file holds no audio (0 samples)")
    # libsndfile reads a cut-off file quietly up to the cut; the container says what should be there
    cut = truncation(raw, info.format, data.shape[0], info.frames, int(file_rate))
    if cut:
        raise AudioFileError(f"{p}: the file is cut off: {cut}")
    mono = data.mean(axis=1) if data.shape[1] > 1 else data[:, 0]
    return np.ascontiguousarray(mono, dtype=np.float32), int(file_rate)


def truncation(data: bytes, fmt: str, frames_read: int, frames_declared: int, rate: int) -> str | None:
    """Why the audio file ``data`` stops before its own header says it ends, or None: the WAV
    data chunk's size, the Ogg end-of-stream flag, the frame count in the header."""
    if fmt in ("WAV", "WAVEX", "RF64") and data[:4] == b"RIFF":
        declared, available = _wav_data_sizes(data)
        if declared is not None and declared != 0xFFFFFFFF and available < declared:
            return f"the WAV data chunk announces {declared} bytes but only {available} are there"
    elif fmt == "OGG":
        last_page = data.rfind(b"OggS")
        # Byte 5 of an Ogg page header holds the flags; 0x04 marks the stream's last page.
        if last_page < 0 or len(data) < last_page + 6 or not data[last_page + 5] & 0x04:
            return "the Ogg stream has no end-of-stream page"
    if frames_declared > 0 and frames_read < 0.98 * frames_declared:
        return (f"the {fmt} audio stops after {frames_read / rate:.2f} s of the "
                f"{frames_declared / rate:.2f} s its header announces")
    return None


def _wav_data_sizes(data: bytes) -> tuple[int | None, int]:
    pos = 12
    while pos + 8 <= len(data):
        chunk_id, size = data[pos : pos + 4], struct.unpack_from("<I", data, pos + 4)[0]
        if chunk_id == b"data":
            return size, len(data) - pos - 8
        pos += 8 + size + (size & 1)
    return None, 0


def _reason(exc: Exception) -> str:
    text = str(exc)
    # libsndfile's messages repeat the path; keep the part after it.
    return text.split(": ", 1)[-1] if ": " in text else text or type(exc).__name__


def to_pipeline(samples: np.ndarray, rate: int, channels: int = 1) -> np.ndarray:
    """Interleaved samples (int16 or float) at ``rate`` with ``channels`` → 16 kHz mono int16."""
    x = int16_to_float(samples) if samples.dtype == np.int16 else samples.astype(np.float32)
    if channels > 1:
        x = x.reshape(-1, channels).mean(axis=1)
    if rate != SAMPLE_RATE:
        x = soxr.resample(x, rate, SAMPLE_RATE)
    return float_to_int16(x)


def resample(pcm: np.ndarray, from_rate: int, to_rate: int) -> np.ndarray:
    """Resample mono audio with soxr; int16 in → int16 out, float in → float32 out."""
    if from_rate == to_rate:
        return pcm
    if pcm.dtype == np.int16:
        return float_to_int16(soxr.resample(int16_to_float(pcm), from_rate, to_rate))
    return soxr.resample(pcm.astype(np.float32), from_rate, to_rate).astype(np.float32)


def int16_to_float(pcm: np.ndarray) -> np.ndarray:
    return pcm.astype(np.float32) / 32768.0


def float_to_int16(x: np.ndarray) -> np.ndarray:
    return (np.clip(x, -1.0, 32767 / 32768) * 32768.0).round().astype(np.int16)


def frame_samples(frame_ms: int, rate: int = SAMPLE_RATE) -> int:
    return rate * frame_ms // 1000


def frames(pcm: np.ndarray, frame_ms: int = 30, rate: int = SAMPLE_RATE, pad: bool = False) -> Iterator[np.ndarray]:
    """Cut ``pcm`` into consecutive frames of ``frame_ms``; the short tail is zero-padded when
    ``pad`` is true, else dropped."""
    n = frame_samples(frame_ms, rate)
    full = len(pcm) // n
    for i in range(full):
        yield pcm[i * n : (i + 1) * n]
    tail = pcm[full * n :]
    if pad and len(tail):
        yield np.concatenate([tail, np.zeros(n - len(tail), dtype=pcm.dtype)])


class FrameBuffer:
    """Turns chunks of any length into frames of exactly ``size`` samples."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._pending = np.zeros(0, dtype=np.int16)

    def push(self, pcm: np.ndarray) -> Iterator[np.ndarray]:
        pcm = pcm.astype(np.int16, copy=False)
        data = np.concatenate([self._pending, pcm]) if len(self._pending) else pcm
        full = len(data) // self.size
        for i in range(full):
            yield data[i * self.size : (i + 1) * self.size]
        self._pending = np.array(data[full * self.size :], dtype=np.int16)

    def drain(self) -> np.ndarray | None:
        """The pending partial frame, zero-padded to a whole frame (None if nothing pending)."""
        if not len(self._pending):
            return None
        out = np.concatenate([self._pending, np.zeros(self.size - len(self._pending), dtype=np.int16)])
        self._pending = np.zeros(0, dtype=np.int16)
        return out


def mulaw_encode(pcm: np.ndarray) -> bytes:
    """16-bit linear PCM → G.711 mu-law bytes (one byte per sample)."""
    return audioop.lin2ulaw(np.ascontiguousarray(pcm, dtype="<i2").tobytes(), 2)


def mulaw_decode(data: bytes) -> np.ndarray:
    """G.711 mu-law bytes → 16-bit linear PCM."""
    return np.frombuffer(audioop.ulaw2lin(bytes(data), 2), dtype="<i2").astype(np.int16)


def write_wav(path: str | PathLike[str], pcm: np.ndarray, rate: int = SAMPLE_RATE) -> Path:
    """Write mono int16 (or float) audio as a 16-bit PCM WAV file."""
    p = Path(path)
    if p.parent and not p.parent.exists():
        p.parent.mkdir(parents=True, exist_ok=True)
    data = pcm if pcm.dtype == np.int16 else float_to_int16(pcm)
    sf.write(str(p), data, rate, subtype="PCM_16")
    return p


def rms_dbfs(pcm: np.ndarray) -> float:
    """Root-mean-square level in dB relative to full scale (-inf for digital silence → -120)."""
    if not len(pcm):
        return -120.0
    x = pcm.astype(np.float64) / 32768.0
    level = float(np.sqrt(np.mean(x * x)))
    return 20 * np.log10(level) if level > 1e-6 else -120.0
