"""The "llm" configuration section: which OpenAI-compatible endpoint, and when to use it.

With no model configured the LLM is off and the deterministic engine answers every turn.
Two environment variables are enough to turn it on, e.g. for Ollama
``VOICEBOT_LLM__BASE_URL=http://localhost:11434/v1`` and ``VOICEBOT_LLM__MODEL=llama3.2``,
or for OpenAI ``OPENAI_API_KEY=sk-...`` and ``VOICEBOT_LLM__MODEL=gpt-4o-mini``.
"""

from __future__ import annotations

import os
from typing import Literal

from pydantic import BaseModel, Field

from voicebot.config import Settings, section

OPENAI_BASE_URL = "https://api.openai.com/v1"


class LLMSettings(BaseModel):
    """voicebot.dialogue.llm (config section "llm", env VOICEBOT_LLM__<FIELD>)."""

    base_url: str | None = None  # None: OPENAI_BASE_URL from the environment, else OpenAI itself
    model: str | None = None  # None: the LLM is off
    api_key: str | None = None  # None: OPENAI_API_KEY; local servers accept any key
    # never: rules only; fallback: the LLM takes turns the rules do not understand; always: every turn
    # (a pending confirmation is still answered by the rules, so the LLM cannot skip it).
    mode: Literal["never", "fallback", "always"] = "fallback"
    turn_timeout_s: float = Field(8.0, gt=0)  # the whole LLM part of one turn; then the rules answer
    request_timeout_s: float = Field(6.0, gt=0)  # one HTTP request (also bounded by what is left of the turn)
    connect_timeout_s: float = Field(1.5, gt=0)
    max_tool_rounds: int = Field(3, ge=1, le=10)  # model calls that may request tools, per turn
    max_tokens: int = Field(160, ge=16)  # a spoken reply is short
    temperature: float = Field(0.2, ge=0, le=2)
    history_turns: int = Field(6, ge=0)  # earlier exchanges sent along for context
    # List the home's devices in the system prompt (saves the model a find_devices call). Off, the
    # prompt's start is the same for every home, so a server's prompt cache serves all of them.
    devices_in_prompt: bool = True
    # Stream the tool-offering call too, so a direct answer is spoken as it is written. OpenAI,
    # Ollama and vLLM can; llama-cpp-python's server cannot stream with tools (keep it off there).
    stream_tools: bool = False

    @property
    def enabled(self) -> bool:
        return bool(self.model) and self.mode != "never"

    def resolved_base_url(self) -> str:
        return self.base_url or os.environ.get("OPENAI_BASE_URL") or OPENAI_BASE_URL

    def resolved_api_key(self) -> str:
        # Local servers (Ollama, llama.cpp) ignore the key, but the client insists on one.
        return self.api_key or os.environ.get("OPENAI_API_KEY") or "not-needed"


def load_llm_settings(settings: Settings | None = None) -> LLMSettings:
    return section(LLMSettings, "llm", settings)
