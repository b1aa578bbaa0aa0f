"""Audio core benchmark: transcription speed and accuracy (short window vs Whisper's 30-s window),
synthesis latency, endpointing cost, peak memory. Prints its figures; run:

    .venv/bin/python benchmarks/bench_audio.py [--json]
    .venv/bin/python benchmarks/bench_audio.py --first-audio [--rounds 3] [--threads 1]

``--first-audio`` times only the synthesis of the first audio of the bot's real replies: the turns
of benchmarks/bench_latency.py said as text to the rules dialogue, each reply's first piece as the
Speaker synthesizes it (at the phone's 8 kHz and the live line's 16 kHz, the cache cleared), with
the Piper voice run whole (as before) and cut at its decoder (``speak.pieces``), alternating, so
both see the same load. Wall time and this thread's CPU time (load-independent with one thread).

Spoken commands come from three sources: the shared human recordings (../shared/data/audio),
the bundled Piper voice, and espeak-ng (two voices), all saying the sentences in
tests/audio/data/commands.txt (the human recordings say their own transcripts).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from voicebot.audio import read_audio  # noqa: E402
from voicebot.channels.files import listen_pcm  # noqa: E402
from voicebot.config import Settings  # noqa: E402
from voicebot.listen import Endpointer  # noqa: E402
from voicebot.models import load_synthesizer, load_transcriber  # noqa: E402
from voicebot.wer import word_errors  # noqa: E402

SHARED = ROOT.parent / "shared" / "data" / "audio"
COMMANDS = (ROOT / "tests" / "audio" / "data" / "commands.txt").read_text(encoding="utf-8").splitlines()
REPLIES = [
    "Sure. The kitchen light is now off.",
    "I am sorry to hear that. Let us check the hallway sensor together. First, is its light blinking?",
    "Okay, I have set the thermostat to twenty one degrees. Anything else?",
    "The front door is locked. The back door is unlocked. Shall I lock it?",
    "I could not reach the plug in the study. I will open a ticket for a technician.",
]


def machine() -> dict[str, object]:
    cpu = "unknown"
    with open("/proc/cpuinfo", encoding="utf-8") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "python": platform.python_version(),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }


def corpus(tmp: Path) -> list[tuple[str, str, np.ndarray]]:
    """(source, reference text, 16 kHz int16 audio) for every spoken command."""
    items: list[tuple[str, str, np.ndarray]] = []
    with (SHARED / "transcripts.tsv").open(encoding="utf-8") as f:
        for row in csv.DictReader(f, delimiter="\t"):
            items.append(("human", row["transcript"], read_audio(SHARED / row["file"])))
    synthesizer = load_synthesizer(Settings())
    for sentence in COMMANDS:
        items.append(("piper", sentence, synthesizer.speak_all(sentence, 16000)))
    for voice in ("en-us", "en"):
        for i, sentence in enumerate(COMMANDS):
            wav = tmp / f"espeak-{voice}-{i}.wav"
            subprocess.run(["espeak-ng", "-v", voice, "-w", str(wav), sentence], check=True)
            items.append((f"espeak-{voice}", sentence, read_audio(wav)))
    return items


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


def bench_transcription(items: list[tuple[str, str, np.ndarray]]) -> dict[str, object]:
    transcriber = load_transcriber(Settings())
    transcriber.transcribe(items[0][2])  # warm-up
    out: dict[str, object] = {}
    for label, window in (("default", None), ("full_30s", 30.0)):
        times: list[float] = []
        short_times: list[float] = []
        audio_total = 0.0
        errors: dict[str, list[int]] = {}
        windows: dict[str, int] = {}
        for source, reference, pcm in items:
            result = transcriber.transcribe(pcm, window_s=window)
            times.append(result.elapsed_s)
            if result.audio_s < 8:
                short_times.append(result.elapsed_s)
            audio_total += result.audio_s
            e, n = word_errors(reference, result.text)
            acc = errors.setdefault(source, [0, 0])
            acc[0] += e
            acc[1] += n
            windows[str(result.window_s)] = windows.get(str(result.window_s), 0) + 1
        all_e = sum(v[0] for v in errors.values())
        all_n = sum(v[1] for v in errors.values())
        out[label] = {
            "utterances": len(times),
            "p50_s": round(pct(times, 50), 3),
            "p95_s": round(pct(times, 95), 3),
            "short_commands_p50_s": round(pct(short_times, 50), 3),
            "real_time_factor": round(sum(times) / audio_total, 4),
            "wer": round(all_e / all_n, 4),
            "wer_by_source": {k: round(v[0] / v[1], 4) for k, v in errors.items()},
            "windows_used": windows,
        }
    return out


def bench_synthesis() -> dict[str, object]:
    synthesizer = load_synthesizer(Settings())
    synthesizer.first_chunk_latency("Warm up.", 16000)
    first: list[float] = []
    whole: list[float] = []
    audio_s = 0.0
    for rate in (16000, 8000):
        for reply in REPLIES:
            synthesizer.default.synthesizer.cache.clear()  # measure real synthesis, not the sentence cache
            latency, _ = synthesizer.first_chunk_latency(reply, rate)
            first.append(latency)
            synthesizer.default.synthesizer.cache.clear()
            started = time.perf_counter()
            pcm = synthesizer.speak_all(reply, rate)
            whole.append(time.perf_counter() - started)
            audio_s += len(pcm) / rate
    synthesizer.first_chunk_latency("Sure. The kitchen light is now off.", 16000)  # now cached
    started = time.perf_counter()
    synthesizer.first_chunk_latency("Sure. The kitchen light is now off.", 16000)
    cached = time.perf_counter() - started
    return {
        "replies": len(first),
        "first_audio_p50_s": round(pct(first, 50), 3),
        "first_audio_p95_s": round(pct(first, 95), 3),
        "whole_reply_p50_s": round(pct(whole, 50), 3),
        "real_time_factor": round(sum(whole) / audio_s, 4),
        "first_audio_cached_sentence_s": round(cached, 4),
    }


def bot_replies() -> list[str]:
    """The rules dialogue's replies to bench_latency's turns (said as text), distinct, in order."""
    import importlib.util

    from voicebot.demo import demo_home
    from voicebot.runtime import build_runtime

    spec = importlib.util.spec_from_file_location("bench_latency", ROOT / "benchmarks" / "bench_latency.py")
    latency = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(latency)  # type: ignore[union-attr]
    rt = build_runtime(home=demo_home(), simulate=True, store_path=":memory:", models=False)
    replies: list[str] = []
    try:
        for call in latency.CALLS:
            conv = rt.conversation(channel="bench")
            conv.greet()
            for what, kind in call:
                if kind != "cough":
                    text = what[5:].rsplit(".", 1)[0].replace("_", " ") if what.startswith("file:") else what
                    replies.append(conv.handle(text).text)
            conv.end("abandoned")
    finally:
        rt.close()
    return list(dict.fromkeys(r for r in replies if r))


def bench_first_audio(rounds: int, threads: int) -> None:
    """See the module's doc (``--first-audio``)."""
    from voicebot.dialogue.types import Reply
    from voicebot.models import resolve_voice
    from voicebot.phone.service import FREQUENT_REPLIES
    from voicebot.piper_split import cache_dir as piper_cache
    from voicebot.reply_speech import reply_sentences
    from voicebot.speak import PiperSynthesizer

    settings = Settings()
    onnx, cfg = resolve_voice(settings.speak.voice, settings.speak.voice_config)
    voices = {
        "whole": PiperSynthesizer(onnx, cfg, threads=threads),
        "pieces": PiperSynthesizer(onnx, cfg, threads=threads, pieces_dir=piper_cache()),
    }
    from voicebot.dialogue.replies import default_replies

    cached_texts = default_replies().texts["en"]
    cached = {p for key in FREQUENT_REPLIES for t in _as_list(cached_texts.get(key))
              for p in reply_sentences(Reply(t.replace("{name}", "").strip()))}
    firsts = [next(reply_sentences(Reply(r)), "") for r in bot_replies()]
    dynamic = [f for f in dict.fromkeys(firsts) if f and f not in cached]
    for voice in voices.values():
        list(voice.synthesize("Warm up, please.", 8000))
    wall: dict[str, list[float]] = {k: [] for k in voices}
    cpu: dict[str, list[float]] = {k: [] for k in voices}
    audio: dict[str, list[float]] = {k: [] for k in voices}
    load = [os.getloadavg()[0]]
    for _ in range(rounds):
        for rate in (8000, 16000):
            for first in dynamic:
                for name, voice in voices.items():  # alternating: both see the same load
                    voice.cache.clear()
                    t, c = time.perf_counter(), time.thread_time()
                    chunk = next(iter(voice.synthesize(first, rate)))
                    wall[name].append(time.perf_counter() - t)
                    cpu[name].append(time.thread_time() - c)
                    audio[name].append(len(chunk.pcm) / rate)
        load.append(os.getloadavg()[0])
    print(f"machine: {os.cpu_count()} cores, load average {min(load):.1f}–{max(load):.1f}; Piper threads {threads}")
    print(f"first pieces of {len(dynamic)} distinct bot replies not in the phrase cache "
          f"(of {len(firsts)} distinct replies), × 2 rates × {rounds} rounds:")
    for text in dynamic:
        print(f"  {text}")
    ms = lambda xs, q: 1000 * pct(xs, q)  # noqa: E731
    for name in voices:
        print(f"  {name:6s}: synthesis → first audio p50 {ms(wall[name], 50):5.0f} ms, p95 {ms(wall[name], 95):5.0f} ms, "
              f"max {1000 * max(wall[name]):5.0f} ms; CPU p50 {ms(cpu[name], 50):5.0f} ms, p95 {ms(cpu[name], 95):5.0f} ms; "
              f"first chunk's audio p50 {pct(audio[name], 50):.2f} s")
    w, p = pct(wall["pieces"], 50) / pct(wall["whole"], 50), pct(wall["pieces"], 95) / pct(wall["whole"], 95)
    print(f"  pieces / whole: wall p50 ×{w:.2f}, p95 ×{p:.2f}; CPU p50 ×{pct(cpu['pieces'], 50) / pct(cpu['whole'], 50):.2f}")


def _as_list(value: object) -> list[str]:
    return [] if value is None else list(value) if isinstance(value, list) else [str(value)]


def bench_endpointing(items: list[tuple[str, str, np.ndarray]]) -> dict[str, object]:
    """Endpointer cost, and when the text of a turn is ready relative to the end of speech when
    the session transcribes at SpeechPaused (listen_pcm simulates that timing)."""
    audio = np.concatenate([pcm for source, _, pcm in items if source == "human"])
    ep = Endpointer()
    started = time.perf_counter()
    for i in range(0, len(audio), 320):
        ep.feed(audio[i : i + 320])
    cost = time.perf_counter() - started
    transcriber = load_transcriber(Settings())
    gap = np.random.default_rng(0).normal(0, 30, 16000).astype(np.int16)
    # A conversation-like stream: the short human recordings and the Piper commands, 1 s apart.
    said = [(ref, pcm) for source, ref, pcm in items if source == "piper" or (source == "human" and len(pcm) < 8 * 16000)]
    stream = np.concatenate([part for _, pcm in said for part in (pcm, gap)])
    ready: list[float] = []
    decided: list[float] = []
    spec = 0
    utterances = list(listen_pcm(stream, transcriber))
    for u in utterances:
        ready.append(u.text_ready_at - u.end)
        decided.append(u.decided_at - u.end)
        spec += u.speculative
    errors = words = 0
    for (ref, _), u in zip(said, utterances, strict=False):
        e, n = word_errors(ref, u.text)
        errors, words = errors + e, words + n
    return {
        "utterances_said": len(said),
        "wer_if_aligned": round(errors / words, 4) if len(utterances) == len(said) else None,
        "endpointer_cost_per_audio_second_ms": round(1000 * cost / (len(audio) / 16000), 3),
        "turns": len(utterances),
        "turn_decided_after_end_p50_s": round(pct(decided, 50), 3),
        "text_ready_after_end_p50_s": round(pct(ready, 50), 3),
        "text_ready_after_end_p95_s": round(pct(ready, 95), 3),
        "speculative_hits": spec,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--first-audio", action="store_true", help="only the synthesis of the bot's first audio")
    parser.add_argument("--rounds", type=int, default=3, help="with --first-audio: passes over the replies")
    parser.add_argument("--threads", type=int, default=1, help="with --first-audio: onnxruntime threads (speak.threads)")
    args = parser.parse_args()
    if args.first_audio:
        bench_first_audio(args.rounds, args.threads)
        return
    report: dict[str, object] = {"machine": machine()}
    started = time.perf_counter()
    load_transcriber(Settings())
    report["model_load_s"] = {"whisper_tiny_en": round(time.perf_counter() - started, 3)}
    started = time.perf_counter()
    load_synthesizer(Settings())
    report["model_load_s"]["piper_joe"] = round(time.perf_counter() - started, 3)  # type: ignore[index]
    with tempfile.TemporaryDirectory() as tmp:
        items = corpus(Path(tmp))
    report["transcription"] = bench_transcription(items)
    report["synthesis"] = bench_synthesis()
    report["endpointing"] = bench_endpointing(items)
    report["peak_memory_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    report["machine"]["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]  # type: ignore[index]
    if args.json:
        print(json.dumps(report, indent=2))
        return
    m = report["machine"]
    print(f"machine: {m['nproc']} cores, {m['cpu']}, Python {m['python']}, load {m['load_average_at_start']} → {m['load_average_at_end']}")  # type: ignore[index]
    for label, r in report["transcription"].items():  # type: ignore[union-attr]
        print(
            f"transcribe [{label:8}] {r['utterances']} utterances: p50 {r['p50_s']} s, p95 {r['p95_s']} s, "
            f"short commands p50 {r['short_commands_p50_s']} s, RTF {r['real_time_factor']}, WER {r['wer']} {r['wer_by_source']}, "
            f"windows used {r['windows_used']}"
        )
    s = report["synthesis"]
    print(
        f"synthesize: first audio p50 {s['first_audio_p50_s']} s, p95 {s['first_audio_p95_s']} s; whole reply p50 "  # type: ignore[index]
        f"{s['whole_reply_p50_s']} s; RTF {s['real_time_factor']}; cached sentence {s['first_audio_cached_sentence_s']} s"  # type: ignore[index]
    )
    e = report["endpointing"]
    print(
        f"endpointing: {e['endpointer_cost_per_audio_second_ms']} ms CPU per audio second; {e['utterances_said']} said, "
        f"{e['turns']} turns (WER {e['wer_if_aligned']}), "  # type: ignore[index]
        f"decided {e['turn_decided_after_end_p50_s']} s after speech ended, text ready p50 "  # type: ignore[index]
        f"{e['text_ready_after_end_p50_s']} s / p95 {e['text_ready_after_end_p95_s']} s after ({e['speculative_hits']} speculative)"  # type: ignore[index]
    )
    print(f"model load: {report['model_load_s']}; peak memory {report['peak_memory_mb']} MB")


if __name__ == "__main__":
    main()
