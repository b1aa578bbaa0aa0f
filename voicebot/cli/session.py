"""`voicebot listen` (the smart speaker) and `voicebot demo` (a spoken call end to end)."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Annotated

import typer

from voicebot.cli.store import STORE_HELP

log = logging.getLogger(__name__)


def register(app: typer.Typer) -> None:
    @app.command()
    def listen(
        input: Annotated[str | None, typer.Option("--input", "-i", help="Microphone: device name or number.")] = None,
        output: Annotated[str | None, typer.Option("--output", "-o", help="Speaker: device name or number.")] = None,
        list_devices: Annotated[bool, typer.Option("--list-devices", help="List sound devices and exit.")] = False,
        wake_word: Annotated[
            str | None, typer.Option(help='Answer only turns that start with this phrase, e.g. "hey voicebot".')
        ] = None,
        timeout: Annotated[
            float | None, typer.Option(help="End a conversation after this many seconds without speech.")
        ] = None,
        once: Annotated[bool, typer.Option("--once", help="Stop after one conversation.")] = False,
        home: Annotated[Path | None, typer.Option(help="Home file: areas and devices.")] = None,
        broker: Annotated[str | None, typer.Option(help="mqtt://host:port; default: configured or embedded.")] = None,
        simulate: Annotated[bool, typer.Option(help="Run a simulated home from --home on the broker.")] = False,
        area: Annotated[str | None, typer.Option(help="The area the speaker stands in (for 'the light').")] = None,
        store: Annotated[str | None, typer.Option(help=STORE_HELP)] = None,
        speaker: Annotated[
            str | None, typer.Option(help="This speaker as HOME/DEVICE: its customer (voicebot customers link --speaker).")
        ] = None,
        customer: Annotated[str | None, typer.Option(help="The customer id of the household (instead of --speaker).")] = None,
        metrics_port: Annotated[int | None, typer.Option(help="Serve Prometheus metrics on this port.")] = None,
    ) -> None:
        """Hold spoken conversations through the microphone and speaker (sounddevice)."""
        from rich.console import Console

        from voicebot.channels.speaker import AudioDeviceError, SpeakerChannel
        from voicebot.channels.speaker import list_devices as devices
        from voicebot.config import load_settings, section
        from voicebot.metrics import default_metrics
        from voicebot.proactive.announce import speaker_announcements
        from voicebot.proactive.opening import FindingOpener
        from voicebot.runtime import StartupError, build_runtime
        from voicebot.session import Session, SessionSettings
        from voicebot.turns import TurnRecord

        con = Console(stderr=True)
        if list_devices:
            print(devices())
            return
        try:
            SpeakerChannel(input, output).check()
        except AudioDeviceError as exc:
            raise typer.BadParameter(str(exc)) from exc
        settings = load_settings()
        opts = section(SessionSettings, "session", settings)
        updates: dict[str, object] = {}
        if wake_word:
            updates["wake_word"] = wake_word
        if timeout:
            updates["idle_timeout_s"] = timeout
        opts = opts.model_copy(update=updates)
        metrics = default_metrics()
        if metrics_port:
            metrics.serve(metrics_port)
        try:
            rt = build_runtime(settings, broker=broker, home=home, simulate=simulate, store_path=store)
        except (StartupError, OSError, ValueError) as exc:
            raise typer.BadParameter(str(exc)) from exc

        from voicebot.customers import identify

        # The household this speaker belongs to: their history follows them from the phone and the chat.
        customer_id = customer or identify(rt.store, "speaker", speaker)
        if speaker and customer_id is None:
            con.print(f"[yellow]speaker {speaker} is not linked to a customer; conversations are anonymous[/yellow]")

        def show(event: object) -> None:
            if isinstance(event, TurnRecord):
                con.print(f"[green]you[/green] {event.user_text}")
                if event.ignored:
                    con.print(f"[dim]    ({event.ignored})[/dim]")
                else:
                    first = event.timings.first_audio
                    ms = f" [dim]({first * 1000:.0f} ms)[/dim]" if isinstance(first, float) else ""
                    con.print(f"[cyan]bot[/cyan] {event.reply_text}{ms}")

        channel = SpeakerChannel(input, output, frame_ms=settings.listen.frame_ms)
        # what the proactive watcher has to tell this home, said at the next quiet moment
        openers = [o for o in rt.engine.openers if isinstance(o, FindingOpener)]
        announcements = speaker_announcements(rt.bridge, settings, openers[0].store if openers else None, customer_id)
        con.print(
            "listening"
            + (f' for "{opts.wake_word}"' if opts.wake_word else "")
            + " (Ctrl-C to stop)"
        )
        greet = opts.greet and not opts.wake_word
        try:
            while True:
                session = Session(
                    channel,
                    rt.conversation(channel="speaker", customer_id=customer_id, speaker_area=area),
                    rt.transcriber,
                    rt.synthesizer,
                    settings,
                    metrics=metrics,
                    store=rt.store,
                    on_event=show,
                    session_settings=opts.model_copy(update={"greet": greet}),
                    announce=announcements.take if announcements is not None else None,
                )
                result = asyncio.run(session.run())
                con.print(f"[dim]conversation {result.conversation_id} ended: {result.outcome}[/dim]")
                greet = False  # a speaker greets once; later conversations start when someone speaks
                if once or result.ended_by == "channel":
                    break
        except AudioDeviceError as exc:
            raise typer.BadParameter(str(exc)) from exc
        except KeyboardInterrupt:
            pass
        finally:
            if announcements is not None:
                announcements.stop()
            channel.close()
            rt.close()

    @app.command()
    def demo(
        out: Annotated[Path, typer.Option("--out", help="Folder for the audio, MQTT traffic and JSON log.")] = Path(
            "voicebot-demo"
        ),
        home: Annotated[Path | None, typer.Option(help="Home file (default: the bundled demo home).")] = None,
        speed: Annotated[float, typer.Option(help="Audio pace relative to real time.")] = 1.0,
        metrics_port: Annotated[int | None, typer.Option(help="Serve Prometheus metrics on this port.")] = None,
    ) -> None:
        """A spoken troubleshooting call on embedded defaults: no configuration, no network."""
        from voicebot.demo import run_demo
        from voicebot.runtime import StartupError

        if speed <= 0:
            raise typer.BadParameter("--speed must be positive")
        if home is not None and not home.is_file():
            raise typer.BadParameter(f"home file {home} does not exist", param_hint="--home")
        try:
            run_demo(out, home=home, speed=speed, metrics_port=metrics_port)
        except (StartupError, FileNotFoundError, ValueError) as exc:
            raise typer.BadParameter(str(exc)) from exc
