"""Feedback throughput and latency: clips per minute for 1, 2 and 3 `voicebot feedback` worker
processes sharing one MQTT 5 shared subscription, and the delay from a device's publish to its
acknowledgement.

    .venv/bin/python benchmarks/bench_feedback.py [--clips 24] [--threads 1] [--workers 1 2 3]

Each run gets a fresh Mosquitto and store; the clips are Piper-synthesized customer remarks
(22.05 kHz WAV, 2–5 s), each copy slightly altered so that none is taken as a duplicate.
Half the clips are sent whole, half streamed in 8 kB chunks.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import io
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import paho.mqtt.client as paho
import soundfile as sf
from paho.mqtt.enums import CallbackAPIVersion

from device_bridge.broker import MosquittoBroker
from voicebot.config import Settings
from voicebot.models import load_synthesizer

PREFIX = "voicebot/feedback"
REMARKS = [
    "My thermostat is broken and I smell burning. I am returning it.",
    "I love the new speaker, the sound is great and setup was easy.",
    "The smart plug keeps disconnecting from the wifi every day.",
    "I don't understand how to set a schedule in the app.",
    "Since the update the lights are slow and the app crashes.",
    "The doorbell camera works well, thank you.",
]
VOICEBOT = str(Path(sys.executable).with_name("voicebot"))


def make_clips(n: int) -> list[bytes]:
    synth = load_synthesizer(Settings())
    base = [np.concatenate([c.pcm for c in synth.synthesize(t, 22050)]) for t in REMARKS]
    clips = []
    for i in range(n):
        pcm = base[i % len(base)].copy()
        pcm[i // len(base)] += 1  # one sample differs: a new clip, not a retry
        buf = io.BytesIO()
        sf.write(buf, pcm, 22050, format="WAV", subtype="PCM_16")
        clips.append(buf.getvalue())
    return clips


class Device:
    def __init__(self, broker: MosquittoBroker) -> None:
        self.acked: dict[str, tuple[float, dict]] = {}
        self.event = threading.Event()
        self.c = paho.Client(CallbackAPIVersion.VERSION2, client_id="bench-device", protocol=paho.MQTTv5)
        self.c.on_message = self._on
        self.c.connect(broker.host, broker.port)
        self.c.loop_start()
        self.c.subscribe(f"{PREFIX}/+/ack", qos=1)
        time.sleep(0.3)

    def _on(self, c: paho.Client, u: object, m: paho.MQTTMessage) -> None:
        ack = json.loads(m.payload)
        if ack["status"] in ("stored", "duplicate"):
            self.acked.setdefault(ack["clip_id"], (time.monotonic(), ack))
            self.event.set()

    def send(self, clip_id: str, audio: bytes, streamed: bool) -> None:
        if not streamed:
            body = {"clip_id": clip_id, "model": "T100", "firmware": "1.0", "audio": base64.b64encode(audio).decode()}
            self.c.publish(f"{PREFIX}/bench/clip", json.dumps(body), qos=1)
            return
        base = f"{PREFIX}/bench/clip/{clip_id}"
        parts = [audio[i : i + 8000] for i in range(0, len(audio), 8000)]
        self.c.publish(f"{base}/start", json.dumps({"model": "S200", "firmware": "2.1"}), qos=1)
        for i, p in enumerate(parts):
            self.c.publish(f"{base}/chunk/{i}", p, qos=1)
        end = {"chunks": len(parts), "sha256": hashlib.sha256(audio).hexdigest()}
        self.c.publish(f"{base}/end", json.dumps(end), qos=1)


def start_workers(broker: MosquittoBroker, n: int, env: dict[str, str], tag: str) -> list[subprocess.Popen[str]]:
    procs = []
    for i in range(n):
        p = subprocess.Popen(
            [VOICEBOT, "-v", "feedback", "--broker", broker.url, "--worker-id", f"{tag}-{i}"],
            stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True, env=env,
        )
        procs.append(p)
    for p in procs:
        assert p.stderr is not None
        for line in p.stderr:
            if "subscribed to $share/" in line:
                break
        else:
            raise RuntimeError("a worker did not start")
        threading.Thread(target=lambda s=p.stderr: [None for _ in s], daemon=True).start()  # drain the log
    return procs


def run(n_workers: int, clips: list[bytes], threads: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp, MosquittoBroker() as broker:
        env = dict(os.environ)
        env.update({
            "VOICEBOT_FEEDBACK__STORE": f"{tmp}/voicebot.sqlite3",
            "VOICEBOT_FEEDBACK__ON_FAULT": "none",
            "VOICEBOT_TRANSCRIBE__THREADS": str(threads),
        })
        procs = start_workers(broker, n_workers, env, f"bench{n_workers}")
        try:
            device = Device(broker)
            # Latency on idle workers: one clip at a time.
            idle = []
            for i in range(3):
                t0 = time.monotonic()
                device.send(f"idle-{i}", clips[i], streamed=False)
                while f"idle-{i}" not in device.acked:
                    time.sleep(0.005)
                idle.append(device.acked[f"idle-{i}"][0] - t0)
            # Throughput: every clip at once, as a fleet would after an outage.
            sent = {}
            t0 = time.monotonic()
            for i, audio in enumerate(clips[3:], start=3):
                cid = f"load-{i}"
                sent[cid] = time.monotonic()
                device.send(cid, audio, streamed=i % 2 == 1)
            deadline = time.monotonic() + 600
            while not all(c in device.acked for c in sent):
                if time.monotonic() > deadline:
                    raise RuntimeError("clips were not acknowledged within 10 minutes")
                time.sleep(0.01)
            elapsed = max(device.acked[c][0] for c in sent) - t0
            delays = sorted(device.acked[c][0] - sent[c] for c in sent)
            per_worker: dict[str, int] = {}
            for c in sent:
                w = device.acked[c][1].get("worker", "?")
                per_worker[w] = per_worker.get(w, 0) + 1
            return {
                "clips": len(sent),
                "clips_per_min": 60 * len(sent) / elapsed,
                "idle_ack_s": statistics.median(idle),
                "load_ack_median_s": statistics.median(delays),
                "load_ack_p95_s": delays[int(0.95 * (len(delays) - 1))],
                "split": "/".join(str(v) for _, v in sorted(per_worker.items())),
            }
        finally:
            for p in procs:
                p.send_signal(signal.SIGTERM)
            for p in procs:
                p.wait(60)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--clips", type=int, default=24)
    ap.add_argument("--threads", type=int, default=1, help="Whisper threads per worker")
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2, 3])
    args = ap.parse_args()
    clips = make_clips(args.clips + 3)
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at start; "
          f"{args.clips} clips ({statistics.mean(len(c) for c in clips) / 1024:.0f} kB WAV each), "
          f"Whisper tiny.en, {args.threads} thread(s) per worker")
    print(f"{'workers':>7} {'clips/min':>10} {'idle ack s':>11} {'ack median s':>13} {'ack p95 s':>10}  split")
    for n in args.workers:
        r = run(n, clips, args.threads)
        print(f"{n:>7} {r['clips_per_min']:>10.1f} {r['idle_ack_s']:>11.2f} {r['load_ack_median_s']:>13.2f} "
              f"{r['load_ack_p95_s']:>10.2f}  {r['split']}", flush=True)
    print(f"load average at the end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
