"""Contacting politely: quiet hours hold a contact until they end (a safety alarm goes at once),
an opt-out keeps a kind to the ticket alone, and a customer is not contacted again within the
rate limit; the `voicebot proactive` command does it all on the real topic."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from device_bridge.simulator import Simulator
from tests.proactive.conftest import HOME, Clock, Contacts
from tests.waiting import until
from voicebot.proactive.store import Preferences, ProactiveStore
from voicebot.store import Customer, Store


def _quiet_now() -> dict[str, str]:
    now = dt.datetime.now(dt.UTC)
    return {"start": (now - dt.timedelta(hours=1)).strftime("%H:%M"), "end": (now + dt.timedelta(hours=1)).strftime("%H:%M")}


def test_quiet_hours_hold_a_contact_until_they_end_but_not_a_safety_alarm(run, sim: Simulator) -> None:  # type: ignore[no-untyped-def]
    clock = Clock()
    quiet = _quiet_now()
    service, contacts = run(clock=clock, quiet_hours=quiet)
    sim.inject("back_door_sensor", "low_battery")
    # the ticket is opened at once; the contact waits for the end of the quiet hours
    assert until(lambda: [c for c in service.findings.contacts("anna") if c["reason"] == "quiet_hours"], 15)  # type: ignore[union-attr]
    waiting = service.findings.contacts("anna")[0]  # type: ignore[union-attr]
    assert waiting["status"] == "due" and waiting["payload"]["ticket_id"]
    end = dt.datetime.fromtimestamp(waiting["due_at"], dt.UTC)
    assert end.strftime("%H:%M") == quiet["end"] and waiting["due_at"] > time.time()
    # a leak does not wait
    sim.set_state("kitchen_leak_sensor", {"state": "on"})
    assert contacts.wait_for("kitchen_leak_sensor", timeout=15)["severity"] == "safety"
    assert not contacts.about("back_door_sensor")
    # the quiet hours end: the battery contact goes out
    clock.offset = waiting["due_at"] - time.time() + 1
    assert contacts.wait_for("back_door_sensor", timeout=10)["rule"] in ("battery_low", "battery_falling")
    assert len(contacts.about("back_door_sensor")) == 1


def test_an_opted_out_kind_gets_a_ticket_but_no_contact(run, sim: Simulator, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    service, contacts = run()
    service.findings.save_preferences(Preferences("anna", opt_out=["battery"]))  # type: ignore[union-attr]
    sim.inject("back_door_sensor", "low_battery")
    assert until(lambda: [f for f in service.findings.findings("anna") if f.ticket_id], 15)  # type: ignore[union-attr]
    sim.set_state("kitchen_leak_sensor", {"state": "on"})  # another finding, contacted: the opt-out was seen first
    contacts.wait_for("kitchen_leak_sensor", timeout=15)
    assert not contacts.about("back_door_sensor")
    # The leak's own contact may still read "due" until its publication is acknowledged: only
    # contacts about the opted-out battery findings matter here.
    battery = {f.id for f in service.findings.findings("anna", {"back_door_sensor"})}  # type: ignore[union-attr]
    due = service.findings.contacts("anna", status="due")  # type: ignore[union-attr]
    assert battery and not [c for c in due if c["finding_id"] in battery]
    ticketed = [f.ticket_id for f in service.findings.findings("anna", {"back_door_sensor"}) if f.ticket_id]  # type: ignore[union-attr]
    assert len(ticketed) == 1  # two battery findings (low, falling fast): one ticket
    ticket = service.tickets.ticket(ticketed[0])  # type: ignore[union-attr]
    assert ticket is not None and "battery" in ticket.problem


def test_a_second_finding_waits_for_the_rate_limit(run, sim: Simulator) -> None:  # type: ignore[no-untyped-def]
    clock = Clock()
    service, contacts = run(clock=clock, min_contact_interval_s=3600)
    sim.inject("back_door_sensor", "low_battery")
    first = contacts.wait_for("back_door_sensor", timeout=15)
    sim.inject("living_room_temperature", "wrong_reading")
    assert until(lambda: [c for c in service.findings.contacts("anna") if c["reason"] == "rate_limit"], 15)  # type: ignore[union-attr]
    held = next(c for c in service.findings.contacts("anna") if c["reason"] == "rate_limit")  # type: ignore[union-attr]
    assert abs(held["due_at"] - (first["sent_at"] + 3600)) < 1
    assert not contacts.about("living_room_temperature")
    clock.offset = 3601  # an hour later
    assert contacts.wait_for("living_room_temperature", timeout=10)["evidence"]["neighbour"] == "Living Room Thermostat"


def test_the_command_contacts_once_on_the_support_topic(sim: Simulator, mosquitto, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    store_path = tmp_path / "voicebot.sqlite3"
    store = Store(store_path)
    store.save_customer(Customer("anna", "Anna", ["+4930555000"], home_file=str(HOME)))
    store.close()
    config = tmp_path / "voicebot.yaml"
    config.write_text("proactive: {quiet_hours: null, tick_s: 0.2}\n")
    contacts = Contacts(mosquitto.url, "voicebot/support/contact")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    proc = subprocess.Popen(
        [sys.executable, "-c", "from voicebot.cli import main; main()", "-c", str(config), "proactive", "--home", str(HOME), "--broker",
         mosquitto.url, "--store", str(store_path)], stderr=subprocess.PIPE, text=True, env=env)
    try:
        assert proc.stderr is not None
        line = proc.stderr.readline()
        assert "proactive: watching 7 devices" in line and "customer anna" in line, line
        injected = time.monotonic()
        sim.inject("back_door_sensor", "low_battery")
        contact = contacts.wait_for("back_door_sensor", timeout=30)
        assert time.monotonic() - injected < 30
        assert contact["source"] == "proactive" and contact["customer_id"] == "anna"
        found = ProactiveStore(store_path)
        seen = time.monotonic()
        # the device reports every 0.5 s; three more seconds of it bring no second contact
        assert not until(lambda: len(contacts.about("back_door_sensor")) > 1, 3.0) and time.monotonic() - seen >= 3
        assert [c["status"] for c in found.contacts("anna")] == ["sent"]
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=15)
        contacts.close()
        sim.clear("back_door_sensor")
    assert proc.returncode == 0
    assert json.loads(json.dumps(contact))["playbook"] == "low_battery"
