"""A simulated home on the session's real Mosquitto, and a proactive service per test with its own
store, rules (short grace periods) and contact topic, plus a listener that collects the contacts."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from device_bridge.client import Message, MqttConnection
from device_bridge.simulator import Simulator
from tests.waiting import until
from voicebot.config import Settings
from voicebot.proactive.rules import Rule, load_rules
from voicebot.proactive.service import ProactiveService
from voicebot.proactive.settings import ProactiveSettings
from voicebot.store import Customer, Store

HOME = Path(__file__).with_name("home.yaml")
DEVICES = ("back_door_sensor", "hallway_plug", "living_room_thermostat", "living_room_temperature",
           "kitchen_temperature", "kitchen_leak_sensor")


@pytest.fixture(scope="module")
def sim(mosquitto) -> Iterator[Simulator]:  # type: ignore[no-untyped-def]
    # telemetry every half second: a finding must not be contacted again however often the device reports
    with Simulator(HOME, mosquitto.url, telemetry_interval_s=0.5, thermal_interval_s=None) as s:
        yield s


class Contacts:
    """Every contact published on a topic, as JSON."""

    def __init__(self, url: str, topic: str) -> None:
        self.items: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self.conn = MqttConnection(url, client_id=f"contacts-{uuid.uuid4().hex[:8]}")
        self.conn.subscribe(topic, self._on, qos=1)
        assert self.conn.start(wait=10)
        assert self.conn.wait_subscribed(10)

    def _on(self, msg: Message) -> None:
        with self._lock:
            self.items.append(json.loads(msg.payload))

    def about(self, device_id: str) -> list[dict[str, Any]]:
        with self._lock:
            return [c for c in self.items if c.get("device_id") == device_id and c.get("source") == "proactive"]

    def wait_for(self, device_id: str, timeout: float = 30.0) -> dict[str, Any]:
        assert until(lambda: self.about(device_id), timeout), f"no contact about {device_id} within {timeout} s"
        return self.about(device_id)[0]

    def close(self) -> None:
        self.conn.stop()


def rules_with(**params: dict[str, Any]) -> list[Rule]:
    """The bundled rules with parameters overridden per rule id (fast grace periods for tests)."""
    rules = load_rules()
    for r in rules:
        if r.id in params:
            r.params = {**r.params, **params[r.id]}
    return rules


FAST = {"offline": {"grace_s": 1.5}, "flapping": {"changes": 4, "within_s": 60},
        "commands_fail": {"failures": 2, "confirm_s": 0.6}}


class Clock:
    """Wall-clock time plus an offset the test can move (quiet hours ending, a day passing)."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        import time

        return time.time() + self.offset


@pytest.fixture()
def run(sim: Simulator, mosquitto, tmp_path: Path) -> Iterator[Callable[..., tuple[ProactiveService, Contacts]]]:  # type: ignore[no-untyped-def]
    """run(**settings) starts a proactive service for customer anna on a fresh store; faults injected
    by the test are cleared afterwards."""
    started: list[tuple[ProactiveService, Contacts]] = []
    store_path = tmp_path / "voicebot.sqlite3"
    store = Store(store_path)
    store.save_customer(Customer("anna", "Anna", ["+4930555000"], home_file=str(HOME), language="en"))
    store.close()

    def start(rules: list[Rule] | None = None, clock: Callable[[], float] | None = None,
              **options: Any) -> tuple[ProactiveService, Contacts]:
        topic = f"voicebot/support/contact/test-{uuid.uuid4().hex[:8]}"
        opts = ProactiveSettings.model_validate({"quiet_hours": None, "min_contact_interval_s": 0, "tick_s": 0.2,
                                                 "contact_topic": topic, **options})
        contacts = Contacts(mosquitto.url, topic)
        extra = {"clock": clock} if clock else {}
        service = ProactiveService(mosquitto.url, HOME, store_path, Settings(), proactive=opts,
                                   rules=rules if rules is not None else rules_with(**FAST), **extra).start()
        started.append((service, contacts))
        assert service.bridge is not None and service.bridge.wait_until_known(10)
        return service, contacts

    yield start
    for service, contacts in started:
        service.stop()
        contacts.close()
    for d in DEVICES:
        sim.clear(d)
    sim.set_state("kitchen_leak_sensor", {"state": "off"})
    sim.set_state("hallway_plug", {"state": "off"})
