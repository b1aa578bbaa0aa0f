"""A support agent steps into a customer's web chat from the agents' console: the console (served
by uvicorn, on the web chat's real broker and store) sees the chat live, the agent takes it over
through the console's JSON API, the customer's socket is told a person joined and receives the
agent's messages, the bot stays quiet (and leaves the devices alone) until the agent hands back,
and the transcript and the audit log say who did what. Then the agent ends a chat."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed

from tests.console.console_helpers import get_json, post_json, served
from tests.waiting import until_async
from tests.webchat.chat_client import receive, say, serving, signed_in
from voicebot import live
from voicebot.runtime import Runtime

PASSWORD = "alice-password-1"


@pytest.fixture(scope="module")
def console(webchat_runtime: Runtime, webchat_broker: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, str]]:
    """The agents' console on the web chat's broker and store; yields it and its address."""
    from voicebot.config import Settings
    from voicebot.console.app import create_app
    from voicebot.console.auth import hash_password
    from voicebot.console.server import build_console
    from voicebot.customers.tables import store_location

    link = live.current_link()
    # The runtime publishes live conversations on its broker; another runtime started since took
    # the process's link, so this one is started again.
    restart = link is None or link.conn is not webchat_runtime.bridge.conn
    stop_link = live.start_link(webchat_runtime.bridge.conn, webchat_runtime.store, "voicebot/live") if restart else None
    running = build_console(Settings(data_dir=tmp_path_factory.mktemp("console")),
                            Path(store_location(webchat_runtime.store)), webchat_broker.url)
    running.console.db.add_agent("alice", "agent", hash_password(PASSWORD))
    try:
        with served(create_app(running.console)) as url:
            yield running.console, url
    finally:
        running.close()
        if stop_link is not None:
            stop_link()


def light_on(rt: Runtime, device_id: str) -> bool:
    return str(rt.bridge.get(device_id).state.get("state", "")).lower() == "on"


async def until(predicate: Any, timeout: float = 15.0) -> bool:
    return await until_async(predicate, timeout)


def test_an_agent_takes_over_a_web_chat_and_hands_it_back(webchat_runtime: Runtime, console: tuple[Any, str]) -> None:
    rt, (con, url) = webchat_runtime, console
    board = con.board

    async def act(action: str, **body: Any) -> tuple[int, Any]:
        return await asyncio.to_thread(post_json, f"{url}/api/live/{cid}/{action}", body, "alice", PASSWORD)

    async def scenario() -> None:
        nonlocal cid
        async with serving(rt) as (web, ws_url), signed_in(web, ws_url, "c-kim") as (ws, ready, greeting):
            cid = ready["conversation_id"]
            assert ready["agent"] is None and greeting["text"].startswith("Hello, Kim")
            # The console sees the chat, greeting included, and may step in.
            assert await until(lambda: (s := board.get(cid)) is not None and s.entries), "the console never saw the chat"
            snap = board.get(cid)
            assert snap.channel == "web" and snap.can_step_in and snap.typed and snap.customer_id == "c-kim"
            status, listed = await asyncio.to_thread(get_json, f"{url}/api/live", "alice", PASSWORD)
            assert status == 200 and any(c["conversation_id"] == cid and c["can_step_in"] for c in listed)

            assert (await act("take"))[0] == 202
            assert await receive(ws) == {"type": "agent_joined", "agent": "alice"}
            assert (await act("say", text="Hi Kim, this is Alice. Which light is it?"))[0] == 202
            said = await receive(ws)
            assert said["type"] == "agent" and said["agent"] == "alice" and said["text"].startswith("Hi Kim, this is Alice")

            # The customer writes: it reaches the agent (as the console shows) and the bot keeps quiet.
            await ws.send(json.dumps({"type": "message", "text": "turn on the hallway plug please"}))
            assert await until(lambda: board.get(cid).entries[-1].who == "customer"
                               and "hallway" in board.get(cid).entries[-1].text)
            assert (await act("say", text="I will hand you back to the assistant for that."))[0] == 202
            nxt = await receive(ws)  # the agent's message, and no bot reply before it
            assert nxt["type"] == "agent" and nxt["text"].startswith("I will hand you back"), nxt
            assert not light_on(rt, "hallway_plug")

            assert (await act("hand-back"))[0] == 202
            assert await receive(ws) == {"type": "agent_left", "agent": "alice"}
            reply = await say(ws, "turn on the hallway plug")
            assert reply["type"] == "reply" and reply["actions"] and reply["actions"][0]["device"] == "Hallway Plug"
            assert light_on(rt, "hallway_plug")
            assert await until(lambda: board.get(cid).taken_over_by is None and board.get(cid).entries[-1].who == "bot")

            # A reloaded page shows what happened, the agent's lines with their name.
            async with signed_in(web, ws_url, "c-kim") as (_, again, _g):
                froms = [(h["from"], h.get("agent")) for h in again["history"]]
                assert ("agent", "alice") in froms and ("notice", "alice") in froms and again["agent"] is None

    cid = ""
    asyncio.run(scenario())
    rt.bridge.set("hallway_plug", {"state": "off"})
    # The transcript: the agent's words and what the customer wrote to them, handled by alice.
    turns = rt.store.turns(cid)
    by_alice = [t for t in turns if t.get("handled_by") == "agent:alice"]
    assert next(t["reply"] for t in by_alice if t["reply"]).startswith("Hi Kim, this is Alice")
    assert any("hallway" in (t["user_text"] or "") for t in by_alice)
    assert any(t.get("handled_by") != "agent:alice" and t["reply"] and "hallway" in (t["user_text"] or "").lower()
               for t in turns)  # the bot's own turn after the hand-back
    # The audit log: who did what.
    actions = [(e.agent, e.action) for e in reversed(con.db.audit(conversation_id=cid))]
    assert actions == [("alice", "take"), ("alice", "say"), ("alice", "say"), ("alice", "hand_back")], actions


def test_an_agent_ends_a_web_chat(webchat_runtime: Runtime, console: tuple[Any, str]) -> None:
    rt, (con, url) = webchat_runtime, console

    async def scenario() -> tuple[list[dict[str, Any]], int | None, str]:
        async with serving(rt) as (web, ws_url), signed_in(web, ws_url, "c-sam") as (ws, ready, _):
            cid = ready["conversation_id"]
            assert await until(lambda: con.board.get(cid) is not None)
            for action, body in (("take", {}), ("end", {})):
                status, _ = await asyncio.to_thread(post_json, f"{url}/api/live/{cid}/{action}", body, "alice", PASSWORD)
                assert status == 202
            seen: list[dict[str, Any]] = []
            try:
                while True:
                    seen.append(await receive(ws))
            except ConnectionClosed as closed:
                code = closed.rcvd.code if closed.rcvd else None
            assert await until(lambda: con.board.get(cid) is None or con.board.get(cid).ended_at is not None)
            return seen, code, cid

    seen, code, cid = asyncio.run(scenario())
    assert [m["type"] for m in seen] == ["agent_joined", "ended"] and seen[1]["by"] == "agent"
    assert code == 1000
    stored = rt.store.conversation(cid)
    assert stored is not None and stored["outcome"] == "resolved" and stored["ended_at"]
    # A console cannot step into what has ended.
    assert post_json(f"{url}/api/live/{cid}/say", {"text": "hello?"}, "alice", PASSWORD)[0] in (404, 409)
