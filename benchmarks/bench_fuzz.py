"""Fuzzing benchmark: every parser that reads from the network or a file gets ``--cases``
(default 10,000) generated hostile inputs; prints per parser the inputs refused cleanly, the
crashes (exceptions its caller does not handle, by type and place, with one input that did it),
the hangs (an input taking over 1 s) and the slowest input. Run:

    .venv/bin/python benchmarks/bench_fuzz.py [--cases 10000] [--seed 1] [--only NAME] [--json]

The seeded small run of the same targets is tests/security/test_fuzz.py; the figures are in
docs/security.md.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from voicebot.testing import fuzz  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", type=int, default=10_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--only", action="append", help="Run only this parser (repeat).")
    ap.add_argument("--json", action="store_true", help="Print the figures as JSON.")
    args = ap.parse_args()
    results = {}
    for target in fuzz.targets():
        if args.only and target.name not in args.only:
            continue
        started = time.perf_counter()
        tally = fuzz.run(target, args.cases, args.seed)
        results[target.name] = {
            "cases": tally.cases,
            "refused": tally.refused,
            "crashes": sum(tally.crashes.values()),
            "crash_kinds": tally.crashes,
            "crash_examples": tally.first_crash,
            "hangs": tally.hangs,
            "slowest_s": round(tally.slowest_s, 3),
            "seconds": round(time.perf_counter() - started, 1),
        }
        if not args.json:
            r = results[target.name]
            print(f"{target.name:28} {r['cases']:6} cases  {r['refused']:6} refused  {r['crashes']:5} crashes  "
                  f"{r['hangs']:3} hangs  slowest {r['slowest_s']:.3f} s  ({r['seconds']} s)", flush=True)
            for kind, count in tally.crashes.items():
                print(f"    {count:5} x {kind}   e.g. {tally.first_crash[kind][:160]}", flush=True)
    if args.json:
        print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
