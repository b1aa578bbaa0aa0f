"""`voicebot console`: the agents' web console; `voicebot agents`: who may sign in to it."""

from __future__ import annotations

import getpass
import json
import sys
from typing import Annotated

import typer

from voicebot.cli.store import STORE_HELP

StoreOption = Annotated[
    str | None, typer.Option("--store", help=STORE_HELP)
]


def _host_port(value: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) < 65536:
        raise typer.BadParameter(f"{value!r}: use HOST:PORT, e.g. 127.0.0.1:8088", param_hint="--http")
    return host.strip("[]") or "127.0.0.1", int(port)


def _read_password() -> str:
    if sys.stdin.isatty():
        first = getpass.getpass("password: ")
        if getpass.getpass("again: ") != first:
            raise typer.BadParameter("the two passwords differ")
        return first
    return sys.stdin.readline().rstrip("\r\n")


def register(app: typer.Typer) -> None:
    @app.command()
    def console(
        http: Annotated[str, typer.Option("--http", help="HOST:PORT to serve on (loopback by default).")] = "127.0.0.1:8088",
        store: StoreOption = None,
        broker: Annotated[str | None, typer.Option("--broker", help="mqtt://host:port for live conversations (default: mqtt.broker).")] = None,
    ) -> None:
        """The agents' console: the ticket queue, live conversations, stepping in (docs/console.md)."""
        from voicebot.config import load_settings
        from voicebot.console.server import build_console, listen, serve

        host, port = _host_port(http)
        try:
            sock = listen(host, port)
        except OSError as exc:
            typer.echo(f"voicebot console: {exc}", err=True)
            raise typer.Exit(1) from None
        running = build_console(load_settings(), store, broker)
        if not running.console.db.agents():
            typer.echo("voicebot console: no agent can sign in yet; add one with `voicebot agents add NAME`", err=True)
        bound_host, bound_port = sock.getsockname()[:2]
        typer.echo(f"voicebot console on http://{bound_host}:{bound_port}/", err=True)
        try:
            serve(running, sock)
        finally:
            running.close()

    agents = typer.Typer(help="Agents who may sign in to the console.", no_args_is_help=True)
    app.add_typer(agents, name="agents")

    def _db(store: str | None):  # -> tuple[Store, ConsoleDB]
        from voicebot.config import load_settings
        from voicebot.console.server import open_console_db

        return open_console_db(load_settings(), store)

    @agents.command("add")
    def agents_add(
        name: str,
        role: Annotated[str, typer.Option("--role", help="agent or supervisor (supervisors see every live "
                                                         "conversation at once and the record of agent actions).")] = "agent",
        store: StoreOption = None,
    ) -> None:
        """Add an agent; the password is read from stdin (asked twice on a terminal)."""
        from voicebot.console.auth import hash_password
        from voicebot.console.db import AgentError, check_name

        try:
            check_name(name)
            st, db = _db(store)
            try:
                agent = db.add_agent(name, role, hash_password(_read_password()))
            finally:
                st.close()
        except AgentError as exc:
            typer.echo(f"voicebot agents add: {exc}", err=True)
            raise typer.Exit(2) from None
        print(json.dumps({"name": agent.name, "role": agent.role}))

    @agents.command("list")
    def agents_list(store: StoreOption = None) -> None:
        """Agents, one JSON object per line."""
        st, db = _db(store)
        for a in db.agents():
            print(json.dumps({"name": a.name, "role": a.role, "created_at": a.created_at}))
        st.close()

    @agents.command("remove")
    def agents_remove(name: str, store: StoreOption = None) -> None:
        """Remove an agent: their sessions end at their next request; what they did stays recorded."""
        st, db = _db(store)
        gone = db.remove_agent(name)
        st.close()
        if not gone:
            typer.echo(f"voicebot agents remove: no agent named {name!r}", err=True)
            raise typer.Exit(1)
        print(json.dumps({"removed": name}))
