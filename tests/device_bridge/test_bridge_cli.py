"""The device-bridge command, run as a user would: a separate process on a real
broker with the simulated demo home."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator

import pytest

from device_bridge.home import builtin_home
from device_bridge.simulator import Simulator


@pytest.fixture(scope="module")
def demo(broker) -> Iterator[Simulator]:
    sim = Simulator(builtin_home(), broker.url, cover_travel_s=0.3).start()
    yield sim
    sim.stop()


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "device_bridge.cli", *args], capture_output=True, text=True, timeout=180)


def test_get_json_prints_state_and_telemetry(demo, broker) -> None:
    p = run("get", "standing lamp", "--broker", broker.url, "--home", str(builtin_home()), "--json")
    assert p.returncode == 0, p.stderr
    data = json.loads(p.stdout)
    assert data["id"] == "floor_lamp" and data["area"] == "Living Room"
    assert data["state"]["state"] == "on" and data["state"]["brightness"] == 150
    assert data["telemetry"]["available"] is True and isinstance(data["telemetry"]["linkquality"], int)
    assert data["age_s"] is not None


def test_set_waits_for_confirmation_and_reports_rejections(demo, broker) -> None:
    p = run("set", "Front Door Lock", "state=unlocked", "--broker", broker.url, "--home", str(builtin_home()))
    assert p.returncode == 0 and p.stdout.startswith("confirmed: front_door_lock"), p
    assert demo.state("front_door_lock")["state"] == "unlocked"
    p = run("set", "thermostat", "temperature=80", "--broker", broker.url, "--home", str(builtin_home()), "--json")
    assert p.returncode == 1
    out = json.loads(p.stdout)
    assert out["outcome"] == "rejected" and out["code"] == "out_of_range"
    assert out["facts"] == {"attribute": "temperature", "value": 80.0, "low": 5, "high": 35}
    p = run("set", "no such thing", "state=on", "--broker", broker.url)
    assert p.returncode == 1 and "there is no device called 'no such thing'" in p.stderr


def test_list_from_discovery_alone(demo, broker) -> None:
    """Without a home file the bridge learns the devices from Z2M and HA discovery."""
    p = run("list", "--broker", broker.url, "--json")
    assert p.returncode == 0, p.stderr
    ids = {d["id"] for d in json.loads(p.stdout)}
    assert {"living_room_thermostat", "tv", "garage_door"} <= ids  # Home Assistant discovery
    assert any(i.startswith("0x") for i in ids)  # Zigbee2MQTT devices by IEEE address
    assert "kitchen_light" not in ids  # Tasmota devices need the home file (no Tasmota discovery)


def test_bad_home_file_is_a_clear_error(tmp_path) -> None:
    bad = tmp_path / "home.yaml"
    bad.write_text("devices:\n  - name: Thing\n    type: toaster\n")
    p = run("simulate", "--home", str(bad), "--duration", "0.1")
    assert p.returncode == 2 and "device 'Thing': type must be one of light" in p.stderr


def test_simulate_command_serves_a_home_that_obeys_and_takes_faults(broker, tmp_path, wipe) -> None:
    from device_bridge.bridge import DeviceBridge
    from device_bridge.client import MqttConnection
    from device_bridge.devices import Outcome

    home = tmp_path / "flat.yaml"
    home.write_text("areas: [Flat]\ndevices:\n"
                    "  - {name: Flat Lamp, type: light, area: Flat}\n"
                    "  - {name: Flat Plug, type: switch, convention: tasmota, area: Flat}\n")
    proc = subprocess.Popen([sys.executable, "-m", "device_bridge.cli", "simulate", "--home", str(home),
                             "--broker", broker.url, "--duration", "20"], stderr=subprocess.PIPE, text=True)
    try:
        with DeviceBridge(broker.url, home) as bridge:
            assert bridge.wait_until_known(10)
            assert bridge.set("flat_lamp", {"state": "on"}).ok
            conn = MqttConnection(broker.url)
            assert conn.start(15), "could not reach the broker"
            conn.publish("voicebot-sim/flat_plug/fault/set", "offline").wait(2)
            assert bridge.wait_for(lambda b: b.get("flat_plug").telemetry.available is False, 10)
            assert bridge.set("flat_plug", {"state": "on"}).outcome is Outcome.OFFLINE
            conn.stop()
    finally:
        proc.terminate()
        _out, err = proc.communicate(timeout=10)
        wipe(broker.url)
    assert "simulating 3 devices" in err  # two devices and the Zigbee hub


def test_stopping_the_broker_command_stops_its_mosquitto() -> None:
    """`device-bridge broker` stopped with SIGTERM (kill, systemd) takes its Mosquitto with it
    instead of leaving it listening with no parent."""
    import signal
    import socket

    proc = subprocess.Popen([sys.executable, "-m", "device_bridge.cli", "broker"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()  # printed once the broker listens
        assert url.startswith("mqtt://127.0.0.1:"), (url, proc.stderr.read() if proc.poll() is not None and proc.stderr else "")
        port = int(url.rsplit(":", 1)[1])
        socket.create_connection(("127.0.0.1", port), timeout=5).close()
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=30)
    assert code == 0, proc.stderr.read() if proc.stderr else ""
    with pytest.raises(OSError):  # nothing listens there any more
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
