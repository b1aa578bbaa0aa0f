"""MQTT brokers the project starts itself: a Mosquitto child process when the
binary is installed (MQTT 5, shared subscriptions), otherwise amqtt in-process
(MQTT 3.1.1 only)."""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path


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


class MosquittoBroker:
    """A Mosquitto process on a loopback port; stop() and start() again keep the port,
    so clients can be shown to reconnect after a broker outage."""

    def __init__(self, port: int | None = None, host: str = "127.0.0.1", extra_conf: str = "") -> None:
        binary = shutil.which("mosquitto") or (
            "/usr/sbin/mosquitto" if Path("/usr/sbin/mosquitto").exists() else None
        )
        if binary is None:
            raise FileNotFoundError("mosquitto is not installed (Debian package: mosquitto)")
        self.binary = binary
        self.host = host
        self.port = port or free_port(host)
        self._dir = Path(tempfile.mkdtemp(prefix="voicebot-mosquitto-"))
        self._conf = self._dir / "mosquitto.conf"
        self._conf.write_text(
            f"listener {self.port} {host}\nallow_anonymous true\npersistence false\n"
            f"{extra_conf}\n"
        )
        self._log = self._dir / "mosquitto.log"
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"mqtt://{self.host}:{self.port}"

    def start(self) -> MosquittoBroker:
        with self._log.open("ab") as log:
            self._proc = subprocess.Popen(
                [self.binary, "-c", str(self._conf)], stdout=log, stderr=subprocess.STDOUT
            )
        try:
            wait_for_port(self.host, self.port)
        except TimeoutError:
            self.stop()
            tail = self._log.read_text(errors="replace")[-500:]
            raise RuntimeError(f"mosquitto did not start on port {self.port}: {tail}") from None
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

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def __enter__(self) -> MosquittoBroker:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
