"""The optional LLM dialogue policy: any OpenAI-compatible endpoint, the engine's own tools.

    conversation = with_llm(engine.conversation("speaker"), settings)

returns the conversation unchanged when no LLM is configured (section "llm", see docs/llm.md),
and otherwise an LLMConversation that lets the rules answer what they understand.

The policy and its OpenAI client are imported only when an LLM is configured: the client is
~15 MB resident and a second to import, which every phone call without an LLM paid at its
first conversation.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from voicebot.config import Settings
from voicebot.dialogue.llm.settings import LLMSettings, load_llm_settings

if TYPE_CHECKING:
    from voicebot.dialogue.llm.client import ChatEndpoint
    from voicebot.dialogue.llm.policy import LLMConversation, StreamedReply, TurnTrace

__all__ = ["LLMConversation", "LLMSettings", "StreamedReply", "TurnTrace", "load_llm_settings", "with_llm"]

_endpoints: dict[tuple[str, str, str], ChatEndpoint] = {}
_lock = threading.Lock()


def shared_endpoint(settings: LLMSettings) -> ChatEndpoint:
    """One HTTP client per endpoint for the whole process (its connection pool is shared)."""
    from voicebot.dialogue.llm.client import ChatEndpoint

    key = (settings.resolved_base_url(), settings.model or "", settings.model_dump_json())
    with _lock:
        endpoint = _endpoints.get(key)
        if endpoint is None:
            endpoint = _endpoints[key] = ChatEndpoint(settings)
        return endpoint


def with_llm(conversation: Any, settings: Settings | LLMSettings | None = None) -> Any:
    """The conversation with the LLM policy around it, or unchanged when no LLM is configured.
    ``conversation`` is a voicebot.dialogue.rules.RulesConversation (DialogueEngine.conversation)."""
    llm = settings if isinstance(settings, LLMSettings) else load_llm_settings(settings)
    if not llm.enabled:
        return conversation
    from voicebot.dialogue.llm.policy import LLMConversation

    return LLMConversation(conversation, llm, shared_endpoint(llm))


def __getattr__(name: str) -> Any:
    """``LLMConversation``, ``StreamedReply``, ``TurnTrace``: imported on first use (see above)."""
    if name in ("LLMConversation", "StreamedReply", "TurnTrace"):
        from voicebot.dialogue.llm import policy

        return getattr(policy, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
