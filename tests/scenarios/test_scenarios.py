"""The scenario suite: scripted customer conversations against the simulated home on a real
Mosquitto, each checking the replies, the outcome, the devices afterwards and the MQTT traffic."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from device_bridge.home import FAULTS
from voicebot.dialogue.playbook import load_playbooks
from voicebot.testing.scenario import Home, Scenario, load_scenarios, run_scenario, simulated_home

HERE = Path(__file__).parent
HOME = HERE / "home.yaml"
SCENARIOS = load_scenarios(sorted(p for p in HERE.glob("*.yaml") if p.name != "home.yaml"))
# Short command timeouts keep the suite fast; loopback confirmations take milliseconds.
TEST_DEFAULTS = {"command_timeout_s": 1.2}


@pytest.fixture(scope="module")
def home(mosquitto) -> Iterator[Home]:  # type: ignore[no-untyped-def]
    with simulated_home(mosquitto.url, HOME) as h:
        yield h


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.name)
def test_scenario(scenario: Scenario, home: Home) -> None:
    result = run_scenario(scenario, home, home.engine, defaults=TEST_DEFAULTS)
    talk = "\n".join(f"  > {t['user']}\n  < {t['bot']}" for t in result.transcript)
    assert result.passed, "\n".join(result.failures) + "\n" + talk


def test_the_suite_covers_every_fault_and_playbook() -> None:
    covered = {c for s in SCENARIOS for c in s.covers}
    assert len(SCENARIOS) >= 30
    assert {f"fault:{f}" for f in FAULTS} <= covered
    assert {f"playbook:{p}" for p in load_playbooks()} <= covered
    assert {"escalation:asked", "escalation:frustration", "escalation:misunderstanding", "escalation:exhausted",
            "safety", "sensitive", "context", "misheard"} <= covered
