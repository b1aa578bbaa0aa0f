"""Understanding of spoken crowd requests: the SLURP development sentences of
bench_nlu_public.py, said by a synthetic voice, transcribed by the bundled Whisper, then
understood and scored exactly as bench_nlu_public scores the typed sentences.

    .venv/bin/python benchmarks/bench_nlu_spoken.py                        # 200 sentences, Piper
    .venv/bin/python benchmarks/bench_nlu_spoken.py --voice piper --voice espeak --n 200
    .venv/bin/python benchmarks/bench_nlu_spoken.py --n 0                  # every SLURP sentence

Voices: ``piper`` (the bundled voice, voicebot.models.load_synthesizer) and ``espeak`` (Debian's
espeak-ng, en-us: a second, less clean voice). Transcription uses the configured transcriber with
the settings `voicebot transcribe` uses. Per voice it prints intent accuracy typed vs spoken on the
same seeded sample, the word error rate (voicebot/wer.py), device actions on sentences that are
no command for a device here, and the time spent. Development data only: a guide, not the result.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import random
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import bench_nlu_public as public  # noqa: E402

from voicebot.audio import read_audio  # noqa: E402
from voicebot.config import load_settings  # noqa: E402
from voicebot.models import load_synthesizer, load_transcriber  # noqa: E402
from voicebot.wer import word_errors  # noqa: E402

VOICES = ("piper", "espeak")
console = Console(width=None if sys.stdout.isatty() else 140)  # a log keeps the table whole


def _progress() -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    TimeRemainingColumn(), console=console)


def sample(items: list[public.Item], n: int, seed: int) -> list[public.Item]:
    """A seeded sample of the SLURP sentences (all of them when ``n`` is 0 or too large)."""
    slurp = [i for i in items if i.source.startswith("slurp")]
    if n <= 0 or n >= len(slurp):
        return slurp
    return random.Random(seed).sample(slurp, n)


def speak(voice: str, text: str, tmp: Path) -> np.ndarray:
    """16 kHz int16 audio of ``text`` said by ``voice``."""
    if voice == "piper":
        return load_synthesizer(load_settings()).speak_all(text, 16000)
    wav = tmp / "espeak.wav"
    subprocess.run(["espeak-ng", "-v", "en-us", "-w", str(wav), text], check=True, capture_output=True)
    return read_audio(wav)


def scored(items: list[public.Item], outputs: list[dict[str, object]]) -> dict[str, float]:
    """bench_nlu_public's own report (its printing silenced): intent share and wrong actions."""
    with contextlib.redirect_stdout(io.StringIO()):
        return public.report(items, outputs, None)["slurp"]  # type: ignore[no-any-return]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=200, help="sentences in the sample (0: all 2,033)")
    parser.add_argument("--seed", type=int, default=12)
    parser.add_argument("--voice", action="append", choices=VOICES, help="piper (default), espeak; repeatable")
    parser.add_argument("--failures", type=Path, help="write every spoken miss here (text, transcript, answer)")
    args = parser.parse_args()
    voices = args.voice or ["piper"]

    homes = public.Homes()
    items = sample(public.load_items(["slurp"], homes), args.n, args.seed)
    typed_out, _, _ = public.run_in_process(items, homes)
    typed = scored(items, typed_out)

    settings = load_settings()
    started = time.perf_counter()
    transcriber = load_transcriber(settings)
    if "piper" in voices:
        load_synthesizer(settings)
    console.print(f"{len(items)} SLURP sentences (seed {args.seed}); models loaded in "
                  f"{time.perf_counter() - started:.1f} s")

    table = Table(title=f"SLURP devel, {len(items)} sentences, demo home, speaker in the living room")
    for col in ("voice", "intent typed", "intent spoken", "WER", "false actions typed/spoken",
                "speak p50", "hear p50", "nlu p50", "wall"):
        table.add_column(col)
    misses: list[str] = []
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        for voice in voices:
            begun = time.perf_counter()
            heard: list[public.Item] = []
            speak_s: list[float] = []
            hear_s: list[float] = []
            errors = words = 0
            with _progress() as progress:
                task = progress.add_task(f"{voice}: speak + transcribe", total=len(items))
                for item in items:
                    t0 = time.perf_counter()
                    pcm = speak(voice, item.text, tmp)
                    t1 = time.perf_counter()
                    result = transcriber.transcribe(pcm)  # as `voicebot transcribe`: configured language/window
                    hear_s.append(time.perf_counter() - t1)
                    speak_s.append(t1 - t0)
                    e, n = word_errors(item.text, result.text)
                    errors, words = errors + e, words + n
                    heard.append(replace(item, text=result.text))
                    progress.advance(task)
            spoken_out, times, _ = public.run_in_process(heard, homes)
            spoken = scored(heard, spoken_out)
            for item, said, out in zip(items, heard, spoken_out, strict=True):
                if not public.score(said, out)[0]:
                    misses.append(f"[{voice}] {item.text!r} -> heard {said.text!r}\n    want "
                                  f"{'/'.join(str(i) for i in item.intents)} got {public.label(out)} ({item.source})")
            table.add_row(
                voice, f"{100 * typed['intent']:.1f} %", f"{100 * spoken['intent']:.1f} %",
                f"{100 * errors / max(words, 1):.1f} %", f"{typed['wrong_actions']} / {spoken['wrong_actions']}",
                f"{1000 * float(np.median(speak_s)):.0f} ms", f"{1000 * float(np.median(hear_s)):.0f} ms",
                f"{1000 * float(np.median(times)):.1f} ms", f"{time.perf_counter() - begun:.0f} s",
            )
    console.print(table)
    if args.failures:
        args.failures.write_text("\n".join(misses) + "\n", encoding="utf-8")
        console.print(f"{len(misses)} spoken misses written to {args.failures}")


if __name__ == "__main__":
    main()
