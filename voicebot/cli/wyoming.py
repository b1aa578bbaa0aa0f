"""``voicebot wyoming``: speech to text, text to speech and the conversation agent for Home
Assistant over the Wyoming protocol, on one port (docs/home-assistant.md)."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from pathlib import Path
from typing import Annotated, Any

import typer

from voicebot.cli.dialogue import with_all_languages
from voicebot.cli.store import STORE_HELP
from voicebot.config import Settings, load_settings, section

DEMO_HOME = Path(__file__).resolve().parents[2] / "device_bridge" / "homes" / "demo.yaml"


def register(app: typer.Typer) -> None:
    @app.command()
    def wyoming(
        uri: Annotated[
            str | None, typer.Option(help="tcp://HOST:PORT to listen on (default from config: tcp://127.0.0.1:10300).")
        ] = None,
        home: Annotated[Path | None, typer.Option(help="Home file (default with no --broker: the demo home).")] = None,
        broker: Annotated[
            str | None, typer.Option(help="mqtt://host:port; default: an embedded broker and the simulated home.")
        ] = None,
        simulate: Annotated[bool, typer.Option(help="Run a simulated home from --home on the broker.")] = False,
        store: Annotated[str | None, typer.Option(help=STORE_HELP)] = None,
        zeroconf: Annotated[
            bool | None, typer.Option("--zeroconf/--no-zeroconf", help="Advertise _wyoming._tcp.local. (default: on).")
        ] = None,
    ) -> None:
        """Serve Home Assistant (Wyoming protocol) until interrupted."""
        from voicebot.runtime import StartupError
        from voicebot.wyoming.server import parse_uri
        from voicebot.wyoming.settings import WyomingSettings

        settings = with_all_languages(load_settings())
        ws = section(WyomingSettings, "wyoming", settings)
        try:
            host, _ = parse_uri(uri or ws.uri)
        except ValueError as exc:
            raise typer.BadParameter(str(exc), param_hint="--uri") from None
        from voicebot.channels.phone.auth import ListenerRefused
        from voicebot.wyoming.service import check_listener

        try:  # before the models load: a listener open to the network is refused at once
            check_listener(host, ws.peers)
        except ListenerRefused as exc:
            typer.echo(f"voicebot wyoming: {exc}", err=True)
            raise typer.Exit(2) from None
        home_file = home or (DEMO_HOME if broker is None and not settings.mqtt.broker else None)
        simulate = simulate or (home is None and home_file is not None)
        try:
            asyncio.run(_serve(settings, ws, uri, home_file, broker, simulate, store, zeroconf))
        except (StartupError, OSError) as exc:  # a busy port, an unreachable broker, a missing file
            typer.echo(f"voicebot wyoming: {exc}", err=True)
            raise typer.Exit(1) from exc


async def _serve(settings: Settings, ws: Any, uri: str | None, home: Path | None, broker: str | None,
                 simulate: bool, store: str | None, zeroconf: bool | None) -> None:
    from voicebot.runtime import build_runtime
    from voicebot.wyoming.service import WyomingService

    rt = await asyncio.to_thread(
        build_runtime, settings, broker=broker, home=home, simulate=simulate, store_path=store
    )
    service = WyomingService(rt, ws, zeroconf=zeroconf)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    try:
        host, port = await service.start(uri)
        typer.echo(f"wyoming: tcp://{host}:{port}", err=False)
        await stop.wait()
    finally:
        await service.close()
        rt.close()
