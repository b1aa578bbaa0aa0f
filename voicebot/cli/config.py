"""``voicebot config check``: validate a configuration and show what is in effect."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def register(app: typer.Typer) -> None:
    config_app = typer.Typer(help="Check the configuration.", no_args_is_help=True)
    app.add_typer(config_app, name="config")

    @config_app.command("check")
    def check(
        file: Annotated[Path | None, typer.Argument(help="Configuration file (YAML or TOML); default --config / VOICEBOT_CONFIG.")] = None,
    ) -> None:
        """Validate the file and the VOICEBOT_* variables (every section), then print the
        effective configuration with secrets masked. Exit 2 with one line per problem."""
        import os

        from voicebot.config import ConfigError
        from voicebot.config_check import check_all, dump

        if file is not None:
            os.environ["VOICEBOT_CONFIG"] = str(file)
        try:
            effective = check_all()
        except ConfigError as exc:
            typer.echo(f"voicebot: {exc}", err=True)
            raise typer.Exit(2) from None
        typer.echo(dump(effective), nl=False)
        typer.echo("configuration OK", err=True)
