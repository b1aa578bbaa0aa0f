"""Understanding accuracy and speed on labelled sentences.

    .venv/bin/python benchmarks/bench_nlu.py                 # the held-out set
    .venv/bin/python benchmarks/bench_nlu.py --set dev --errors

Prints intent accuracy, slot accuracy (exact slot-set match, and per-slot precision/recall/F1
over (slot, value) pairs), device-resolution accuracy, and time per sentence. The sets live in
tests/understand/data/ and resolve against tests/understand/data/home.yaml.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from device_bridge.home import load_home  # noqa: E402
from voicebot.understand import Understander  # noqa: E402

DATA = ROOT / "tests" / "understand" / "data"
UNSCORED = {"feedback"}  # free text


def _norm(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return str(value) if not isinstance(value, (int, float)) else value


def _pairs(slots: dict[str, Any]) -> set[tuple[str, Any]]:
    return {(k, _norm(v)) for k, v in slots.items() if k not in UNSCORED}


def evaluate(items: list[dict[str, Any]], understander: Understander) -> dict[str, Any]:
    intent_ok = slots_ok = devices_ok = 0
    tp: Counter[str] = Counter()
    fp: Counter[str] = Counter()
    fn: Counter[str] = Counter()
    times: list[float] = []
    errors: list[str] = []
    by_intent: dict[str, list[int]] = {}
    for item in items:
        start = time.perf_counter()
        u = understander.understand(item["text"], None, speaker_area=item.get("area"))
        times.append(time.perf_counter() - start)
        gold = _pairs(item.get("slots") or {})
        got = _pairs(u.slots)
        for key, _ in got & gold:
            tp[key] += 1
        for key, _ in got - gold:
            fp[key] += 1
        for key, _ in gold - got:
            fn[key] += 1
        want_devices = sorted(item.get("devices") or [])
        if item.get("ask"):
            dev_right = not u.device_ids and bool(u.candidates)
        else:
            dev_right = sorted(u.device_ids) == want_devices
        i_ok = u.intent == item.get("intent")
        s_ok = got == gold
        intent_ok += i_ok
        tally = by_intent.setdefault(str(item.get("intent")), [0, 0])
        tally[0] += i_ok
        tally[1] += 1
        slots_ok += s_ok
        devices_ok += dev_right
        if not (i_ok and s_ok and dev_right):
            errors.append(
                f"{item['text']!r}\n    want {item.get('intent')} {dict(sorted(gold))} "
                f"{'ask' if item.get('ask') else want_devices}\n    got  {u.intent} {dict(sorted(got))} "
                f"{sorted(u.device_ids)} cand={len(u.candidates)}"
            )
    keys = sorted(set(tp) | set(fp) | set(fn))
    per_slot = {}
    for key in keys:
        p = tp[key] / (tp[key] + fp[key]) if tp[key] + fp[key] else 0.0
        r = tp[key] / (tp[key] + fn[key]) if tp[key] + fn[key] else 0.0
        per_slot[key] = (p, r, 2 * p * r / (p + r) if p + r else 0.0, tp[key] + fn[key])
    t_all, f_all, n_all = sum(tp.values()), sum(fp.values()), sum(fn.values())
    micro_p = t_all / (t_all + f_all) if t_all + f_all else 0.0
    micro_r = t_all / (t_all + n_all) if t_all + n_all else 0.0
    n = len(items)
    return {
        "n": n,
        "intent_accuracy": intent_ok / n,
        "slot_exact": slots_ok / n,
        "device_accuracy": devices_ok / n,
        "slot_micro_f1": 2 * micro_p * micro_r / (micro_p + micro_r) if micro_p + micro_r else 0.0,
        "per_slot": per_slot,
        "ms_mean": 1000 * statistics.mean(times),
        "ms_p95": 1000 * sorted(times)[int(0.95 * (n - 1))],
        "errors": errors,
        "by_intent": by_intent,
    }


def template_sentences(understander: Understander, per_template: int = 2, seed: int = 1) -> list[dict[str, Any]]:
    """Sentences generated from Home Assistant's English templates for our device intents, with
    the test home's names, areas and floors (names are not filtered by kind, so some are odd:
    "return the floor lamp to base"). Labelled with the template's intent only."""
    import itertools
    import random

    import home_assistant_intents
    from hassil import Intents
    from hassil.sample import sample_expression

    from voicebot.understand import DEVICE_INTENTS
    from voicebot.understand.templates import TemplateRecognizer

    intents = Intents.from_dict(home_assistant_intents.get_intents("en"))
    lists = TemplateRecognizer("en")._lists(understander.index("en"))
    rng = random.Random(seed)
    items = []
    for name, intent in sorted(intents.intents.items()):
        if name not in DEVICE_INTENTS:
            continue
        for data in intent.data:
            for sentence in data.sentences:
                generated = sample_expression(
                    sentence.expression, slot_lists={**intents.slot_lists, **data.slot_lists, **lists},
                    expansion_rules={**intents.expansion_rules, **data.expansion_rules}, language="en",
                )
                samples = list(itertools.islice(generated, 200))
                items += [{"text": t, "intent": name} for t in rng.sample(samples, min(per_template, len(samples)))]
    return items


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--set", default="heldout", help="heldout (default) or dev, or a YAML path")
    parser.add_argument("--home", default=str(DATA / "home.yaml"))
    parser.add_argument("--errors", action="store_true", help="print the sentences that were wrong")
    parser.add_argument("--ha-templates", action="store_true",
                        help="also score intents on sentences generated from Home Assistant's English templates")
    args = parser.parse_args()
    path = Path(args.set) if args.set.endswith(".yaml") else DATA / f"{args.set}.yaml"
    items = yaml.safe_load(path.read_text(encoding="utf-8"))["items"]
    home = load_home(args.home)
    devices = [hd.device for hd in home.devices]
    started = time.perf_counter()
    understander = Understander(lambda: devices, lambda: home.areas)
    understander.warm_up()  # data files, VADER, the index and Home Assistant's templates, once
    warm_s = time.perf_counter() - started
    r = evaluate(items, understander)
    print(f"set: {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}  sentences: {r['n']}")
    print(f"intent accuracy:        {r['intent_accuracy']:.1%}")
    print(f"slot-set exact match:   {r['slot_exact']:.1%}")
    print(f"slot micro F1:          {r['slot_micro_f1']:.1%}")
    print(f"device resolution:      {r['device_accuracy']:.1%}  (right devices, or a question when ambiguous)")
    print(f"time per sentence:      {r['ms_mean']:.2f} ms mean, {r['ms_p95']:.2f} ms p95 (start-up {warm_s:.2f} s)")
    print("per slot (precision / recall / F1 / gold count):")
    for key, (p, rec, f1, count) in r["per_slot"].items():
        print(f"  {key:18} {p:6.1%} {rec:6.1%} {f1:6.1%} {count:4d}")
    missed = {k: v for k, v in sorted(r["by_intent"].items()) if v[0] < v[1]}
    print(f"intents with misses ({len(r['by_intent'])} intents in the set):", end="")
    print("".join(f" {k} {v[0]}/{v[1]};" for k, v in missed.items()) or " none")
    if args.ha_templates:
        generated = template_sentences(understander)
        right = sum(understander.understand(i["text"]).intent == i["intent"] for i in generated)
        print(f"Home Assistant template sentences ({len(generated)}): intent accuracy {right / len(generated):.1%}")
    if args.errors:
        print(f"\n{len(r['errors'])} sentences not fully right:")
        for e in r["errors"]:
            print(" ", e)


if __name__ == "__main__":
    try:
        main()
    except BrokenPipeError:  # piped into head
        sys.exit(0)
