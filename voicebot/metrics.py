"""Per-stage latency histograms (prometheus-client), fed by the stage event stream.

:meth:`Metrics.follow` subscribes to a session's bus (:mod:`voicebot.events`): every finished turn
contributes its stage timings (:class:`voicebot.turns.TurnTimings`), every barge-in its reaction
time, every speculative transcription whether it was used. An optional HTTP port exposes them for
Prometheus, and :func:`summary` gives the quantiles the demo and the benchmark print.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
from prometheus_client import CollectorRegistry, Counter, Histogram, start_http_server

from voicebot.events import EventBus, Phase, Stage, StageEvent
from voicebot.turns import TurnTimings

# Seconds after the end of the user's speech at which each stage finished, plus durations.
STAGES = {
    "endpoint": "end of speech → end of turn decided",
    "transcript": "end of speech → transcript ready",
    "reply_text": "end of speech → reply text ready",
    "first_audio": "end of speech → first reply audio handed to the channel",
    "transcribe_s": "time spent transcribing (the transcript that was used)",
    "understand_s": "time spent understanding (intent and slots)",
    "dialogue_s": "time spent in the dialogue (understanding, device commands)",
    "synth_first_s": "time to synthesize the first sentence",
}
BUCKETS = (0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 1.0, 1.25, 1.5, 2.0, 3.0, 5.0)


class Metrics:
    """One registry per process (or per benchmark run), safe to feed from any thread."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        self.stage = Histogram(
            "voicebot_turn_stage_seconds",
            "Turn stage latency, seconds after the end of the user's speech (or stage duration)",
            ["stage", "channel"],
            buckets=BUCKETS,
            registry=self.registry,
        )
        self.turns = Counter("voicebot_turns", "Turns answered", ["channel"], registry=self.registry)
        self.barge_ins = Counter("voicebot_barge_ins", "Playback stopped by the user", ["channel"], registry=self.registry)
        self.barge_in_reaction = Histogram(
            "voicebot_barge_in_reaction_seconds",
            "Start of the user's voice → playback stopped (audio time)",
            ["channel"],
            buckets=(0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.6, 1.0),
            registry=self.registry,
        )
        self.speculative = Counter(
            "voicebot_speculative_transcripts", "Transcripts started at a pause", ["result"], registry=self.registry
        )
        self._lock = threading.Lock()
        self._values: dict[str, list[float]] = defaultdict(list)

    def follow(self, bus: EventBus, channel: str) -> Callable[[], None]:
        """Observe the stage events of one channel's conversation; returns the unsubscriber."""

        def on(e: StageEvent) -> None:
            if e.stage is Stage.TURN and e.phase is Phase.END and e.data["record"].ignored is None:
                self.observe_turn(channel, e.data["record"].timings)
            elif e.stage is Stage.LISTEN and e.phase is Phase.BARGE_IN:
                self.observe_barge_in(channel, e.data["reaction_s"])
            elif e.stage is Stage.TRANSCRIBE and e.phase is Phase.SPECULATION:
                self.observe_speculation(e.data["result"])

        return bus.subscribe(on)

    def observe_turn(self, channel: str, timings: TurnTimings | Mapping[str, Any]) -> None:
        if isinstance(timings, TurnTimings):
            timings = timings.as_dict()
        self.turns.labels(channel).inc()
        with self._lock:
            for stage in STAGES:
                value = timings.get(stage)
                if isinstance(value, int | float):
                    self.stage.labels(stage, channel).observe(float(value))
                    self._values[stage].append(float(value))

    def observe_barge_in(self, channel: str, reaction_s: float) -> None:
        self.barge_ins.labels(channel).inc()
        self.barge_in_reaction.labels(channel).observe(reaction_s)
        with self._lock:
            self._values["barge_in_reaction"].append(reaction_s)

    def observe_speculation(self, result: str) -> None:
        """``result``: "used", "discarded" (the user went on) or "missed" (none was ready)."""
        self.speculative.labels(result).inc()

    def summary(self) -> dict[str, dict[str, float]]:
        """Per stage: count, p50, p95, mean (seconds)."""
        with self._lock:
            values = {k: list(v) for k, v in self._values.items()}
        return {name: quantiles(v) for name, v in values.items() if v}

    def serve(self, port: int, host: str = "127.0.0.1") -> None:
        """Expose /metrics on ``host:port`` (a daemon thread)."""
        start_http_server(port, addr=host, registry=self.registry)


def quantiles(values: list[float]) -> dict[str, float]:
    a = np.asarray(values, dtype=float)
    return {
        "count": float(a.size),
        "p50": float(np.percentile(a, 50)),
        "p95": float(np.percentile(a, 95)),
        "mean": float(a.mean()),
        "max": float(a.max()),
    }


_default: Metrics | None = None
_default_lock = threading.Lock()


def default_metrics() -> Metrics:
    """The process-wide metrics that sessions report to unless given their own."""
    global _default
    with _default_lock:
        if _default is None:
            _default = Metrics()
        return _default
