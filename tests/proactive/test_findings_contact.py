"""`voicebot proactive` on a real broker and the simulated home: each rule raises its finding from
the device's own telemetry, and the customer is contacted once per finding, on the right channels."""

from __future__ import annotations

import time

from device_bridge.client import MqttConnection
from device_bridge.simulator import Simulator
from tests.waiting import until


def test_low_battery_is_contacted_once_with_a_ticket_and_the_playbook(run, sim: Simulator) -> None:  # type: ignore[no-untyped-def]
    service, contacts = run()
    assert service.customer_id == "anna"  # her profile names this home file
    injected = time.monotonic()
    sim.inject("back_door_sensor", "low_battery")
    contact = contacts.wait_for("back_door_sensor", timeout=30)
    assert time.monotonic() - injected < 30
    assert contact["text"] == "The back door sensor's battery is at 4%."
    assert contact["playbook"] == "low_battery" and contact["kind"] == "battery"
    assert contact["channels"] == ["speaker", "ticket"] and contact["customer_id"] == "anna"
    assert contact["evidence"]["battery"] == 4
    assert "back door sensor's battery is at 4%" in contact["announcement"]
    ticket = service.tickets.ticket(contact["ticket_id"])  # type: ignore[union-attr]
    assert ticket is not None and ticket.customer_id == "anna" and "battery is at 4%" in ticket.problem
    # the battery also fell fast (87% to 4%): two findings of one kind, one contact
    assert until(lambda: {f.rule for f in service.findings.findings("anna")} >= {"battery_low", "battery_falling"}, 15)  # type: ignore[union-attr]
    # the device keeps reporting (every 0.5 s) and the rules keep being evaluated: still one contact
    seen = service.watcher.evaluations  # type: ignore[union-attr]
    assert until(lambda: service.watcher.evaluations >= seen + 15, 15)  # type: ignore[union-attr]
    assert len(contacts.about("back_door_sensor")) == 1
    # fixed: the finding clears, and nothing more is said about it
    sim.customer_action("back_door_sensor", "replace_battery")
    assert until(lambda: not service.findings.findings("anna", {"back_door_sensor"}), 10)  # type: ignore[union-attr]
    seen = service.watcher.evaluations  # type: ignore[union-attr]
    assert until(lambda: service.watcher.evaluations >= seen + 5, 10)  # type: ignore[union-attr]
    assert len(contacts.about("back_door_sensor")) == 1


def test_offline_is_contacted_only_after_the_grace_period(run, sim: Simulator) -> None:  # type: ignore[no-untyped-def]
    _service, contacts = run()  # grace 1.5 s
    went = time.time()
    sim.inject("hallway_plug", "offline")
    contact = contacts.wait_for("hallway_plug", timeout=15)
    assert contact["sent_at"] - went >= 1.5
    assert contact["rule"] == "offline" and contact["playbook"] == "device_offline"
    assert contact["evidence"]["offline_s"] >= 1.5
    assert contact["text"].startswith("The hallway plug went offline")
    assert len(contacts.about("hallway_plug")) == 1


def test_wrong_reading_names_the_neighbour_that_disagrees(run, sim: Simulator) -> None:  # type: ignore[no-untyped-def]
    _service, contacts = run()
    sim.inject("living_room_temperature", "wrong_reading")  # +6 degrees
    contact = contacts.wait_for("living_room_temperature", timeout=15)
    ev = contact["evidence"]
    assert ev["neighbour"] == "Living Room Thermostat" and ev["reading"] == 26.8 and ev["neighbour_reading"] == 21.0
    assert contact["text"] == ("The living room temperature reads 26.8 °C, but the living room thermostat "
                               "in the same room reads 21 °C.")
    assert contact["playbook"] == "sensor_wrong_reading"
    assert not contacts.about("living_room_thermostat")  # the one that is right is left alone


def test_weak_signal_and_flapping(run, sim: Simulator) -> None:  # type: ignore[no-untyped-def]
    _service, contacts = run()
    sim.inject("hallway_plug", "weak_signal")
    contact = contacts.wait_for("hallway_plug", timeout=15)
    assert contact["rule"] == "weak_signal" and contact["playbook"] == "weak_signal"
    assert contact["evidence"]["linkquality"] == 10
    sim.inject("back_door_sensor", {"type": "intermittent", "period_s": 1.0, "off_s": 0.5})
    contact = contacts.wait_for("back_door_sensor", timeout=15)
    assert contact["rule"] == "flapping" and contact["playbook"] == "dropping_out"
    assert contact["evidence"]["changes"] >= 4


def test_commands_that_keep_failing(run, sim: Simulator, mosquitto) -> None:  # type: ignore[no-untyped-def]
    _service, contacts = run()  # 2 failures, confirmed within 0.6 s or failed
    sim.inject("hallway_plug", "unresponsive")
    with MqttConnection(mosquitto.url, client_id="test-commands") as conn:
        # "on" for a plug that is off and stays off (it reports "off" every 0.5 s all along)
        for _ in range(4):
            conn.publish("zigbee2mqtt/hallway_plug/set", '{"state": "ON"}', qos=1).wait(5)
            if contacts.about("hallway_plug"):
                break
            until(lambda: bool(contacts.about("hallway_plug")), 1.0)
        contact = contacts.wait_for("hallway_plug", timeout=10)
    assert contact["rule"] == "commands_fail" and contact["playbook"] == "switch_not_working"
    assert contact["evidence"]["failures"] >= 2


def test_a_leak_is_a_safety_contact_on_every_allowed_channel(run, sim: Simulator) -> None:  # type: ignore[no-untyped-def]
    _service, contacts = run()
    sim.set_state("kitchen_leak_sensor", {"state": "on"})
    contact = contacts.wait_for("kitchen_leak_sensor", timeout=15)
    assert contact["severity"] == "safety" and contact["urgency"] == "critical"
    assert contact["channels"] == ["speaker", "phone", "ticket"] and contact["callback"] is True
    assert contact["text"] == "The kitchen leak sensor has detected water."
    assert contact["announcement"].startswith("Warning!")
