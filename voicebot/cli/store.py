"""``voicebot store``: rotate the encryption key, apply retention, check the key; and
``voicebot customers export|erase`` (added to the customers commands in cli/dialogue.py)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

STORE_HELP = "The store: a SQLite file or postgresql://user@host/db (default: dialogue.store, else store.url, else <data_dir>/voicebot.sqlite3)."
StoreOption = Annotated[str | None, typer.Option("--store", help=STORE_HELP)]


def open_store(path: str | None) -> Any:
    from voicebot.config import load_settings, section
    from voicebot.dialogue.settings import DialogueSettings
    from voicebot.sqlite_db import store_location
    from voicebot.store import Store, StoreError
    from voicebot.store_crypto import StoreSettings

    s = load_settings()
    target = store_location(s, path, section(DialogueSettings, "dialogue", s).store)
    try:
        return Store(target, store_settings=section(StoreSettings, "store", s))
    except StoreError as exc:
        typer.echo(f"voicebot: {exc}", err=True)
        raise typer.Exit(2) from None


def _settings() -> Any:
    from voicebot.config import section
    from voicebot.store_crypto import StoreSettings

    return section(StoreSettings, "store")


def register(app: typer.Typer) -> None:
    store = typer.Typer(help="The store's encryption key and retention.", no_args_is_help=True)
    app.add_typer(store, name="store")

    @store.command("rotate-key")
    def rotate(
        new_key: Annotated[
            str | None, typer.Option("--new-key", help="The key to change to (default: a new random one).")
        ] = None,
        path: StoreOption = None,
    ) -> None:
        """Re-encrypt everything under a new key. Stop the services that use the store first."""
        from voicebot.store_admin import rotate_key
        from voicebot.store_crypto import StoreCipher, StoreKeyError
        from voicebot.store_crypto import new_key as make_key

        st = open_store(path)
        key = new_key or make_key()
        try:
            StoreCipher([key], "--new-key")
            key_file = rotate_key(st, _settings(), key)
        except StoreKeyError as exc:
            typer.echo(f"voicebot: {exc}", err=True)
            raise typer.Exit(2) from None
        if key_file is not None:
            print(json.dumps({"rotated": True, "key_file": str(key_file)}))
        else:  # the key is in the configuration: only the operator can change it there
            print(json.dumps({"rotated": True, "key_file": None}))
            typer.echo(f"set store.key (VOICEBOT_STORE__KEY) to the new key now: {key}", err=True)

    @store.command("prune")
    def prune_cmd(path: StoreOption = None) -> None:
        """Delete what store.retention_days says is too old; prints rows removed per kind."""
        from voicebot.store_admin import prune

        print(json.dumps(prune(open_store(path), _settings().retention_days)))

    @store.command("check-key")
    def check(path: StoreOption = None) -> None:
        """Open every encrypted value once with the current key."""
        from voicebot.store_admin import check_key
        from voicebot.store_crypto import StoreKeyError

        try:
            check_key(open_store(path))
        except StoreKeyError as exc:
            typer.echo(f"voicebot: {exc}", err=True)
            raise typer.Exit(2) from None
        print(json.dumps({"key": "ok"}))

    @store.command("copy")
    def copy_cmd(
        to: Annotated[str, typer.Option("--to", help="The empty database to copy into, e.g. postgresql://user@host/db.")],
        path: StoreOption = None,
    ) -> None:
        """Copy the whole store (every table) into another database, e.g. from the SQLite file to
        PostgreSQL. Stop the services first; the target must use the same key (store.key)."""
        from voicebot.store import Store, StoreError
        from voicebot.store_admin import copy_store
        from voicebot.store_crypto import StoreKeyError, key_file_for

        source = open_store(path)
        settings = _settings()
        if not settings.key and not settings.key_file and not Path(f"{to.removeprefix('sqlite:///')}.key").is_file():
            # Opened now, the target would make a key of its own and seal its canary with it: the
            # copy would be refused, and the target left refusing the source's key on the retry.
            typer.echo(f"voicebot: the target needs the source's key: set store.key (VOICEBOT_STORE__KEY) to the "
                       f"contents of {key_file_for(source.key_base, settings)} and copy again; nothing was copied",
                       err=True)
            raise typer.Exit(2)
        try:
            target = Store(to, store_settings=settings)
            print(json.dumps(copy_store(source, target)))
        except (StoreError, StoreKeyError, ValueError) as exc:
            typer.echo(f"voicebot: {exc}", err=True)
            raise typer.Exit(2) from None

    @store.command("new-key")
    def new_key_cmd() -> None:
        """Print a new random key for store.key."""
        from voicebot.store_crypto import new_key

        print(new_key())


DeviceOption = Annotated[
    list[str] | None,
    typer.Option("--device", help="A feedback device of this customer's, beyond those in their home file (repeat)."),
]


def register_customer_commands(customers: typer.Typer) -> None:
    @customers.command("export")
    def export(customer_id: str, device: DeviceOption = None, store: StoreOption = None) -> None:
        """Everything held about a customer as JSON: profile, conversations, turns, tickets,
        trace, feedback (audio as base64) and anything else kept under their id."""
        from voicebot.store_admin import export_customer

        held = export_customer(open_store(store), customer_id, device or [])
        print(json.dumps(held, ensure_ascii=False, indent=2))
        if held["profile"] is None and not any(isinstance(v, list) and v for k, v in held.items() if k != "devices"):
            # The export is still printed (it is the proof that nothing is kept), but a mistyped
            # id must not pass for an empty record unnoticed.
            print(f"nothing is held about {customer_id!r} (no profile, no conversations, no feedback)", file=sys.stderr)

    @customers.command("erase")
    def erase(
        customer_id: str,
        device: DeviceOption = None,
        yes: Annotated[bool, typer.Option("--yes", help="Do not ask.")] = False,
        store: StoreOption = None,
    ) -> None:
        """Delete everything held about a customer, feedback audio included. Only the time and
        the number of rows of the erasure are kept."""
        from voicebot.store_admin import erase_customer

        if not yes:
            typer.confirm(f"erase everything held about {customer_id}?", abort=True)
        removed = erase_customer(open_store(store), customer_id, device or [])
        print(json.dumps({"erased": True, "rows": removed}))
