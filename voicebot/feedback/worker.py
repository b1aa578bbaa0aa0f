"""A running feedback worker: settings → store, models, follow-ups and the MQTT channel."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from voicebot.channels.feedback import FeedbackChannel
from voicebot.config import Settings, section
from voicebot.feedback.followup import FollowUp
from voicebot.feedback.ingest import FeedbackIngest
from voicebot.feedback.metrics import FeedbackMetrics
from voicebot.feedback.recognise import transcriber_picker
from voicebot.feedback.settings import FeedbackSettings, feedback_settings, store_path
from voicebot.feedback.store import FeedbackStore
from voicebot.store_admin import RetentionPruner
from voicebot.store_crypto import StoreSettings

log = logging.getLogger(__name__)


@dataclass
class FeedbackWorker:
    channel: FeedbackChannel
    store: FeedbackStore
    followup: FollowUp
    retention: RetentionPruner | None = None  # store.retention_days, applied while the worker runs

    def run(self, stop: threading.Event, housekeeping_s: float = 60.0,
            on_listening: Callable[[], None] | None = None) -> None:
        """Serve until ``stop`` is set; forgets abandoned streamed uploads now and then.
        ``on_listening`` runs once the subscription is in place (or the broker could not be reached
        yet), so "listening" is never announced while a device's clip would still find no one."""
        fs: FeedbackSettings = self.channel.fs
        self.channel.start()
        if on_listening is not None:
            on_listening()
        if self.retention is not None:
            self.retention.start()
        try:
            next_sweep = 0.0
            while not stop.wait(0.5):
                if time.monotonic() >= next_sweep:
                    gone = self.store.expire_uploads(fs.upload_ttl_s)
                    if gone:
                        log.info("forgot %d unfinished streamed uploads older than %.0f s", gone, fs.upload_ttl_s)
                    next_sweep = time.monotonic() + housekeeping_s
        finally:
            self.close()

    def close(self) -> None:
        if self.retention is not None:
            self.retention.stop()
        self.channel.stop()
        self.followup.close()
        self.store.close()


def build_worker(
    settings: Settings,
    broker: str,
    worker_id: str | None,
    warm: bool = True,
    fs: FeedbackSettings | None = None,
    metrics_port: int | None = None,
) -> FeedbackWorker:
    """A worker ready to ``run``; ``fs`` overrides the configuration's feedback section."""
    fs = fs or feedback_settings(settings)
    path = store_path(fs, settings)
    store_settings = section(StoreSettings, "store", settings)
    store = FeedbackStore(path, store_settings=store_settings)
    pick = transcriber_picker(settings, fs)
    if warm:
        pick(None)  # load the default model now, not on the first clip
    channel_box: list[FeedbackChannel] = []
    followup = FollowUp(fs, path, publish=lambda topic, payload: channel_box[0].publish(topic, payload))
    ingest = FeedbackIngest(fs, store, pick, followup, worker_id or "")
    m = settings.mqtt
    channel = FeedbackChannel(
        broker, ingest, worker_id, m.username, m.password, m.ca_file, m.cert_file, m.key_file
    )
    ingest.worker = channel.worker_id
    _resolve(channel.host, channel.port)
    channel_box.append(channel)
    if metrics_port is not None:
        metrics = FeedbackMetrics()
        metrics.serve(metrics_port)
        channel.on_ack = metrics.observe
    return FeedbackWorker(channel, store, followup, RetentionPruner(store, store_settings))


def _resolve(host: str, port: int) -> None:
    """A broker name that does not resolve is a configuration mistake, not an outage to wait out."""
    import socket

    from device_bridge.client import ConnectionSettingsError

    try:
        socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise ConnectionSettingsError(f"the broker host {host!r} cannot be resolved ({exc.strerror})") from None
