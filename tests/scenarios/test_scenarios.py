"""The scenario suite: scripted customer conversations against the simulated home on a real
Mosquitto, each checking the replies, the outcome, the devices afterwards and the MQTT traffic."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from device_bridge.home import FAULTS
from tests.waiting import COMMAND_TIMEOUT_S
from voicebot.dialogue.playbook import load_playbooks
from voicebot.testing.audit import audit
from voicebot.testing.scenario import Home, Scenario, load_scenarios, run_scenario, simulated_home

HERE = Path(__file__).parent
HOME = HERE / "home.yaml"
SCENARIOS = load_scenarios(sorted(p for p in HERE.glob("*.yaml") if p.name != "home.yaml"))
# Faults that make the bot wait its command timeout out (the device never answers, or loses the command).
WAITED_OUT = {"unresponsive", "stuck", "weak_signal", "intermittent"}


def defaults_for(scenario: Scenario) -> dict[str, float]:
    """A short command timeout keeps the scenarios with such faults fast (loopback confirmations
    take milliseconds); where every device answers, the wait ends on the answer and may be long: on
    a busy machine a healthy device's answer came after 1.2 s, and the bot said it did not respond."""
    faults = {f for spec in scenario.faults.values() for f in ([spec] if isinstance(spec, str) else spec)}
    faults |= {t.inject.get("fault", "") for t in scenario.turns if t.inject}
    return {"command_timeout_s": 1.2 if faults & WAITED_OUT else COMMAND_TIMEOUT_S}


@pytest.fixture(scope="module")
def home(mosquitto) -> Iterator[Home]:  # type: ignore[no-untyped-def]
    with simulated_home(mosquitto.url, HOME) as h:
        yield h


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.name)
def test_scenario(scenario: Scenario, home: Home) -> None:
    result = run_scenario(scenario, home, home.engine, defaults=defaults_for(scenario))
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
