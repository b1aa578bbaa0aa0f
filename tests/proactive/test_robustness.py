"""What a user of `voicebot proactive` would notice going wrong: a restart must not contact the
customer again, a German-speaking customer is told in German, a bad rules file is one clear error,
and the preferences command keeps what it is told."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from device_bridge.simulator import Simulator
from tests.proactive.conftest import HOME
from tests.waiting import until
from voicebot.cli import app
from voicebot.proactive.store import ProactiveStore
from voicebot.store import Customer, Store


def test_a_restarted_watcher_does_not_contact_again(run, sim: Simulator) -> None:  # type: ignore[no-untyped-def]
    first, contacts = run()
    sim.inject("back_door_sensor", "low_battery")
    sim.inject("hallway_plug", "offline")
    sim.inject("living_room_temperature", "wrong_reading")
    for device in ("back_door_sensor", "hallway_plug", "living_room_temperature"):
        contacts.wait_for(device)
    first.stop()
    sim.clear("living_room_temperature")  # fixed while the watcher was away
    second, again = run()  # the same store, a new process's worth of state
    # the findings still true are active again (the offline one at once: its grace period is not restarted)
    assert until(lambda: {"battery_low:back_door_sensor", "offline:hallway_plug"} <= set(second.watcher.active), 10)  # type: ignore[union-attr]
    # the one fixed meanwhile is closed, so no conversation opens with it
    assert until(lambda: not second.findings.findings("anna", {"living_room_temperature"}), 10)  # type: ignore[union-attr]
    seen = second.watcher.evaluations  # type: ignore[union-attr]
    assert until(lambda: second.watcher.evaluations >= seen + 15, 15)  # type: ignore[union-attr]
    # ... and nobody is told twice
    assert not again.items
    assert [c["status"] for c in second.findings.contacts("anna")] == ["sent", "sent", "sent"]  # type: ignore[union-attr]


def test_a_german_speaking_customer_is_told_in_german(run, sim: Simulator, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    store = Store(tmp_path / "voicebot.sqlite3")
    store.save_customer(Customer("anna", "Anna", ["+4930555000"], home_file=str(HOME), language="de"))
    store.close()
    _service, contacts = run()
    sim.inject("living_room_temperature", "wrong_reading")
    contact = contacts.wait_for("living_room_temperature")
    assert contact["language"] == "de"
    assert contact["text"] == "Living Room Temperature zeigt 26.8 °C, aber Living Room Thermostat im selben Raum zeigt 21 °C."
    assert contact["announcement"].startswith("Ein Hinweis von Ihrem Haus-Assistenten:")
    assert contact["problem"].startswith("The living room temperature reads 26.8")  # agents read English


def test_a_bad_rules_file_is_one_clear_error(tmp_path: Path, mosquitto) -> None:  # type: ignore[no-untyped-def]
    rules = tmp_path / "rules.yaml"
    rules.write_text("rules:\n  - {id: low, check: battery_below, kind: battery, params: {percent: 150}}\n"
                     "  - {id: odd, check: battery_sideways, kind: battery}\n")
    out = CliRunner().invoke(app, ["proactive", "--home", str(HOME), "--broker", mosquitto.url, "--store",
                                   str(tmp_path / "s.sqlite3"), "--rules", str(rules)])
    assert out.exit_code == 2
    assert "rule low: percent: Input should be less than or equal to 100" in out.output
    assert "rule odd: check: Value error, unknown check 'battery_sideways'" in out.output
    assert out.exception is None or isinstance(out.exception, SystemExit)


def test_contact_preferences_are_kept(tmp_path: Path) -> None:
    store = tmp_path / "voicebot.sqlite3"
    runner = CliRunner()
    done = runner.invoke(app, ["contact-prefs", "anna", "--store", str(store), "--allow", "phone", "--prefer", "phone",
                               "--quiet", "21:30-07:15", "--opt-out", "battery", "--opt-out", "signal"])
    assert done.exit_code == 0, done.output
    again = runner.invoke(app, ["contact-prefs", "anna", "--store", str(store), "--opt-in", "signal"])
    shown = json.loads(again.output)
    assert shown == {"customer_id": "anna", "channels": ["phone"], "preferred": "phone", "quiet_start": "21:30",
                     "quiet_end": "07:15", "opt_out": ["battery"]}
    assert ProactiveStore(store).preferences("anna").opt_out == ["battery"]  # type: ignore[union-attr]
    bad = runner.invoke(app, ["contact-prefs", "anna", "--store", str(store), "--quiet", "late"])
    assert bad.exit_code == 2 and "22:00-07:00" in bad.output
