"""Proactive support figures on a real Mosquitto and a simulated home of 500 devices.

Prints:
- how long one full evaluation of every rule over every device takes (p50/p95), and the share of
  one core the watcher uses at the default tick (1 s);
- fault injected → contact received on voicebot/support/contact, p50/p95/max over battery faults
  (one contact each; the low-battery and falling-fast findings of one device are one contact);
- an offline device: contact time after its grace period.

    .venv/bin/python benchmarks/bench_proactive.py [--devices 500] [--faults 20]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import threading
import time
from pathlib import Path

from bench_bridge import big_home, pct

from device_bridge.broker import MosquittoBroker
from device_bridge.client import MqttConnection
from device_bridge.home import load_home
from device_bridge.simulator import Simulator
from voicebot.config import Settings
from voicebot.proactive.rules import load_rules
from voicebot.proactive.service import ProactiveService
from voicebot.proactive.settings import ProactiveSettings


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--devices", type=int, default=500)
    ap.add_argument("--faults", type=int, default=20)
    args = ap.parse_args()
    home = load_home(big_home(args.devices))
    sensors = [hd.device.id for hd in home.devices if hd.battery and hd.device.topics.get("role") != "hub"]
    plugs = [hd.device.id for hd in home.devices if hd.device.type.value == "switch"
             and hd.device.convention == "zigbee2mqtt"]
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} (shared; figures are noisy)")
    rules = load_rules()
    for r in rules:
        if r.id == "offline":
            r.params = {"grace_s": 2.0}
    opts = ProactiveSettings(quiet_hours=None, min_contact_interval_s=0, max_contacts_per_day=10_000)
    received: dict[str, float] = {}
    lock = threading.Lock()
    with MosquittoBroker() as broker, tempfile.TemporaryDirectory() as tmp, \
            Simulator(home, broker.url, thermal_interval_s=None) as sim:
        def on_contact(msg) -> None:  # type: ignore[no-untyped-def]
            c = json.loads(msg.payload)
            with lock:
                received.setdefault(c["device_id"], time.perf_counter())

        listener = MqttConnection(broker.url, client_id="bench-contacts")
        listener.subscribe(opts.contact_topic, on_contact)
        listener.start(wait=10)
        listener.wait_subscribed(10)
        t0 = time.perf_counter()
        service = ProactiveService(broker.url, home, Path(tmp) / "voicebot.sqlite3", Settings(), proactive=opts,
                                   rules=rules).start(timeout=30)
        assert service.bridge is not None and service.watcher is not None
        service.bridge.wait_until_known(60)
        print(f"{args.devices} devices known {time.perf_counter() - t0:.1f} s after start")
        times = []
        for _ in range(20):
            s = time.perf_counter()
            service.watcher.evaluate()
            times.append(time.perf_counter() - s)
        print(f"full evaluation ({len(rules)} rules x {len(service.bridge.devices())} devices): "
              f"p50 {pct(times, 50) * 1000:.0f} ms, p95 {pct(times, 95) * 1000:.0f} ms "
              f"(~{pct(times, 50) * 100:.0f}% of a core at tick 1 s)")
        latencies = []
        for device in sensors[: args.faults]:
            s = time.perf_counter()
            sim.inject(device, "low_battery")
            while device not in received and time.perf_counter() - s < 30:
                time.sleep(0.005)
            latencies.append(received.get(device, float("inf")) - s)
        print(f"low_battery -> contact, {len(latencies)} devices: p50 {pct(latencies, 50) * 1000:.0f} ms, "
              f"p95 {pct(latencies, 95) * 1000:.0f} ms, max {max(latencies) * 1000:.0f} ms")
        plug = plugs[0]
        s = time.perf_counter()
        sim.inject(plug, "offline")
        while plug not in received and time.perf_counter() - s < 30:
            time.sleep(0.005)
        print(f"offline (grace 2.0 s) -> contact {received.get(plug, float('inf')) - s:.2f} s after the fault")
        contacts = service.findings.contacts() if service.findings else []
        print(f"contacts sent {sum(c['status'] == 'sent' for c in contacts)} for "
              f"{args.faults + 1} faulty devices (one per device)")
        service.stop()
        listener.stop()


if __name__ == "__main__":
    main()
