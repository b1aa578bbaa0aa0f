"""``voicebot webchat``: the customer web chat; ``webchat link CUSTOMER`` prints a signed link,
``webchat revoke CUSTOMER`` withdraws the links given out so far."""

from __future__ import annotations

import asyncio
import re
import signal
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from voicebot.cli.store import STORE_HELP
from voicebot.config import Settings, load_settings, section

if TYPE_CHECKING:
    from voicebot.webchat.server import WebChatServer
    from voicebot.webchat.settings import WebChatSettings

StoreOption = Annotated[str | None, typer.Option("--store", help=STORE_HELP)]
UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str) -> float:
    """ "3600", "90m", "12h", "7d" → seconds."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*", text)
    if not match:
        raise ValueError(f"expected a duration such as 3600, 90m, 12h or 7d, got {text!r}")
    return float(match.group(1)) * UNITS[match.group(2) or "s"]


_serving: list[WebChatServer] = []  # the server while it serves


def _terminated(signum: int, frame: object) -> None:
    # While the server serves, uvicorn handles SIGTERM itself and raises it again once it has
    # stopped: the server is stopping already, so let the shutdown finish. Before that, stop the
    # way Ctrl-C does.
    if _serving:
        _serving[0].server.should_exit = True
        return
    raise KeyboardInterrupt


def register(app: typer.Typer) -> None:
    webchat = typer.Typer(help="The customer web chat (a page and a WebSocket, opened by signed links).")
    app.add_typer(webchat, name="webchat")

    @webchat.callback(invoke_without_command=True)
    def serve(
        ctx: typer.Context,
        http: Annotated[str | None, typer.Option(help="HOST:PORT to serve on (default from config: 127.0.0.1:9095).")] = None,
        home: Annotated[Path | None, typer.Option(help="Home file (default without a broker: the simulated demo home).")] = None,
        broker: Annotated[str | None, typer.Option(help="mqtt://host:port; default: configured or embedded.")] = None,
        simulate: Annotated[bool, typer.Option(help="Run a simulated home from --home on the broker.")] = False,
        store: StoreOption = None,
    ) -> None:
        """Serve the web chat until interrupted."""
        if ctx.invoked_subcommand is not None:
            return
        from voicebot.cli.dialogue import detecting_languages
        from voicebot.phone.service import parse_hostport
        from voicebot.runtime import StartupError
        from voicebot.webchat.settings import WebChatSettings

        settings = detecting_languages()  # typed, like `voicebot chat`: any language with data is understood
        ws = section(WebChatSettings, "webchat", settings)
        try:
            host, port = parse_hostport(http or ws.http, "--http")
        except ValueError as exc:
            raise typer.BadParameter(str(exc)) from exc
        if home is None and broker is None and not settings.mqtt.broker:
            from voicebot.cli.dialogue import DEMO_HOME

            home, simulate = DEMO_HOME, True  # works with no set-up, as `voicebot chat` does
        signal.signal(signal.SIGTERM, _terminated)
        try:
            asyncio.run(_serve(settings, ws, host, port, home, broker, simulate, store))
        except (StartupError, OSError, ValueError) as exc:  # a busy port, an unreachable broker, a bad secret
            typer.echo(f"voicebot webchat: {exc}", err=True)
            raise typer.Exit(1) from None
        except KeyboardInterrupt:
            pass

    @webchat.command("link")
    def link(
        customer: Annotated[str, typer.Argument(help="A customer id, or an identity of theirs (web login, phone number).")],
        ttl: Annotated[str | None, typer.Option(help="How long the link works: 3600, 90m, 12h, 7d (default from config: 7d).")] = None,
        base_url: Annotated[str | None, typer.Option(help="The chat's public address (default: webchat.public_url or the listener).")] = None,
        store: StoreOption = None,
    ) -> None:
        """Print a signed link that opens the chat as CUSTOMER (once: the browser then keeps a session), and when it expires."""
        import time

        from voicebot.cli.store import open_store
        from voicebot.customers import identify
        from voicebot.phone.service import parse_hostport
        from voicebot.webchat.links import LinkSigner, webchat_secret
        from voicebot.webchat.server import base_url as default_base
        from voicebot.webchat.settings import WebChatSettings

        settings = load_settings()
        ws = section(WebChatSettings, "webchat", settings)
        st = open_store(store)
        customer_id = (identify(st, "customer", customer) or identify(st, "web", customer)
                       or identify(st, "phone", customer))
        if customer_id is None:
            typer.echo(f"voicebot webchat link: no customer {customer!r} (see `voicebot customers list`)", err=True)
            raise typer.Exit(1)
        try:
            seconds = parse_duration(ttl) if ttl else ws.link_ttl_s
            if not 0 < seconds <= ws.max_link_ttl_s:
                raise ValueError(f"--ttl must be more than 0 and at most {ws.max_link_ttl_s:.0f} seconds")
            signer = LinkSigner(webchat_secret(ws.secret, settings.data_dir, ws.secret_file))
        except ValueError as exc:
            raise typer.BadParameter(str(exc), param_hint="--ttl") from None
        url = base_url or default_base(ws, *parse_hostport(ws.http, "webchat.http"))
        token = signer.sign(customer_id, seconds)
        typer.echo(f"{url.rstrip('/')}/#t={token}")
        expires = time.strftime("%Y-%m-%d %H:%M:%S %Z", time.localtime(time.time() + seconds))
        typer.echo(f"customer {customer_id}; expires {expires}", err=True)

    @webchat.command("revoke")
    def revoke(customer: Annotated[str, typer.Argument(help="A customer id.")], store: StoreOption = None) -> None:
        """Withdraw every link given out so far for CUSTOMER (new links work again)."""
        from voicebot.cli.store import open_store
        from voicebot.webchat.links import Revocations

        st = open_store(store)
        if st.customer(customer) is None:
            typer.echo(f"voicebot webchat revoke: no customer {customer!r}", err=True)
            raise typer.Exit(1)
        Revocations(st).revoke(customer)
        typer.echo(f"links for {customer} issued until now no longer open the chat")


async def _serve(
    settings: Settings, ws: WebChatSettings, host: str, port: int,
    home: Path | None, broker: str | None, simulate: bool, store: str | None,
) -> None:
    from voicebot.phone.service import parse_hostport
    from voicebot.runtime import build_runtime
    from voicebot.webchat.server import WebChatServer, base_url, build_webchat

    rt = await asyncio.to_thread(build_runtime, settings, broker=broker, home=home, simulate=simulate,
                                 store_path=store, models=False)  # a written channel: no speech models
    try:
        # The understanding data loads on first use (seconds): now, not in a customer's first message.
        await asyncio.to_thread(rt.engine.understander)
        server = WebChatServer(build_webchat(rt, ws), host, port)
        bound = await server.start()
        typer.echo(f"webchat: {bound[0]}:{bound[1]}")
        here = base_url(ws, *bound)
        if here == base_url(ws, *parse_hostport(ws.http, "webchat.http")):
            typer.echo(f"links: voicebot webchat link CUSTOMER (base {here})", err=True)
        else:  # `webchat link` alone would print links to the configured address, not this one
            typer.echo(f"links: voicebot webchat link CUSTOMER --base-url {here}", err=True)
        _serving.append(server)
        try:
            await server.wait()
        finally:
            _serving.remove(server)
            await server.close()
    finally:
        rt.close()
