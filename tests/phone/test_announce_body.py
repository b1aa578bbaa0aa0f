"""A caller announcement (POST /calls/{uuid}) whose body is not the few text fields a
dialplan sends is a 400 with a reason, never a 500: nested JSON, deep nesting, objects
where text belongs. The announcement API goes on working."""

from __future__ import annotations

import asyncio
import json

from aiohttp.test_utils import TestClient, TestServer

from voicebot.channels.phone.calls import CallRegistry, http_app

TOKEN = "t" * 32
AUTH = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}


def test_nested_and_deep_json_announcements_are_400_and_the_api_keeps_working() -> None:
    registry = CallRegistry()

    async def scenario() -> list[tuple[int, dict]]:
        async with TestClient(TestServer(http_app(registry, TOKEN))) as client:
            answers = []
            bodies = ['{"caller": {"number": {"deeper": [1, 2, {"x": 3}]}}}', '{"customer_id": [1, 2]}',
                      '{"caller": true}', "[" * 5000 + "]" * 5000, '{"a":' * 2000 + "1" + "}" * 2000,
                      '{"caller": "+1 555 0142"}']
            for body in bodies:
                async with client.post("/calls/3f2a", data=body, headers=AUTH) as resp:
                    answers.append((resp.status, json.loads(await resp.text())))
            return answers

    answers = asyncio.run(scenario())
    assert [status for status, _ in answers] == [400, 400, 400, 400, 400, 200], answers
    assert answers[0][1]["error"] == "caller must be text"
    assert answers[1][1]["error"] == "customer_id must be text"
    assert answers[3][1]["error"] in ("body is nested too deeply", "body must be a JSON object")
    assert answers[4][1]["error"] == "body is nested too deeply"
    assert answers[5][1]["caller"] == "+1 555 0142" and registry.pending_announcements() == 1
