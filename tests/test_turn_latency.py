"""What the runtime does at start so that no caller's turn pays for it: the understanding is built
and warm (rules and templates), and what loading left alive is out of
the cyclic collector's sight (a full collection over it stalled turns ~200 ms). Timings are
figures of benchmarks/bench_latency.py, never asserted here."""

from __future__ import annotations

import gc
from pathlib import Path

from voicebot.config import Settings
from voicebot.demo import demo_home
from voicebot.runtime import build_runtime, settle_heap


def test_the_understanding_is_ready_before_the_first_turn(mosquitto, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    rt = build_runtime(Settings(data_dir=tmp_path), broker=mosquitto.url, home=demo_home(), simulate=True,
                       store_path=tmp_path / "store.sqlite3", models=False)
    try:
        assert rt.engine._understander is None  # nothing built yet: the first turn would build it
        rt.warm_understanding()
        understander = rt.engine._understander
        assert understander is not None
        # and it understands what a customer says
        u = understander.understand("please switch on the kitchen light")
        assert u.intent == "HassTurnOn"
    finally:
        rt.close()


def test_what_is_alive_at_start_is_out_of_the_collectors_sight() -> None:
    gc.unfreeze()
    settle_heap()
    try:
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
