"""voicebot.audio: reading any format into the pipeline format, resampling, frames, mu-law, WAV."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from voicebot import audio
from voicebot.audio import AudioFileError


def tone(freq: float, seconds: float, rate: int, level: float = 0.5) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (level * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def dominant_hz(pcm: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(pcm.astype(np.float32)))
    return float(np.fft.rfftfreq(len(pcm), 1 / rate)[np.argmax(spectrum)])


def test_flac_44k_stereo_24bit_becomes_16k_mono_int16(shared_audio: Path) -> None:
    pcm = audio.read_audio(shared_audio / "jfk.flac")
    assert pcm.dtype == np.int16
    assert pcm.ndim == 1
    assert len(pcm) == pytest.approx(11.0 * 16000, abs=200)
    assert np.abs(pcm).max() > 3000  # real speech, not silence


@pytest.mark.parametrize(("rate", "channels", "subtype", "fmt"), [
    (8000, 1, "PCM_16", "WAV"),
    (22050, 2, "PCM_24", "FLAC"),
    (48000, 2, "FLOAT", "WAV"),
    (44100, 1, "VORBIS", "OGG"),
])
def test_any_rate_and_channel_count_keeps_pitch_and_length(tmp_path: Path, rate: int, channels: int, subtype: str, fmt: str) -> None:
    x = tone(440, 1.0, rate)
    data = np.stack([x] * channels, axis=1) if channels > 1 else x
    path = tmp_path / f"t.{fmt.lower()}"
    sf.write(path, data, rate, subtype=subtype, format=fmt)
    pcm = audio.read_audio(path)
    assert len(pcm) == pytest.approx(16000, abs=50)
    assert dominant_hz(pcm, 16000) == pytest.approx(440, abs=3)


def test_resample_int16_and_float_to_phone_and_back() -> None:
    x = audio.float_to_int16(tone(1000, 0.5, 16000))
    phone = audio.resample(x, 16000, 8000)
    assert phone.dtype == np.int16 and len(phone) == 4000
    assert dominant_hz(phone, 8000) == pytest.approx(1000, abs=4)
    back = audio.resample(phone, 8000, 16000)
    assert len(back) == 8000
    f = audio.resample(tone(300, 1.0, 22050), 22050, 16000)
    assert f.dtype == np.float32 and len(f) == 16000
    assert audio.resample(x, 16000, 16000) is x


def test_to_pipeline_from_interleaved_stereo_48k() -> None:
    left = audio.float_to_int16(tone(500, 1.0, 48000))
    interleaved = np.stack([left, left], axis=1).reshape(-1)
    pcm = audio.to_pipeline(interleaved, 48000, channels=2)
    assert len(pcm) == 16000 and dominant_hz(pcm, 16000) == pytest.approx(500, abs=3)


def test_mulaw_round_trip_is_close_and_one_byte_per_sample(shared_audio: Path) -> None:
    pcm = audio.read_audio(shared_audio / "what_time_is_it.wav", rate=8000)
    encoded = audio.mulaw_encode(pcm)
    assert isinstance(encoded, bytes) and len(encoded) == len(pcm)
    decoded = audio.mulaw_decode(encoded)
    assert decoded.dtype == np.int16 and len(decoded) == len(pcm)
    err = decoded.astype(np.float64) - pcm
    snr = 10 * np.log10(np.mean(pcm.astype(np.float64) ** 2) / np.mean(err**2))
    assert snr > 30  # G.711 gives about 38 dB on speech
    # Known G.711 values: silence is 0xFF, full-scale positive is 0x80.
    assert audio.mulaw_encode(np.array([0, 32767], dtype=np.int16)) == b"\xff\x80"


def test_frames_and_frame_buffer_cut_any_chunking_the_same() -> None:
    pcm = np.arange(16000, dtype=np.int16)
    whole = list(audio.frames(pcm, 30))
    assert len(whole) == 33 and all(len(f) == 480 for f in whole)
    assert len(list(audio.frames(pcm, 30, pad=True))) == 34
    buf = audio.FrameBuffer(480)
    pieces: list[np.ndarray] = []
    for start in range(0, len(pcm), 77):
        pieces.extend(buf.push(pcm[start : start + 77]))
    assert len(pieces) == 33
    assert np.array_equal(np.concatenate(pieces), np.concatenate(whole))
    tail = buf.drain()
    assert tail is not None and len(tail) == 480 and tail[0] == pcm[33 * 480]


def test_write_wav_round_trip(tmp_path: Path) -> None:
    x = audio.float_to_int16(tone(700, 0.25, 8000))
    path = audio.write_wav(tmp_path / "sub" / "out.wav", x, 8000)
    info = sf.info(path)
    assert (info.samplerate, info.channels, info.subtype) == (8000, 1, "PCM_16")
    assert np.array_equal(audio.read_audio(path, rate=8000), x)


def test_broken_empty_missing_and_wrong_files_name_the_file(tmp_path: Path) -> None:
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    text = tmp_path / "notes.wav"
    text.write_text("this is not audio\n")
    truncated = tmp_path / "truncated.wav"
    sf.write(truncated, np.zeros(100, dtype=np.int16), 16000)
    truncated.write_bytes(truncated.read_bytes()[:30])
    header_only = tmp_path / "header_only.wav"
    sf.write(header_only, np.zeros(0, dtype=np.int16), 16000)
    for path, why in [
        (empty, "empty"),
        (text, "not a readable audio file"),
        (truncated, "not a readable audio file"),
        (header_only, "no audio"),
        (tmp_path / "missing.flac", "no such file"),
        (tmp_path, "directory"),
    ]:
        with pytest.raises(AudioFileError) as info:
            audio.read_audio(path)
        assert str(path) in str(info.value) and why in str(info.value)
