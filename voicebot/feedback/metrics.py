"""Prometheus metrics of one feedback worker: acknowledgements by status and error code, and
how long clips take from arrival to ack. ``voicebot feedback --metrics-port N`` serves them."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram, start_http_server

from voicebot.feedback.messages import Ack


class FeedbackMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        self.acks = Counter(
            "voicebot_feedback_acks",
            "Acknowledgements sent to devices",
            ["status", "error"],
            registry=self.registry,
        )
        self.seconds = Histogram(
            "voicebot_feedback_clip_seconds",
            "Message arrival → acknowledgement, for messages that got an ack",
            buckets=(0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0, 20.0, 60.0),
            registry=self.registry,
        )

    def observe(self, ack: Ack, seconds: float) -> None:
        self.acks.labels(ack.status, ack.error or "").inc()
        self.seconds.observe(seconds)

    def serve(self, port: int, host: str = "127.0.0.1") -> None:
        start_http_server(port, addr=host, registry=self.registry)
