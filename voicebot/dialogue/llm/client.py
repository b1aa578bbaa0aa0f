"""The OpenAI-compatible chat endpoint: one tool-choosing call, or a streamed final answer.

Every failure becomes an ``LLMUnavailable`` with a reason for the log and the trace, so the
policy has one thing to catch. No retries: a retry would blow the turn's time budget.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

try:
    import openai
except ImportError:  # the optional "llm" extra is not installed: the rules answer alone
    openai = None  # type: ignore[assignment]

from voicebot.dialogue.llm.settings import LLMSettings


class LLMUnavailable(RuntimeError):
    """The endpoint could not give a usable answer (down, slow, malformed); ``reason`` says which."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass
class ToolCall:
    id: str
    name: str
    arguments: dict[str, Any] | None  # None: the model's arguments were not a JSON object
    raw_arguments: str


@dataclass
class ModelTurn:
    """What one non-streamed call returned: text, tool calls, or both."""

    text: str
    tool_calls: list[ToolCall] = field(default_factory=list)


class ChatEndpoint:
    def __init__(self, settings: LLMSettings) -> None:
        self.settings = settings
        if openai is None:
            raise LLMUnavailable("the LLM policy needs the openai package: pip install 'voicebot[llm]'")
        self._client = openai.OpenAI(
            base_url=settings.resolved_base_url(),
            api_key=settings.resolved_api_key(),
            max_retries=0,
            timeout=openai.Timeout(settings.request_timeout_s, connect=settings.connect_timeout_s),
        )

    def close(self) -> None:
        self._client.close()

    def _timeout(self, deadline: float) -> openai.Timeout:
        left = deadline - time.monotonic()
        if left <= 0.05:
            raise LLMUnavailable("the turn's time budget was used up")
        total = min(self.settings.request_timeout_s, left)
        return openai.Timeout(total, connect=min(self.settings.connect_timeout_s, total))

    def choose(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]], deadline: float) -> ModelTurn:
        """One call with the tools offered (tool_choice "auto": "required" is not portable)."""
        try:
            completion = self._client.chat.completions.create(
                model=self.settings.model or "",
                messages=messages,  # type: ignore[arg-type]
                tools=tools,  # type: ignore[arg-type]
                tool_choice="auto",
                max_tokens=self.settings.max_tokens,
                temperature=self.settings.temperature,
                timeout=self._timeout(deadline),
            )
        except openai.APIError as exc:
            raise LLMUnavailable(_describe(exc)) from exc
        except ValueError as exc:  # a body that is not JSON at all
            raise LLMUnavailable(f"malformed response from the endpoint: {exc}") from exc
        try:
            message = completion.choices[0].message
            calls = [
                ToolCall(
                    id=call.id or f"call_{i}",
                    name=call.function.name,
                    arguments=_json_object(call.function.arguments),
                    raw_arguments=call.function.arguments or "",
                )
                for i, call in enumerate(message.tool_calls or [])
            ]
            return ModelTurn(text=message.content or "", tool_calls=calls)
        except (AttributeError, IndexError, TypeError) as exc:
            raise LLMUnavailable(f"malformed response from the endpoint: {exc}") from exc

    def stream(self, messages: list[dict[str, Any]], deadline: float) -> Iterator[str]:
        """The final answer, fragment by fragment, without tools (servers may not stream with tools).
        Stops at the deadline; raises LLMUnavailable if the stream cannot be had or breaks."""
        chunks = self._open(messages, None, deadline)
        try:
            for delta in _deltas(chunks, deadline):
                if delta.content:
                    yield delta.content
        finally:
            chunks.close()

    def choose_streaming(
        self, messages: list[dict[str, Any]], tools: list[dict[str, Any]], deadline: float
    ) -> tuple[ModelTurn, Iterator[str] | None]:
        """The tool-offering call, streamed (for endpoints that can: OpenAI, Ollama, vLLM).
        If the model starts with text, that text is the answer: returns it as a stream of
        fragments at once. If it starts with tool calls, they are read to the end and returned."""
        chunks = self._open(messages, tools, deadline)
        deltas = _deltas(chunks, deadline)
        calls: dict[int, dict[str, str]] = {}
        try:
            for delta in deltas:
                for tc in delta.tool_calls or []:
                    slot = calls.setdefault(tc.index or 0, {"id": "", "name": "", "arguments": ""})
                    slot["id"] = tc.id or slot["id"]
                    if tc.function is not None:
                        slot["name"] += tc.function.name or ""
                        slot["arguments"] += tc.function.arguments or ""
                if delta.content and not calls:
                    return ModelTurn(text=""), _text_from(delta.content, deltas, chunks)
        except BaseException:
            chunks.close()
            raise
        chunks.close()
        return ModelTurn(
            text="",
            tool_calls=[
                ToolCall(c["id"] or f"call_{i}", c["name"], _json_object(c["arguments"]), c["arguments"])
                for i, c in sorted(calls.items())
            ],
        ), None

    def _open(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None, deadline: float) -> Any:
        extra: dict[str, Any] = {"tools": tools, "tool_choice": "auto"} if tools else {}
        try:
            return self._client.chat.completions.create(
                model=self.settings.model or "",
                messages=messages,  # type: ignore[arg-type]
                max_tokens=self.settings.max_tokens,
                temperature=self.settings.temperature,
                stream=True,
                timeout=self._timeout(deadline),
                **extra,
            )
        except openai.APIError as exc:
            raise LLMUnavailable(_describe(exc)) from exc


def _deltas(chunks: Any, deadline: float) -> Iterator[Any]:
    try:
        for chunk in chunks:
            if time.monotonic() > deadline:
                raise LLMUnavailable("the answer was still streaming when the turn's time budget ran out")
            if chunk.choices:
                yield chunk.choices[0].delta
    except LLMUnavailable:
        raise
    except openai.APIError as exc:
        raise LLMUnavailable(_describe(exc)) from exc
    except Exception as exc:  # the HTTP stream breaking (read timeout, reset) or a malformed event
        raise LLMUnavailable(f"the stream broke: {exc!r}") from exc


def _text_from(first: str, deltas: Iterator[Any], chunks: Any) -> Iterator[str]:
    try:
        yield first
        for delta in deltas:
            if delta.content:
                yield delta.content
    finally:
        chunks.close()


def _json_object(raw: str | None) -> dict[str, Any] | None:
    try:
        value = json.loads(raw or "{}")
    except (TypeError, ValueError):
        return None
    return value if isinstance(value, dict) else None


def _describe(exc: openai.APIError) -> str:
    if isinstance(exc, openai.APITimeoutError):
        return "the endpoint did not answer in time"
    if isinstance(exc, openai.APIConnectionError):
        return f"cannot reach the endpoint: {exc.__cause__ or exc}"
    if isinstance(exc, openai.APIStatusError):
        return f"the endpoint answered HTTP {exc.status_code}: {str(exc.message)[:200]}"
    return f"endpoint error: {exc}"
