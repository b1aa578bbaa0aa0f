"""Two environment variables turn the LLM on; without them nothing changes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from llm_support import HomeUnderTest
from openai_peer import OpenAIPeer, Scripted, tool_call
from typer.testing import CliRunner

from voicebot.cli import app
from voicebot.config import Settings
from voicebot.dialogue.llm import LLMConversation, load_llm_settings, with_llm
from voicebot.dialogue.llm.settings import OPENAI_BASE_URL
from voicebot.store import Store


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in ("VOICEBOT_LLM__BASE_URL", "VOICEBOT_LLM__MODEL", "VOICEBOT_LLM__API_KEY", "VOICEBOT_LLM__MODE",
                "OPENAI_API_KEY", "OPENAI_BASE_URL", "VOICEBOT_CONFIG"):
        monkeypatch.delenv(key, raising=False)


def test_without_configuration_the_conversation_is_left_alone(home: HomeUnderTest, store: Store) -> None:
    rules = home.engine.conversation("chat")
    assert not load_llm_settings(Settings()).enabled
    assert with_llm(rules, Settings()) is rules


# A fresh interpreter (this one has imported the client for the other tests).
WITHOUT_LLM = """
import sys
from voicebot.config import Settings
from voicebot.dialogue.llm import with_llm
rules = object()
assert with_llm(rules, Settings()) is rules
print(sorted(m for m in ("openai", "voicebot.dialogue.llm.client", "voicebot.dialogue.llm.policy") if m in sys.modules))
"""


def test_without_configuration_the_openai_client_is_not_loaded() -> None:
    """Every conversation asks whether an LLM is configured; without one, the OpenAI client
    (~15 MB resident, a second to import, at a phone call's first turn) stays unloaded."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VOICEBOT_LLM", "OPENAI_"))}
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[2])
    done = subprocess.run([sys.executable, "-c", WITHOUT_LLM], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "[]"


def test_ollama_style_two_variables(monkeypatch: pytest.MonkeyPatch, home: HomeUnderTest, store: Store) -> None:
    monkeypatch.setenv("VOICEBOT_LLM__BASE_URL", "http://localhost:11434/v1")
    monkeypatch.setenv("VOICEBOT_LLM__MODEL", "llama3.2")
    s = load_llm_settings(Settings())
    assert s.enabled and s.mode == "fallback"
    assert s.resolved_base_url() == "http://localhost:11434/v1"
    assert isinstance(with_llm(home.engine.conversation("chat"), Settings()), LLMConversation)


def test_openai_style_two_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    monkeypatch.setenv("VOICEBOT_LLM__MODEL", "gpt-4o-mini")
    s = load_llm_settings(Settings())
    assert s.resolved_base_url() == OPENAI_BASE_URL
    assert s.resolved_api_key() == "sk-test"


def test_config_file_section_and_mode_never(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    cfg = tmp_path / "voicebot.yaml"
    cfg.write_text("llm:\n  base_url: http://gpu-box:8000/v1\n  model: qwen2.5\n  mode: never\n  max_tool_rounds: 2\n")
    monkeypatch.setenv("VOICEBOT_CONFIG", str(cfg))
    s = load_llm_settings(Settings())
    assert (s.model, s.max_tool_rounds, s.enabled) == ("qwen2.5", 2, False)


def test_llm_check_reports_a_working_endpoint(monkeypatch: pytest.MonkeyPatch, peer: OpenAIPeer) -> None:
    peer.script = [Scripted(tool_calls=[tool_call("set_device_state", {"device": "Kitchen Light", "state": "on"})])]
    peer.default = Scripted(content="Hello there, how can I help?")
    monkeypatch.setenv("VOICEBOT_LLM__BASE_URL", peer.base_url)
    monkeypatch.setenv("VOICEBOT_LLM__MODEL", "peer")

    result = CliRunner().invoke(app, ["llm-check", "--json"])

    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["tool_calls"] == ["set_device_state"]
    assert report["answer"] == "Hello there, how can I help?"


def test_llm_check_explains_a_missing_model() -> None:
    result = CliRunner().invoke(app, ["llm-check", "--json"])
    assert result.exit_code == 1
    assert "VOICEBOT_LLM__MODEL" in json.loads(result.output)["error"]
