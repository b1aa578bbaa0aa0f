"""Several `voicebot feedback` processes share the clips through an MQTT 5 shared subscription;
one is killed with SIGKILL mid-run and restarted under its id (as systemd does), the device
retries what was not acknowledged: every clip ends up stored exactly once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from feedback_testkit import Device

from device_bridge.broker import MosquittoBroker
from voicebot.config import Settings
from voicebot.feedback.store import FeedbackStore

VOICEBOT = str(Path(sys.executable).with_name("voicebot"))


class WorkerProcess:
    """A real `voicebot feedback` subprocess; its log is kept for the assertions' messages."""

    def __init__(self, broker: MosquittoBroker, worker_id: str, env: dict[str, str]) -> None:
        self.worker_id = worker_id
        self.lines: list[str] = []
        self.ready = threading.Event()
        self.proc = subprocess.Popen(
            [VOICEBOT, "-v", "feedback", "--broker", broker.url, "--worker-id", worker_id],
            stderr=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            text=True,
            env=env,
        )
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.append(line.rstrip())
            if "subscribed to $share/" in line:
                self.ready.set()

    def wait_ready(self, timeout: float = 60) -> None:
        assert self.ready.wait(timeout), f"worker {self.worker_id} did not start:\n" + "\n".join(self.lines[-20:])

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@pytest.fixture()
def worker_env(tmp_path: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "VOICEBOT_FEEDBACK__STORE": str(tmp_path / "voicebot.sqlite3"),
            "VOICEBOT_FEEDBACK__CHUNK_WAIT_S": "3",
            "VOICEBOT_FEEDBACK__ON_FAULT": "none",
            "XDG_DATA_HOME": os.environ.get("XDG_DATA_HOME", str(Path.home() / ".local/share")),
        }
    )
    return env


@pytest.fixture()
def processes() -> Iterator[list[WorkerProcess]]:
    started: list[WorkerProcess] = []
    yield started
    for p in started:
        p.stop()


def test_workers_share_clips_and_a_killed_worker_loses_nothing(
    own_mosquitto: MosquittoBroker,
    worker_env: dict[str, str],
    processes: list[WorkerProcess],
    spoken_clips: dict[str, bytes],
    recordings: dict[str, bytes],
    tmp_path: Path,
) -> None:
    a = WorkerProcess(own_mosquitto, "worker-a", worker_env)
    b = WorkerProcess(own_mosquitto, "worker-b", worker_env)
    processes += [a, b]
    a.wait_ready()
    b.wait_ready()

    clips: dict[str, bytes] = {f"s-{k}": v for k, v in spoken_clips.items()}
    clips["r-lamp"] = recordings["turn_on_living_room_lamp"]
    clips["r-time"] = recordings["what_time_is_it"]
    streamed = {"s-offline", "s-update", "r-time"}  # their chunks alternate between the workers
    device = Device(own_mosquitto, "device-fleet")

    def send(clip_id: str) -> None:
        if clip_id in streamed:
            device.stream("fleet-1", clip_id, clips[clip_id], chunk=8000)
        else:
            device.send_clip("fleet-1", clip_id, clips[clip_id])

    sent_at = {}
    for clip_id in clips:
        send(clip_id)
        sent_at[clip_id] = time.monotonic()

    # Kill worker A with SIGKILL as soon as it has stored one clip: it holds more, unacknowledged.
    deadline = time.monotonic() + 60
    while not any(x.get("worker") == "worker-a" and x["status"] == "stored" for x in device.all_acks):
        assert time.monotonic() < deadline, f"worker A stored nothing: {device.all_acks}\n" + "\n".join(a.lines)
        time.sleep(0.05)
    a.kill()
    killed_at = time.monotonic()
    final_at_kill = {x["clip_id"] for x in device.all_acks if x["status"] in ("stored", "duplicate")}
    assert len(final_at_kill) < len(clips) - 2, "the kill came too late to be mid-run"

    # The device retries every clip it has no final answer for; systemd brings A back after a while.
    done: set[str] = set()
    restarted = False
    deadline = time.monotonic() + 90
    while done != set(clips):
        assert time.monotonic() < deadline, f"not acknowledged: {set(clips) - done}; acks {device.all_acks}"
        for ack in list(device.all_acks):
            if ack["status"] in ("stored", "duplicate"):
                done.add(ack["clip_id"])
            elif ack["status"] == "error" and ack.get("error") == "missing_chunks":
                sent_at[ack["clip_id"]] = 0  # chunks of a dead worker's turn: resend at once
        if not restarted and time.monotonic() - killed_at > 3:
            a2 = WorkerProcess(own_mosquitto, "worker-a", worker_env)
            processes.append(a2)
            restarted = True
        for clip_id in set(clips) - done:
            if time.monotonic() - sent_at[clip_id] > 8:
                send(clip_id)
                sent_at[clip_id] = time.monotonic()
        time.sleep(0.2)

    store = FeedbackStore(tmp_path / "voicebot.sqlite3")
    rows = store.all()
    store.close()
    assert sorted(r.clip_id for r in rows) == sorted(clips), "each clip stored exactly once"
    stored_acks = [x for x in device.all_acks if x["status"] == "stored"]
    assert sorted(x["clip_id"] for x in stored_acks) == sorted(clips), "no clip was processed to a store twice"
    by_worker: dict[str, int] = {}
    for r in rows:
        by_worker[r.worker or "?"] = by_worker.get(r.worker or "?", 0) + 1
    assert by_worker.get("worker-a", 0) >= 1 and by_worker.get("worker-b", 0) >= 1, by_worker
    # Worker A's restart under its id took over what the killed process had not finished.
    after_restart = [x for x in stored_acks if x["worker"] == "worker-a" and x["clip_id"] not in final_at_kill]
    print(f"stored by worker: {by_worker}; finished by the restarted worker A: {[x['clip_id'] for x in after_restart]}")
    texts = {r.clip_id: r.transcript.lower() for r in rows}
    assert "living room lamp" in texts["r-lamp"] and "what time" in texts["r-time"]
    assert "schedule" in texts["s-confused"]
    device.close()




def test_a_worker_survives_a_broker_restart(
    own_mosquitto: MosquittoBroker, settings: Settings, spoken_clips: dict[str, bytes], tmp_path: Path
) -> None:
    from feedback_testkit import RunningWorker

    from voicebot.feedback.settings import FeedbackSettings
    from voicebot.feedback.worker import build_worker

    fs = FeedbackSettings(store=str(tmp_path / "voicebot.sqlite3"))
    worker = RunningWorker(build_worker(settings, own_mosquitto.url, "restart-worker", fs=fs))
    try:
        channel = worker.worker.channel
        own_mosquitto.stop()
        deadline = time.monotonic() + 10
        while channel.connected:
            assert time.monotonic() < deadline, "the worker did not notice the broker going away"
            time.sleep(0.05)
        own_mosquitto.start()  # same port; the broker forgot every session and subscription
        assert channel.wait_connected(15), "the worker did not reconnect and subscribe again"
        device = Device(own_mosquitto, "device-after-restart")
        device.send_clip("plug-2", "after-restart", spoken_clips["offline"])
        assert device.ack_for("after-restart")["status"] == "stored"
        device.close()
    finally:
        worker.stop()
