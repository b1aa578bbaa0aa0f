"""`voicebot listen` through real PortAudio: an ALSA ``file`` PCM reads the microphone from a
raw file and writes the speaker to another, so no sound card is needed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from tests.subprocess_env import shared_cache
from voicebot.demo import demo_home

ROOT = Path(__file__).resolve().parents[2]
RATE = 16000


def alsa_home(tmp: Path) -> tuple[Path, Path, Path]:
    mic, speaker = tmp / "mic.raw", tmp / "speaker.raw"
    (tmp / ".asoundrc").write_text(
        'pcm.!default { type asym playback.pcm "spk" capture.pcm "mic" }\n'
        f'pcm.spk {{ type plug slave.pcm {{ type file slave.pcm "null" file "{speaker}" format "raw" }} }}\n'
        f'pcm.mic {{ type plug slave.pcm {{ type file slave.pcm "null" file "/dev/null" infile "{mic}" format "raw" }} }}\n'
    )
    return tmp, mic, speaker


def test_listed_devices_are_the_alsa_pcms(tmp_path) -> None:
    home, _, _ = alsa_home(tmp_path)
    proc = subprocess.run(
        [str(Path(sys.executable).parent / "voicebot"), "listen", "--list-devices"],
        env={**os.environ, "HOME": str(home)}, capture_output=True, text=True, timeout=180,
    )
    assert proc.returncode == 0, proc.stderr
    assert "mic" in proc.stdout and "spk" in proc.stdout


def test_a_misnamed_microphone_is_a_clear_error_before_anything_loads(tmp_path) -> None:
    home, _, _ = alsa_home(tmp_path)
    proc = subprocess.run(
        [str(Path(sys.executable).parent / "voicebot"), "listen", "--input", "no-such-mic", "--store", str(tmp_path / "s.sqlite3")],
        env={**os.environ, "HOME": str(home), "VOICEBOT_DATA_DIR": str(tmp_path)}, capture_output=True, text=True, timeout=60,
    )
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr[-2000:]
    err = " ".join(proc.stderr.replace("│", " ").split())
    assert "No input device matching 'no-such-mic'" in err and "devices present" in err, err
    assert "spk" in err  # what the user could have named instead


def test_listen_hears_the_microphone_and_answers_on_the_speaker(tmp_path, own_mosquitto, say, transcriber) -> None:
    home, mic, speaker = alsa_home(tmp_path)
    rng = np.random.default_rng(0)

    def quiet(seconds: float) -> np.ndarray:
        return rng.normal(0, 8, int(RATE * seconds)).astype(np.int16)

    # The greeting plays first; the customer speaks after it, then says nothing more.
    audio = np.concatenate([quiet(6.0), say("Turn on the kitchen light."), quiet(40.0)])
    audio.astype("<i2").tofile(mic)
    env = {**os.environ, "HOME": str(home), "XDG_DATA_HOME": str(tmp_path / "data"), **shared_cache()}
    proc = subprocess.run(
        [str(Path(sys.executable).parent / "voicebot"), "listen", "--input", "mic", "--output", "spk", "--once", "--timeout", "3", "--home", str(demo_home()),
         "--simulate", "--broker", own_mosquitto.url, "--area", "Kitchen"],
        env=env, cwd=ROOT, capture_output=True, text=True, timeout=180,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = proc.stderr.lower()
    assert "turn on the kitchen light" in out, out
    assert "ended: " in out  # the idle timeout closed the conversation

    played = np.fromfile(speaker, dtype="<i2")
    assert played.size > RATE * 8
    heard = transcriber.transcribe(played[: RATE * 29]).text.lower()
    assert "assistant" in heard, heard  # the greeting
    assert "kitchen light is on" in heard or ("kitchen light" in heard and " on " in heard), heard
