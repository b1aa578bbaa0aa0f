"""The engine on the real bridge and simulator: what is stored, published and said."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.subprocess_env import shared_cache
from tests.waiting import COMMAND_TIMEOUT_S, until
from voicebot.dialogue.engine import DialogueEngine
from voicebot.dialogue.settings import DialogueSettings
from voicebot.store import Store
from voicebot.testing.scenario import Home, simulated_home, standard_customers

ROOT = Path(__file__).resolve().parents[2]
HOME = ROOT / "tests" / "scenarios" / "home.yaml"


@pytest.fixture(scope="module")
def home(mosquitto) -> Iterator[Home]:  # type: ignore[no-untyped-def]
    with simulated_home(mosquitto.url, HOME) as h:
        yield h


@pytest.fixture()
def engine(home: Home) -> DialogueEngine:
    home.reset()
    store = Store()
    standard_customers(store)
    return home.engine(DialogueSettings(command_timeout_s=COMMAND_TIMEOUT_S), store)


def test_stored_turns_and_tickets_hold_no_personal_data(engine: DialogueEngine, home: Home) -> None:
    conv = engine.conversation("phone", customer_id="alice")
    conv.handle("Hi, my name is John Smith and my number is +49 30 1234567")
    reply = conv.handle("I want to talk to a person")
    assert reply.escalated and reply.ticket_id
    turns = engine.store.turns(conv.id)
    stored = json.dumps(turns) + json.dumps(engine.store.ticket(reply.ticket_id).summary)  # type: ignore[union-attr]
    assert "John" not in stored and "1234567" not in stored
    assert "[NAME]" in stored and "[PHONE]" in stored
    published = [p for t, p in home.recorder.snapshot(via=home.publishers()) if t == "voicebot/tickets/new"]
    assert published and "1234567" not in published[-1]
    ticket = json.loads(published[-1])
    # what an agent needs to act: the problem, the steps, the devices, sentiment and the talk
    assert {"problem", "steps", "devices", "sentiment", "transcript", "reason", "customer_id"} <= set(ticket)


def test_ticket_summary_carries_steps_and_telemetry(engine: DialogueEngine, home: Home) -> None:
    home.inject("Kitchen Light", "offline")
    conv = engine.conversation("chat", customer_id="alice")
    conv.handle("the kitchen light won't come on")
    reply = conv.handle("I can't, no")
    assert reply.escalated
    summary = engine.store.ticket(reply.ticket_id).summary  # type: ignore[arg-type, union-attr]
    steps = [(s["step"], s["result"]) for s in summary["steps"]]
    assert ("online", "no") in steps
    assert summary["devices"]["kitchen_light"]["available"] is False
    assert summary["playbooks"] == ["light_not_working"]
    text = summary["summary_text"]
    assert text.startswith("Problem: ") and "light_not_working/online (check): no" in text
    assert "Device Kitchen Light (Kitchen)" in text and "available False" in text


def test_dtmf_answers_a_confirmation(engine: DialogueEngine, home: Home) -> None:
    conv = engine.conversation("phone", customer_id="alice")
    assert "to be sure" in conv.handle("unlock the front door").text.lower()
    reply = conv.handle_dtmf("1")
    assert [a.outcome for a in reply.actions] == ["confirmed"]
    assert home.bridge.get("front_door_lock").state["state"] == "unlocked"
    assert "press 1" in conv.handle_dtmf("7").text.lower()


def test_caller_number_identifies_the_customer(engine: DialogueEngine) -> None:
    conv = engine.conversation("phone", caller="+49 30 111111")
    assert "Alice" in conv.greet().text
    conv.handle("I want to talk to a person")
    assert engine.store.tickets_for_customer("alice")


def test_german_conversation_answers_in_german(engine: DialogueEngine) -> None:
    conv = engine.conversation("chat", customer_id="alice", language="de")
    assert conv.greet().text.startswith("Hallo")
    reply = conv.handle("Schalte das Kitchen Light ein")
    assert reply.text.startswith("Erledigt") and [a.outcome for a in reply.actions] == ["confirmed"]
    assert reply.language == "de"


def test_a_turn_in_a_configured_language_switches_the_replies(home: Home) -> None:
    home.reset()
    engine = home.engine(DialogueSettings(languages=["de"], command_timeout_s=COMMAND_TIMEOUT_S), Store())
    conv = engine.conversation("chat")
    assert conv.handle("turn on the kitchen light").language == "en"
    reply = conv.handle("Schalte das Kitchen Light ein")
    assert reply.language == "de" and reply.text.startswith("Erledigt")


def test_conversation_end_is_stored(engine: DialogueEngine) -> None:
    conv = engine.conversation("speaker", customer_id="alice")
    conv.handle("turn on the kitchen light")
    conv.end("abandoned")
    assert engine.store.conversation(conv.id)["outcome"] == "abandoned"  # type: ignore[index]
    assert conv.handle("hello").end_conversation


def test_unknown_input_gets_help_not_an_error(engine: DialogueEngine, home: Home) -> None:
    conv = engine.conversation("chat", customer_id="alice")
    for text in ["", "   ", "§§§ ???", "x" * 2000]:
        reply = conv.handle(text)
        assert reply.text and not reply.actions


def test_voicebot_chat_json_with_no_configuration(tmp_path: Path) -> None:
    """`voicebot chat --json` starts its own broker and simulated home, prints one object a turn,
    and detects each typed turn's language (issue 12 item 5). One process for all of it: each
    start costs 10-30 s on a busy machine."""
    said = ["Schalte bitte das Licht in der Küche ein", "turn off the kitchen light", "turn on the kitchen light",
            "what's the status of my ticket"]
    proc = subprocess.run(
        [str(Path(sys.executable).parent / "voicebot"), "chat", "--json", "--store", str(tmp_path / "s.sqlite3")],
        input="\n".join(said) + "\n",
        capture_output=True, text=True, timeout=240, cwd=ROOT,  # a broker, a home and two languages load
        env={"PATH": "/usr/bin:/bin:/usr/sbin", "HOME": str(tmp_path), **shared_cache()},
    )
    assert proc.returncode == 0, proc.stderr
    lines = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [line["user"] for line in lines] == said
    german, english, on, _ = lines
    assert german["language"] == "de" and german["intent"] == "HassTurnOn"  # the reply's language
    assert [a["device_id"] for a in german["actions"]] == ["kitchen_light"]  # the demo home's Kitchen is "Küche"
    assert english["language"] == "en" and english["intent"] == "HassTurnOff"
    assert set(on) == {"user", "reply", "intent", "slots", "actions", "escalated", "sentiment", "language"}
    assert on["actions"][0]["outcome"] == "confirmed"
    assert on["reply"].startswith("Done, the kitchen light is on")


def test_agent_updates_a_ticket_and_the_customer_hears_it(home: Home, tmp_path: Path) -> None:
    """An agent moves the ticket on with `voicebot tickets update`; the next call reads it out."""
    from typer.testing import CliRunner

    from voicebot.cli import app

    path = tmp_path / "tickets.sqlite3"
    home.reset()
    store = Store(path)
    standard_customers(store)
    engine = home.engine(DialogueSettings(command_timeout_s=COMMAND_TIMEOUT_S), store)
    ticket = engine.conversation("phone", customer_id="alice").handle("I want to talk to a person").ticket_id
    runner = CliRunner()
    listed = runner.invoke(app, ["tickets", "list", "--store", str(path)])
    assert listed.exit_code == 0 and json.loads(listed.stdout.splitlines()[0])["id"] == ticket
    done = runner.invoke(app, ["tickets", "update", str(ticket), "in_progress", "--note", "A technician comes on Tuesday",
                               "--store", str(path)])
    assert done.exit_code == 0, done.output
    bad = runner.invoke(app, ["tickets", "update", str(ticket), "solved-ish", "--store", str(path)])
    assert bad.exit_code != 0 and "unknown ticket status" in bad.output
    later = home.engine(DialogueSettings(), Store(path)).conversation("phone", caller="+4930111111")
    text = later.handle("what's the status of my ticket").text
    assert "being worked on by an agent" in text and "technician comes on Tuesday" in text


def test_troubleshooting_in_german(engine: DialogueEngine, home: Home) -> None:
    home.inject("Coffee Machine", "offline")
    conv = engine.conversation("phone", customer_id="alice", language="de")
    first = conv.handle("Der Stecker Coffee Machine ist offline")
    assert "ist offline" in first.text and "sagen Sie mir Bescheid" in first.text, first.text
    home.customer_action("Coffee Machine", "power_cycle")
    second = conv.handle("fertig")
    assert second.text.startswith("Coffee Machine ist wieder online"), second.text
    assert second.outcome == "resolved"
    third = conv.handle("Die Coffee Machine funktioniert nicht")
    assert third.text.startswith("Coffee Machine meldet, dass es jetzt an ist"), third.text
    assert [a.outcome for a in third.actions] == ["confirmed"]


def test_broker_outage_is_said_honestly_and_the_ticket_is_not_lost(own_mosquitto) -> None:  # type: ignore[no-untyped-def]
    with simulated_home(own_mosquitto.url, HOME) as h:
        watcher = Store()
        standard_customers(watcher)
        engine = DialogueEngine(h.bridge, watcher, DialogueSettings(command_timeout_s=1.0))
        conv = engine.conversation("phone", customer_id="alice")
        # A listener connected before the outage that retries every few hundredths of a second:
        # back first after the restart (the bridge's own backoff has grown to a second or more by
        # then), its subscription renewed on connect, so the queued ticket hardly ever slips past it.
        from device_bridge.client import MqttConnection

        seen: list[str] = []
        listener = MqttConnection(own_mosquitto.url, client_id=f"ticket-listener-{time.monotonic_ns()}",
                                  reconnect_min_s=0.02, reconnect_max_s=0.05)
        listener.subscribe("voicebot/tickets/#", lambda m: seen.append(m.topic))
        assert listener.start(wait=5.0)
        try:
            own_mosquitto.stop()
            reply = conv.handle("turn on the kitchen light")
            assert "can't reach your home's hub" in reply.text and not reply.text.startswith("Done")
            escalated = conv.handle("I want to talk to a person")
            assert escalated.escalated and watcher.ticket(escalated.ticket_id)  # type: ignore[arg-type]
            own_mosquitto.start()
            # the ticket waits in the bridge connection's queue and goes out once the broker is back
            assert h.bridge.wait_for(lambda b: b.connected, timeout=10)
            until(lambda: "voicebot/tickets/new" in seen, 30)
        finally:
            listener.stop()
        assert "voicebot/tickets/new" in seen
        conn = h.bridge.conn
        assert conn is not None  # and the broker acknowledged the ticket (other messages may still be in flight)
        assert until(lambda: not [d for d in conn.unacknowledged() if d.message.topic == "voicebot/tickets/new"], 5)


def test_conversations_in_parallel_threads(engine: DialogueEngine, home: Home) -> None:
    """Sessions call their conversations from worker threads at the same time."""
    from concurrent.futures import ThreadPoolExecutor

    requests = ["turn on the kitchen light", "turn on the hallway light", "turn on the desk fan", "turn off the floor lamp"]

    def talk(text: str) -> tuple[str, list[str]]:
        conv = engine.conversation("speaker", customer_id="alice")
        reply = conv.handle(text)
        conv.end("resolved")
        return conv.id, [a.outcome for a in reply.actions]

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(talk, requests))
    assert all(outcomes == ["confirmed"] for _, outcomes in results), results
    assert all(len(engine.store.turns(cid)) == 1 for cid, _ in results)
    assert home.bridge.get("floor_lamp").state["state"] == "off"


def test_customer_added_on_the_command_line_is_recognised_by_number(home: Home, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from voicebot.cli import app

    path = tmp_path / "c.sqlite3"
    added = CliRunner().invoke(app, ["customers", "add", "c9", "--name", "Ana", "--phone", "+49 170 555 01",
                                     "--area", "Kitchen", "--language", "de", "--store", str(path)])
    assert added.exit_code == 0, added.output
    home.reset()
    conv = home.engine(DialogueSettings(), Store(path)).conversation("phone", caller="+4917055501")
    assert conv.greet().text.startswith("Hallo, Ana")
    assert conv.speaker_area == "Kitchen"


def test_chat_with_a_bad_home_file_says_what_is_wrong(tmp_path: Path) -> None:
    bad = tmp_path / "home.yaml"
    bad.write_text("areas: []\ndevices:\n  - {name: Toaster, type: toaster}\n")
    proc = subprocess.run(
        [str(Path(sys.executable).parent / "voicebot"), "chat", "--json", "--home", str(bad), "--store", str(tmp_path / "s.sqlite3")],
        input="hello\n", capture_output=True, text=True, timeout=180, cwd=ROOT,
        env={"PATH": "/usr/bin:/bin:/usr/sbin", "HOME": str(tmp_path)},
    )
    assert proc.returncode == 2
    assert "device 'Toaster': type must be one of" in proc.stderr and "Traceback" not in proc.stderr
