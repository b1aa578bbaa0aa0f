"""Word error rate on spoken commands with and without the home's words (voicebot.home_words):
plain Whisper, Whisper prompted with the home's names, and either one followed by the
correction of near-misses. Also the time per utterance in each case (the short-window speed-ups
of transcribe.py must not regress).

    PYTHONPATH=. python benchmarks/bench_asr_home_words.py [--n 60] [--voices piper,espeak]

Speech: Home Assistant's English development test sentences (classic format: spoken in the home
of ha_fixtures_en.yaml, whose names are the home's words), every k-th one for --n sentences,
synthesized with the bundled Piper voice and espeak-ng; and the real recordings of
../shared/data/audio with their transcripts (home: device_bridge/homes/demo.yaml).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from device_bridge.home import load_home  # noqa: E402
from voicebot.config import load_settings  # noqa: E402
from voicebot.home_words import HomeWords  # noqa: E402
from voicebot.models import load_synthesizer, load_transcriber  # noqa: E402
from voicebot.wer import word_errors  # noqa: E402

SHARED = ROOT.parent.parent / "shared" if (ROOT.parent.parent / "shared").is_dir() else Path("/work/shared")


def fixture_words(path: Path) -> HomeWords:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    names: list[str] = []
    for key in ("floors", "areas", "entities"):
        for item in data.get(key) or []:
            if item.get("name"):
                names.append(str(item["name"]))
            names += [str(a) for a in item.get("aliases") or []]
    return HomeWords.of(names, "en")


def demo_words() -> HomeWords:
    home = load_home(ROOT / "device_bridge" / "homes" / "demo.yaml")
    return HomeWords.from_registry([hd.device for hd in home.devices], home.areas, "en")


def espeak(text: str) -> np.ndarray:
    with tempfile.NamedTemporaryFile(suffix=".wav") as tmp:
        subprocess.run(["espeak-ng", "-v", "en-us", "-w", tmp.name, text], check=True, capture_output=True)
        audio, rate = sf.read(tmp.name, dtype="float32")
    return (soxr.resample(audio, rate, 16000) * 32767).clip(-32768, 32767).astype(np.int16)


def recording(path: Path) -> np.ndarray:
    audio, rate = sf.read(str(path), dtype="float32", always_2d=True)
    mono = audio.mean(axis=1)
    return (soxr.resample(mono, rate, 16000) * 32767).clip(-32768, 32767).astype(np.int16)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=60)
    parser.add_argument("--voices", default="piper,espeak")
    parser.add_argument("--show", action="store_true", help="print every sentence the prompt changed")
    args = parser.parse_args()

    settings = load_settings()
    transcriber = load_transcriber(settings)
    items: list[tuple[str, str, np.ndarray, HomeWords]] = []  # (set, reference, pcm, words)
    home = fixture_words(SHARED / "data" / "nlu" / "ha_fixtures_en.yaml")
    lines = (SHARED / "data" / "nlu" / "ha_intents_tests_dev_en.jsonl").read_text(encoding="utf-8").splitlines()
    classic = [json.loads(x)["text"] for x in lines if json.loads(x).get("test_format") == "classic"]
    step = max(1, len(classic) // args.n)
    chosen = classic[::step][: args.n]
    voices = args.voices.split(",")
    if "piper" in voices:
        synth = load_synthesizer(settings)
        items += [("piper", t, np.concatenate([c.pcm for c in synth.synthesize(t, 16000)]), home) for t in chosen]
    if "espeak" in voices:
        items += [("espeak", t, espeak(t), home) for t in chosen]
    audio_dir = SHARED / "data" / "audio"
    demo = demo_words()
    for line in (audio_dir / "transcripts.tsv").read_text(encoding="utf-8").splitlines()[1:]:
        name, text = line.split("\t")[:2]
        items.append(("recorded", text, recording(audio_dir / name), demo))

    transcriber.transcribe(items[0][2])  # warm
    results: dict[str, dict[str, list[float]]] = {}
    examples: list[str] = []
    heard: dict[tuple[str, int], str] = {}
    for label, use_prompt in (("plain", False), ("prompted", True)):
        for number, (kind, ref, pcm, words) in enumerate(items):
            transcriber.use_home_words(words, prompt=use_prompt, correct=True)
            t = transcriber.transcribe(pcm)
            raw = t.heard or t.text
            for variant, hyp in ((label, raw), (f"{label}+corrected", t.text)):
                row = results.setdefault(f"{kind}:{variant}", {"errors": [], "words": [], "ms": []})
                errors, words_n = word_errors(ref, hyp)
                row["errors"].append(errors)
                row["words"].append(words_n)
                row["ms"].append(1000 * t.elapsed_s)
            if t.heard and len(examples) < 12:
                examples.append(f"corrected ({kind} {label}): {t.heard!r} -> {t.text!r} (said {ref!r})")
            heard[(label, number)] = t.text
    differ = [(items[i][0], items[i][1], heard[("plain", i)], heard[("prompted", i)])
              for i in range(len(items)) if heard[("plain", i)] != heard[("prompted", i)]]
    transcriber.use_home_words(None)
    print(f"{len(chosen)} dev sentences x {voices} + {sum(1 for i in items if i[0] == 'recorded')} recordings; "
          f"model {settings.transcribe.model}, window {transcriber.window_s} s")
    print(f"{'set:variant':34} {'WER':>7} {'words':>6} {'p50 ms':>7} {'p95 ms':>7}")
    for key in sorted(results):
        row = results[key]
        ms = sorted(row["ms"])
        wer = sum(row["errors"]) / max(1, sum(row["words"]))
        print(f"{key:34} {100 * wer:6.1f}% {int(sum(row['words'])):6d} {ms[len(ms) // 2]:7.0f} {ms[int(len(ms) * 0.95)]:7.0f}")
    for line in examples:
        print("  ", line)
    if args.show:
        for kind, ref, plain, prompted in differ:
            print(f"   {kind}: said {ref!r}\n      plain    {plain!r}\n      prompted {prompted!r}")


if __name__ == "__main__":
    main()
