"""The `voicebot` command. Each module in this package adds its own commands
through a ``register(app)`` function, so a stage's CLI lives beside nobody else's."""

from __future__ import annotations

import importlib
import logging
import pkgutil
from pathlib import Path
from typing import Annotated

import typer

from voicebot.config import ConfigError, load_settings

app = typer.Typer(
    name="voicebot",
    help="Local-first voice support assistant for smart homes.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


@app.callback()
def _root(
    ctx: typer.Context,
    config: Annotated[
        Path | None, typer.Option("--config", "-c", help="Configuration file (YAML or TOML).")
    ] = None,
    verbose: Annotated[int, typer.Option("--verbose", "-v", count=True, help="More log output.")] = 0,
) -> None:
    logging.basicConfig(
        level=logging.WARNING - 10 * min(verbose, 2),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if ctx.invoked_subcommand == "config":  # `config check` reports every problem itself
        if config is not None:
            import os

            os.environ["VOICEBOT_CONFIG"] = str(config)
        return
    try:
        load_settings(config)
    except ConfigError as exc:
        # one message naming every problem, not a usage error box
        typer.echo(f"voicebot: {exc}", err=True)
        raise typer.Exit(2) from None


def _register_commands() -> None:
    for info in sorted(pkgutil.iter_modules([str(Path(__file__).parent)]), key=lambda m: m.name):
        module = importlib.import_module(f"{__name__}.{info.name}")
        module.register(app)


_register_commands()


def _user_errors() -> tuple[type[Exception], ...]:
    """Errors whose message is meant for the user: printed in one line, no traceback."""
    from device_bridge.client import ConnectionSettingsError
    from device_bridge.home import HomeFileError
    from voicebot.audio import AudioFileError
    from voicebot.models import ModelError
    from voicebot.runtime import StartupError
    from voicebot.store import StoreError

    return (ConfigError, ModelError, AudioFileError, StartupError, StoreError, HomeFileError,
            ConnectionSettingsError)


def main() -> None:
    try:
        app()
    except _user_errors() as exc:
        typer.echo(f"voicebot: {exc}", err=True)
        raise SystemExit(2) from None
