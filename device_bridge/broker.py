"""MQTT brokers the project starts itself: a Mosquitto child process when the
binary is installed (MQTT 5, shared subscriptions), otherwise amqtt in-process
(MQTT 3.1.1 only)."""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import weakref
from pathlib import Path
from typing import Protocol, Self

log = logging.getLogger(__name__)


class EmbeddedBroker(Protocol):
    """A broker the project started itself."""

    kind: str  # "mosquitto" or "amqtt"
    protocols: tuple[str, ...]  # MQTT versions it speaks

    @property
    def url(self) -> str: ...

    def start(self) -> EmbeddedBroker: ...

    def stop(self) -> None: ...

    def close(self) -> None: ...


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def wait_for_port(host: str, port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection((host, port), timeout=0.2):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise TimeoutError(f"nothing is listening on {host}:{port} after {timeout:.0f} s") from None
            time.sleep(0.02)


class _ChildProcessBroker:
    """A broker in a child process on a loopback port: start() waits until it listens,
    stop() and start() again keep the port (so clients can be shown to reconnect after an
    outage), and its temporary folder (configuration, log) is removed by close(), on leaving
    the ``with`` block, or when the object is collected."""

    kind = ""
    protocols: tuple[str, ...] = ()
    start_timeout_s = 10.0

    def __init__(self, host: str, port: int | None) -> None:
        self.host = host
        self.port = port or free_port(host)
        self._dir = Path(tempfile.mkdtemp(prefix=f"voicebot-{self.kind}-"))
        self._log = self._dir / f"{self.kind}.log"
        self._proc: subprocess.Popen[bytes] | None = None
        self._cleanup = weakref.finalize(self, shutil.rmtree, str(self._dir), True)

    def _command(self) -> list[str]:
        raise NotImplementedError  # each broker names its own program

    def _env(self) -> dict[str, str] | None:
        return None

    @property
    def url(self) -> str:
        return f"mqtt://{self.host}:{self.port}"

    @property
    def log_text(self) -> str:
        try:
            return self._log.read_text(errors="replace")
        except OSError:
            return ""

    def start(self) -> Self:
        with self._log.open("ab") as log_file:
            self._proc = subprocess.Popen(
                self._command(), stdout=log_file, stderr=subprocess.STDOUT, env=self._env()
            )
        try:
            wait_for_port(self.host, self.port, timeout=self.start_timeout_s)
        except TimeoutError:
            self.stop()
            raise RuntimeError(f"{self.kind} did not start on port {self.port}: {self.log_text[-500:]}") from None
        return self

    def stop(self) -> None:
        if self._proc is not None:
            self._proc.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._proc.wait(timeout=5)
            if self._proc.poll() is None:
                self._proc.kill()
                self._proc.wait()
            self._proc = None

    def close(self) -> None:
        self.stop()
        self._cleanup()

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()


class MosquittoBroker(_ChildProcessBroker):
    """Mosquitto: MQTT 5 and 3.1.1, shared subscriptions."""

    kind = "mosquitto"
    protocols = ("5", "3.1.1")

    def __init__(self, port: int | None = None, host: str = "127.0.0.1", extra_conf: str = "") -> None:
        binary = shutil.which("mosquitto") or (
            "/usr/sbin/mosquitto" if Path("/usr/sbin/mosquitto").exists() else None
        )
        if binary is None:
            raise FileNotFoundError("mosquitto is not installed (Debian package: mosquitto)")
        self.binary = binary
        super().__init__(host, port)
        self._conf = self._dir / "mosquitto.conf"
        self._conf.write_text(
            f"listener {self.port} {host}\nallow_anonymous true\npersistence false\n"
            # without it small packets wait for delayed ACKs: about 40 ms per hop
            "set_tcp_nodelay true\n"
            f"{extra_conf}\n"
        )

    @staticmethod
    def available() -> bool:
        return bool(shutil.which("mosquitto") or Path("/usr/sbin/mosquitto").exists())

    def _command(self) -> list[str]:
        return [self.binary, "-c", str(self._conf)]


class AmqttBroker(_ChildProcessBroker):
    """amqtt (pure Python, MQTT 3.1.1 only, no shared subscriptions) in a child
    process, for machines without Mosquitto. A child process rather than a thread so
    that its asyncio loop never competes with the caller's and stop() is clean."""

    kind = "amqtt"
    protocols = ("3.1.1",)
    start_timeout_s = 20.0

    def __init__(self, port: int | None = None, host: str = "127.0.0.1") -> None:
        super().__init__(host, port)
        self._conf = self._dir / "amqtt.yaml"
        self._conf.write_text(
            f"listeners:\n  default:\n    type: tcp\n    bind: {host}:{self.port}\n"
            "plugins:\n  amqtt.plugins.authentication.AnonymousAuthPlugin:\n    allow_anonymous: true\n"
        )

    def _command(self) -> list[str]:
        return [sys.executable, "-m", "amqtt.scripts.broker_script", "-c", str(self._conf)]

    def _env(self) -> dict[str, str] | None:
        return {**os.environ, "PYTHONUNBUFFERED": "1"}


def start_embedded(prefer: str = "auto") -> MosquittoBroker | AmqttBroker:
    """Start a broker on a free loopback port: Mosquitto when its binary is installed
    (MQTT 5, shared subscriptions, fast), otherwise amqtt (MQTT 3.1.1 only).
    ``prefer`` = "mosquitto" or "amqtt" forces one. The result has ``.url``,
    ``.kind`` and ``.stop()``."""
    if prefer not in ("auto", "mosquitto", "amqtt"):
        raise ValueError("prefer must be auto, mosquitto or amqtt")
    if prefer != "amqtt" and MosquittoBroker.available():
        broker: MosquittoBroker | AmqttBroker = MosquittoBroker().start()
    elif prefer == "mosquitto":
        raise FileNotFoundError("mosquitto is not installed (Debian package: mosquitto)")
    else:
        broker = AmqttBroker().start()
    log.info("embedded %s broker on %s", broker.kind, broker.url)
    return broker
