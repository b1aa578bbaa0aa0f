"""End-of-speech → first-reply-audio latency, per-stage breakdown, barge-in reaction time and
false barge-ins, over spoken conversations through the real session.

Customers are voiced by espeak-ng (several voices, none the bot's) and by the real recordings in
../shared/data/audio; the bot runs the bundled Whisper and Piper models, the rules dialogue and a
simulated home on an embedded broker. Calls run over a virtual full-duplex line at real-time pace
with the bot's own voice echoing into the microphone (speakerphone), plus cough-like noise bursts
while the bot speaks. "True" latency is measured on the line: from the end of the customer's voice
in the clip to the moment the first reply audio sounds.

    .venv/bin/python benchmarks/bench_latency.py [--echo 0.5] [--calls N]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from voicebot.audio import read_audio  # noqa: E402
from voicebot.channels.virtual import Cue, VirtualLine  # noqa: E402
from voicebot.demo import SHARED_AUDIO, espeak  # noqa: E402
from voicebot.metrics import Metrics, quantiles  # noqa: E402
from voicebot.session import Session  # noqa: E402
from voicebot.turns import SessionResult  # noqa: E402

VOICES = ["en-us", "en-gb", "en-us+f3", "en-us+m3", "en-gb-x-rp+f2", "en-us+m7"]

# Each call: (text or recording file, kind). kind: "say" waits for the bot; "barge" talks over the
# reply before it; "cough" is a noise burst during the reply (must not stop it).
CALLS: list[list[tuple[str, str]]] = [
    [
        ("Turn on the kitchen light.", "say"),
        ("file:would_you_please_turn_on_living_room_lamp.wav", "say"),
        ("What can you do?", "say"),
        ("Stop. Turn off the kitchen light.", "barge"),
        ("What is the temperature in the living room?", "say"),
        ("cough", "cough"),
        ("Is the front door locked?", "say"),
        ("file:turn_on_living_room_lamp.wav", "say"),
    ],
    [
        ("Turn off the floor lamp.", "say"),
        ("file:what_time_is_it.wav", "say"),
        ("Am I talking to a robot?", "say"),
        ("Okay, that is fine.", "barge"),
        ("Turn on the hallway light.", "say"),
        ("cough", "cough"),
        ("Set the thermostat to twenty two degrees.", "say"),
        ("Turn off the hallway light.", "say"),
    ],
    [
        ("Switch on the coffee machine.", "say"),
        ("What can you do?", "say"),
        ("Wait, switch off the coffee machine.", "barge"),
        ("Close the living room blinds.", "say"),
        ("cough", "cough"),
        ("Open the living room blinds.", "say"),
        ("file:would_you_please_turn_on_living_room_lamp.wav", "say"),
        ("Turn off the kitchen light.", "say"),
    ],
    [
        ("Turn on the desk fan.", "say"),
        ("Turn off the desk fan.", "say"),
        ("What is the temperature in the bedroom?", "say"),
        ("file:turn_on_living_room_lamp.wav", "say"),
        ("Is the garage door open?", "say"),
        ("Turn off the floor lamp.", "say"),
        ("Turn on the bedroom light.", "say"),
        ("file:stereo_diarization_right.wav", "say"),
        ("Turn off the bedroom light.", "say"),
        ("Thanks, goodbye.", "say"),
    ],
]


def cough(seed: int) -> np.ndarray:
    """A cough-like burst: 250 ms of shaped, band-limited noise (loud, voiced-looking to a VAD, no pitch)."""
    rng = np.random.default_rng(seed)
    n = 4000
    noise = rng.normal(0, 1, n + 64)
    kernel = np.hanning(9)
    noise = np.convolve(noise, kernel / kernel.sum(), mode="same")[:n]
    env = np.exp(-np.linspace(0, 5, n)) * np.minimum(1, np.linspace(0, 8, n))
    return (noise / np.abs(noise).max() * env * 12000).astype(np.int16)


def build_cues(call: list[tuple[str, str]], voice_offset: int) -> list[Cue]:
    cues = []
    for i, (what, kind) in enumerate(call):
        if kind == "cough":
            cues.append(Cue(cough(i + voice_offset), "<cough>", after="reply_start", delay_s=0.8, cough=True))
            continue
        if what.startswith("file:"):
            pcm = read_audio(SHARED_AUDIO / what[5:])
            text = what[5:]
        else:
            pcm = espeak(what, VOICES[(i + voice_offset) % len(VOICES)])
            text = what
        if kind == "barge":
            cues.append(Cue(pcm, text, after="reply_start", delay_s=1.0))
        else:
            cues.append(Cue(pcm, text))
    return cues


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--echo", type=float, default=0.5, help="echo gain of the bot's voice into the mic")
    ap.add_argument("--calls", type=int, default=len(CALLS))
    ap.add_argument("--json", type=Path, help="also write the raw per-turn figures here")
    args = ap.parse_args()

    from voicebot.demo import demo_home
    from voicebot.runtime import build_runtime

    t0 = time.monotonic()
    rt = build_runtime(home=demo_home(), simulate=True, store_path=":memory:", models=True)
    print(f"stack up and models warm in {time.monotonic() - t0:.1f} s; broker {rt.broker_url}")
    metrics = Metrics()
    rows: list[dict] = []
    barge_truth: list[float] = []
    false_barge = 0
    barge_missed = 0
    coughs = 0
    try:
        for c, call in enumerate(CALLS[: args.calls]):
            cues = build_cues(call, c)
            line = VirtualLine(cues, echo_gain=args.echo, seed=c)
            conv = rt.conversation(channel="bench")
            session = Session(line, conv, rt.transcriber, rt.synthesizer, rt.settings, metrics=metrics)
            line.busy = session.busy
            result: SessionResult = asyncio.run(session.run())
            call_rows = _turn_rows(result, cues, line)
            for r in call_rows:
                r["call"] = c + 1
            rows += call_rows
            fb, truth, missed, nc = _barge_figures(cues, line)
            false_barge += fb
            barge_truth += truth
            barge_missed += missed
            coughs += nc
            print(f"call {c + 1}: {len(call_rows)} turns answered, {len(truth)} barge-ins, outcome {result.outcome}",
                  flush=True)
    finally:
        rt.close()
    _report(rows, metrics, barge_truth, false_barge, barge_missed, coughs, args)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1, default=str))


def _turn_rows(result: SessionResult, cues: list[Cue], line: VirtualLine) -> list[dict]:
    rows = []
    spoken = [c for c in cues if not c.cough and c.speech_end is not None]
    for t in result.turns:
        if t.ignored or t.timings.first_audio is None:
            continue
        # The cue whose voice ended closest before the session's end-of-speech.
        cue = min(spoken, key=lambda c: abs((c.speech_end or 0) - t.end))
        sounding = [s for s in line.log.reply_starts if s >= (cue.speech_end or 0)]
        true_latency = (sounding[0] - cue.speech_end) if sounding and cue.speech_end is not None else None
        rows.append(
            {
                "user": t.user_text,
                "said": cue.text,
                "true_first_audio": true_latency,
                **t.timings.as_dict(),
            }
        )
    return rows


def _barge_figures(cues: list[Cue], line: VirtualLine) -> tuple[int, list[float], int, int]:
    """False barge-ins (cuts with no customer voice starting just before), true reaction times,
    barge-in cues that never stopped the bot, and coughs played."""
    barges = [c for c in cues if c.after == "reply_start" and not c.cough and c.onset is not None]
    coughs = [c for c in cues if c.cough and c.onset is not None]
    reactions, used, matched = [], set(), 0
    for cut in line.log.cuts:
        match = [c for c in barges if c.onset is not None and 0 <= cut.at - c.onset < 1.0]
        if not match:
            continue
        matched += 1
        # The reaction is the first cut after the voice began; a later cut on the same cue is the
        # customer still talking over the bot's answer to the first half ("Stop." … "turn off …").
        if id(match[0]) not in used:
            reactions.append(cut.at - match[0].onset)
            used.add(id(match[0]))
    false = len(line.log.cuts) - matched
    missed = len([c for c in barges if id(c) not in used])
    return false, reactions, missed, len(coughs)


def _ms(q: dict[str, float]) -> str:
    return f"p50 {q['p50'] * 1000:6.0f} ms   p95 {q['p95'] * 1000:6.0f} ms   max {q['max'] * 1000:6.0f} ms"


def _report(rows, metrics, barge_truth, false_barge, barge_missed, coughs, args) -> None:
    true = [r["true_first_audio"] for r in rows if r.get("true_first_audio") is not None]
    print()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} "
          "(shared with other jobs)")
    print(f"answered turns: {len(rows)}  (echo gain {args.echo}, real-time pace)")
    if true:
        print(f"end of voice → first reply audio sounding (true, on the line): {_ms(quantiles(true))}")
    summary = metrics.summary()
    print("per stage, seconds after the end of speech as the endpointer saw it:")
    for name in ("endpoint", "transcript", "reply_text", "first_audio", "transcribe_s", "dialogue_s", "synth_first_s"):
        if name in summary:
            print(f"  {name:14s} {_ms(summary[name])}")
    spec = sum(1 for r in rows if r.get("speculative"))
    quick = sum(1 for r in rows if r.get("end_reason") == "quick")
    print(f"speculative transcript used in {spec}/{len(rows)} turns; quick end of turn in {quick}/{len(rows)}")
    if barge_truth:
        print(f"barge-in: voice start → playback stopped: {_ms(quantiles(barge_truth))} over {len(barge_truth)}")
    print(f"barge-ins missed: {barge_missed}; false barge-ins (echo, coughs): {false_barge} "
          f"(with {coughs} cough bursts played over the bot)")


if __name__ == "__main__":
    main()
