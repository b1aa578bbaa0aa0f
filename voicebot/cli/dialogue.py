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

from voicebot.dialogue.types import Reply

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


def register(app: typer.Typer) -> None:
    @app.command()
    def chat(
        as_json: Annotated[bool, typer.Option("--json", help="Read turns from stdin, print one JSON object per turn.")] = False,
        home: Annotated[Path | None, typer.Option("--home", help="Home file (default: the bundled demo home).")] = None,
        broker: Annotated[
            str | None, typer.Option("--broker", help="mqtt://host:port of a real broker; default: embedded broker and simulated home.")
        ] = None,
        customer: Annotated[str | None, typer.Option("--customer", help="Customer id (for tickets across sessions).")] = None,
        store: Annotated[
            str | None, typer.Option("--store", help="SQLite file (default: dialogue.store or <data_dir>/voicebot.sqlite3).")
        ] = None,
        area: Annotated[str | None, typer.Option("--area", help="The room the speaker is in.")] = None,
        language: Annotated[str, typer.Option("--language", help="Reply language (en, de).")] = "en",
    ) -> None:
        """Chat with voicebot in text."""
        from voicebot.runtime import StartupError, build_runtime

        home_file = home or (DEMO_HOME if broker is None else None)
        if home_file is not None and not home_file.is_file():
            raise typer.BadParameter(f"home file {home_file} does not exist", param_hint="--home")
        try:
            rt = build_runtime(broker=broker, home=home_file, simulate=broker is None, store_path=store, models=False)
        except StartupError as exc:
            typer.echo(f"voicebot chat: {exc}", err=True)
            raise typer.Exit(2) from None
        with rt:
            conv = rt.engine.conversation("chat", customer_id=customer, speaker_area=area, language=language)
            if as_json:
                _json_loop(conv)
            else:
                _interactive(conv)


def _json_loop(conv: Any) -> None:
    for line in sys.stdin:
        text = line.rstrip("\n")
        if not text.strip():
            continue
        reply = conv.handle(text)
        print(json.dumps(turn_json(text, reply), ensure_ascii=False), flush=True)
        if reply.end_conversation:
            break
    conv.end("abandoned")


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
