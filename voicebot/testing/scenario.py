"""Scripted customer conversations against a simulated home: the scenario format and runner.

A scenario file (YAML) holds a list of scenarios. Each one injects faults, plays the
customer's turns (and things the customer does at home between turns, such as a power
cycle), and checks the replies, the outcome, the device states afterwards and the MQTT
traffic. The runner takes an engine factory, so the same scenarios run the rules policy
and the LLM policy:

    result = run_scenario(scenario, home, home.engine)  # or any (settings, store) -> engine
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator

from device_bridge.bridge import DeviceBridge
from device_bridge.client import MqttConnection
from device_bridge.simulator import Simulator
from voicebot.dialogue.engine import DialogueEngine, UnderstandingStage, build_understander
from voicebot.dialogue.settings import DialogueSettings
from voicebot.dialogue.types import Reply
from voicebot.store import Customer, Store
from voicebot.testing.mqtt_tap import MqttTap


class Expect(BaseModel):
    model_config = ConfigDict(extra="forbid")

    intent: str | None = None
    reply_has: list[str] = Field(default_factory=list)  # each: substrings joined by "|", any may match
    reply_not_has: list[str] = Field(default_factory=list)
    actions: int | None = None  # how many device commands this turn sent
    escalated: bool | None = None
    ends: bool | None = None


class Turn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    say: str | None = None
    dtmf: str | None = None
    customer_action: dict[str, str] | None = None  # {device: name, action: power_cycle}
    inject: dict[str, str] | None = None  # {device: name, fault: offline}
    new_conversation: bool = False  # hang up and call again (same customer)
    expect: Expect = Field(default_factory=Expect)

    @field_validator("say", mode="before")
    @classmethod
    def _yaml_yes_no(cls, value: Any) -> Any:
        # YAML 1.1 reads a bare yes or no as a boolean; the customer said the word.
        return {True: "yes", False: "no"}.get(value, value) if isinstance(value, bool) else value


class MqttExpect(BaseModel):
    model_config = ConfigDict(extra="forbid")

    topic: str  # MQTT filter (+ and # allowed)
    payload_has: dict[str, Any] = Field(default_factory=dict)  # JSON payload subset (strings case-insensitive)


class Scenario(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    covers: list[str] = Field(default_factory=list)  # labels: fault:offline, playbook:lock_problem, safety ...
    customer: str | None = "alice"
    channel: str = "chat"
    language: str = "en"  # the conversation's language
    speaker_area: str | None = None
    settings: dict[str, Any] = Field(default_factory=dict)  # DialogueSettings overrides
    faults: dict[str, str | list[str]] = Field(default_factory=dict)  # device name: fault(s)
    state: dict[str, dict[str, Any]] = Field(default_factory=dict)  # device name: changes to make first
    turns: list[Turn]
    outcome: str | None = None  # resolved | escalated | transfer | None (still open)
    ticket_reason: str | None = None
    devices: dict[str, dict[str, Any]] = Field(default_factory=dict)  # device name: state afterwards
    published: list[MqttExpect] = Field(default_factory=list)
    not_published: list[MqttExpect] = Field(default_factory=list)


@dataclass
class ScenarioResult:
    name: str
    failures: list[str]
    outcome: str | None
    turns: int  # customer turns spoken
    transcript: list[dict[str, Any]] = field(default_factory=list)
    elapsed_s: float = 0.0

    @property
    def passed(self) -> bool:
        return not self.failures


def load_scenarios(paths: list[Path]) -> list[Scenario]:
    out: list[Scenario] = []
    for path in paths:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or []
        if not isinstance(data, list):
            raise ValueError(f"{path}: a scenario file holds a list of scenarios")
        for i, item in enumerate(data):
            try:
                out.append(Scenario.model_validate(item))
            except Exception as exc:
                raise ValueError(f"{path}: scenario {i + 1}: {exc}") from exc
    names = [s.name for s in out]
    dupes = {n for n in names if names.count(n) > 1}
    if dupes:
        raise ValueError(f"duplicate scenario names: {', '.join(sorted(dupes))}")
    return out


@dataclass
class Home:
    """What scenarios run against: a simulated home on a real broker, a bridge to it, and a recorder."""

    broker_url: str
    simulator: Simulator
    bridge: DeviceBridge
    recorder: MqttTap
    _understanders: dict[tuple[str, ...], UnderstandingStage] = field(default_factory=dict, repr=False)

    def understander(self, settings: DialogueSettings) -> UnderstandingStage:
        """One understander per set of languages, shared by every engine over this home: building
        one is the slow part of an engine, and it keeps no per-conversation state."""
        key = tuple(settings.languages)
        if key not in self._understanders:
            self._understanders[key] = build_understander(self.bridge, settings)
        return self._understanders[key]

    def engine(self, settings: DialogueSettings, store: Store) -> DialogueEngine:
        """A rules-policy engine over this home (the usual ``engine_factory`` of run_scenario)."""
        return DialogueEngine(self.bridge, store, settings, understander=self.understander(settings))

    def publishers(self) -> list[MqttConnection]:
        """The connections whose messages a recorder barrier should wait for: the bridge's (the
        bot's commands and tickets) and the simulator's (device reports)."""
        return [c for c in (self.bridge.conn, self.simulator.conn) if c is not None]

    def device_id(self, name: str) -> str:
        for d in self.bridge.devices():
            if d.name.lower() == name.lower() or d.id == name:
                return str(d.id)
        raise KeyError(f"the home has no device {name!r}")

    def inject(self, name: str, fault: str) -> None:
        """Inject a simulator fault and wait until the bridge has seen its effect."""
        did = self.device_id(name)
        since = len(self.recorder.snapshot(settle=False))
        self.simulator.inject(did, fault)
        self.settle(did, since)

    def customer_action(self, name: str, action: str) -> None:
        """Do what the customer does at home (power_cycle, replace_battery, ...) and wait for its effect."""
        did = self.device_id(name)
        since = len(self.recorder.snapshot(settle=False))
        acted_at = time.time()
        self.simulator.customer_action(did, action)
        self.settle(did, since)
        if self._expected_available(did):
            # its report after the action (a new battery level) has reached the bridge, not only the recorder
            self.bridge.wait_for(lambda b: (b.get(did).telemetry.last_seen or 0.0) >= acted_at, timeout=5.0)

    def settle(self, device_id: str, since: int = 0, timeout: float = 5.0) -> None:
        """Wait until the simulator's last change to ``device_id`` has reached the bridge: the
        simulator's fault list for it has been published since message ``since`` of the recorder
        (it goes out after the device's own messages) and the bridge shows the availability the
        simulator now has."""
        faults = json.dumps(self.simulator.faults(device_id), separators=(",", ":"))
        topic = f"{self.simulator.prefix}/{device_id}/faults"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(t == topic and _same_json(p, faults) for t, p in self.recorder.snapshot(settle=False)[since:]):
                break
            time.sleep(0.02)
        behind = [device_id] + [d.id for d in self.bridge.devices() if d.hub == device_id]
        want = {d: self._expected_available(d) for d in behind}
        self.bridge.wait_for(
            lambda b: all(b.get(d).telemetry.available in (want[d], None) for d in behind), timeout=max(0.1, deadline - time.monotonic())
        )
        time.sleep(0.05)  # state and telemetry of the same batch

    def _expected_available(self, device_id: str) -> bool:
        device = next(d for d in self.bridge.devices() if d.id == device_id)
        ids = [device_id] + ([device.hub] if device.hub else [])
        return not any(f["type"] == "offline" for i in ids for f in self.simulator.faults(i))

    def reset(self) -> None:
        """Clear every fault and put every device back in the state the home file gives it."""
        sim = self.simulator
        for hd in sim.home.devices:
            sim.clear(hd.device.id)
            sim.set_state(hd.device.id, dict(hd.state))
        initial = {hd.device.id: hd.state for hd in sim.home.devices if hd.device.topics.get("role") != "hub"}

        def settled(bridge: Any) -> bool:
            for did, want in initial.items():
                st = bridge.get(did)
                if st.telemetry.available is False or not _same(st.state, want):
                    return False
            return True

        if not self.bridge.wait_for(settled, timeout=10.0):
            raise RuntimeError("the simulated home did not return to its initial state")


@contextmanager
def simulated_home(broker_url: str, home_file: Path, cover_travel_s: float = 0.4) -> Iterator[Home]:
    """A simulator and a bridge for ``home_file`` on a running broker, plus a traffic recorder."""
    sim = Simulator(home_file, broker_url, cover_travel_s=cover_travel_s).start()
    try:
        bridge = DeviceBridge(broker_url, home=home_file).start()
        try:
            if not bridge.wait_until_known(timeout=10.0):
                raise RuntimeError(f"not every device of {home_file} reported its state in 10 s")
            recorder = MqttTap(broker_url, client_id="scenario-recorder")
            try:
                yield Home(broker_url, sim, bridge, recorder)
            finally:
                recorder.close()
        finally:
            bridge.stop()
    finally:
        sim.stop()


EngineFactory = Callable[[DialogueSettings, Store], Any]


def standard_customers(store: Store) -> None:
    store.save_customer(Customer("alice", "Alice Example", ["+4930111111"], default_area="Living Room"))
    store.save_customer(Customer("bob", "Bob Example", [], default_area="Kitchen"))


def run_scenario(
    scenario: Scenario,
    home: Home,
    engine_factory: EngineFactory,
    check_replies: bool = True,
    defaults: dict[str, Any] | None = None,
) -> ScenarioResult:
    """Run one scenario on a fresh store. ``check_replies=False`` checks only what the customer
    gets (outcome, device states, MQTT traffic), for policies whose wording differs (LLM).
    ``defaults``: DialogueSettings values the scenario's own settings override (e.g. a short
    command timeout for tests)."""
    started = time.monotonic()
    failures: list[str] = []
    home.reset()
    store = Store(":memory:")
    standard_customers(store)
    settings = DialogueSettings.model_validate({**(defaults or {}), **scenario.settings})
    engine = engine_factory(settings, store)
    for name, changes in scenario.state.items():
        res = home.bridge.set(home.device_id(name), changes, timeout=3.0)
        if not res.ok:
            failures.append(f"setup: could not set {name} to {changes}: {res.reason}")
    for name, faults in scenario.faults.items():
        for fault in [faults] if isinstance(faults, str) else faults:
            home.inject(name, fault)
    home.recorder.clear(via=home.publishers())

    def new_conv() -> Any:
        return engine.conversation(
            scenario.channel, customer_id=scenario.customer, speaker_area=scenario.speaker_area, language=scenario.language
        )

    conv = new_conv()
    conv.greet()
    transcript: list[dict[str, Any]] = []
    outcome: str | None = None
    spoken = 0
    last: Reply | None = None
    for i, turn in enumerate(scenario.turns, 1):
        where = f"turn {i}"
        if turn.new_conversation:
            conv.end(outcome or "abandoned")
            conv = new_conv()
            conv.greet()
        if turn.customer_action:
            home.customer_action(turn.customer_action["device"], turn.customer_action["action"])
        if turn.inject:
            home.inject(turn.inject["device"], turn.inject["fault"])
        if turn.say is None and turn.dtmf is None:
            continue
        spoken += 1
        reply = conv.handle(turn.say) if turn.say is not None else conv.handle_dtmf(turn.dtmf or "")
        last = reply
        transcript.append({"user": turn.say or f"<dtmf {turn.dtmf}>", "bot": reply.text, "intent": reply.intent,
                           "actions": [a.__dict__ for a in reply.actions], "escalated": reply.escalated})
        if reply.outcome:
            outcome = reply.outcome
        failures += _check_turn(where, turn.expect, reply, check_replies)
        if reply.end_conversation:
            break
    conv.end(outcome or "abandoned")
    final = outcome
    if scenario.outcome is not None and final != scenario.outcome:
        failures.append(f"outcome: expected {scenario.outcome}, got {final}")
    if scenario.ticket_reason is not None:
        tickets = store.tickets_for_customer(scenario.customer) if scenario.customer else []
        reasons = [t.reason for t in tickets]
        if scenario.ticket_reason not in reasons:
            failures.append(f"ticket: expected one with reason {scenario.ticket_reason}, have {reasons}")
    for name, want in scenario.devices.items():
        did = home.device_id(name)
        # "state afterwards" is the state once the device has finished: a cover still
        # travelling (slowly when the machine is loaded) has not reached it yet
        home.bridge.wait_for(lambda b, did=did, want=want: _same(b.get(did).state, want), timeout=5.0)
        have = home.bridge.get(did).state
        if not _same(have, want):
            failures.append(f"device {name}: expected {want}, have {have}")
    traffic = home.recorder.snapshot(via=home.publishers())
    for exp in scenario.published:
        if not any(_matches(exp, t, p) for t, p in traffic):
            failures.append(f"mqtt: nothing published on {exp.topic} with {exp.payload_has}")
    for exp in scenario.not_published:
        bad = [(t, p) for t, p in traffic if _matches(exp, t, p)]
        if bad:
            failures.append(f"mqtt: unexpected publish {bad[0][0]} {bad[0][1][:120]}")
    _ = last
    store.close()
    return ScenarioResult(scenario.name, failures, final, spoken, transcript, time.monotonic() - started)


def _same_json(a: str, b: str) -> bool:
    try:
        return bool(json.loads(a) == json.loads(b))
    except ValueError:
        return False


def _check_turn(where: str, e: Expect, r: Reply, check_replies: bool) -> list[str]:
    out = []
    text = r.text.lower()
    if check_replies:
        if e.intent is not None and r.intent != e.intent:
            out.append(f"{where}: intent {r.intent}, expected {e.intent} (reply: {r.text!r})")
        for want in e.reply_has:
            if not any(alt.strip().lower() in text for alt in want.split("|")):
                out.append(f"{where}: reply lacks {want!r}: {r.text!r}")
        for unwanted in e.reply_not_has:
            if unwanted.lower() in text:
                out.append(f"{where}: reply has {unwanted!r}: {r.text!r}")
    if e.actions is not None and len(r.actions) != e.actions:
        out.append(f"{where}: {len(r.actions)} device commands, expected {e.actions} (reply: {r.text!r})")
    if e.escalated is not None and r.escalated != e.escalated:
        out.append(f"{where}: escalated {r.escalated}, expected {e.escalated} (reply: {r.text!r})")
    if e.ends is not None and r.end_conversation != e.ends:
        out.append(f"{where}: end_conversation {r.end_conversation}, expected {e.ends}")
    return out


def _same(have: dict[str, Any], want: dict[str, Any]) -> bool:
    for k, v in want.items():
        h = have.get(k)
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            try:
                if abs(float(h) - float(v)) > 1e-6 * max(1.0, abs(float(v))) + (1 if k == "brightness" else 0):  # type: ignore[arg-type]
                    return False
            except (TypeError, ValueError):
                return False
        elif str(h).lower() != str(v).lower():
            return False
    return True


def _topic_matches(flt: str, topic: str) -> bool:
    f, t = flt.split("/"), topic.split("/")
    for i, part in enumerate(f):
        if part == "#":
            return True
        if i >= len(t) or (part != "+" and part != t[i]):
            return False
    return len(f) == len(t)


def _matches(exp: MqttExpect, topic: str, payload: str) -> bool:
    if not _topic_matches(exp.topic, topic):
        return False
    if not exp.payload_has:
        return True
    try:
        data = json.loads(payload)
    except ValueError:
        return False
    return isinstance(data, dict) and _subset(exp.payload_has, data)


def _subset(want: dict[str, Any], have: dict[str, Any]) -> bool:
    for k, v in want.items():
        if k not in have:
            return False
        if isinstance(v, dict):
            if not isinstance(have[k], dict) or not _subset(v, have[k]):
                return False
        elif isinstance(v, str):
            if str(have[k]).lower() != v.lower():
                return False
        elif have[k] != v:
            return False
    return True
