"""Discovery configs carry templates anyone on the broker can write. A runaway template is
stopped by its budget, off the MQTT network thread: healthy devices keep answering, the
command line tools still exit, and a config that would divide by zero is refused."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time

from device_bridge.devices import Outcome
from tests.device_bridge.conftest import publish

NESTED = "{% for i in range(60000) %}{% for j in range(60000) %}{{ j }}{% endfor %}{% endfor %}"  # 3.6 * 10^9
WIDE = "{% for i in range(100000) %}{% for j in range(100000) %}{{ j }}{% endfor %}{% endfor %}"  # 10^10


def _hostile_sensor(peer, object_id: str, template: str) -> str:
    state = f"hostile/{object_id}/state"
    publish(peer, f"homeassistant/sensor/{object_id}/config",
            {"name": f"Hostile {object_id}", "uniq_id": object_id, "stat_t": state, "val_tpl": template,
             "dev_cla": "temperature"})
    return state


def test_a_runaway_template_is_stopped_and_healthy_devices_keep_responding(home_rig, broker, peer, caplog) -> None:
    _sim, bridge = home_rig
    with caplog.at_level(logging.WARNING):
        for object_id, template in (("loop", NESTED), ("wide", WIDE)):
            state = _hostile_sensor(peer, object_id, template)
            assert bridge.wait_for(lambda b, i=object_id: b.registry.get(i) is not None, 10)
            for n in range(3):
                publish(peer, state, json.dumps({"t": n}), retain=n == 0)
        started = time.monotonic()
        results = [bridge.set(d, {"state": "on"}) for d in ("z_light", "h_switch", "t_plug")]
        assert all(r.outcome is Outcome.CONFIRMED for r in results), [r.reason for r in results]
        assert time.monotonic() - started < 9
        assert bridge.wait_for(lambda b: "hostile/wide/state" in caplog.text and "hostile/loop/state" in caplog.text, 10)
    assert "more than 200000 operations" in caplog.text or "ran longer than" in caplog.text
    assert "no longer run" in caplog.text  # stopped once, not re-run on every message
    assert bridge.snapshot("loop").state == {}


def test_device_bridge_list_and_get_exit_with_a_runaway_template_retained(broker, peer) -> None:
    state = _hostile_sensor(peer, "retained_loop", NESTED)
    publish(peer, state, json.dumps({"t": 1}))
    env = {**os.environ, "VOICEBOT_MQTT__BROKER": broker.url}
    for args in (["list", "--json"], ["get", "retained_loop"]):
        done = subprocess.run([sys.executable, "-c", "from device_bridge.cli import app; app()", *args],
                              env=env, capture_output=True, text=True, timeout=180)
        assert done.returncode in (0, 1), done.stderr  # get: no state known is fine, a hang is not
    assert "retained_loop" in subprocess.run(
        [sys.executable, "-c", "from device_bridge.cli import app; app()", "list", "--json"],
        env=env, capture_output=True, text=True, timeout=180).stdout


def test_a_brightness_scale_that_would_divide_by_zero_is_refused_with_a_clear_line(bridge, peer, caplog) -> None:
    base = {"schema": "json", "stat_t": "bad/scale", "cmd_t": "bad/scale/set", "brightness": True}
    with caplog.at_level(logging.WARNING):
        publish(peer, "homeassistant/light/zero/config", {**base, "uniq_id": "zero", "bri_scl": 0})
        publish(peer, "homeassistant/light/word/config", {**base, "uniq_id": "word", "brightness_scale": "lots"})
        publish(peer, "homeassistant/light/good/config", {**base, "uniq_id": "good", "bri_scl": 100})
        assert bridge.wait_for(lambda b: b.registry.get("good") is not None, 10)
    assert bridge.registry.get("zero") is None and bridge.registry.get("word") is None
    assert "brightness_scale 0" in caplog.text and "brightness_scale 'lots'" in caplog.text
    publish(peer, "bad/scale", {"state": "ON", "brightness": 50})
    assert bridge.wait_for(lambda b: b.snapshot("good").state.get("brightness") == 128, 10)
    assert "ZeroDivisionError" not in caplog.text
