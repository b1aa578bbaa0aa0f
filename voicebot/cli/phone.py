"""``voicebot phone``: answer calls from Asterisk (AudioSocket) and Twilio (Media Streams);
``voicebot phone dial``: place a test call to a running line with recorded speech."""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from voicebot.cli.store import STORE_HELP
from voicebot.config import Settings, load_settings, section

if TYPE_CHECKING:
    from voicebot.phone.service import PhoneSettings


def register(app: typer.Typer) -> None:
    phone = typer.Typer(help="The phone support line (Asterisk AudioSocket, Twilio Media Streams).")
    app.add_typer(phone, name="phone")

    @phone.callback(invoke_without_command=True)
    def serve(
        ctx: typer.Context,
        audiosocket: Annotated[
            str | None, typer.Option(help="HOST:PORT for Asterisk AudioSocket (default from config: 127.0.0.1:9092).")
        ] = None,
        twilio: Annotated[str | None, typer.Option(help="HOST:PORT for the Twilio Media Streams WebSocket.")] = None,
        http: Annotated[
            str | None, typer.Option(help="HOST:PORT for GET /calls/{uuid} (default from config: 127.0.0.1:9093).")
        ] = None,
        home: Annotated[Path | None, typer.Option(help="Home file: areas and devices.")] = None,
        broker: Annotated[str | None, typer.Option(help="mqtt://host:port; default: an embedded broker.")] = None,
        simulate: Annotated[bool, typer.Option(help="Run a simulated home from --home on the broker.")] = False,
        store: Annotated[str | None, typer.Option(help=STORE_HELP)] = None,
    ) -> None:
        """Answer phone calls until interrupted."""
        if ctx.invoked_subcommand is not None:
            return
        from voicebot.phone.service import PhoneSettings, parse_hostport

        settings = load_settings()
        ps = section(PhoneSettings, "phone", settings)
        # Listeners named on the command line replace the configured ones; otherwise the
        # configuration (by default AudioSocket on 127.0.0.1:9092) decides.
        if audiosocket or twilio:
            listen = {"audiosocket": audiosocket, "twilio": twilio}
        else:
            listen = {"audiosocket": ps.audiosocket, "twilio": ps.twilio}
        listen["http"] = http or ps.http
        try:
            addrs = {k: parse_hostport(v, f"--{k}") if v else None for k, v in listen.items()}
        except ValueError as exc:
            raise typer.BadParameter(str(exc)) from exc
        if addrs["audiosocket"] is None and addrs["twilio"] is None:
            raise typer.BadParameter("nothing to answer: give --audiosocket and/or --twilio")
        from voicebot.channels.phone.auth import ListenerRefused, check_listeners

        try:  # before the models load: a listener open to the network is refused at once
            check_listeners(addrs, ps.audiosocket_peers, ps.twilio_auth_token)
        except ListenerRefused as exc:
            typer.echo(f"voicebot phone: {exc}", err=True)
            raise typer.Exit(2) from exc
        from voicebot.runtime import StartupError

        try:
            asyncio.run(_serve(settings, ps, addrs, home, broker, simulate, store))
        except (StartupError, OSError, ListenerRefused) as exc:  # a busy port, an unreachable broker, a missing file
            typer.echo(f"voicebot phone: {exc}", err=True)
            raise typer.Exit(1) from exc

    @phone.command("dial")
    def dial(
        files: Annotated[list[Path], typer.Argument(help="Recordings: one caller turn each, said in order.")],
        audiosocket: Annotated[str | None, typer.Option(help="HOST:PORT of an AudioSocket line.")] = None,
        twilio: Annotated[str | None, typer.Option(help="ws://HOST:PORT/ of a Media Streams line.")] = None,
        rate: Annotated[int, typer.Option(help="AudioSocket audio rate: 8000 or 16000.")] = 8000,
        caller: Annotated[str | None, typer.Option(help="Caller number (Twilio custom parameter).")] = None,
        customer: Annotated[str | None, typer.Option(help="Customer id (Twilio custom parameter).")] = None,
        twilio_auth_token: Annotated[
            str | None,
            typer.Option(help="Sign the stream as Twilio does (default: phone.twilio_auth_token from config)."),
        ] = None,
        wait: Annotated[float, typer.Option(help="Longest wait for each reply, seconds.")] = 15.0,
        hear: Annotated[
            bool, typer.Option("--hear", help="Transcribe what the bot said (greeting and each reply) with Whisper.")
        ] = False,
    ) -> None:
        """Place a test call: say each recording after the bot has answered, print timings (and
        with --hear what the bot said) as JSON."""
        from voicebot.phone.dial import place_call

        if (audiosocket is None) == (twilio is None):
            raise typer.BadParameter("give exactly one of --audiosocket HOST:PORT or --twilio URL")
        from voicebot.audio import AudioFileError
        from voicebot.model_error import ModelError

        try:
            if twilio is not None and twilio_auth_token is None:
                from voicebot.phone.service import PhoneSettings

                twilio_auth_token = section(PhoneSettings, "phone").twilio_auth_token
            transcriber = None
            if hear:
                from voicebot.models import load_transcriber

                transcriber = load_transcriber()
            result = asyncio.run(
                place_call(files, audiosocket, twilio, rate, caller, customer, wait, twilio_auth_token, transcriber)
            )
        except (AudioFileError, ModelError, ValueError, OSError) as exc:  # a bad recording, model, address, or no line
            typer.echo(f"voicebot phone dial: {exc}", err=True)
            raise typer.Exit(1) from exc
        typer.echo(json.dumps(result, indent=2))


async def _serve(
    settings: Settings,
    ps: PhoneSettings,
    addrs: dict[str, tuple[str, int] | None],
    home: Path | None,
    broker: str | None,
    simulate: bool,
    store: str | None,
) -> None:
    from voicebot.phone import memory
    from voicebot.phone.service import build_phone_line, phone_transcription
    from voicebot.runtime import build_runtime

    memory.limit_arenas()  # before the models load (voicebot.phone.memory)
    settings = phone_transcription(settings)
    rt = await asyncio.to_thread(
        build_runtime, settings, broker=broker, home=home, simulate=simulate, store_path=store
    )
    line = build_phone_line(rt, ps)
    from voicebot.channels.phone.announce_relay import start_relay

    # Announcements (POST /calls/{uuid}) reach the call on whichever phone process it connects to.
    conn = getattr(getattr(rt, "bridge", None), "conn", None)
    relay = await asyncio.to_thread(start_relay, line.registry, conn, asyncio.get_running_loop())
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    try:
        bound = await line.start(addrs["audiosocket"], addrs["twilio"], addrs["http"])
        for name, (host, port) in bound.items():
            typer.echo(f"{name}: {host}:{port}")
        token = line.api_token
        if token is not None and token.file is not None:
            # The generated token is shown once, when it is made; afterwards only where it is.
            if token.created:
                typer.echo(f"HTTP API token (created, mode 0600): {token.value}", err=True)
            typer.echo(f"HTTP API token file: {token.file}", err=True)
        await stop.wait()
    finally:
        if relay is not None:
            relay.stop()
        await line.close()
        rt.close()
