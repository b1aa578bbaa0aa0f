"""Barge-in detection alone, over many voices, echo levels and rooms: reaction time from the
customer's first sound to the decision, barge-ins missed, and false barge-ins on coughs, claps,
a mains hum, the bot's echo alone, and the echo path changing mid-reply.

Each case plays the bot's Piper reply back into the microphone (delayed 40 ms and smeared, as on
the demo's virtual line; "reverberant" adds a 50 ms diffuse tail the 8-tap echo filter cannot
model) with the customer's interruption (espeak-ng, six voices, ten phrases) starting 1 s into it,
and runs `EchoCanceller` + `BargeInDetector` frame by frame as the session does. Two gates are
compared in the same run: the current one (voice above the canceller's learnt leftover and the
room's noise floor) and the earlier one (voice above the predicted echo itself).

    .venv/bin/python benchmarks/bench_bargein.py [--quick]
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from voicebot.bargein import ECHO_HISTORY_MS, BargeInDetector, EchoCanceller, rms  # noqa: E402
from voicebot.channels.virtual import voiced_extent  # noqa: E402
from voicebot.demo import espeak  # noqa: E402

RATE, FRAME = 16000, 480
HISTORY = RATE * ECHO_HISTORY_MS // 1000
PHRASES = ["Stop.", "Wait.", "Okay, that is fine.", "Wait, switch off the coffee machine.", "No, stop.", "Hang on.",
           "Actually, turn on the kitchen light.", "Sorry, what?", "Hold on a second.", "Thanks, that's enough."]
VOICES = ["en-us", "en-gb", "en-us+f3", "en-us+m3", "en-gb-x-rp+f2", "en-us+m7"]
REPLIES = [
    "I can switch your lights, check your heating and thermostat, lock doors and help you fix a device "
    "that does not work. What would you like me to do now?",
    "Yes, I am an automated assistant. I can put you through to a person at any time: just say so.",
    "Done, the coffee machine is on. Is there anything else I can do for you today?",
    "The living room is at twenty one degrees and the thermostat is set to twenty two.",
]


def cough(seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    n = 4000
    noise = np.convolve(rng.normal(0, 1, n + 64), np.hanning(9) / np.hanning(9).sum(), mode="same")[:n]
    env = np.exp(-np.linspace(0, 5, n)) * np.minimum(1, np.linspace(0, 8, n))
    return noise / np.abs(noise).max() * env * 12000


def clap(seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.normal(0, 1, 1600) * np.exp(-np.linspace(0, 8, 1600)) * 15000


def room_path(reverberant: bool) -> np.ndarray:
    path = np.zeros(643)
    path[640:] = [0.6, 0.3, 0.1]  # 40 ms late, slightly smeared
    if reverberant:
        tail = np.exp(-np.arange(800) / 200.0) * 0.03 * np.random.default_rng(3).normal(0, 1, 800)
        path = np.concatenate([path, tail])
    return path


@dataclass
class Case:
    bot: np.ndarray
    path: np.ndarray
    gain: float
    background: np.ndarray | None = None  # the room's own sound under everything (a hum)


def run(case: Case, user: np.ndarray | None, leftover_gate: bool, start_s: float = 1.0) -> float | None:
    """Seconds from the customer's first sound to the barge-in (from the reply's start when
    there is no customer), or None when nothing stopped the bot."""
    n = int((start_s + 3.0) * RATE)
    played = np.zeros(n)
    played[: min(n, case.bot.size)] = case.bot[:n]
    mic = case.gain * np.convolve(played, case.path)[:n] + np.random.default_rng(0).normal(0, 8, n)
    if case.background is not None:
        mic += np.resize(case.background, n)
    s, onset = int(start_s * RATE), 0.0
    if user is not None:
        part = user[: n - s]
        mic[s : s + part.size] += part
        onset = start_s + voiced_extent(part.astype(np.int16))[0]
    ref = np.concatenate([np.zeros(HISTORY), played])
    canceller, detector = EchoCanceller(), BargeInDetector(min_voiced_ms=120, frame_ms=30)
    lead = case.background if case.background is not None else np.random.default_rng(1).normal(0, 8, RATE)
    for i in range(0, RATE - FRAME, FRAME) if leftover_gate else ():  # it listened before the bot spoke
        detector.track_floor(rms(lead[i : i + FRAME]))
    for i in range(0, n - FRAME, FRAME):
        frame = np.clip(mic[i : i + FRAME], -32768, 32767).astype(np.int16)
        clean, echo_rms = canceller.process(frame, ref[i : i + FRAME + HISTORY])
        if leftover_gate:
            detector.track_floor(rms(clean))
        leftover = canceller.leftover(echo_rms) if leftover_gate and echo_rms > 0 else None
        if detector.feed(clean, echo_rms, i / RATE, leftover) is not None:
            return (i + FRAME) / RATE - onset
    return None


def hum(seconds: float) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    x = sum(np.sin(2 * np.pi * 120 * k * t + k) / k for k in range(1, 8))
    return np.asarray(x / np.sqrt(np.mean(x**2)) * 400)


def path_changes(replies: list[np.ndarray], leftover_gate: bool) -> tuple[int, int]:
    """False barge-ins when the echo path changes abruptly mid-reply (the phone is moved, a door
    opens): four new paths, switched in at four moments of two replies; (false, cases)."""
    false = cases = 0
    before = np.zeros(643)
    before[640:] = [0.6, 0.3, 0.1]
    for bot in replies[:2]:
        for at in (1.0, 1.5, 2.0, 2.5):
            for delay, gain, smear in ((960, 0.8, [0.6, 0.3, 0.1]), (320, 1.2, [0.3, 0.4, 0.3]),
                                       (640, 0.5, [0.2] * 5), (1200, 1.0, [1.0])):
                cases += 1
                after = np.zeros(delay + len(smear))
                after[delay:] = smear
                c = int(at * RATE)
                mic = np.concatenate([0.5 * np.convolve(bot, before)[:c], 0.5 * gain * np.convolve(bot, after)[c : bot.size]])
                mic += np.random.default_rng(0).normal(0, 8, bot.size)
                ref = np.concatenate([np.zeros(HISTORY), bot])
                canceller, detector = EchoCanceller(), BargeInDetector()
                for i in range(0, bot.size - FRAME, FRAME):
                    clean, echo_rms = canceller.process(np.clip(mic[i : i + FRAME], -32768, 32767).astype(np.int16),
                                                        ref[i : i + FRAME + HISTORY])
                    if leftover_gate:
                        detector.track_floor(rms(clean))
                    leftover = canceller.leftover(echo_rms) if leftover_gate and echo_rms > 0 else None
                    if detector.feed(clean, echo_rms, i / RATE, leftover) is not None:
                        false += 1
                        break
    return false, cases


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="two voices instead of six")
    args = ap.parse_args()
    from voicebot.config import Settings
    from voicebot.models import load_synthesizer

    synth = load_synthesizer(Settings())
    replies = [np.concatenate([c.pcm for c in synth.synthesize(t, RATE)]).astype(np.float64) for t in REPLIES]
    voices = VOICES[:2] if args.quick else VOICES
    users = [(p, v, espeak(p, v).astype(np.float64)) for p in PHRASES for v in voices]
    print(f"{len(users)} interruptions ({len(PHRASES)} phrases x {len(voices)} espeak-ng voices), "
          "40 coughs, 20 claps, 8 stretches of echo alone per row, and 4 of a mains hum on a line with no echo")
    print(f"{'room':12s} {'echo':>4s} {'gate':9s} {'p50':>6s} {'p95':>6s} {'max':>6s} {'missed':>7s} "
          f"{'coughs':>7s} {'claps':>6s} {'echo':>5s} {'hum':>4s}")
    for room in ("line", "reverberant"):
        for gain in (0.5, 1.0):
            for gate in ("leftover", "echo"):
                _row(room, gain, gate, replies, users)
    for gate in ("leftover", "echo"):
        false, cases = path_changes(replies, gate == "leftover")
        print(f"echo path changing abruptly mid-reply, {gate} gate: {false}/{cases} false barge-ins")


def _row(room: str, gain: float, gate: str, replies: list[np.ndarray],
         users: list[tuple[str, str, np.ndarray]]) -> None:
    path = room_path(room == "reverberant")

    def case(j: int, background: np.ndarray | None = None) -> Case:
        return Case(replies[j % len(replies)], path, gain, background)

    leftover = gate == "leftover"
    times, missed = [], 0
    for j, (_, _, pcm) in enumerate(users):
        r = run(case(j), pcm, leftover)
        if r is None:
            missed += 1
        else:
            times.append(r)

    def false(make: Callable[[int], np.ndarray | None], count: int) -> int:
        return sum(run(case(j), make(j), leftover) is not None for j in range(count))

    coughs = false(cough, 40)
    claps = false(clap, 20)
    echo_alone = sum(run(case(j), None, leftover, start_s=s) is not None for j in range(4) for s in (1.0, 2.0))
    # the hum on a line with no echo of the bot (a headset, a phone): only the room is heard
    hums = sum(run(Case(replies[j], path, 0.0, hum(4.0)), None, leftover) is not None for j in range(4))
    q = np.percentile(np.array(times) * 1000, [50, 95, 100]) if times else [np.nan] * 3
    print(f"{room:12s} {gain:4.1f} {gate:9s} {q[0]:4.0f}ms {q[1]:4.0f}ms {q[2]:4.0f}ms {missed:4d}/{len(users)} "
          f"{coughs:4d}/40 {claps:3d}/20 {echo_alone:3d}/8 {hums:2d}/4", flush=True)


if __name__ == "__main__":
    main()
