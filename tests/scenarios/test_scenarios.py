"""The scenario suite: scripted customer conversations against the simulated home on a real
Mosquitto, each checking the replies, the outcome, the devices afterwards and the MQTT traffic."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from device_bridge.home import FAULTS
from voicebot.dialogue.playbook import load_playbooks
from voicebot.testing.audit import audit
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
    # Never: a risky or forbidden device moved without a yes, or "done" said of what was not done.
    checked = audit(scenario, result, home.bridge.devices())
    assert not checked.unsafe and not checked.false_done, "\n".join(checked.unsafe + checked.false_done) + "\n" + talk


def test_the_suite_covers_every_fault_and_playbook() -> None:
    covered = {c for s in SCENARIOS for c in s.covers}
    assert len(SCENARIOS) >= 100
    assert {f"fault:{f}" for f in FAULTS} <= covered
    assert {f"playbook:{p}" for p in load_playbooks()} <= covered
    assert {"escalation:asked", "escalation:frustration", "escalation:misunderstanding", "escalation:exhausted",
            "safety", "sensitive", "context", "misheard"} <= covered


def test_every_fault_is_diagnosed_from_evidence_in_two_device_kinds() -> None:
    """Issue 13: each simulator fault, met in at least two kinds of device, by a conversation."""
    for fault in FAULTS:
        kinds = {c for s in SCENARIOS if f"fault:{fault}" in s.covers for c in s.covers if c.startswith("type:")}
        assert len(kinds) >= 2, f"fault {fault} is diagnosed in {sorted(kinds) or 'no'} device kinds"


def test_risky_actions_and_corrections_are_covered() -> None:
    covered = {c for s in SCENARIOS for c in s.covers}
    assert {"risky:garage_door", "risky:gate", "risky:oven", "risky:heater", "risky:water_valve", "correction:meant",
            "correction:other", "correction:undo", "correction:teach", "learned"} <= covered
