"""End-of-speech → first-reply-audio latency, per-stage breakdown, barge-in reaction time and
false barge-ins, over spoken conversations through the real session.

Customers are voiced by espeak-ng (several voices, none the bot's) and by the real recordings in
../shared/data/audio; the bot runs the bundled Whisper and Piper models, the rules dialogue and a
simulated home on an embedded broker. Calls run over a virtual full-duplex line at real-time pace
with the bot's own voice echoing into the microphone (speakerphone), plus cough-like noise bursts
while the bot speaks. "True" latency is measured on the line: from the end of the customer's voice
in the clip to the moment the first reply audio sounds.

    .venv/bin/python benchmarks/bench_latency.py [--echo 0.5] [--calls N]
    .venv/bin/python benchmarks/bench_latency.py --endpointing [--fell-end-ms 0] [--complete-end-ms 0]
    .venv/bin/python benchmarks/bench_latency.py --dialogue

``--dialogue`` times the dialogue alone (the same turns as text, through a runtime started as the
services start it) and the garbage collector's pauses meanwhile: where a turn's tail comes from
when it is neither hearing nor speaking.

``--endpointing`` runs only the end-of-turn decision, in audio time (so the machine's load does not
matter), over the same recordings and spoken turns plus sentences with a pause inside them:
how long after the end of the voice each turn was ended, and how many sentences were cut off at
a pause inside them (a turn ended there). The transcription at each pause is taken as instant
(it is what the live session's speculative transcription gives when it is done in time).
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
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from voicebot.audio import read_audio  # noqa: E402
from voicebot.channels.virtual import Cue, VirtualLine, voiced_extent  # noqa: E402
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


# Sentences with a pause inside (``|``, said with each pause of PAUSES_S): a turn that ends at it
# cuts the caller off. espeak-ng says each half on its own; the comma gives the first half the level or rising
# pitch of a speaker who is not done (without it espeak-ng would end it with a statement's fall).
PAUSED = [
    "Turn on the, | kitchen light.",
    "Turn on the light, | in the kitchen.",
    "Set the thermostat, | to twenty two degrees.",
    "Is the front door, | locked?",
    "My lamp keeps flickering, | and it started yesterday.",
    "Switch off, | the coffee machine.",
    "What is the temperature, | in the bedroom?",
    "Close the blinds, | in the living room.",
    "I think the, | hallway light is broken.",
    "Could you, | turn off the floor lamp?",
    # A complete command with a second device joined on: its first half is a request the
    # understanding finds complete, so this is where a short complete end would cut.
    "Turn off the kitchen light, | and the hallway light.",
]
PAUSES_S = (0.25, 0.6)  # shorter than today's quick end (300 ms), and longer


def endpointing(fell_end_ms: int | None, complete_end_ms: int | None, verbose: bool = False) -> None:
    """End-of-turn delay and cut-offs in audio time (see the module's doc)."""
    from device_bridge.home import load_home
    from voicebot.config import load_settings, section
    from voicebot.demo import demo_home
    from voicebot.frames import InFrame
    from voicebot.listener import HeardTurn, Listener
    from voicebot.models import load_transcriber
    from voicebot.session import SessionSettings
    from voicebot.understand import Understander
    from voicebot.understand.completeness import UnderstandingJudge

    settings = load_settings()
    opts = section(SessionSettings, "session", settings)
    # The judgement the live session wires: the understanding over the home the real-time run
    # uses (the demo home), a new conversation (no question pending), no speaker area.
    home = load_home(demo_home())
    devices, areas = [hd.device for hd in home.devices], list(home.areas)
    understander = Understander(lambda: devices, lambda: areas)
    understander.warm_up()
    judge = _TimedJudge(UnderstandingJudge(understander)) if complete_end_ms else None
    listen = settings.listen.model_copy(update={"end_silence_ms": opts.end_silence_ms, "pause_ms": opts.pause_ms})
    transcriber = load_transcriber(settings)
    clips: list[tuple[str, np.ndarray, int]] = []  # (what, audio, pauses inside the sentence)
    for f in sorted([*SHARED_AUDIO.glob("*.wav"), *SHARED_AUDIO.glob("*.flac")]):
        clips.append((f.name, read_audio(f), 0))
    said = sorted({w for call in CALLS for w, kind in call if kind in ("say", "barge") and not w.startswith("file:")})
    for i, text in enumerate(said):
        clips.append((text, espeak(text, VOICES[i % len(VOICES)]), 0))
    for i, text in enumerate(PAUSED):
        parts = [_trim(espeak(p.strip(), VOICES[(i + k) % len(VOICES)])) for k, p in enumerate(text.split("|"))]
        for gap_s in PAUSES_S:
            gap = np.zeros(int(gap_s * 16000), np.int16)
            clips.append((text.replace("|", f"{gap_s * 1000:.0f} ms"), np.concatenate([parts[0], gap, parts[1]]), 1))
    delays: list[float] = []
    plain: list[float] = []  # the clips said in one go
    cut = turns_total = 0
    reasons: dict[str, int] = {}
    for what, pcm, _inner in clips:
        if ". " in what or what.startswith("stereo_"):
            continue  # several sentences (or speakers): a turn per sentence is right
        audio = np.concatenate([np.zeros(4800, np.int16), _trim(pcm), np.zeros(32000, np.int16)])
        listener = Listener(transcriber, listen, speculate="now", quick_end_ms=opts.quick_end_ms,
                            fell_end_ms=fell_end_ms, held_end_ms=opts.held_end_ms, judge=judge,
                            complete_end_ms=complete_end_ms, incomplete_end_ms=opts.incomplete_end_ms)
        ends: list[HeardTurn] = []
        heard = len(judge.said) if judge is not None else 0
        for k in range(0, len(audio) - 479, 480):
            ends += [e for e in listener.feed(InFrame(audio[k : k + 480])) if isinstance(e, HeardTurn)]
        ends += [e for e in listener.flush() if isinstance(e, HeardTurn)]
        turns_total += len(ends)
        for e in ends:
            reasons[e.reason] = reasons.get(e.reason, 0) + 1
        # One sentence, so every turn but the last ended at a pause inside it: a cut-off. The
        # delay is the session's "endpoint" figure: from the end of speech the endpointer saw.
        cut += max(0, len(ends) - 1)
        if ends:
            delays.append(ends[-1].decided - ends[-1].end)
            if not _inner:
                plain.append(delays[-1])
        print(f"  {what[:48]:48s} turns {len(ends)} {'CUT' if len(ends) > 1 else '   '} "
              f"end +{(ends[-1].decided - ends[-1].end) * 1000 if ends else float('nan'):5.0f} ms ({', '.join(e.reason for e in ends)})")
        if verbose and judge is not None:
            print("      " + "; ".join(judge.said[heard:]))
    q = quantiles(delays)
    print(f"\nendpointing over {len(delays)} one-sentence clips ({sum(c[2] for c in clips)} with a pause inside), "
          f"quick_end_ms={opts.quick_end_ms}, fell_end_ms={fell_end_ms}, held_end_ms={opts.held_end_ms}, "
          f"complete_end_ms={complete_end_ms}, incomplete_end_ms={opts.incomplete_end_ms if complete_end_ms else None}:")
    print(f"  end of voice → turn ended (audio time): {_ms(q)}")
    print(f"  the same, {len(plain)} clips said without a pause inside: {_ms(quantiles(plain))}")
    print(f"  cut-offs (a turn ended inside a sentence): {cut}; turns: {turns_total}; end reasons: {reasons}")
    if judge is not None:
        said = ", ".join(f"{k} {v}" for k, v in sorted(judge.verdicts.items()))
        print(f"  the understanding's judgement at {len(judge.took)} pauses: {said}; "
              f"it took (CPU) {_ms(quantiles(judge.took))}")


class _TimedJudge:
    """The judge, counting its verdicts and the CPU time each took."""

    def __init__(self, judge: Any) -> None:
        self.judge = judge
        self.verdicts: dict[str, int] = {}
        self.took: list[float] = []
        self.said: list[str] = []  # each pause's transcript and verdict

    def completeness(self, text: str) -> str | None:
        t0 = time.process_time()
        verdict: str | None = self.judge.completeness(text)
        self.took.append(time.process_time() - t0)
        self.said.append(f"{text.strip()!r}: {verdict}")
        self.verdicts[str(verdict)] = self.verdicts.get(str(verdict), 0) + 1
        return verdict


def dialogue_only() -> None:
    """Each turn of CALLS as text through a fresh conversation per call (see the module's doc)."""
    import gc

    from voicebot.demo import demo_home
    from voicebot.runtime import build_runtime

    pauses: list[tuple[int, float]] = []
    started: list[float] = [0.0]

    def on_gc(phase: str, info: dict) -> None:
        if phase == "start":
            started[0] = time.perf_counter()
        else:
            pauses.append((info["generation"], time.perf_counter() - started[0]))

    rt = build_runtime(home=demo_home(), simulate=True, store_path=":memory:", models=True)
    gc.callbacks.append(on_gc)
    took: list[tuple[float, str]] = []
    try:
        for call in CALLS:
            conv = rt.conversation(channel="bench")
            conv.greet()
            for what, kind in call:
                if kind == "cough":
                    continue
                text = what[5:].rsplit(".", 1)[0].replace("_", " ") if what.startswith("file:") else what
                t0 = time.perf_counter()
                conv.handle(text)
                took.append((time.perf_counter() - t0, text))
            conv.end("abandoned")
    finally:
        gc.callbacks.remove(on_gc)
        rt.close()
    print(f"dialogue alone over {len(took)} turns: {_ms(quantiles([t for t, _ in took]))}")
    for t, text in sorted(took, reverse=True)[:3]:
        print(f"  {t * 1000:6.0f} ms  {text}")
    full = [d for g, d in pauses if g == 2]
    print(f"garbage collections meanwhile: {len(pauses)}, full ones {len(full)}"
          + (f", longest full {max(full) * 1000:.0f} ms" if full else ""))


def _trim(pcm: np.ndarray) -> np.ndarray:
    """The clip without its silent or noisy ends (espeak-ng and recordings pad them): from the
    first to the last 10 ms within 35 dB of the loudest."""
    n = len(pcm) // 160
    level = 10 * np.log10(np.mean(pcm[: n * 160].astype(np.float32).reshape(n, 160) ** 2, axis=1) + 1.0)
    voice = np.flatnonzero(level > level.max() - 35.0)
    return pcm[voice[0] * 160 : (voice[-1] + 1) * 160] if voice.size else pcm


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--echo", type=float, default=0.5, help="echo gain of the bot's voice into the mic")
    ap.add_argument("--calls", type=int, default=len(CALLS))
    ap.add_argument("--json", type=Path, help="also write the raw per-turn figures here")
    ap.add_argument("--endpointing", action="store_true", help="only the end-of-turn decision, in audio time")
    ap.add_argument("--dialogue", action="store_true", help="only the dialogue, the turns as text")
    ap.add_argument("--fell-end-ms", type=int, default=-1,
                    help="with --endpointing: silence that ends a finished turn whose voice fell (0: off; default: the session's)")
    ap.add_argument("--complete-end-ms", type=int, default=-1,
                    help="with --endpointing: silence that ends a request the understanding finds complete "
                         "(0: no judgement, the words and voice alone; default: the session's)")
    ap.add_argument("--verbose", action="store_true", help="with --endpointing: each pause's transcript and judgement")
    args = ap.parse_args()
    if args.dialogue:
        dialogue_only()
        return
    if args.endpointing:
        from voicebot.config import section
        from voicebot.session import SessionSettings

        opts = section(SessionSettings, "session")
        fell = (opts.fell_end_ms or None) if args.fell_end_ms < 0 else (args.fell_end_ms or None)
        complete = (opts.complete_end_ms or None) if args.complete_end_ms < 0 else (args.complete_end_ms or None)
        endpointing(fell, complete, args.verbose)
        return

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
    answered = [t for t in result.turns if not t.ignored and t.timings.first_audio is not None]
    for k, t in enumerate(answered):
        # The cue whose words ended closest to the session's end of speech.
        cue = min(spoken, key=lambda c: abs(_words_end(c) - t.end))
        voice_end = _words_end(cue)
        # The reply to this turn cannot sound before the session ended the turn (its end of
        # speech plus the endpoint delay): a reply sounding earlier answered an earlier turn.
        # (Matching from the cue's voice end instead once took the NEXT turn's reply: the
        # recording's noise after its words put that "end" after the session's end of speech.)
        # Nor, as this turn's, after the next answered turn was ended: a reply cut off before it
        # sounded (the caller went on) would otherwise be measured to the next turn's reply.
        decided = t.end + (t.timings.endpoint or 0.0)
        later = answered[k + 1] if k + 1 < len(answered) else None
        before = later.end + (later.timings.endpoint or 0.0) if later is not None else float("inf")
        sounding = [s for s in line.log.reply_starts if decided <= s < before]
        true_latency = (sounding[0] - voice_end) if sounding else None
        timings = t.timings.as_dict()
        # Where the true latency goes beyond the session's own stages: the endpointer places the
        # end of speech after the voice's last quiet sounds (its frames are 30 ms), and a reply's
        # first audio sounds at the line's next frame.
        vad_tail = t.end - voice_end
        first = timings.get("first_audio")
        to_line = (true_latency - vad_tail - first) if None not in (true_latency, first) else None
        rows.append(
            {
                "user": t.user_text,
                "said": cue.text,
                "true_first_audio": true_latency,
                "vad_tail": vad_tail,
                "to_line": to_line,
                **timings,
            }
        )
    return rows


# Sound after the words that is no word: a stretch whose loud part is shorter than a syllable,
# after a silence longer than a stop consonant's closure (the shared recording what_time_is_it.wav
# has two such bursts, 70 and 90 ms, 0.26 s and 0.5 s after its last word).
BURST_MAX_S = 0.12
BURST_GAP_S = 0.15


def _words_end(cue: Cue) -> float:
    """Line time the cue's words end: ``voiced_extent``'s end (the last 10 ms above the noise
    floor, which is what the virtual line records) less any trailing noise bursts (above)."""
    assert cue.speech_end is not None
    _, end = voiced_extent(cue.pcm)
    return cue.speech_end - end + _without_bursts(cue.pcm, end)


def _without_bursts(pcm: np.ndarray, end: float, rate: int = 16000) -> float:
    win = rate // 100
    n = pcm.size // win
    x = pcm[: n * win].astype(np.float64).reshape(n, win)
    level = np.sqrt(np.mean(x * x, axis=1))
    threshold = max(np.percentile(level, 10) * 4, level.max() * 0.04, 30.0)  # as voiced_extent
    loud = np.flatnonzero(level > threshold)
    if loud.size == 0:
        return end
    # islands of loud windows split by quiet of BURST_GAP_S or more, dropped from the end while short
    gap = int(BURST_GAP_S * 100)
    splits = np.flatnonzero(np.diff(loud) > gap)
    islands = np.split(loud, splits + 1)
    while len(islands) > 1 and islands[-1].size <= BURST_MAX_S * 100:
        islands.pop()
    return (islands[-1][-1] + 1) * win / rate


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
    if len(true) < len(rows):
        print(f"  ({len(rows) - len(true)} answered turns had no reply of their own sounding on the line "
              "between their end and the next turn's)")
    summary = metrics.summary()
    tail = [r["vad_tail"] for r in rows if r.get("vad_tail") is not None]
    if tail:
        print(f"  of which: end of voice → end of speech as the endpointer saw it: {_ms(quantiles(tail))}")
    print("per stage, seconds after the end of speech as the endpointer saw it:")
    for name in ("endpoint", "transcript", "reply_text", "first_audio", "transcribe_s", "understand_s", "dialogue_s",
                 "synth_first_s"):
        if name in summary:
            print(f"  {name:14s} {_ms(summary[name])}")
    line = [r["to_line"] for r in rows if r.get("to_line") is not None]
    if line:
        print(f"  first audio made → sounding on the line: {_ms(quantiles(line))}")
    spec = sum(1 for r in rows if r.get("speculative"))
    quick = sum(1 for r in rows if r.get("end_reason") == "quick")
    print(f"speculative transcript used in {spec}/{len(rows)} turns; quick end of turn in {quick}/{len(rows)}")
    reasons: dict[str, int] = {}
    for r in rows:
        reasons[str(r.get("end_reason"))] = reasons.get(str(r.get("end_reason")), 0) + 1
    print("  turns ended by rule (complete/incomplete: the understanding's judgement; quick/fell: the words "
          f"and voice; silence: the endpointer): {reasons}")
    if barge_truth:
        print(f"barge-in: voice start → playback stopped: {_ms(quantiles(barge_truth))} over {len(barge_truth)}")
    print(f"barge-ins missed: {barge_missed}; false barge-ins (echo, coughs): {false_barge} "
          f"(with {coughs} cough bursts played over the bot)")


if __name__ == "__main__":
    main()
