"""The learned understanding layer on the development data: accuracy with and without it, time
per sentence and memory.

    PYTHONPATH=. python benchmarks/bench_nlu_semantic.py [--data ../shared/data/nlu] [--limit N]

Every sentence is scored with ITSELF left out of the index (its SLURP id or its Home Assistant
test group is excluded), so the figures say how the layer does on phrasings it has not seen.
Parts:
1. the layer alone (nearest neighbours) per language: how often it answers SURE / MAYBE and
   how often that answer is right;
2. SLURP devel end to end (`Understander` over the demo home, rules first): intent accuracy
   with and without the layer, and device actions taken on sentences that are not commands;
3. time per sentence of the layer (p50/p95) and the memory it adds (RSS before/after loading).
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from device_bridge.home import load_home  # noqa: E402
from voicebot.understand import Understander  # noqa: E402
from voicebot.understand.semantic import SURE, SemanticLayer  # noqa: E402
from voicebot.understand.semantic.examples import NONE, Example  # noqa: E402
from voicebot.understand.types import DEVICE_INTENTS  # noqa: E402
from voicebot.understand.vocabulary import load  # noqa: E402

SLURP_MAP = {
    "hue_lightoff": "HassTurnOff", "hue_lighton": "HassTurnOn", "hue_lightdim": "HassLightSet",
    "hue_lightup": "HassLightSet", "hue_lightchange": "HassLightSet", "cleaning": "HassVacuumStart",
    "wemo_on": "HassTurnOn", "wemo_off": "HassTurnOff",
}


class LeaveOut:
    """Excludes the example(s) of the sentence being scored."""

    def __init__(self) -> None:
        self.source = ""

    def __call__(self, ex: Example) -> bool:
        return ex.source == self.source


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def sentences(data: Path, lang: str, limit: int | None) -> list[tuple[str, str, str]]:
    """(text, expected intent or NONE, source) of the development data."""
    out: list[tuple[str, str, str]] = []
    for line in (data / f"ha_intents_tests_dev_{lang}.jsonl").read_text(encoding="utf-8").splitlines():
        item = json.loads(line)
        out.append((item["text"], item["intent"], f"ha:{lang}:{item['source_file']}:{item['group_index']}"))
    if lang == "en":
        for line in (data / "slurp_devel.jsonl").read_text(encoding="utf-8").splitlines():
            item = json.loads(line)
            expected = SLURP_MAP.get(str(item["intent"]).removeprefix("iot_"), NONE)
            out.append((item["sentence"], expected, f"slurp:{item['slurp_id']}"))
    return out[:limit] if limit else out


def layer_alone(data: Path, lang: str, limit: int | None) -> dict[str, Any]:
    leave = LeaveOut()
    layer = SemanticLayer(exclude=leave)
    vocab = load(lang)
    from voicebot.understand.mentions import Mentions
    from voicebot.understand.normalize import normalize

    counts = {"n": 0, "sure": 0, "sure_right": 0, "maybe": 0, "maybe_right": 0, "none_right": 0, "none": 0,
              "request_as_other": 0, "nonrequest_as_request": 0}
    times: list[float] = []
    for text, expected, source in sentences(data, lang, limit):
        leave.source = source
        plain = normalize(text, vocab.rewrites, vocab.fillers)
        start = time.perf_counter()
        guess = layer.guess(text, plain, vocab, Mentions(tokens=plain.split()))
        times.append(time.perf_counter() - start)
        counts["n"] += 1
        got = guess.intent if guess else NONE
        if guess is None:
            counts["none"] += 1
            counts["none_right"] += expected == NONE
            continue
        level = "sure" if guess.confidence >= SURE else "maybe"
        counts[level] += 1
        counts[f"{level}_right"] += got == expected
        if got != expected:
            counts["nonrequest_as_request" if expected == NONE else "request_as_other"] += 1
    times.sort()
    counts["p50_ms"] = round(1000 * times[len(times) // 2], 2)
    counts["p95_ms"] = round(1000 * times[int(len(times) * 0.95)], 2)
    return counts


def slurp_end_to_end(data: Path, limit: int | None, learned: bool) -> dict[str, Any]:
    home = load_home(ROOT / "device_bridge" / "homes" / "demo.yaml")
    devices = [hd.device for hd in home.devices]
    areas = list(home.areas)
    leave = LeaveOut()
    nlu = Understander(lambda: devices, lambda: areas, learned=SemanticLayer(exclude=leave) if learned else False)
    right = wrong_action = acted = n = iot = iot_right = 0
    misses: list[str] = []
    for text, expected, source in sentences(data, "en", None):
        if not source.startswith("slurp:"):
            continue
        leave.source = source
        u = nlu.understand(text, speaker_area="Living Room")
        n += 1
        acts = u.intent in DEVICE_INTENTS and u.confidence >= 0.7 and bool(u.device_ids)
        got = u.intent if (u.intent in DEVICE_INTENTS and u.confidence >= 0.5) else NONE
        ok = got == expected
        right += ok
        if expected != NONE:
            iot += 1
            iot_right += ok
        acted += acts
        if acts and got != expected:
            wrong_action += 1
            misses.append(f"ACTED {text!r} -> {u.intent} {u.device_ids} ({u.matched})")
        if limit and n >= limit:
            break
    return {"learned": learned, "n": n, "intent_accuracy": round(right / n, 4), "iot_n": iot,
            "iot_accuracy": round(iot_right / max(iot, 1), 4), "actions": acted,
            "wrong_actions": wrong_action, "wrong_action_examples": misses[:15]}


def memory_and_latency() -> dict[str, Any]:
    bare = rss_mb()
    # the voice service has these loaded already (Piper runs on onnxruntime, faster-whisper
    # brings tokenizers): what the layer adds there is measured from here
    import onnxruntime  # noqa: F401
    import tokenizers  # noqa: F401

    before = rss_mb()
    layer = SemanticLayer()
    start = time.perf_counter()
    layer.index("en")
    load_s = time.perf_counter() - start
    after = rss_mb()
    vocab = load("en")
    from voicebot.understand.mentions import Mentions

    phrases = ["kill the lights", "suck up the dust", "it's far too dark in here", "make me a coffee",
               "could you please make the living room a little bit less bright", "what's on tv tonight"]
    wall, cpu = [], []
    for i in range(200):
        text = phrases[i % len(phrases)]
        start, start_cpu = time.perf_counter(), time.process_time()
        layer.guess(text, text, vocab, Mentions(tokens=text.split()))
        wall.append(1000 * (time.perf_counter() - start))
        cpu.append(1000 * (time.process_time() - start_cpu))
    wall.sort()
    cpu.sort()
    loaded = rss_mb()  # the ONNX session is made on the first sentence
    return {"rss_bare_mb": round(bare, 1), "added_with_imports_mb": round(loaded - bare, 1),
            "rss_before_mb": round(before, 1), "rss_index_mb": round(after, 1), "rss_after_turns_mb": round(loaded, 1),
            "added_mb": round(loaded - before, 1), "load_s": round(load_s, 2),
            "p50_ms": round(statistics.median(wall), 2), "p95_ms": round(wall[int(len(wall) * 0.95)], 2),
            "cpu_p50_ms": round(statistics.median(cpu), 2), "cpu_p95_ms": round(cpu[int(len(cpu) * 0.95)], 2),
            "load_average": Path("/proc/loadavg").read_text().split()[:3]}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", type=Path, default=ROOT.parent.parent / "shared" / "data" / "nlu")
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--languages", default="en")
    parser.add_argument("--skip", default="", help="comma list of parts to skip: alone,slurp,speed")
    args = parser.parse_args()
    if not args.data.is_dir():
        args.data = Path("/work/shared/data/nlu")
    skip = set(args.skip.split(","))
    report: dict[str, Any] = {}
    if "speed" not in skip:
        report["speed_memory_en"] = memory_and_latency()
        print(json.dumps(report["speed_memory_en"]), flush=True)
    if "alone" not in skip:
        for lang in args.languages.split(","):
            report[f"layer_alone_{lang}"] = layer_alone(args.data, lang, args.limit)
            print(lang, json.dumps(report[f"layer_alone_{lang}"]), flush=True)
    if "slurp" not in skip:
        for learned in (False, True):
            key = f"slurp_e2e_{'with' if learned else 'without'}_layer"
            report[key] = slurp_end_to_end(args.data, args.limit, learned)
            print(key, json.dumps(report[key], indent=1), flush=True)


if __name__ == "__main__":
    main()
