"""``voicebot proactive`` (the telemetry watcher that contacts customers), ``voicebot findings``
(what it found) and ``voicebot contact-prefs`` (a customer's contact preferences)."""

from __future__ import annotations

import json
import signal
import threading
from pathlib import Path
from typing import Annotated

import typer

from voicebot.cli.store import STORE_HELP


def _fail(message: str) -> typer.Exit:
    typer.echo(f"voicebot: {message}", err=True)
    return typer.Exit(2)


def register(app: typer.Typer) -> None:
    @app.command()
    def proactive(
        home: Annotated[Path | None, typer.Option(help="Home file: areas and devices (else learnt from discovery).")] = None,
        broker: Annotated[str | None, typer.Option(help="mqtt://host:port or mqtts://…; default mqtt.broker.")] = None,
        store: Annotated[str | None, typer.Option(help=STORE_HELP)] = None,
        customer: Annotated[str | None, typer.Option(help="Whose home this is (default proactive.customer, "
                                                          "or the customer whose home file is --home).")] = None,
        rules: Annotated[Path | None, typer.Option(help="Rules YAML (default proactive.rules, else the bundled rules).")] = None,
        simulate: Annotated[bool, typer.Option(help="Run a simulated home from --home on the broker (trials).")] = False,
    ) -> None:
        """Watch every device's state and telemetry, raise findings from the rules and contact the
        customer about them (ticket, speaker announcement, callback request on voicebot/support/contact)."""
        from device_bridge.home import HomeFileError
        from device_bridge.simulator import Simulator
        from voicebot.config import load_settings, section
        from voicebot.database import DatabaseError
        from voicebot.proactive.rules import RuleFileError
        from voicebot.proactive.service import ProactiveService, store_location
        from voicebot.proactive.settings import ProactiveSettings
        from voicebot.store import StoreError

        settings = load_settings()
        options = section(ProactiveSettings, "proactive", settings)
        if rules is not None:
            options = options.model_copy(update={"rules": rules})
        url = broker or settings.mqtt.broker
        if not url:
            raise _fail("the watcher needs the home's broker: --broker mqtt://HOST:PORT or mqtt.broker in the config")
        if home is not None and not home.is_file():
            raise _fail(f"home file {home} does not exist")
        if simulate and home is None:
            raise _fail("--simulate needs --home FILE")
        location = store_location(settings, store)
        sim = None
        try:
            if simulate:
                sim = Simulator(home, url).start()  # type: ignore[arg-type]
            service = ProactiveService(url, home, location, settings, proactive=options, customer_id=customer).start()
        except (RuleFileError, HomeFileError, DatabaseError, StoreError, ConnectionError, ValueError) as exc:
            if sim is not None:
                sim.stop()
            raise _fail(str(exc)) from None
        stop = threading.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
        who = f"customer {service.customer_id}" if service.customer_id else "no customer"
        typer.echo(f"proactive: watching {len(service.bridge.devices()) if service.bridge else 0} devices on {url} "
                   f"({len(service.rules)} rules, {who}); contacts on {options.contact_topic}", err=True)
        try:
            stop.wait()
        finally:
            service.stop()
            if sim is not None:
                sim.stop()

    @app.command()
    def findings(
        store: Annotated[str | None, typer.Option(help=STORE_HELP)] = None,
        customer: Annotated[str | None, typer.Option(help="Only this customer's findings.")] = None,
        all_: Annotated[bool, typer.Option("--all", help="Cleared findings too.")] = False,
        as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
    ) -> None:
        """List what the proactive watcher found (open findings by default)."""
        from voicebot.config import load_settings
        from voicebot.proactive.service import store_location
        from voicebot.proactive.store import ProactiveStore

        found = ProactiveStore(store_location(load_settings(), store)).findings(customer, open_only=not all_)
        for f in found:
            if as_json:
                typer.echo(json.dumps(f.__dict__, default=str))
            else:
                state = "cleared" if f.cleared_at else ("contacted" if f.contacted_at else "open")
                typer.echo(f"{f.id:>5}  {f.severity:<8} {f.rule:<16} {f.device_name} ({state}): {json.dumps(f.evidence)}")

    @app.command("contact-prefs")
    def contact_prefs(
        customer: Annotated[str, typer.Argument(help="The customer id.")],
        store: Annotated[str | None, typer.Option(help=STORE_HELP)] = None,
        allow: Annotated[list[str] | None, typer.Option(help="A channel voicebot may use: speaker, phone (repeat).")] = None,
        prefer: Annotated[str | None, typer.Option(help="The preferred channel: speaker or phone.")] = None,
        quiet: Annotated[str | None, typer.Option(help='Quiet hours "22:00-07:00", or "none".')] = None,
        opt_out: Annotated[list[str] | None, typer.Option(help="A kind of finding never to be contacted about (repeat).")] = None,
        opt_in: Annotated[list[str] | None, typer.Option(help="Undo an opt-out (repeat).")] = None,
    ) -> None:
        """Show or change how a customer wants to be contacted about findings."""
        import datetime as dt

        from voicebot.config import load_settings
        from voicebot.proactive.service import store_location
        from voicebot.proactive.store import Preferences, ProactiveStore

        channels = {"speaker", "phone"}
        if (allow and not set(allow) <= channels) or (prefer and prefer not in channels):
            raise _fail("channels are speaker and phone")
        ps = ProactiveStore(store_location(load_settings(), store))
        p = ps.preferences(customer) or Preferences(customer)
        if allow:
            p.channels = list(dict.fromkeys(allow))
        if prefer:
            p.preferred = prefer
        if quiet:
            if quiet == "none":
                p.quiet_start = p.quiet_end = ""
            else:
                try:
                    start, end = (dt.time.fromisoformat(x.strip()) for x in quiet.split("-"))
                except ValueError:
                    raise _fail(f'quiet hours look like "22:00-07:00", not {quiet!r}') from None
                p.quiet_start, p.quiet_end = start.isoformat("minutes"), end.isoformat("minutes")
        p.opt_out = sorted((set(p.opt_out) | set(opt_out or [])) - set(opt_in or []))
        if allow or prefer or quiet or opt_out or opt_in:
            ps.save_preferences(p)
        typer.echo(json.dumps(p.__dict__))
