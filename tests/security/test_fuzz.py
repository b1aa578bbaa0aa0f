"""Hostile input, a seeded small run: every parser that reads from the network or a file turns
generated garbage away with its own error (or ignores it), never with an exception its caller
does not handle, and never hangs. benchmarks/bench_fuzz.py runs the same targets with 10,000+
cases each."""

from __future__ import annotations

import pytest

from voicebot.testing import fuzz

CASES = 150  # a few seconds per parser on a busy machine
TARGETS = {t.name: t for t in fuzz.targets()}


@pytest.mark.parametrize("name", sorted(TARGETS))
def test_parser_survives_hostile_input(name: str) -> None:
    tally = fuzz.run(TARGETS[name], CASES, seed=20261203)
    assert tally.cases >= CASES // 2
    assert tally.hangs == 0, f"slowest input took {tally.slowest_s:.2f} s"
    assert tally.crashes == {}, tally.first_crash


def test_every_reader_of_the_network_or_files_is_fuzzed() -> None:
    assert set(TARGETS) >= {
        "zigbee2mqtt_state", "zigbee2mqtt_bridge_devices", "homeassistant_state", "homeassistant_discovery",
        "tasmota_state", "tasmota_discovery", "feedback_clip_messages", "audiosocket_frames", "twilio_frames",
        "home_files", "configuration",
    }


@pytest.mark.parametrize("value", ["1e999", "-1e999", "nan", 1e308 * 10])
def test_a_number_that_is_not_finite_is_refused_as_a_bad_payload(value: object) -> None:
    # found by the fuzzer: Zigbee2MQTT "brightness": "1e999" raised OverflowError past the handler
    from device_bridge.conventions.base import PayloadError, number

    with pytest.raises(PayloadError, match="not a finite number"):
        number("zigbee2mqtt/lamp", "brightness", value)
