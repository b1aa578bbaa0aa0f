"""A scripted HTTP peer speaking the OpenAI chat-completions wire format (JSON and SSE).

It stands in for endpoints that misbehave in ways a real model cannot be made to on demand:
one that is slow, one that returns malformed or unknown tool calls, and a "compromised"
model that obeys every instruction it reads. Each request takes the next scripted answer.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web


@dataclass
class Scripted:
    """One answer: a chat completion message (tool calls and/or text), after ``delay_s``."""

    content: str | None = ""
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    delay_s: float = 0.0
    raw_body: str | None = None  # sent verbatim instead of a well-formed completion
    status: int = 200


def tool_call(name: str, arguments: dict[str, Any] | str, call_id: str = "call_1") -> dict[str, Any]:
    args = arguments if isinstance(arguments, str) else json.dumps(arguments)
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": args}}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class OpenAIPeer:
    def __init__(self) -> None:
        self.port = free_port()
        self.script: list[Scripted] = []
        self.requests: list[dict[str, Any]] = []  # the JSON bodies received, for assertions
        self.default = Scripted(content="I can help with your devices.")
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="openai-peer", daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> OpenAIPeer:
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the scripted OpenAI peer did not start")
        return self

    def stop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._completions)
        runner = web.AppRunner(app, shutdown_timeout=0.2, handler_cancellation=True)
        self._loop.run_until_complete(runner.setup())
        self._loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", self.port).start())
        self._ready.set()
        self._loop.run_forever()
        self._loop.run_until_complete(runner.cleanup())

    async def _completions(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        self.requests.append(body)
        answer = self.script.pop(0) if self.script else self.default
        if answer.delay_s:
            await asyncio.sleep(answer.delay_s)
        if answer.raw_body is not None or answer.status != 200:
            return web.Response(status=answer.status, text=answer.raw_body or "", content_type="application/json")
        base = {"id": "chatcmpl-peer", "created": int(time.time()), "model": body.get("model", "peer")}
        if body.get("stream"):
            resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
            await resp.prepare(request)
            deltas: list[dict[str, Any]] = []
            for i, call in enumerate(answer.tool_calls):
                # As OpenAI streams them: id and name first, the arguments in pieces.
                args = call["function"]["arguments"]
                head = {"index": i, "id": call["id"], "type": "function", "function": {"name": call["function"]["name"], "arguments": ""}}
                deltas.append({"tool_calls": [head]})
                for part in (args[: len(args) // 2], args[len(args) // 2 :]):
                    deltas.append({"tool_calls": [{"index": i, "function": {"arguments": part}}]})
            words = (answer.content or "").split(" ") if answer.content else []
            deltas += [{"content": w + (" " if i < len(words) - 1 else "")} for i, w in enumerate(words)]
            for delta in deltas:
                event = {**base, "object": "chat.completion.chunk", "choices": [{"index": 0, "delta": delta, "finish_reason": None}]}
                await resp.write(f"data: {json.dumps(event)}\n\n".encode())
            finish = "tool_calls" if answer.tool_calls else "stop"
            done = {"choices": [{"index": 0, "delta": {}, "finish_reason": finish}]}
            await resp.write(f"data: {json.dumps({**base, 'object': 'chat.completion.chunk', **done})}\n\n".encode())
            await resp.write(b"data: [DONE]\n\n")
            return resp
        message: dict[str, Any] = {"role": "assistant", "content": answer.content}
        if answer.tool_calls:
            message["tool_calls"] = answer.tool_calls
        finish = "tool_calls" if answer.tool_calls else "stop"
        payload = {
            **base,
            "object": "chat.completion",
            "choices": [{"index": 0, "message": message, "finish_reason": finish}],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
        }
        return web.json_response(payload)
