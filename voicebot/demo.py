"""`voicebot demo`: a spoken troubleshooting call, end to end, on embedded defaults.

An embedded MQTT broker and a simulated home (with a fault injected) run in-process; the
customer's turns are synthesized with espeak-ng (a voice unlike the bot's Piper voice) plus one
real human recording, and are streamed through the real session over a virtual full-duplex line
at real-time pace. The bot listens, transcribes, troubleshoots the devices over MQTT and
answers with speech. Everything lands in the output folder:

- ``conversation.wav``: the call as a stereo file (left: the customer's microphone, right: the bot)
- ``replies/NN-bot.wav`` and ``customer/NN-customer.wav``: each reply and each customer turn
- ``mqtt.jsonl``: every MQTT message on the broker during the call, with its time
- ``log.json``: the turns, their stage timings, device actions, barge-ins and the metrics summary
"""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

import device_bridge.home
from voicebot.audio import read_audio
from voicebot.channels.virtual import Cue, VirtualLine
from voicebot.events import Phase, Stage, StageEvent
from voicebot.frames import RATE
from voicebot.listener import BargeIn
from voicebot.metrics import STAGES, Metrics
from voicebot.runtime import build_runtime
from voicebot.session import Session
from voicebot.testing.mqtt_tap import MqttTap
from voicebot.turns import Greeting, SessionEvent, SessionResult, TurnRecord

SHARED_AUDIO = Path(__file__).resolve().parents[2] / "shared" / "data" / "audio"
LAMP_RECORDING = "would_you_please_turn_on_living_room_lamp.wav"


@dataclass(frozen=True)
class Line:
    """One customer turn of the story: synthesized text, or a real recording."""

    text: str
    recording: str | None = None  # a file in the shared recordings, used when present
    after: str = "reply_end"  # or "reply_start": talk over the bot (barge-in)
    delay_s: float = 0.4
    action: str | None = None  # what the customer does to the faulty device before speaking


# The demo home's kitchen light is offline. The bot checks its telemetry (availability, last
# seen), asks for a power cycle, switches the light on and gets the device's confirmation, and
# the problem is resolved. The customer then has the living room lamp switched on (a real human
# recording) and talks over the bot's long answer to say goodbye.
STORY: tuple[Line, ...] = (
    Line("Hi. My kitchen light won't turn on."),
    Line("Okay, I have done that.", action="power_cycle"),
    Line("Yes, it works now."),
    Line("Would you please turn on the living room lamp?", recording=LAMP_RECORDING),
    Line("Thanks, that's all. Goodbye.", after="reply_start", delay_s=1.6),
)
FAULT = ("kitchen_light", "offline")


def demo_home() -> Path:
    """The bundled demo home file (device_bridge/homes/demo.yaml)."""
    # Beside the module rather than importlib.resources: a tests/device_bridge folder on
    # sys.path can shadow the package's resources under pytest.
    return Path(device_bridge.home.__file__).parent / "homes" / "demo.yaml"


def espeak(text: str, voice: str = "en-us+f3", speed: int = 165) -> np.ndarray:
    """Speech from espeak-ng (a voice clearly unlike the bot's), 16 kHz mono int16."""
    exe = shutil.which("espeak-ng")
    if exe is None:
        raise FileNotFoundError("espeak-ng is not installed (Debian package: espeak-ng)")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "say.wav"
        subprocess.run([exe, "-v", voice, "-s", str(speed), "-w", str(path), text], check=True, capture_output=True)
        return read_audio(path)


def customer_cues(
    story: tuple[Line, ...] = STORY,
    recordings: Path = SHARED_AUDIO,
    act: Callable[[str], object] | None = None,
) -> list[Cue]:
    """The story as audio cues; ``act(action)`` is called as a line with an action starts."""
    cues = []
    for line in story:
        rec = recordings / line.recording if line.recording else None
        pcm = read_audio(rec) if rec is not None and rec.is_file() else espeak(line.text)
        on_start = (lambda a=line.action: act(a)) if line.action and act is not None else None
        cues.append(Cue(pcm, line.text, after=line.after, delay_s=line.delay_s, on_start=on_start))  # type: ignore[arg-type]
    return cues


def run_demo(
    out: Path,
    *,
    home: Path | None = None,
    speed: float = 1.0,
    metrics_port: int | None = None,
    console: Any = None,
) -> dict[str, Any]:
    """Run the demo call; returns the JSON log that is also written to ``out/log.json``."""
    from rich.console import Console

    con = console or Console()
    out.mkdir(parents=True, exist_ok=True)
    (out / "replies").mkdir(exist_ok=True)
    (out / "customer").mkdir(exist_ok=True)
    home = home or demo_home()
    started = time.monotonic()
    metrics = Metrics()
    if metrics_port:
        metrics.serve(metrics_port)
        con.print(f"[dim]metrics on http://127.0.0.1:{metrics_port}/metrics[/dim]")

    con.print("[bold]voicebot demo[/bold]: embedded MQTT broker, simulated home, bundled models")
    with build_runtime(home=home, simulate=True, store_path=out / "voicebot.sqlite3", models=False) as rt:
        tap = MqttTap(rt.broker_url, out / "mqtt.jsonl", client_id="voicebot-demo-tap")
        try:
            _inject_fault(rt, *FAULT)
            con.print(f"  broker {rt.broker_url}; home {home}; fault injected: {FAULT[0]} is {FAULT[1]}")
            t = time.monotonic()
            rt.load_models()
            con.print(f"  models loaded and warm in {time.monotonic() - t:.1f} s")
            sim = rt.simulator
            cues = customer_cues(act=lambda action: sim.customer_action(FAULT[0], action))
            line = VirtualLine(cues, speed=speed, tail_s=0.8)
            conversation = rt.conversation(channel="demo", speaker_area=None)
            printer = _Printer(con, out)
            session = Session(line, conversation, rt.transcriber, rt.synthesizer, rt.settings,
                              metrics=metrics, store=rt.store, on_event=printer)
            session.events.subscribe(printer.stage)
            line.busy = session.busy
            result = asyncio.run(session.run())
            if session.greeting_audio:
                sf.write(out / "replies" / "00-greeting.wav", np.concatenate(session.greeting_audio), RATE)
        finally:
            tap.close()
        log = _write_outputs(out, result, line, cues, metrics, tap.count, time.monotonic() - started)
    _print_summary(con, log, out)
    return log


def _inject_fault(rt: Any, device_id: str, fault: str) -> None:
    rt.simulator.inject(device_id, fault)
    # Wait until the bridge has seen the device go offline, so the first turn finds it so.
    deadline = time.monotonic() + 3.0
    while time.monotonic() < deadline and rt.bridge.get(device_id).telemetry.available is not False:
        time.sleep(0.05)


class _Printer:
    """Prints the conversation as it happens: the words from the session's records, the
    per-turn timing line from the stage event stream."""

    def __init__(self, console: Any, out: Path) -> None:
        self.con = console
        self.out = out

    def stage(self, e: StageEvent) -> None:
        if e.stage is not Stage.TURN or e.phase is not Phase.END or e.data["record"].ignored is not None:
            return
        tm = e.data["record"].timings
        parts = [f"{name} {getattr(tm, name) * 1000:.0f}" for name in ("endpoint", "transcript", "reply_text",
                                                                       "first_audio") if getattr(tm, name) is not None]
        self.con.print(f"[dim]         ms after end of speech: {', '.join(parts)}"
                       f"{' (speculative transcript)' if tm.speculative else ''}[/dim]")

    def __call__(self, event: SessionEvent) -> None:
        if isinstance(event, Greeting):
            self.con.print(f"[bold cyan]bot[/bold cyan]      {event.text}")
        elif isinstance(event, BargeIn):
            self.con.print(
                f"[yellow]         (customer talks over the bot: playback stopped {event.reaction_s * 1000:.0f} ms "
                "after their voice began)[/yellow]"
            )
        elif isinstance(event, TurnRecord):
            self._turn(event)

    def _turn(self, r: TurnRecord) -> None:
        self.con.print(f"[bold green]customer[/bold green] {r.user_text}")
        if r.ignored:
            self.con.print(f"[dim]         (no reply: {r.ignored})[/dim]")
            return
        for a in r.actions:
            self.con.print(f"[magenta]         device {a['device']}: {a['changes']} → {a['outcome']}[/magenta]")
        cut = " [yellow](interrupted)[/yellow]" if r.interrupted else ""
        self.con.print(f"[bold cyan]bot[/bold cyan]      {r.reply_text}{cut}")


def _write_outputs(
    out: Path,
    result: SessionResult,
    line: VirtualLine,
    cues: list[Cue],
    metrics: Metrics,
    mqtt_messages: int,
    elapsed: float,
) -> dict[str, Any]:
    mic, spk = line.mic_audio(), line.speaker_audio()
    n = max(mic.size, spk.size)
    stereo = np.zeros((n, 2), np.int16)
    stereo[: mic.size, 0] = mic
    stereo[: spk.size, 1] = spk
    sf.write(out / "conversation.wav", stereo, RATE, subtype="PCM_16")
    for i, cue in enumerate(cues, start=1):
        sf.write(out / "customer" / f"{i:02d}-customer.wav", cue.pcm, RATE, subtype="PCM_16")
    answered = [t for t in result.turns if not t.ignored]
    for t in answered:
        if t.reply_audio:
            sf.write(out / "replies" / f"{t.index:02d}-bot.wav", np.concatenate(t.reply_audio), RATE, subtype="PCM_16")
    log = {
        "conversation_id": result.conversation_id,
        "outcome": result.outcome,
        "greeting": result.greeting,
        "turns": [t.as_dict() for t in result.turns],
        "barge_ins": [
            {"onset": round(b.onset, 3), "stopped_at": round(b.decided_at, 3), "reaction_s": round(b.reaction_s, 3)}
            for b in result.barge_ins
        ],
        "customer_lines": [
            {"text": c.text, "voice_start": c.onset, "voice_end": c.speech_end} for c in cues
        ],
        "metrics": metrics.summary(),
        "mqtt_messages": mqtt_messages,
        "audio_s": round(line.t, 2),
        "elapsed_s": round(elapsed, 2),
    }
    (out / "log.json").write_text(json.dumps(log, indent=2, default=str), encoding="utf-8")
    return log


def _print_summary(con: Any, log: dict[str, Any], out: Path) -> None:
    from rich.table import Table

    table = Table(title="Latency per stage (ms after the end of the customer's speech)")
    for col in ("stage", "turns", "p50", "p95", "max"):
        table.add_column(col, justify="right" if col != "stage" else "left")
    for name, q in log["metrics"].items():
        label = STAGES.get(name, "barge-in: voice start → playback stopped" if name == "barge_in_reaction" else name)
        table.add_row(label, f"{q['count']:.0f}", f"{q['p50'] * 1000:.0f}", f"{q['p95'] * 1000:.0f}",
                      f"{q['max'] * 1000:.0f}")
    con.print(table)
    con.print(
        f"outcome [bold]{log['outcome']}[/bold]; {log['mqtt_messages']} MQTT messages; "
        f"{log['audio_s']:.0f} s of audio in {log['elapsed_s']:.0f} s; files in {out}/"
    )
