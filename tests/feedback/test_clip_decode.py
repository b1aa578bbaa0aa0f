"""Clips in the common formats are heard; broken ones are refused with the precise reason."""

from __future__ import annotations

import io

import numpy as np
import pytest
import soundfile as sf
from feedback_testkit import encode

from voicebot.feedback.decode import decode_clip
from voicebot.feedback.messages import FeedbackError

FORMATS = [("WAV", "PCM_16"), ("FLAC", "PCM_16"), ("OGG", "VORBIS"), ("OGG", "OPUS"), ("MP3", "MPEG_LAYER_III")]


def _decode(data: bytes, max_s: float = 120.0) -> object:
    return decode_clip(data, max_seconds=max_s, min_seconds=0.3, silence_dbfs=-55.0)


@pytest.fixture(scope="module")
def speech(recordings: dict[str, bytes]) -> tuple[np.ndarray, int]:
    data, rate = sf.read(io.BytesIO(recordings["what_time_is_it"]), dtype="float32")
    return data, rate  # 48 kHz stereo, 2.2 s


@pytest.mark.parametrize(("fmt", "subtype"), FORMATS)
def test_common_formats_decode_to_pipeline_audio(speech: tuple[np.ndarray, int], fmt: str, subtype: str) -> None:
    data, rate = speech
    clip = _decode(encode(data, rate, fmt, subtype))
    assert clip.format == fmt
    assert clip.pcm.dtype == np.int16
    assert abs(clip.duration_s - len(data) / rate) < 0.1
    assert abs(len(clip.pcm) - clip.duration_s * 16000) < 200


def test_real_flac_recording(recordings: dict[str, bytes]) -> None:
    clip = _decode(recordings["jfk"])
    assert clip.format == "FLAC" and 10.5 < clip.duration_s < 11.5


@pytest.mark.parametrize(("fmt", "subtype"), FORMATS)
def test_cut_off_clips_are_truncated(speech: tuple[np.ndarray, int], fmt: str, subtype: str) -> None:
    whole = encode(*speech, fmt, subtype)
    with pytest.raises(FeedbackError) as err:
        _decode(whole[: len(whole) // 2])
    assert err.value.code == "truncated"


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"", "empty"),
        (b"this is a text file, not audio\n" * 40, "unknown_format"),
        (bytes(range(256)) * 20, "unknown_format"),
    ],
)
def test_unreadable_bytes(data: bytes, code: str) -> None:
    with pytest.raises(FeedbackError) as err:
        _decode(data)
    assert err.value.code == code


def test_silence_and_length_limits(speech: tuple[np.ndarray, int]) -> None:
    with pytest.raises(FeedbackError) as err:
        _decode(encode(np.zeros(32000, dtype=np.float32), 16000))
    assert err.value.code == "silent"
    with pytest.raises(FeedbackError) as err:
        _decode(encode(np.zeros(800, dtype=np.float32), 16000))
    assert err.value.code == "empty"
    with pytest.raises(FeedbackError) as err:
        _decode(encode(*speech), max_s=1.0)
    assert err.value.code == "too_long" and "2.2 s" in err.value.message
