"""``voicebot feedback`` (a feedback worker) and ``voicebot report`` (the insights report)."""

from __future__ import annotations

import signal
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer

from voicebot.cli.store import STORE_HELP
from voicebot.config import load_settings


def _fail(message: str, code: int = 2) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


def _parse_day(value: str | None, default: datetime) -> datetime:
    if not value:
        return default
    try:
        dt = datetime.fromisoformat(value)
    except ValueError:
        raise _fail(f"{value!r} is not a date (YYYY-MM-DD) or ISO 8601 time") from None
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def register(app: typer.Typer) -> None:
    @app.command()
    def feedback(
        broker: Annotated[
            str | None, typer.Option(help="mqtt://host:port or mqtts://…; default mqtt.broker from the config.")
        ] = None,
        worker_id: Annotated[
            str | None,
            typer.Option(
                "--worker-id",
                help="Stable id of this worker (e.g. %H-%i under systemd): a restarted worker then "
                "receives what it had not finished. Without it the session is not kept.",
            ),
        ] = None,
        metrics_port: Annotated[
            int | None, typer.Option(help="Serve Prometheus metrics on this port (127.0.0.1).")
        ] = None,
        store: Annotated[str | None, typer.Option(help=STORE_HELP)] = None,
    ) -> None:
        """Run a feedback worker: receive spoken feedback clips over MQTT, analyse, store, acknowledge.
        Start as many as you like, on any machines: they share the clips."""
        from voicebot.feedback.settings import feedback_settings
        from voicebot.feedback.store import FeedbackStoreError
        from voicebot.feedback.worker import build_worker
        from voicebot.models import ModelError

        settings = load_settings()
        url = broker or settings.mqtt.broker
        if not url:
            raise _fail("feedback workers need a broker that all of them and the devices reach: --broker mqtt://HOST:PORT or mqtt.broker in the config")
        try:
            fs = feedback_settings(settings)
            if store:
                fs = fs.model_copy(update={"store": store})
            worker = build_worker(settings, url, worker_id, fs=fs, metrics_port=metrics_port)
        except (ModelError, FeedbackStoreError, ValueError, OSError) as exc:
            raise _fail(str(exc)) from None
        stop = threading.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
        channel = worker.channel
        worker.run(stop, on_listening=lambda: typer.echo(
            f"feedback worker {channel.worker_id} on {url}, listening on {channel.topic_filter}",
            err=True,
        ))

    @app.command("feedback-send")
    def feedback_send(
        file: Annotated[Path, typer.Argument(help="The audio file (WAV, FLAC, OGG, MP3).")],
        device: Annotated[str, typer.Option(help="Device id.")],
        model: Annotated[str, typer.Option(help="Device model.")],
        firmware: Annotated[str, typer.Option(help="Firmware version.")],
        broker: Annotated[str | None, typer.Option(help="mqtt://host:port; default mqtt.broker.")] = None,
        clip_id: Annotated[str | None, typer.Option(help="Clip id; default: from the file's hash.")] = None,
        locale: Annotated[str | None, typer.Option(help="BCP 47 locale, e.g. de-DE.")] = None,
        stream: Annotated[bool, typer.Option(help="Send as start/chunk/end instead of one message.")] = False,
        chunk_size: Annotated[int, typer.Option(help="Bytes per chunk when streaming.")] = 32 * 1024,
        timeout: Annotated[float, typer.Option(help="Seconds to wait for the ack before retrying.")] = 60.0,
    ) -> None:
        """Send one feedback clip as a device would, and print the acknowledgement (JSON)."""
        import json

        from voicebot.feedback.sender import FeedbackSender, SendError
        from voicebot.feedback.settings import feedback_settings

        settings = load_settings()
        url = broker or settings.mqtt.broker
        if not url:
            raise _fail("give --broker mqtt://HOST:PORT (or mqtt.broker in the config)")
        try:
            audio = file.read_bytes()
        except OSError as exc:
            raise _fail(f"cannot read {file}: {exc.strerror}") from None
        try:
            with FeedbackSender(url, device, feedback_settings(settings).topic_prefix) as sender:
                ack = sender.send(
                    audio, model, firmware, clip_id=clip_id, locale=locale, stream=stream,
                    chunk_size=chunk_size, timeout=timeout,
                )
        except SendError as exc:
            raise _fail(str(exc), 1) from None
        typer.echo(json.dumps(ack))

    @app.command()
    def report(
        out: Annotated[Path, typer.Option("--out", help="Folder for report.html and the PNG charts.")],
        start: Annotated[str | None, typer.Option("--from", help="First day (YYYY-MM-DD, UTC); default 30 days ago.")] = None,
        end: Annotated[str | None, typer.Option("--to", help="Last day, inclusive (YYYY-MM-DD, UTC); default today.")] = None,
        store: Annotated[str | None, typer.Option(help=STORE_HELP)] = None,
    ) -> None:
        """Write a self-contained HTML report of feedback and conversation sentiment for a time range."""
        try:
            from voicebot.feedback.report import build_report
        except ImportError as exc:  # matplotlib is an extra
            raise _fail(str(exc)) from None
        from voicebot.feedback.settings import feedback_settings, store_path
        from voicebot.sqlite_db import is_file_location

        settings = load_settings()
        today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        first = _parse_day(start, today - timedelta(days=30))
        last = _parse_day(end, today)
        if not end or len(end) <= 10:
            last = last + timedelta(days=1)  # a day given as --to (or today) includes the whole day
        if last <= first:
            raise _fail(f"--to ({end}) must be after --from ({start})")
        path = store or store_path(feedback_settings(settings), settings)
        if is_file_location(path) and not Path(str(path).removeprefix("sqlite:///")).exists():
            raise _fail(f"no store at {path}: run feedback workers first, or give --store")
        result = build_report(path, first.timestamp(), last.timestamp(), out)
        typer.echo(
            f"report: {result.html} ({result.feedback_count} feedback clips, {result.turn_count} conversation turns)"
        )
