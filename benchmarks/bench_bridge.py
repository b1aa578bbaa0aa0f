"""Device bridge figures for a home of 500 simulated devices on a real Mosquitto.

Prints:
- start-up: time until the bridge knows the state of every device (retained discovery,
  Z2M bridge/devices, state, Tasmota queries);
- command-to-confirmed-state latency, p50/p95/max, one command at a time and with
  several dialogue threads at once;
- sustained state updates per second the bridge handles (parse, update, notify), fed
  by a separate publisher flooding Zigbee2MQTT, Home Assistant and Tasmota state
  messages, with the count of any it missed.

    .venv/bin/python benchmarks/bench_bridge.py [--devices 500] [--commands 300] [--updates 30000]
    .venv/bin/python benchmarks/bench_bridge.py --devices 5000 --thirds   # the big mixed home
"""

from __future__ import annotations

import argparse
import json
import os
import random
import threading
import time

from device_bridge.bridge import DeviceBridge
from device_bridge.broker import MosquittoBroker
from device_bridge.client import MqttConnection
from device_bridge.home import load_home
from device_bridge.simulator import Simulator


def big_home(n: int, thirds: bool = False) -> dict:
    """n devices: 60 % Zigbee2MQTT, 25 % Home Assistant, 15 % Tasmota (``thirds``: a third
    each); lights, switches, sensors, locks, covers and thermostats in 25 rooms."""
    areas = [f"Room {i}" for i in range(25)]
    kinds = [("light", {}), ("switch", {}), ("sensor", {"device_class": "temperature"}), ("light", {}),
             ("binary_sensor", {"device_class": "motion"}), ("lock", {}), ("cover", {}), ("climate", {})]
    devices = []
    for i in range(n):
        if thirds:
            conv = ("zigbee2mqtt", "homeassistant", "tasmota")[i % 3]
        else:
            conv = "zigbee2mqtt" if i % 20 < 12 else "homeassistant" if i % 20 < 17 else "tasmota"
        dtype, extra = kinds[i % len(kinds)]
        if conv == "tasmota" and dtype in ("lock", "climate", "binary_sensor"):
            dtype, extra = "switch", {}
        devices.append({"name": f"Device {i}", "type": dtype, "convention": conv, "area": areas[i % 25], **extra})
    return {"areas": areas, "devices": devices}


def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, round(p / 100 * (len(s) - 1)))]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--devices", type=int, default=500)
    ap.add_argument("--commands", type=int, default=300)
    ap.add_argument("--threads", type=int, default=4)
    ap.add_argument("--updates", type=int, default=30000)
    ap.add_argument("--thirds", action="store_true", help="a third of the devices of each convention")
    ap.add_argument("--fill-only", action="store_true", help="only the start-up and fill figures")
    args = ap.parse_args()
    spec = big_home(args.devices, args.thirds)
    home = load_home(spec)
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} (shared; figures are noisy)")
    with MosquittoBroker() as broker:
        # a running home has announced itself (retained) before the bridge starts; its
        # announcement has also left the simulator's client (otherwise the simulator's own
        # announcing delays its answers to the first commands)
        t_sim = time.perf_counter()
        sim = Simulator(home, broker.url, cover_travel_s=0.0, telemetry_interval_s=3600).start()
        if not sim.wait_announced(120):
            print("the simulated home did not finish announcing itself in 120 s")
        print(f"simulated home announced in {time.perf_counter() - t_sim:.2f} s")
        first_light = next(d["name"] for d in spec["devices"] if d["type"] == "light" and d["convention"] == "zigbee2mqtt")
        fill_lights = [d["name"] for d in spec["devices"] if d["type"] in ("light", "switch")][::max(1, args.devices // 40)]
        t0 = time.perf_counter()
        bridge = DeviceBridge(broker.url, load_home(spec)).start()
        connected = time.perf_counter() - t0
        # what a caller meets while the registry fills: the first command, then one every device
        # of a sample, each timed from the bridge's start
        first = bridge.set(first_light.lower().replace(" ", "_"), {"state": "on"})
        first_at = time.perf_counter() - t0
        during: dict[str, int] = {}
        for name in fill_lights:
            if bridge.wait_until_known(0):
                break
            r = bridge.set(name.lower().replace(" ", "_"), {"state": "on"})
            during[r.outcome.value] = during.get(r.outcome.value, 0) + 1
        known = bridge.wait_until_known(120)
        startup = time.perf_counter() - t0
        print(f"devices: {len(bridge.devices())} (incl. hubs); connected after {connected:.2f} s; first command "
              f"{first.outcome.value} after {first_at:.2f} s; commands while filling {during}; all states known: "
              f"{known} after {startup:.2f} s")
        if args.fill_only:
            bridge.stop()
            sim.stop()
            return

        controllable = [d for d in bridge.devices() if d.type.value in ("light", "switch", "lock", "cover", "climate")]
        rng = random.Random(7)

        def command(dev) -> dict:
            t = dev.type.value
            if t == "light":
                return {"state": "on", "brightness": rng.randrange(1, 255)}
            if t == "switch":
                return {"state": rng.choice(["on", "off"])}
            if t == "lock":
                return {"state": rng.choice(["locked", "unlocked"])}
            if t == "cover":
                return {"position": rng.randrange(0, 101)}
            return {"temperature": rng.randrange(16, 25)}

        lat: list[float] = []
        outcomes: dict[str, int] = {}
        for _ in range(args.commands):
            dev = rng.choice(controllable)
            t = time.perf_counter()
            r = bridge.set(dev.id, command(dev))
            lat.append((time.perf_counter() - t) * 1000)
            outcomes[r.outcome.value] = outcomes.get(r.outcome.value, 0) + 1
        print(f"command -> confirmed state, sequential ({args.commands}): p50 {pct(lat, 50):.1f} ms, "
              f"p95 {pct(lat, 95):.1f} ms, max {max(lat):.1f} ms; outcomes {outcomes}")

        lat_c: list[float] = []
        out_c: dict[str, int] = {}
        lock = threading.Lock()
        per = args.commands // args.threads

        def worker(seed: int) -> None:
            r2 = random.Random(seed)
            mine = [d for i, d in enumerate(controllable) if i % args.threads == seed]  # no two threads on one device
            for _ in range(per):
                dev = r2.choice(mine)
                t = time.perf_counter()
                r = bridge.set(dev.id, command(dev))
                with lock:
                    lat_c.append((time.perf_counter() - t) * 1000)
                    out_c[r.outcome.value] = out_c.get(r.outcome.value, 0) + 1

        threads = [threading.Thread(target=worker, args=(i,)) for i in range(args.threads)]
        t = time.perf_counter()
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        wall = time.perf_counter() - t
        print(f"command -> confirmed state, {args.threads} threads ({len(lat_c)}): p50 {pct(lat_c, 50):.1f} ms, "
              f"p95 {pct(lat_c, 95):.1f} ms, {len(lat_c) / wall:.0f} commands/s; outcomes {out_c}")
        sim.stop()

        # sustained state updates: a publisher floods state reports of every convention
        readers = [d for d in bridge.devices() if d.topics.get("role") != "hub"]
        msgs: list[tuple[str, str]] = []
        for d in readers:
            if d.convention == "zigbee2mqtt":
                body = {"linkquality": 120}
                body.update({"light": {"state": "ON", "brightness": 100}, "switch": {"state": "ON"},
                             "sensor": {"temperature": 21.5}, "lock": {"state": "LOCK", "lock_state": "locked"},
                             "cover": {"position": 50, "state": "OPEN"}, "climate": {"local_temperature": 20.1},
                             "binary_sensor": {"occupancy": True}}[d.type.value])
                msgs.append((f"zigbee2mqtt/{d.topics['friendly_name']}", json.dumps(body)))
            elif d.convention == "homeassistant":
                c = d.topics["config"]
                topic = c.get("state_topic") or c.get("current_temperature_topic")
                payload = {"light": '{"state":"ON","brightness":90}', "switch": "ON", "sensor": '{"temperature": 22.0}',
                           "lock": "LOCKED", "cover": "open", "climate": "20.5", "binary_sensor": "ON"}[d.type.value]
                msgs.append((topic, payload))
            else:
                msgs.append((f"stat/{d.topics['topic']}/RESULT", '{"POWER":"ON"}'))
        pub = MqttConnection(broker.url)
        pub.start(5)
        before = bridge.messages_handled + bridge.messages_skipped
        t = time.perf_counter()
        for i in range(args.updates):
            topic, payload = msgs[i % len(msgs)]
            pub.publish(topic, payload, qos=0)
        sent_s = time.perf_counter() - t
        target = before + args.updates
        deadline = time.monotonic() + 120
        while bridge.messages_handled + bridge.messages_skipped < target and time.monotonic() < deadline:
            time.sleep(0.01)
        took = time.perf_counter() - t
        handled = bridge.messages_handled + bridge.messages_skipped - before
        print(f"state updates: {handled}/{args.updates} handled in {took:.2f} s = {handled / took:.0f} updates/s "
              f"(publisher needed {sent_s:.2f} s; QoS 0; {args.updates - handled} not seen)")
        pub.stop()
        bridge.stop()


if __name__ == "__main__":
    main()
