"""``voicebot customers link / unlink / identities``: how a customer is recognised on each
channel (voicebot.customers.identity). The commands join ``voicebot customers`` (cli/dialogue.py)."""

from __future__ import annotations

import json
from typing import Annotated

import typer

StoreOption = Annotated[str | None, typer.Option("--store", help="The store (default: dialogue.store or <data_dir>/voicebot.sqlite3).")]


def register(app: typer.Typer) -> None:
    """Nothing at the top level: see register_identity_commands."""


def register_identity_commands(customers: typer.Typer) -> None:
    @customers.command("link")
    def link(
        customer_id: str,
        phone: Annotated[list[str] | None, typer.Option("--phone", help="Another number they call from.")] = None,
        speaker: Annotated[list[str] | None, typer.Option("--speaker", help="Their smart speaker: HOME/DEVICE.")] = None,
        satellite: Annotated[list[str] | None, typer.Option("--satellite", help="A Home Assistant satellite (or device) id.")] = None,
        web: Annotated[list[str] | None, typer.Option("--web", help="Their web chat login.")] = None,
        store: StoreOption = None,
    ) -> None:
        """Recognise CUSTOMER_ID by these identities on every channel (repeat an option for more)."""
        from voicebot.cli.store import open_store
        from voicebot.customers import IdentityBook, IdentityError

        book = IdentityBook(open_store(store))
        wanted = [("phone", v) for v in phone or []] + [("speaker", v) for v in speaker or []]
        wanted += [("satellite", v) for v in satellite or []] + [("web", v) for v in web or []]
        if not wanted:
            raise typer.BadParameter("give at least one of --phone, --speaker, --satellite, --web")
        try:
            for kind, value in wanted:
                ident = book.link(customer_id, kind, value)
                print(json.dumps({"customer_id": ident.customer_id, "kind": ident.kind, "value": ident.value}))
        except IdentityError as exc:
            typer.echo(f"voicebot customers link: {exc}", err=True)
            raise typer.Exit(1) from None

    @customers.command("unlink")
    def unlink(
        kind: Annotated[str, typer.Argument(help="phone, speaker, satellite or web")],
        value: str,
        store: StoreOption = None,
    ) -> None:
        """Stop recognising anyone by this identity."""
        from voicebot.cli.store import open_store
        from voicebot.customers import IdentityBook, IdentityError

        try:
            found = IdentityBook(open_store(store)).unlink(kind, value)
        except IdentityError as exc:
            raise typer.BadParameter(str(exc), param_hint="KIND") from None
        if not found:
            typer.echo(f"no {kind} identity {value!r}", err=True)
            raise typer.Exit(1)

    @customers.command("identities")
    def identities(customer_id: str, store: StoreOption = None) -> None:
        """How CUSTOMER_ID is recognised, one JSON object per line (profile phones included)."""
        from voicebot.cli.store import open_store
        from voicebot.customers import IdentityBook

        for ident in IdentityBook(open_store(store)).identities(customer_id):
            print(json.dumps({"kind": ident.kind, "value": ident.value}))
