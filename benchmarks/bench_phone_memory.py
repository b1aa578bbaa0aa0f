"""A phone process's resident memory, idle and after one call, as the README's "phone process
memory after a call" row measures it, several times (the spread between runs of the same code is
30-40 MB: where glibc placed a call's allocations).

Each run starts ``voicebot phone --home tests/phone/home.yaml --simulate`` on free loopback ports,
reads VmRSS ``--wait-s`` after it listens (idle), places one call with ``voicebot phone dial``
saying ../shared/data/audio's would_you_please_turn_on_living_room_lamp.wav and
what_time_is_it.wav (the second is no request the rules know: it loads the learned
understanding layer), reads VmRSS ``--wait-s`` after the call, and stops the process. Printed per
run and as min-max: idle and after-call MB, and whether the learned layer's model was loaded
idle and after the call (its prepared weights file mapped), which the figure depends on.

    .venv/bin/python benchmarks/bench_phone_memory.py [--runs 3] [--wait-s 3] [--json]

The usual environment variables configure the server, as `voicebot phone` would be.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from voicebot.demo import SHARED_AUDIO  # noqa: E402  (../shared/data/audio beside the checkout)

TURNS = ("would_you_please_turn_on_living_room_lamp.wav", "what_time_is_it.wav")
LEARNED_WEIGHTS = re.compile(r"/minilm-[0-9a-f]+-ort[^/]*/weights\.bin$")
VOICEBOT = [sys.executable, "-c", "from voicebot.cli import main; main()"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    raise RuntimeError(f"no VmRSS for {pid}")


def learned_loaded(pid: int) -> bool:
    return any(LEARNED_WEIGHTS.search(line) for line in Path(f"/proc/{pid}/maps").read_text().splitlines())


def one_run(wait_s: float, start_timeout_s: float) -> dict[str, Any]:
    port, http = free_port(), free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    server = subprocess.Popen(
        [*VOICEBOT, "phone", "--home", str(ROOT / "tests" / "phone" / "home.yaml"), "--simulate",
         "--audiosocket", f"127.0.0.1:{port}", "--http", f"127.0.0.1:{http}"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )
    try:
        assert server.stdout is not None
        deadline = time.monotonic() + start_timeout_s
        for line in server.stdout:  # "audiosocket: 127.0.0.1:PORT" once it listens
            if line.startswith("audiosocket:"):
                break
            if time.monotonic() > deadline:
                raise RuntimeError("the phone line did not start")
        else:
            raise RuntimeError(f"the phone line exited ({server.wait()})")
        time.sleep(wait_s)
        idle, idle_learned = rss_mb(server.pid), learned_loaded(server.pid)
        dial = subprocess.run(
            [*VOICEBOT, "phone", "dial", "--audiosocket", f"127.0.0.1:{port}", *TURNS],
            cwd=SHARED_AUDIO, env=env, capture_output=True, text=True, timeout=180,
        )
        if dial.returncode != 0:
            raise RuntimeError(f"the call failed: {dial.stderr[-500:]}")
        time.sleep(wait_s)
        return {"idle_mb": idle, "after_call_mb": rss_mb(server.pid), "learned_idle": idle_learned,
                "learned_after_call": learned_loaded(server.pid),
                "turns": [t["end_of_speech_to_first_audio_s"] for t in json.loads(dial.stdout)["turns"]]}
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--wait-s", type=float, default=3.0, help="after listening, and after the call")
    parser.add_argument("--start-timeout-s", type=float, default=300.0)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if platform.system() != "Linux":
        sys.exit("reads /proc: Linux only")
    runs = []
    for n in range(args.runs):
        run = one_run(args.wait_s, args.start_timeout_s)
        runs.append(run)
        if not args.json:
            print(f"run {n + 1}: idle {run['idle_mb']} MB (learned layer loaded: {run['learned_idle']}), "
                  f"after the call {run['after_call_mb']} MB (learned layer loaded: {run['learned_after_call']})",
                  flush=True)
    idle = [r["idle_mb"] for r in runs]
    after = [r["after_call_mb"] for r in runs]
    summary = {"runs": runs, "idle_mb": [min(idle), max(idle)], "after_call_mb": [min(after), max(after)],
               "under_400_mb": sum(a < 400 for a in after), "load_average": os.getloadavg()}
    if args.json:
        print(json.dumps(summary))
    else:
        print(f"idle {min(idle)}-{max(idle)} MB; after a call {min(after)}-{max(after)} MB "
              f"({summary['under_400_mb']} of {len(runs)} under 400 MB); load average "
              f"{' '.join(f'{x:.1f}' for x in summary['load_average'])}")


if __name__ == "__main__":
    main()
