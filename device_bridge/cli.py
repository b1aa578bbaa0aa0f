"""The ``device-bridge`` command: list, get, set and simulate devices over MQTT.

Without ``--broker`` the commands run against an embedded broker and the simulated
home (``--home``, default: the packaged demo home), so they work out of the box.
"""

from __future__ import annotations

import contextlib
import json
import logging
import signal
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import typer

from device_bridge.bridge import DeviceBridge, UnknownDevice
from device_bridge.broker import start_embedded
from device_bridge.devices import DeviceState, Outcome
from device_bridge.home import HomeFileError, builtin_home, load_home
from device_bridge.simulator import Simulator

app = typer.Typer(name="device-bridge", help="Query, command and simulate smart devices over MQTT.",
                  no_args_is_help=True, pretty_exceptions_enable=False)

Broker = Annotated[str | None, typer.Option("--broker", "-b", envvar="VOICEBOT_MQTT__BROKER",
                                            help="mqtt://host:port or mqtts://host:port; default: embedded broker + simulated home")]
HomeOpt = Annotated[Path | None, typer.Option("--home", help="Home file (YAML); default: the packaged demo home")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON")]
User = Annotated[str | None, typer.Option("--username", envvar="VOICEBOT_MQTT__USERNAME")]
Password = Annotated[str | None, typer.Option("--password", envvar="VOICEBOT_MQTT__PASSWORD")]
CaFile = Annotated[str | None, typer.Option("--ca-file", envvar="VOICEBOT_MQTT__CA_FILE", help="CA certificate for mqtts://")]
CertFile = Annotated[str | None, typer.Option("--cert-file", envvar="VOICEBOT_MQTT__CERT_FILE", help="Client certificate")]
KeyFile = Annotated[str | None, typer.Option("--key-file", envvar="VOICEBOT_MQTT__KEY_FILE", help="Client key")]


@app.callback()
def _root(verbose: Annotated[int, typer.Option("--verbose", "-v", count=True)] = 0) -> None:
    logging.basicConfig(level=logging.WARNING - 10 * min(verbose, 2),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)


def _fail(message: str, code: int = 2) -> typer.Exit:
    typer.echo(f"device-bridge: {message}", err=True)
    return typer.Exit(code)


@contextlib.contextmanager
def _bridge(broker: str | None, home: Path | None, **tls: Any) -> Iterator[DeviceBridge]:
    try:
        home_path = home or (builtin_home() if broker is None else None)
        loaded = load_home(home_path) if home_path else None
    except HomeFileError as exc:
        raise _fail(str(exc)) from None
    embedded = sim = None
    try:
        if broker is None:
            embedded = start_embedded()
            broker = embedded.url
            typer.echo(f"(no --broker: embedded {embedded.kind} broker on {broker} with the simulated home "
                       f"{loaded.source if loaded else ''})", err=True)
            sim = Simulator(loaded, broker, cover_travel_s=1.0).start()  # type: ignore[arg-type]
        bridge = DeviceBridge(broker, loaded, **tls)
        try:
            bridge.start(timeout=10)
        except ConnectionError as exc:
            raise _fail(str(exc), 3) from None
        try:
            bridge.settle()
            bridge.wait_until_known(3.0 if sim else 1.5)
            yield bridge
        finally:
            bridge.stop()
    finally:
        if sim is not None:
            sim.stop()
        if embedded is not None:
            embedded.close()


def state_json(s: DeviceState) -> dict[str, Any]:
    d = s.device
    return {
        "id": d.id, "name": d.name, "type": d.type.value, "area": d.area, "convention": d.convention,
        "aliases": d.aliases, "device_class": d.device_class, "unit": d.unit, "model": d.model,
        "manufacturer": d.manufacturer, "source": d.source,
        "state": s.state,
        "telemetry": {"available": s.telemetry.available, "last_seen": s.telemetry.last_seen,
                      "linkquality": s.telemetry.linkquality, "battery": s.telemetry.battery, "power": s.telemetry.power},
        "updated_at": s.updated_at, "age_s": None if s.age_s is None else round(s.age_s, 3),
    }


def _short(state: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in state.items())


@app.command("list")
def list_devices(broker: Broker = None, home: HomeOpt = None, as_json: JsonOpt = False, username: User = None,
                 password: Password = None, ca_file: CaFile = None, cert_file: CertFile = None, key_file: KeyFile = None) -> None:
    """List the devices (home file, discovery, Zigbee2MQTT) with their state."""
    with _bridge(broker, home, username=username, password=password, ca_file=ca_file, cert_file=cert_file,
                 key_file=key_file) as bridge:
        states = [bridge.snapshot(d.id) for d in sorted(bridge.devices(), key=lambda d: (d.area or "", d.name))]
        if as_json:
            typer.echo(json.dumps([state_json(s) for s in states], indent=1, ensure_ascii=False))
            return
        from rich.console import Console
        from rich.table import Table

        table = Table("id", "name", "type", "area", "convention", "online", "state")
        for s in states:
            online = {True: "yes", False: "NO", None: "?"}[s.telemetry.available]
            table.add_row(s.device.id, s.device.name, s.device.type.value, s.device.area or "", s.device.convention,
                          online, _short(s.state))
        Console().print(table)


@app.command()
def get(name: Annotated[str, typer.Argument(help="Device id, name or alias")], broker: Broker = None,
        home: HomeOpt = None, as_json: JsonOpt = False,
        refresh: Annotated[bool, typer.Option("--refresh", help="Ask the device where the convention allows")] = False,
        username: User = None, password: Password = None, ca_file: CaFile = None, cert_file: CertFile = None,
        key_file: KeyFile = None) -> None:
    """Print one device's state and telemetry."""
    with _bridge(broker, home, username=username, password=password, ca_file=ca_file, cert_file=cert_file,
                 key_file=key_file) as bridge:
        try:
            s = bridge.get(name, refresh=refresh)
        except UnknownDevice as exc:
            raise _fail(str(exc), 1) from None
        if as_json:
            typer.echo(json.dumps(state_json(s), indent=1, ensure_ascii=False))
            return
        typer.echo(f"{s.device.name} ({s.device.id}, {s.device.type.value}, {s.device.convention})")
        typer.echo(f"  state:     {_short(s.state) or 'unknown'}")
        t = s.telemetry
        typer.echo(f"  available: {t.available}  linkquality: {t.linkquality}  battery: {t.battery}  power: {t.power}")
        typer.echo(f"  age:       {'never heard' if s.age_s is None else f'{s.age_s:.1f} s'}")


def parse_assignment(item: str) -> tuple[str, Any]:
    """key=value; the value is JSON when it parses (numbers, lists, true), else text."""
    if "=" not in item:
        raise ValueError(f"expected key=value, got {item!r}")
    key, raw = item.split("=", 1)
    try:
        value: Any = json.loads(raw)
    except ValueError:
        value = raw
    return key.strip(), value


@app.command("set")
def set_(name: Annotated[str, typer.Argument(help="Device id, name or alias")],
         changes: Annotated[list[str], typer.Argument(help="key=value in Home Assistant names, e.g. state=on brightness=120")],
         broker: Broker = None, home: HomeOpt = None, as_json: JsonOpt = False,
         timeout: Annotated[float, typer.Option(help="Seconds to wait for confirmation")] = 3.0,
         username: User = None, password: Password = None, ca_file: CaFile = None, cert_file: CertFile = None,
         key_file: KeyFile = None) -> None:
    """Command a device and wait for it to confirm. Exit status 0 only when confirmed."""
    try:
        wanted = dict(parse_assignment(c) for c in changes)
    except ValueError as exc:
        raise _fail(str(exc)) from None
    with _bridge(broker, home, username=username, password=password, ca_file=ca_file, cert_file=cert_file,
                 key_file=key_file) as bridge:
        try:
            r = bridge.set(name, wanted, timeout=timeout)
        except UnknownDevice as exc:
            raise _fail(str(exc), 1) from None
        if as_json:
            typer.echo(json.dumps({"device": r.device.id, "outcome": r.outcome.value, "code": r.code.value,
                                   "facts": r.facts, "requested": r.requested, "observed": r.observed,
                                   "reason": r.reason, "evidence": r.evidence, "elapsed_s": r.elapsed_s},
                                  indent=1, ensure_ascii=False, default=str))
        else:
            typer.echo(f"{r.reason} ({r.elapsed_s:.2f} s)")
        if r.outcome is not Outcome.CONFIRMED:
            raise typer.Exit(1)


@app.command()
def simulate(home: HomeOpt = None, broker: Broker = None,
             telemetry_interval: Annotated[float, typer.Option(help="Seconds between telemetry reports")] = 30.0,
             cover_travel: Annotated[float, typer.Option(help="Seconds a cover takes from closed to open")] = 1.5,
             duration: Annotated[float | None, typer.Option(help="Stop after this many seconds")] = None) -> None:
    """Run a simulated home on a broker (embedded when none is given) until stopped."""
    try:
        loaded = load_home(home or builtin_home())
    except HomeFileError as exc:
        raise _fail(str(exc)) from None
    embedded = None
    if broker is None:
        embedded = start_embedded()
        broker = embedded.url
    sim = Simulator(loaded, broker, telemetry_interval_s=telemetry_interval, cover_travel_s=cover_travel)
    try:
        sim.start()
    except ConnectionError as exc:
        if embedded:
            embedded.close()
        raise _fail(str(exc), 3) from None
    typer.echo(f"simulating {len(sim.device_ids())} devices from {loaded.source} on {broker} "
               f"(faults: {sim.prefix}/<id>/fault/set, customer actions: {sim.prefix}/<id>/action)", err=True)
    stop = threading.Event()
    with contextlib.suppress(ValueError):  # signal only works in the main thread
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        deadline = None if duration is None else time.monotonic() + duration
        while not stop.is_set() and (deadline is None or time.monotonic() < deadline):
            stop.wait(0.2)
    except KeyboardInterrupt:
        pass
    finally:
        sim.stop()
        if embedded:
            embedded.close()


@app.command()
def broker(prefer: Annotated[str, typer.Option(help="auto, mosquitto or amqtt")] = "auto",
           duration: Annotated[float | None, typer.Option(help="Stop after this many seconds")] = None) -> None:
    """Run the embedded broker on a free loopback port (prints its URL)."""
    b = start_embedded(prefer)
    typer.echo(b.url)
    # SIGTERM (kill, systemd) ends it as Ctrl-C does: the Mosquitto it started goes with it.
    stop = threading.Event()
    with contextlib.suppress(ValueError):  # signal only works in the main thread
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        end = None if duration is None else time.monotonic() + duration
        while not stop.is_set() and (end is None or time.monotonic() < end):
            stop.wait(0.2)
    except KeyboardInterrupt:
        pass
    finally:
        b.close()


def main() -> None:
    from device_bridge.client import ConnectionSettingsError

    try:
        app()
    except ConnectionSettingsError as exc:  # a bad --broker URL or TLS file: one line, no traceback
        typer.echo(f"device-bridge: {exc}", err=True)
        raise SystemExit(2) from None


if __name__ == "__main__":
    main()
