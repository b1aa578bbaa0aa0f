"""Dialogue figures: the scenario suite's resolution rate and turns to resolution, unsafe actions
and false "done" claims (both must be 0), and the understanding accuracy on the held-out sentences.

    .venv/bin/python benchmarks/bench_dialogue.py
    .venv/bin/python benchmarks/bench_dialogue.py --failures   # print failed scenarios

Runs every scenario in tests/scenarios/ with the rules policy against the simulated home on a
real Mosquitto (started here), then scores the understanding stage on the held-out sentences
of tests/understand/data/ with the scorer of benchmarks/bench_nlu.py.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_nlu import evaluate  # noqa: E402  (the understanding engineer's scorer)

from device_bridge.broker import MosquittoBroker  # noqa: E402
from device_bridge.home import load_home  # noqa: E402
from voicebot.testing.audit import audit_all  # noqa: E402
from voicebot.testing.scenario import ScenarioResult, load_scenarios, run_scenario, simulated_home  # noqa: E402
from voicebot.understand import Understander  # noqa: E402

SCENARIOS = ROOT / "tests" / "scenarios"
NLU = ROOT / "tests" / "understand" / "data"


def run_suite(timeout_s: float) -> tuple[list[Any], list[ScenarioResult], float, list[Any]]:
    scenarios = load_scenarios(sorted(p for p in SCENARIOS.glob("*.yaml") if p.name != "home.yaml"))
    results: list[ScenarioResult] = []
    started = time.perf_counter()
    with MosquittoBroker() as broker, simulated_home(broker.url, SCENARIOS / "home.yaml") as home:
        for s in scenarios:
            results.append(run_scenario(s, home, home.engine, defaults={"command_timeout_s": timeout_s}))
        devices = home.bridge.devices()
    return scenarios, results, time.perf_counter() - started, devices


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--failures", action="store_true", help="print the failed scenarios' problems")
    parser.add_argument("--timeout", type=float, default=1.2, help="command timeout in seconds (default 1.2)")
    args = parser.parse_args()

    scenarios, results, elapsed, devices = run_suite(args.timeout)
    by_name = {r.name: r for r in results}
    # Troubleshooting conversations: the customer reported a problem a playbook is meant for.
    problems = [s for s in scenarios if any(c.startswith("playbook:") for c in s.covers)]
    resolved = [by_name[s.name] for s in problems if by_name[s.name].outcome == "resolved"]
    escalated = [by_name[s.name] for s in problems if by_name[s.name].outcome in ("escalated", "transfer")]
    passed = [r for r in results if r.passed]
    turns = [r.turns for r in resolved]
    print(f"scenarios: {len(results)}  passed: {len(passed)} ({len(passed) / len(results):.1%})  in {elapsed:.1f} s")
    print(
        f"troubleshooting conversations: {len(problems)}  resolved: {len(resolved)} "
        f"({len(resolved) / len(problems):.1%})  handed to a person: {len(escalated)}"
    )
    if turns:
        print(f"turns to resolution: mean {statistics.mean(turns):.2f}, median {statistics.median(turns):g}, max {max(turns)}")
    checked = audit_all(list(zip(scenarios, results, strict=True)), devices)
    actions = sum(len(t["actions"]) for r in results for t in r.transcript)
    print(f"device commands: {actions}  unsafe actions: {len(checked.unsafe)}  false 'done' claims: {len(checked.false_done)}")
    for line in checked.unsafe + checked.false_done:
        print(f"  ! {line}")
    all_turns = [r.turns for r in results]
    print(f"customer turns in the suite: {sum(all_turns)}; seconds per scenario: {elapsed / len(results):.2f}")

    items = yaml.safe_load((NLU / "heldout.yaml").read_text(encoding="utf-8"))["items"]
    home = load_home(NLU / "home.yaml")
    devices = [hd.device for hd in home.devices]
    u = Understander(lambda: devices, lambda: home.areas)
    u.understand("warm up")
    r = evaluate(items, u)
    print(f"held-out sentences: {r['n']}  intent accuracy: {r['intent_accuracy']:.1%}  "
          f"slot-set exact: {r['slot_exact']:.1%}  slot micro F1: {r['slot_micro_f1']:.1%}  "
          f"device resolution: {r['device_accuracy']:.1%}")
    if args.failures:
        for res in results:
            if not res.passed:
                print(f"\n{res.name}:")
                for f in res.failures:
                    print(f"  {f}")


if __name__ == "__main__":
    main()
