"""Clip bytes → 16 kHz mono int16, refusing what cannot be heard with a precise reason.

libsndfile (through soundfile) reads WAV, FLAC, OGG Vorbis/Opus and MP3 from memory. It is
lenient with cut-off files, so truncation is checked against what the container promises:
the WAV data chunk's size, the frame count in the header, the Ogg end-of-stream flag.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
import soundfile as sf

from voicebot.audio import SAMPLE_RATE, float_to_int16, resample, rms_dbfs, truncation
from voicebot.feedback.messages import FeedbackError


@dataclass
class DecodedClip:
    pcm: np.ndarray  # 16 kHz mono int16
    format: str  # libsndfile's name, e.g. "WAV", "FLAC", "OGG", "MP3"
    subtype: str
    source_rate: int
    duration_s: float
    peak_dbfs: float  # the loudest second's RMS level


def decode_clip(data: bytes, max_seconds: float, min_seconds: float, silence_dbfs: float) -> DecodedClip:
    if not data:
        raise FeedbackError("empty", "the clip is 0 bytes long")
    try:
        info = sf.info(io.BytesIO(data))
    except (sf.LibsndfileError, RuntimeError) as exc:
        raise FeedbackError(
            "unknown_format",
            f"not a readable audio format ({_reason(exc)}); send WAV, FLAC, OGG Vorbis/Opus or MP3",
        ) from exc
    if info.samplerate <= 0 or info.channels <= 0:
        raise FeedbackError("unknown_format", "the audio header names no sample rate or channels")
    declared_s = info.frames / info.samplerate if info.frames > 0 else 0.0
    if declared_s > max_seconds:
        raise FeedbackError("too_long", f"the clip lasts {declared_s:.1f} s; at most {max_seconds:.0f} s are taken")
    if info.format == "OGG" or (info.format in ("WAV", "WAVEX", "RF64") and data[:4] == b"RIFF"):
        cut = truncation(data, info.format, 0, 0, info.samplerate)  # the container alone, before decoding
        if cut:
            raise FeedbackError("truncated", f"{cut}; it was cut off")
    try:
        samples, rate = sf.read(io.BytesIO(data), dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError) as exc:
        raise FeedbackError("truncated", f"the {info.format} audio breaks off ({_reason(exc)})") from exc
    if len(samples) == 0:
        raise FeedbackError("empty", f"the {info.format} file holds no audio samples")
    # libsndfile stops quietly at a cut; a header that promised clearly more frames means truncation.
    cut = truncation(data, info.format, len(samples), info.frames, int(rate))
    if cut:
        raise FeedbackError("truncated", cut)
    duration = len(samples) / rate
    if duration > max_seconds:
        raise FeedbackError("too_long", f"the clip lasts {duration:.1f} s; at most {max_seconds:.0f} s are taken")
    if duration < min_seconds:
        raise FeedbackError("empty", f"the clip lasts only {duration:.2f} s")
    mono = samples.mean(axis=1) if samples.shape[1] > 1 else samples[:, 0]
    pcm = float_to_int16(resample(np.ascontiguousarray(mono), int(rate), SAMPLE_RATE))
    peak = _loudest_second_dbfs(pcm)
    if peak < silence_dbfs:
        raise FeedbackError("silent", f"the clip is silent (loudest second {peak:.0f} dBFS, below {silence_dbfs:.0f})")
    return DecodedClip(pcm, info.format, info.subtype, int(rate), duration, peak)


def _loudest_second_dbfs(pcm: np.ndarray) -> float:
    n = SAMPLE_RATE // 2  # half-second windows, so a short word in a long silence still counts
    windows = [pcm[i : i + n] for i in range(0, max(len(pcm) - n, 0) + 1, n)] or [pcm]
    return max(rms_dbfs(w) for w in windows)


def _reason(exc: Exception) -> str:
    text = str(exc)
    return text.rsplit(": ", 1)[-1] if ": " in text else text or type(exc).__name__
