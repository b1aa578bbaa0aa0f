"""voicebot as Home Assistant's Wyoming service: how long Home Assistant waits, for short commands.

``voicebot wyoming`` runs in its own process exactly as a user starts it (embedded broker,
simulated demo home, dialogue, Whisper tiny.en and Piper on one port, no zeroconf); this process
is Home Assistant, with the ``wyoming`` package's client sending the event sequences of Home
Assistant's Wyoming integration. Printed, for one client and for ``--clients`` at once:

- audio-stop → transcript: each command streamed in real time as a satellite does, followed by
  the 0.7 s of silence Home Assistant's voice detector waits before it sends audio-stop; the time
  from audio-stop to the transcript; 3 real recordings and espeak-ng commands (a voice other than
  the bot's own), p50 and p95;
- synthesize → first audio chunk, for short replies (one and two sentences) never said before
  (a repeated sentence comes from Piper's cache in a few milliseconds), p50 and p95;
- transcript → handled, for device commands and questions on the demo home, p50 and p95;
- the whole Assist pipeline as Home Assistant runs it for each spoken command: audio-stop →
  transcript, that text → handled, the reply → first audio chunk; audio-stop → first reply
  audio, p50 and p95 (Home Assistant's 0.7 s wait for silence comes before audio-stop): the
  figure to set beside the phone line's end of speech → first reply audio.

    .venv/bin/python benchmarks/bench_wyoming.py [--rounds 3] [--clients 4] [--no-speculate] [--json]

``--no-speculate`` turns off the transcription at the pause (``wyoming.speculate``), to see what
it saves.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from voicebot.audio import read_audio  # noqa: E402
from voicebot.testing.ha_wyoming import converse, describe, synthesize, transcribe  # noqa: E402

AUDIO = ROOT.parent / "shared" / "data" / "audio"
RECORDINGS = ["turn_on_living_room_lamp.wav", "what_time_is_it.wav", "would_you_please_turn_on_living_room_lamp.wav"]
HA_TRAILING_SILENCE_S = 0.7  # Home Assistant's default end-of-speech silence
SPOKEN = ["Turn off the kitchen light.", "Switch on the bedroom light.", "Is the garage door open?",
          "Set the living room to twenty one degrees.", "Turn on the garden lights."]
REPLIES = ["Done, the kitchen light is on at {n} percent.", "Okay, {n} it is.",
           "The garage door has been closed for {n} minutes. Anything else?",
           "Sure. I have switched the bedroom light off {n} times today."]
COMMANDS = ["turn on the kitchen light", "turn off the kitchen light", "is the garage door open",
            "turn on the bedroom light", "turn it off again", "what's the temperature in the living room"]


def commands_audio(folder: Path) -> list[bytes]:
    clips = [read_audio(AUDIO / name) for name in RECORDINGS]
    for i, text in enumerate(SPOKEN):
        path = folder / f"spoken{i}.wav"
        subprocess.run(["espeak-ng", "-v", "en-us", "-s", "160", "-w", str(path), text], check=True)
        clips.append(read_audio(path))
    silence = np.zeros(int(16000 * HA_TRAILING_SILENCE_S), dtype=np.int16)
    return [np.concatenate([c, silence]).astype("<i2").tobytes() for c in clips]


def percentiles(values: list[float]) -> dict[str, float]:
    a = np.array(values)
    return {"p50_ms": round(float(np.percentile(a, 50)) * 1000, 1),
            "p95_ms": round(float(np.percentile(a, 95)) * 1000, 1), "n": len(values)}


async def one_client(host: str, port: int, clips: list[bytes], rounds: int, tag: str) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {"stt": [], "tts": [], "handle": [], "pipeline": []}
    for r in range(rounds):
        for i, clip in enumerate(clips):
            stt = await transcribe(host, port, clip, realtime=True)
            started = time.perf_counter()
            handled = await converse(host, port, stt.text, f"bench-{tag}-{r}-spoken-{i}")
            reply = await synthesize(host, port, handled.data.get("text") or "Sorry.")
            assert reply.first_chunk_s is not None
            out["stt"].append(stt.stop_to_transcript_s)
            out["pipeline"].append(stt.stop_to_transcript_s + time.perf_counter() - started
                                   - (reply.total_s - reply.first_chunk_s))
        for text in REPLIES:
            result = await synthesize(host, port, text.format(n=f"{tag}-{r}".replace("-", " ")))
            assert result.first_chunk_s is not None
            out["tts"].append(result.first_chunk_s)
        for i, text in enumerate(COMMANDS):
            started = time.perf_counter()
            await converse(host, port, text, f"bench-{tag}-{r}-{i // 2}")  # pairs share a conversation
            out["handle"].append(time.perf_counter() - started)
    return out


async def run_load(host: str, port: int, clips: list[bytes], rounds: int, clients: int) -> dict[str, Any]:
    results = await asyncio.gather(*(one_client(host, port, clips, rounds, f"{clients}-{c}") for c in range(clients)))
    merged: dict[str, list[float]] = {"stt": [], "tts": [], "handle": [], "pipeline": []}
    for r in results:
        for k, v in r.items():
            merged[k].extend(v)
    return {k: percentiles(v) for k, v in merged.items()}


def start_server(tmp: Path, speculate: bool) -> tuple[subprocess.Popen[str], int]:
    server = subprocess.Popen(
        [sys.executable, "-c", "from voicebot.cli import main; main()", "wyoming", "--uri", "tcp://127.0.0.1:0",
         "--no-zeroconf", "--store", str(tmp / "bench.sqlite3")],
        stdout=subprocess.PIPE, text=True, cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), "XDG_DATA_HOME": os.environ.get("XDG_DATA_HOME", str(tmp)),
             "VOICEBOT_WYOMING__SPECULATE": "true" if speculate else "false"},
    )
    assert server.stdout is not None
    line = server.stdout.readline()
    if not line.startswith("wyoming: tcp://"):
        server.kill()
        raise SystemExit(f"voicebot wyoming did not start: {line!r}")
    return server, int(line.rsplit(":", 1)[1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=3, help="times each client goes through every request")
    ap.add_argument("--clients", type=int, default=4, help="clients at once for the second load")
    ap.add_argument("--no-speculate", action="store_true", help="no transcription at the pause")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        clips = commands_audio(tmp)
        started = time.perf_counter()
        server, port = start_server(tmp, not args.no_speculate)
        try:
            ready_s = time.perf_counter() - started
            asyncio.run(describe("127.0.0.1", port))
            asyncio.run(one_client("127.0.0.1", port, clips[:1], 1, "warm"))  # first-use costs, not measured
            report: dict[str, Any] = {"start_s": round(ready_s, 2), "speculate": not args.no_speculate, "loads": {}}
            for clients in (1, args.clients):
                report["loads"][clients] = asyncio.run(run_load("127.0.0.1", port, clips, args.rounds, clients))
        finally:
            server.terminate()
            server.wait(30)
    if args.json:
        print(json.dumps(report, indent=2))
        return
    print(f"voicebot wyoming ready in {report['start_s']} s (models loaded and warmed); "
          f"transcription at the pause {'on' if report['speculate'] else 'off'}")
    print(f"{'clients':>8} {'audio-stop→transcript':>22} {'synthesize→1st chunk':>21} {'transcript→handled':>19}"
          f" {'audio-stop→1st reply audio':>27}")
    for clients, r in report["loads"].items():
        cells = [f"{r[k]['p50_ms']:.0f} / {r[k]['p95_ms']:.0f} ms" for k in ("stt", "tts", "handle", "pipeline")]
        print(f"{clients:>8} {cells[0]:>22} {cells[1]:>21} {cells[2]:>19} {cells[3]:>27}")
    print("(p50 / p95; n per cell:", {c: {k: r[k]["n"] for k in r} for c, r in report["loads"].items()}, ")")


if __name__ == "__main__":
    main()
