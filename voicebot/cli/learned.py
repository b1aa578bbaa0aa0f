"""`voicebot learned`: the names customers taught the bot for their home ("the big light is the
ceiling light", or a correction "no, I meant the floor lamp"), listed and deleted."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict
from typing import Annotated, Any

import typer

from voicebot.cli.store import StoreOption


def _names(path: str | None) -> Any:
    from voicebot.config import load_settings, section
    from voicebot.dialogue.corrections import LearnedNames
    from voicebot.dialogue.settings import DialogueSettings
    from voicebot.sqlite_db import store_location
    from voicebot.store import Store, StoreError

    s = load_settings()
    try:
        store = Store(store_location(s, path, section(DialogueSettings, "dialogue", s).store))
    except StoreError as exc:
        raise typer.BadParameter(str(exc), param_hint="--store") from None
    return LearnedNames(store)


def register(app: typer.Typer) -> None:
    learned = typer.Typer(help="Names customers taught the bot for their home: list and delete.", no_args_is_help=True)
    app.add_typer(learned, name="learned")

    @learned.command("list")
    def learned_list(
        customer: Annotated[str | None, typer.Option("--customer", help="Only this customer's home.")] = None,
        as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
        store: StoreOption = None,
    ) -> None:
        """What was learnt, per home (customer id): the customer's words and the device they mean."""
        items = _names(store).names(customer)
        if not items:
            typer.echo("nothing learnt" + (f" for {customer}" if customer else ""), err=True)
        for item in items:
            if as_json:
                print(json.dumps(asdict(item), ensure_ascii=False))
            else:
                when = dt.datetime.fromtimestamp(item.learned_at).strftime("%Y-%m-%d %H:%M")
                print(f"{item.home:16} {item.phrase!r:28} -> {item.device_id:28} {item.language}  {when}  ({item.source})")

    @learned.command("forget")
    def learned_forget(
        customer: Annotated[str, typer.Option("--customer", help="The customer whose home it is.")],
        phrase: Annotated[str | None, typer.Argument(help="The learnt words to delete; leave out with --all.")] = None,
        everything: Annotated[bool, typer.Option("--all", help="Delete everything learnt for this home.")] = False,
        store: StoreOption = None,
    ) -> None:
        """Delete a learnt name (or all of a home's with --all)."""
        if phrase is None and not everything:
            raise typer.BadParameter("name the words to forget, or use --all", param_hint="PHRASE")
        gone = _names(store).forget(customer, None if everything else phrase)
        if not gone:
            typer.echo(f"nothing learnt for {customer}" + (f" as {phrase!r}" if phrase else ""), err=True)
            raise typer.Exit(1)
        print(f"forgot {gone} name{'s' if gone != 1 else ''} for {customer}")
