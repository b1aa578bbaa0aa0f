"""The traffic tap waits for messages in flight by an event (its barrier), never by a guess."""

from __future__ import annotations

import time

from device_bridge.client import MqttConnection
from voicebot.testing.mqtt_tap import MqttTap


def test_snapshot_holds_everything_a_publisher_sent_before_it(mosquitto) -> None:  # type: ignore[no-untyped-def]
    tap = MqttTap(mosquitto.url, client_id="tap-test")
    sender = MqttConnection(mosquitto.url, client_id=f"tap-test-sender-{time.monotonic_ns()}")
    assert sender.start(wait=5.0)
    try:
        for i in range(300):
            sender.publish("tap-test/burst", str(i), qos=i % 2)
        got = [p for t, p in tap.snapshot(via=[sender]) if t == "tap-test/burst"]
        # all of them; QoS 0 may overtake QoS 1 (held beyond the in-flight window), each QoS keeps its order
        assert sorted(got, key=int) == [str(i) for i in range(300)]
        assert [p for p in got if int(p) % 2 == 1] == [str(i) for i in range(1, 300, 2)]
        assert [p for p in got if int(p) % 2 == 0] == [str(i) for i in range(0, 300, 2)]
        assert not any(t.startswith("voicebot/tap/") for t, _ in tap.snapshot(settle=False))
        sender.publish("tap-test/burst", "late", qos=1)
        tap.clear(via=[sender])  # the late one was in flight: clear must drop it too
        assert tap.snapshot(via=[sender]) == []
    finally:
        sender.stop()
        tap.close()
