"""`voicebot chat`: talk to the dialogue engine in text, one turn per line.

Without --broker an embedded broker and the simulated home start, so it works with no
configuration; with --broker it talks to the devices on that broker.
"""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any

import typer

from voicebot.cli.store import STORE_HELP, StoreOption
from voicebot.dialogue.types import Reply
from voicebot.events import EventBus, Phase, Stage, StageEvent, scope, timed

DEMO_HOME = Path(__file__).resolve().parents[2] / "device_bridge" / "homes" / "demo.yaml"


def turn_json(user: str, reply: Reply) -> dict[str, Any]:
    """One turn as `voicebot chat --json` prints it (the contract in ARCHITECTURE.md)."""
    return {
        "user": user,
        "reply": reply.text,
        "intent": reply.intent,
        "slots": reply.slots,
        "actions": [asdict(a) for a in reply.actions],
        "escalated": reply.escalated,
        "sentiment": reply.sentiment,
        "language": reply.language,
    }


def detecting_languages() -> Any:
    """The settings, with every language that has understanding data recognised per turn
    unless ``dialogue.languages`` says which (see :func:`with_all_languages`)."""
    from voicebot.config import load_settings

    return with_all_languages(load_settings())


def with_all_languages(s: Any) -> Any:
    """``s`` with every language that has understanding data recognised per turn unless
    ``dialogue.languages`` says which: a customer who types or speaks German gets German (the
    typed channels, `voicebot chat` and the web chat, and Home Assistant's conversations)."""
    import os

    from voicebot.understand.vocabulary import available_languages

    dialogue = dict(s.extra.get("dialogue") or {})
    if not dialogue.get("languages") and "VOICEBOT_DIALOGUE__LANGUAGES" not in os.environ:
        dialogue["languages"] = available_languages()
        s.extra["dialogue"] = dialogue
    return s


def register(app: typer.Typer) -> None:

    @app.command()
    def chat(
        as_json: Annotated[bool, typer.Option("--json", help="Read turns from stdin, print one JSON object per turn.")] = False,
        home: Annotated[Path | None, typer.Option("--home", help="Home file (default: the bundled demo home).")] = None,
        broker: Annotated[
            str | None, typer.Option("--broker", help="mqtt://host:port of a real broker; default: embedded broker and simulated home.")
        ] = None,
        customer: Annotated[str | None, typer.Option("--customer", help="Customer id (for tickets across sessions).")] = None,
        store: Annotated[str | None, typer.Option("--store", help=STORE_HELP)] = None,
        area: Annotated[str | None, typer.Option("--area", help="The room the speaker is in.")] = None,
        language: Annotated[
            str, typer.Option("--language", help="The customer's language; each turn's language is detected, this one preferred.")
        ] = "en",
    ) -> None:
        """Chat with voicebot in text."""
        from voicebot.runtime import StartupError, build_runtime

        home_file = home or (DEMO_HOME if broker is None else None)
        if home_file is not None and not home_file.is_file():
            raise typer.BadParameter(f"home file {home_file} does not exist", param_hint="--home")
        from pydantic import ValidationError

        from device_bridge.home import HomeFileError
        from voicebot.dialogue.playbook import PlaybookError
        from voicebot.store import StoreError

        try:
            rt = build_runtime(detecting_languages(), broker=broker, home=home_file, simulate=broker is None,
                               store_path=store, models=False)
        except (StartupError, PlaybookError, StoreError, HomeFileError) as exc:
            typer.echo(f"voicebot chat: {exc}", err=True)
            raise typer.Exit(2) from None
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
            typer.echo(f"voicebot chat: invalid configuration ({exc.title}): {problems}", err=True)
            raise typer.Exit(2) from None
        with rt:
            conv = rt.conversation("chat", customer_id=customer, speaker_area=area, language=language)
            if as_json:
                _json_loop(conv)
            else:
                _interactive(conv)


    tickets = typer.Typer(help="Tickets the dialogue opened (for agents).", no_args_is_help=True)
    app.add_typer(tickets, name="tickets")

    def _store(path: str | None) -> Any:
        from voicebot.config import load_settings, section
        from voicebot.dialogue.settings import DialogueSettings
        from voicebot.sqlite_db import store_location
        from voicebot.store import Store, StoreError

        s = load_settings()
        try:
            return Store(store_location(s, path, section(DialogueSettings, "dialogue", s).store))
        except StoreError as exc:
            raise typer.BadParameter(str(exc), param_hint="--store") from None

    @tickets.command("list")
    def tickets_list(
        customer: Annotated[str | None, typer.Option("--customer", help="Only this customer's tickets.")] = None,
        store: StoreOption = None,
    ) -> None:
        """Tickets, newest first, one JSON object per line."""
        st = _store(store)
        rows = st.tickets_for_customer(customer) if customer else st.all_tickets()
        for t in rows:
            print(json.dumps({"id": t.id, "status": t.status, "reason": t.reason, "problem": t.problem,
                              "customer_id": t.customer_id, "created_at": t.created_at}, ensure_ascii=False))

    @tickets.command("show")
    def tickets_show(ticket: str, store: StoreOption = None) -> None:
        """One ticket with its whole summary (steps, telemetry, redacted transcript) as JSON."""
        t = _store(store).ticket(ticket)
        if t is None:
            typer.echo(f"no ticket {ticket}", err=True)
            raise typer.Exit(1)
        print(json.dumps(asdict(t), ensure_ascii=False, indent=2, default=str))

    @tickets.command("update")
    def tickets_update(
        ticket: str,
        status: Annotated[str, typer.Argument(help="open, in_progress, waiting_for_customer or closed")],
        note: Annotated[str | None, typer.Option("--note", help="Read out to the customer on a status request.")] = None,
        store: StoreOption = None,
    ) -> None:
        """Change a ticket's status (and note); the bot reads it out when the customer asks."""
        try:
            t = _store(store).update_ticket(ticket, status, note)
        except ValueError as exc:
            raise typer.BadParameter(str(exc), param_hint="STATUS") from None
        except KeyError:
            typer.echo(f"no ticket {ticket}", err=True)
            raise typer.Exit(1) from None
        print(json.dumps({"id": t.id, "status": t.status, "note": t.note}, ensure_ascii=False))


    customers = typer.Typer(help="Customer profiles: who calls from which number, their home and language.",
                            no_args_is_help=True)
    app.add_typer(customers, name="customers")

    @customers.command("add")
    def customers_add(
        customer_id: str,
        name: Annotated[str | None, typer.Option("--name")] = None,
        phone: Annotated[list[str] | None, typer.Option("--phone", help="A phone number (repeat for more).")] = None,
        home: Annotated[str | None, typer.Option("--home", help="The customer's home file.")] = None,
        area: Annotated[str | None, typer.Option("--area", help="The room their speaker is in.")] = None,
        language: Annotated[str, typer.Option("--language")] = "en",
        store: StoreOption = None,
    ) -> None:
        """Add or replace a customer profile (callers are recognised by these numbers)."""
        from voicebot.store import Customer

        _store(store).save_customer(Customer(customer_id, name, list(phone or []), home, area, language))
        print(json.dumps({"customer_id": customer_id, "phones": list(phone or [])}))

    @customers.command("list")
    def customers_list(store: StoreOption = None) -> None:
        """Customer profiles, one JSON object per line."""
        for c in _store(store).customers():
            print(json.dumps(asdict(c), ensure_ascii=False))

    from voicebot.cli.store import register_customer_commands

    register_customer_commands(customers)  # export and erase (cli/store.py)
    from voicebot.cli.identities import register_identity_commands

    register_identity_commands(customers)  # link, unlink, identities: one customer on every channel

    @app.command()
    def playbooks(
        folder: Annotated[
            list[Path] | None, typer.Option("--dir", help="A folder of your own playbooks to check with the bundled ones.")
        ] = None,
    ) -> None:
        """List the troubleshooting playbooks, checking every file (bundled and --dir)."""
        from voicebot.dialogue.playbook import PlaybookError, load_playbooks

        try:
            books = load_playbooks(list(folder or []))
        except PlaybookError as exc:
            typer.echo(f"invalid playbook: {exc}", err=True)
            raise typer.Exit(1) from None
        for book in sorted(books.values(), key=lambda b: b.id):
            kinds = ", ".join(book.applies_to.domains) or ("whole home" if not book.applies_to.needs_device else "any device")
            print(f"{book.id:24} {len(book.steps):3} steps  {kinds:22} {book.title}  ({book.source})")


def _json_loop(conv: Any) -> None:
    """Each turn is a dialogue stage (voicebot.events); the printed object follows the stage's end."""
    bus = EventBus()
    bus.subscribe(_print_turn)
    with scope(bus, getattr(conv, "id", None)):
        for line in sys.stdin:
            text = line.rstrip("\n")
            if not text.strip():
                continue
            with timed(Stage.DIALOGUE, user=text) as found:
                reply = conv.handle(text)
                found.update(intent=reply.intent, reply=reply)
            if reply.end_conversation:
                break
    conv.end("abandoned")


def _print_turn(e: StageEvent) -> None:
    if e.stage is Stage.DIALOGUE and e.phase is Phase.END and "reply" in e.data:
        print(json.dumps(turn_json(e.data["user"], e.data["reply"]), ensure_ascii=False), flush=True)


def _interactive(conv: Any) -> None:
    from rich.console import Console

    console = Console()
    console.print(f"[bold green]bot:[/] {conv.greet().text}")
    try:
        while True:
            text = console.input("[bold]you:[/] ")
            reply = conv.handle(text)
            extra = []
            if reply.actions:
                extra.append(", ".join(f"{a.device_name} {a.changes} → {a.outcome}" for a in reply.actions))
            if reply.ticket_id:
                extra.append(f"ticket {reply.ticket_id}")
            console.print(f"[bold green]bot:[/] {reply.text}" + (f"  [dim]({'; '.join(extra)})[/]" if extra else ""))
            if reply.end_conversation:
                break
    except (EOFError, KeyboardInterrupt):
        console.print()
    conv.end("abandoned")
