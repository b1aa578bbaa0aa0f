"""Phone line under load, in two shapes: staggered turns (as on a real line) and everyone at once.

The phone line runs in its own process (``--serve``: embedded broker, simulated home, dialogue,
Whisper and Piper, AudioSocket on loopback), exactly as ``voicebot phone`` would; this process
places the calls with the AudioSocket test peer, in real time at 8 kHz. Each caller waits for
the greeting, then says three turns (a real recording and two espeak-ng sentences), waiting for
each answer.

- ``--shape staggered``: callers ring at random moments over the first ``--ring-s`` seconds and
  think a random 0.5-4 s before each turn (seeded: the same run each time), so turns end at
  scattered moments while every call is open; target p95 < 1.2 s.
- ``--shape worst``: every call connects at once and every caller ends each turn at the same
  instant (they wait for each other between turns); target p95 < 1.5 s.

Printed per load:

- end of the caller's speech → first audible reply frame received by the caller, p50 and p95;
- whether the bot's audio stayed real time: no underruns (a hole in a reply while it was still
  being produced, counted by the server's pacer); beside it, how many frames the pacer sent
  more than one frame (20 ms) late and the worst lateness (the process did not get the CPU in
  time), and the longest gap between two reply frames as the caller received them;
- calls answered "all lines are busy" (admission control; the bench raises ``phone.max_calls``
  to its largest load unless VOICEBOT_PHONE__MAX_CALLS is set);
- the server's resident memory after the load (VmRSS; VmHWM is the peak);
- the largest load that met the shape's target with no missing reply and no underrun.

    .venv/bin/python benchmarks/bench_phone.py [--shape staggered|worst] [--loads 1,8,16,24]
        [--store postgresql://...] [--json]

Then where each turn's time went (the server's timings of the turn, p50 / p95): the turn's end
decided, the transcript ready after that, its queue wait and Whisper's run, the dialogue, the
first chunk's synthesis, first audio handed to the line and heard; how turns ended; how many
transcriptions ran or were skipped and the speculations used / discarded / missed; and the
server's CPU seconds per turn (less load-dependent than the latencies). A large ``line`` (first
audio handed to the line → heard) means the audio path lagged (the pacer, the socket, or this
process's own callers on a loaded machine), not the pipeline.

The usual environment variables configure the server, as `voicebot phone` would be, e.g. the
transcription split before this became two workers of one thread each:
VOICEBOT_TRANSCRIBE__WORKERS=1 VOICEBOT_TRANSCRIBE__THREADS=2.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import random
import re
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

HOME = ROOT / "tests" / "phone" / "home.yaml"
RECORDING = ROOT.parent / "shared" / "data" / "audio" / "would_you_please_turn_on_living_room_lamp.wav"
SENTENCES = ["Turn off the kitchen light.", "Goodbye."]
TARGETS_P95_S = {"staggered": 1.2, "worst": 1.5}


# -- the server process ----------------------------------------------------------------------------
def serve(store: str | None) -> None:
    from voicebot.config import load_settings, section
    from voicebot.phone import memory
    from voicebot.phone.service import PhoneSettings, build_phone_line, phone_transcription
    from voicebot.runtime import build_runtime

    async def main() -> None:
        memory.limit_arenas()  # as `voicebot phone` does, before the models load
        settings = phone_transcription(load_settings())  # as `voicebot phone` does
        with tempfile.TemporaryDirectory() as tmp:
            rt = await asyncio.to_thread(
                build_runtime, settings, home=HOME, simulate=True, store_path=store or Path(tmp) / "bench.sqlite3"
            )
            line = build_phone_line(rt, section(PhoneSettings, "phone", settings))
            addrs = await line.start(audiosocket=("127.0.0.1", 0), http=("127.0.0.1", 0))
            print(json.dumps({k: list(v) for k, v in addrs.items()}), flush=True)
            await asyncio.to_thread(sys.stdin.read)  # until the parent closes our stdin
            await line.close()
            rt.close()

    asyncio.run(main())


# -- the callers -----------------------------------------------------------------------------------
def customer_turns() -> list[np.ndarray]:
    from voicebot.audio import read_audio

    turns = [read_audio(RECORDING, 8000)]
    with tempfile.TemporaryDirectory() as tmp:
        for i, text in enumerate(SENTENCES):
            path = Path(tmp) / f"t{i}.wav"
            subprocess.run(["espeak-ng", "-v", "en-us", "-s", "160", "-w", str(path), text], check=True)
            turns.append(read_audio(path, 8000))
    return turns


class Lockstep:
    """The worst case: every caller ends each turn at the same instant. Callers wait here until
    every caller still on the line is ready, then all speak at once (the same audio, so their
    speech ends together)."""

    def __init__(self, n: int) -> None:
        self.n = n
        self._ready = 0
        self._go = asyncio.Event()

    async def wait(self) -> None:
        go = self._go
        self._ready += 1
        if self._ready >= self.n:
            self._release()
            return
        with contextlib.suppress(TimeoutError):  # a stuck caller must not hold the others forever
            await asyncio.wait_for(go.wait(), 60)

    def leave(self) -> None:
        self.n -= 1
        if self._ready and self._ready >= self.n:
            self._release()

    def _release(self) -> None:
        self._go.set()
        self._go = asyncio.Event()
        self._ready = 0


async def one_call(
    host: str, port: int, turns: list[np.ndarray], seed: int, shape: str, ring_s: float, lockstep: Lockstep | None
) -> dict[str, Any]:
    from voicebot.channels.phone.peers import AudioSocketCaller
    from voicebot.phone.dial import wait_reply

    rng = random.Random(seed)
    if shape == "staggered":
        await asyncio.sleep(rng.uniform(0, ring_s))  # calls ring at scattered moments
    caller = AudioSocketCaller(host, port, rate=8000)
    await caller.connect()
    latencies: list[float] = []
    missing = 0
    try:
        await wait_reply(caller, timeout=30)
        for pcm in turns:
            if lockstep is not None:
                await lockstep.wait()
            else:
                await asyncio.sleep(rng.uniform(0.5, 4.0))  # the caller thinks a moment
            if caller.closed.is_set():
                break  # answered "all lines are busy", or the bot ended the call
            said = await caller.say(pcm)
            first = await caller.wait_audio_after(said.speech_end, 30)
            if first is None:
                missing += 1
                continue
            latencies.append(first - said.speech_end)
            await wait_reply(caller, after=said.speech_end, quiet_s=1.0, timeout=30)
            if caller.closed.is_set():
                break
        await asyncio.wait_for(caller.closed.wait(), 10)
    except TimeoutError:
        pass
    finally:
        if lockstep is not None:
            lockstep.leave()
        await caller.close()
    return {
        "call": caller.call_id,
        "latencies": latencies,
        "missing_replies": missing,
        "max_gap_s": caller.max_gap_in_speech(),
        "hung_up_by_bot": caller.hangup_received,
    }


def server_memory(pid: int) -> dict[str, int]:
    """The server's resident memory now and at its peak, MB (/proc/PID/status)."""
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                out[key] = int(value.split()[0]) // 1024
    return out


def server_cpu_s(pid: int) -> float:
    """CPU time the server process has used (user + system, all threads): unlike wall time it
    does not grow when other jobs share the machine."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def speculations(url: str, token: str) -> dict[str, float]:
    """The server's speculative transcriptions by result (used, discarded, missed), from /metrics."""
    import aiohttp

    headers = {"Authorization": f"Bearer {token}"}
    async with aiohttp.ClientSession(headers=headers) as session, session.get(url) as resp:
        text = await resp.text()
    found = re.findall(r'^voicebot_speculative_transcripts_total\{result="(\w+)"\} ([0-9.e+]+)$', text, re.M)
    return {k: float(v) for k, v in found}


# Where a turn's time goes, from the server's own timings of each turn (voicebot.turns.TurnTimings),
# in seconds after the end of the caller's speech unless a duration.
BREAKDOWN = {
    "endpoint": "turn end decided (silence waited)",
    "stt_after_end": "transcript ready, after the turn end was decided",
    "stt_queued": "of the transcript used: queued behind other turns",
    "stt_run": "of the transcript used: Whisper running",
    "dialogue": "dialogue (understanding, device commands)",
    "synth_first": "synthesis of the first audio chunk",
    "first_audio": "first reply audio handed to the line",
    "line": "first audio handed to the line → heard by the caller (pacing)",
}


def breakdown(turns: list[dict[str, Any]], heard: list[float]) -> dict[str, Any]:
    """Per stage p50 / p95 over the turns, how turns ended, and how many used the transcription
    started at the pause. ``heard``: the callers' latencies of the same turns, in the same order."""
    parts: dict[str, list[float]] = {k: [] for k in BREAKDOWN}
    reasons: dict[str, int] = {}
    for i, t in enumerate(turns):
        if t.get("endpoint") is None:
            continue
        reasons[t.get("end_reason", "?")] = reasons.get(t.get("end_reason", "?"), 0) + 1
        values = {
            "endpoint": t.get("endpoint"),
            "stt_after_end": t["transcript"] - t["endpoint"] if t.get("transcript") is not None else None,
            "stt_queued": t.get("transcribe_queued_s"),
            "stt_run": t.get("transcribe_s"),
            "dialogue": t.get("dialogue_s"),
            "synth_first": t.get("synth_first_s"),
            "first_audio": t.get("first_audio"),
            "line": heard[i] - t["first_audio"] if i < len(heard) and t.get("first_audio") is not None else None,
        }
        for k, v in values.items():
            if v is not None:
                parts[k].append(float(v))
    out: dict[str, Any] = {
        k: [round(float(np.percentile(v, 50)), 3), round(float(np.percentile(v, 95)), 3)] if v else None
        for k, v in parts.items()
    }
    out["end_reasons"] = reasons
    return out


async def http_json(url: str, token: str) -> Any:
    import aiohttp

    headers = {"Authorization": f"Bearer {token}"}
    async with aiohttp.ClientSession(headers=headers) as session, session.get(url) as resp:
        return await resp.json()


async def run_load(
    n: int, addrs: dict[str, list[Any]], turns: list[np.ndarray], shape: str, ring_s: float, token: str, pid: int
) -> dict[str, Any]:
    host, port = addrs["audiosocket"]
    http = "http://{}:{}".format(*addrs["http"])
    before = (await http_json(f"{http}/healthz", token)).get("transcription", {})
    spec_before = await speculations(f"{http}/metrics", token)
    cpu_before = server_cpu_s(pid)
    started = time.perf_counter()
    lockstep = Lockstep(n) if shape == "worst" else None
    calls = await asyncio.gather(
        *(one_call(host, port, turns, 1000 * n + i, shape, ring_s, lockstep) for i in range(n))
    )
    wall = time.perf_counter() - started
    cpu = server_cpu_s(pid) - cpu_before
    after = (await http_json(f"{http}/healthz", token)).get("transcription", {})
    spec = await speculations(f"{http}/metrics", token)
    spec = {k: int(v - spec_before.get(k, 0)) for k, v in spec.items()}
    stt_requests = after.get("requests", 0) - before.get("requests", 0)
    stt_wait = after.get("mean_wait_s", 0) * after.get("requests", 0) - before.get("mean_wait_s", 0) * before.get("requests", 0)
    underruns = late_frames = busy = 0
    lateness = 0.0
    timed: list[dict[str, Any]] = []
    heard: list[float] = []
    for c in calls:
        record = await http_json(f"{http}/calls/{c['call']}", token)
        speech = [t["timings"] for t in record.get("turns", []) if t.get("source") == "speech" and t.get("timings")]
        if len(speech) == len(c["latencies"]):  # the caller's measures match the server's turns
            timed.extend(speech)
            heard.extend(c["latencies"])
        underruns += int(record.get("underruns") or 0)
        late_frames += int(record.get("late_frames") or 0)
        lateness = max(lateness, float(record.get("max_lateness_s") or 0.0))
        busy += record.get("outcome") == "busy"
    lat = np.array([x for c in calls for x in c["latencies"]])
    gap = max(c["max_gap_s"] for c in calls)
    return {
        "shape": shape,
        "calls": n,
        "turns": int(lat.size),
        "missing_replies": sum(c["missing_replies"] for c in calls),
        "busy": busy,
        "p50_s": round(float(np.percentile(lat, 50)), 3) if lat.size else None,
        "p95_s": round(float(np.percentile(lat, 95)), 3) if lat.size else None,
        "max_s": round(float(lat.max()), 3) if lat.size else None,
        "underruns": underruns,
        "late_frames": late_frames,
        "max_lateness_s": round(lateness, 3),
        "max_frame_gap_s": round(gap, 3),
        # Real time: no hole inside a reply. Late frames (the process did not get the CPU in
        # time) are reported beside it: on a machine shared with other work they happen at any load.
        "real_time": underruns == 0,
        "ended_by_bot": sum(1 for c in calls if c["hung_up_by_bot"]),
        "transcriptions": stt_requests,  # speculative ones included
        # speculative transcriptions by result: used for the turn, discarded (the caller went on;
        # skipped if still queued, else run for nothing), missed (the turn was transcribed afresh)
        "speculations": spec,
        "transcriptions_skipped": after.get("skipped", 0) - before.get("skipped", 0),
        "server_cpu_s": round(cpu, 1),
        "server_cpu_s_per_turn": round(cpu / lat.size, 3) if lat.size else None,
        "breakdown": breakdown(timed, heard),
        "transcription_busy_s": round(after.get("busy_s", 0) - before.get("busy_s", 0), 2),
        "transcription_mean_wait_s": round(stt_wait / stt_requests, 3) if stt_requests else 0.0,
        "server_mb": server_memory(pid),
        "load_average": round(os.getloadavg()[0], 1),
        "wall_s": round(wall, 1),
    }


async def bench(loads: list[int], shape: str, ring_s: float, store: str | None) -> list[dict[str, Any]]:
    token = secrets.token_urlsafe(16)
    with tempfile.TemporaryDirectory() as data_dir:
        env = {
            "PYTHONPATH": str(ROOT),
            "VOICEBOT_PHONE__API_TOKEN": token,
            "VOICEBOT_DATA_DIR": data_dir,
            "VOICEBOT_PHONE__MAX_CALLS": str(max(loads)),
        }
        env.update({k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VOICEBOT_DATA_DIR")})
        args = [sys.executable, __file__, "--serve"] + (["--store", store] if store else [])
        server = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT, env=env)
        try:
            assert server.stdout is not None
            addrs = json.loads(await asyncio.to_thread(server.stdout.readline))
            turns = customer_turns()
            # One call first, not counted: the first turns of a fresh process pay one-off costs
            # (the understander's tables, the first device commands).
            warm = await run_load(1, addrs, turns, "staggered", 0.0, token, server.pid)
            print(json.dumps({"warm-up call, server memory after it": warm["server_mb"]}), file=sys.stderr, flush=True)
            results = []
            for n in loads:
                result = await run_load(n, addrs, turns, shape, ring_s, token, server.pid)
                results.append(result)
                print(json.dumps(result), file=sys.stderr, flush=True)
            return results
        finally:
            if server.stdin is not None:
                server.stdin.close()
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.kill()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--shape", choices=["staggered", "worst"], default="staggered")
    parser.add_argument("--loads", default=None, help="comma-separated call counts (default 1,8,16,24 / 1,8,16)")
    parser.add_argument("--ring-s", type=float, default=4.0, help="staggered: calls ring over this many seconds")
    parser.add_argument("--store", default=None, help="the store (SQLite path or postgresql://...) of the server")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if args.serve:
        serve(args.store)
        return
    default = "1,8,16,24" if args.shape == "staggered" else "1,8,16"
    loads = [int(x) for x in (args.loads or default).split(",")]
    results = asyncio.run(bench(loads, args.shape, args.ring_s, args.store))
    if args.json:
        print(json.dumps(results, indent=2))
        return
    target = TARGETS_P95_S[args.shape]
    print(f"shape: {args.shape}; machine: {platform.machine()}, {os.cpu_count()} cores, "
          f"load average {os.getloadavg()[0]:.1f} (other jobs included)")
    print(f"{'calls':>5} {'turns':>5} {'p50 s':>6} {'p95 s':>6} {'max s':>6} {'busy':>4} {'underruns':>9} "
          f"{'late frames':>11} {'max late s':>10} {'max gap s':>9} {'RSS MB':>6} {'peak MB':>7}")
    for r in results:
        print(
            f"{r['calls']:>5} {r['turns']:>5} {r['p50_s'] or float('nan'):>6.2f} {r['p95_s'] or float('nan'):>6.2f}"
            f" {r['max_s'] or float('nan'):>6.2f} {r['busy']:>4} {r['underruns']:>9} {r['late_frames']:>11}"
            f" {r['max_lateness_s']:>10.3f} {r['max_frame_gap_s']:>9.3f} {r['server_mb'].get('VmRSS', 0):>6}"
            f" {r['server_mb'].get('VmHWM', 0):>7}"
        )
    ok = [
        r["calls"] for r in results
        if r["p95_s"] is not None and r["p95_s"] < target and not r["missing_replies"] and r["real_time"] and not r["busy"]
    ]
    print("where the time goes, p50 / p95 s (server's timings of each turn; after the end of the caller's speech "
          "unless a duration):")
    print(f"{'calls':>5} " + " ".join(f"{k:>13}" for k in BREAKDOWN) + "  ended by")
    for r in results:
        b = r["breakdown"]
        cells = [f"{b[k][0]:.2f}/{b[k][1]:.2f}" if b.get(k) else "-" for k in BREAKDOWN]
        print(f"{r['calls']:>5} " + " ".join(f"{c:>13}" for c in cells) + f"  {b['end_reasons']}")
    print("transcriptions per load: run / skipped while queued; speculations used / discarded / missed; "
          "server CPU s per turn; mean queue wait s")
    for r in results:
        sp = r["speculations"]
        print(f"{r['calls']:>5} {r['transcriptions']:>4} run / {r['transcriptions_skipped']} skipped for "
              f"{r['turns']} turns; speculations {sp.get('used', 0)} / {sp.get('discarded', 0)} / {sp.get('missed', 0)}; "
              f"CPU {r['server_cpu_s_per_turn']} s/turn ({r['server_cpu_s']} s in {r['wall_s']} s); "
              f"queue wait {r['transcription_mean_wait_s']} s")
    print(f"largest load with p95 under {target} s, no missing reply, no underrun: "
          f"{max(ok) if ok else 'none'} simultaneous calls")


if __name__ == "__main__":
    main()
