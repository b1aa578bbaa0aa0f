"""The store on SQLite and on PostgreSQL: turns written per second and tickets listed.

Prints, per engine:
- turns written per second by one writer, and by 4 threads of one process (each its own
  conversation), every turn sealed (Fernet) as in service;
- turns per second by 2 processes writing at once (what several hosts do);
- tickets listed: ``all_tickets(500)`` (the agents' queue) and ``tickets_for_customer`` over
  5,000 tickets of 500 customers, p50/p95.

PostgreSQL is a server of the benchmark's own (Debian's postgresql, durability off as in the
tests: fsync and synchronous commit off), unless ``--postgres postgresql://…`` names one.

    .venv/bin/python benchmarks/bench_store.py [--turns 1500] [--postgres URL] [--only sqlite|postgresql]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from voicebot.store import Store
from voicebot.store_crypto import StoreSettings, new_key

ROOT = Path(__file__).resolve().parents[1]
KEY = new_key()
WRITER = """
import sys, time
from voicebot.store import Store
from voicebot.store_crypto import StoreSettings
store = Store(sys.argv[1], store_settings=StoreSettings(key=sys.argv[2]))
n = int(sys.argv[3])
conv = store.start_conversation("phone", None, None)
print("ready", flush=True)
sys.stdin.readline()
for i in range(n):
    store.add_turn(conv, f"turn {i} the heating is off again", "I can help with that.", "ReportProblem",
                   {"name": "Boiler"}, [], -0.3, "en", "rules", {"total_s": 0.01})
print("done", flush=True)
"""


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def write_turns(store: Store, n: int) -> None:
    conv = store.start_conversation("phone", None, None)
    for i in range(n):
        store.add_turn(conv, f"turn {i} the heating is off again", "I can help with that.", "ReportProblem",
                       {"name": "Boiler"}, [], -0.3, "en", "rules", {"total_s": 0.01})


def measure(location: str, turns: int) -> dict[str, float]:
    settings = StoreSettings(key=KEY)
    store = Store(location, store_settings=settings)
    out: dict[str, float] = {}

    started = time.perf_counter()
    write_turns(store, turns)
    out["turns_per_s_1_writer"] = round(turns / (time.perf_counter() - started))

    threads = [threading.Thread(target=write_turns, args=(store, turns // 4)) for _ in range(4)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    out["turns_per_s_4_threads"] = round(4 * (turns // 4) / (time.perf_counter() - started))

    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, location, KEY, str(turns // 2)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True, env=env) for _ in range(2)]
    for p in procs:
        assert p.stdout is not None and p.stdout.readline().strip() == "ready"
    started = time.perf_counter()
    for p in procs:
        assert p.stdin is not None
        p.stdin.write("go\n")
        p.stdin.flush()
    for p in procs:
        assert p.stdout is not None and p.stdout.readline().strip() == "done"
    out["turns_per_s_2_processes"] = round(2 * (turns // 2) / (time.perf_counter() - started))
    for p in procs:
        p.wait(60)

    for i in range(5000):
        store.create_ticket(None, f"c{i % 500}", "asked", f"problem {i}: the kitchen light flickers", {"steps": [1, 2]})
    queue, mine = [], []
    for i in range(30):
        started = time.perf_counter()
        assert len(store.all_tickets(limit=500)) == 500
        queue.append(time.perf_counter() - started)
        started = time.perf_counter()
        assert len(store.tickets_for_customer(f"c{i}")) == 10
        mine.append(time.perf_counter() - started)
    out["list_500_tickets_p50_ms"] = round(1000 * statistics.median(queue), 1)
    out["list_500_tickets_p95_ms"] = round(1000 * pct(queue, 0.95), 1)
    out["customer_tickets_p50_ms"] = round(1000 * statistics.median(mine), 2)
    out["customer_tickets_p95_ms"] = round(1000 * pct(mine, 0.95), 2)
    store.close()
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--turns", type=int, default=1500)
    ap.add_argument("--postgres", help="an existing PostgreSQL database to write into (default: a server of our own)")
    ap.add_argument("--only", choices=("sqlite", "postgresql"))
    args = ap.parse_args()
    results: dict[str, dict[str, float]] = {}
    if args.only in (None, "sqlite"):
        with tempfile.TemporaryDirectory() as tmp:
            results["sqlite"] = measure(str(Path(tmp) / "bench.sqlite3"), args.turns)
            print(json.dumps({"sqlite": results["sqlite"]}), flush=True)
    if args.only in (None, "postgresql"):
        if args.postgres:
            results["postgresql"] = measure(args.postgres, args.turns)
        else:
            from voicebot.testing.postgres import PostgresServer

            with PostgresServer() as server:
                results["postgresql"] = measure(server.new_database("bench"), args.turns)
        print(json.dumps({"postgresql": results["postgresql"]}), flush=True)
    print(json.dumps({"load_1m": round(os.getloadavg()[0], 1), "cpus": os.cpu_count()}))


if __name__ == "__main__":
    main()
