"""A web chat link opens the chat once: the page gets a session in exchange and continues with
it; the same link again is refused, also by another web chat process on the same store, unless
it comes from the browser that used it (with its session). Sessions expire, are not links, and
are voided by a revocation like links."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from tests.webchat.chat_client import receive, serving, token_of
from voicebot.customers.tables import store_location
from voicebot.runtime import Runtime
from voicebot.store import Customer, Store
from voicebot.webchat.links import Revocations

ROBIN = Customer("c-robin", name="Robin", phones=[], default_area="Kitchen")


async def hello(url: str, **fields: Any) -> tuple[list[dict[str, Any]], int | None]:
    """Open a socket, present ``fields``; every message until the greeting (or the close) and the close code."""
    seen: list[dict[str, Any]] = []
    async with connect(url) as ws:
        await ws.send(json.dumps({"type": "hello", **fields}))
        try:
            while True:
                seen.append(message := await receive(ws))
                if message["type"] == "reply" or (message["type"] == "ready" and message["resumed"]):
                    return seen, None  # in: greeted, or back in the chat under way
        except ConnectionClosed as closed:
            return seen, closed.rcvd.code if closed.rcvd else None


def test_a_link_opens_the_chat_once_and_its_session_continues_it(webchat_runtime: Runtime) -> None:
    rt = webchat_runtime
    rt.store.save_customer(ROBIN)
    second_store = Store(store_location(rt.store))  # another web chat process's own connection to the store

    async def scenario() -> None:
        async with serving(rt) as (web, url), serving(rt, store=second_store) as (_, other_url):
            token = token_of(web.link("c-robin", "http://chat.example"))
            (ready, greeting), code = await hello(url, token=token)
            assert ready["type"] == "ready" and greeting["text"].startswith("Hello, Robin") and code is None
            session = ready["session"]
            assert session and ready["session_expires_at"] > time.time() + 11 * 3600  # session_ttl_s: 12 h

            # The link again, on another process: refused, with why.
            seen, code = await hello(other_url, token=token)
            assert [m.get("code") for m in seen] == ["used_link"] and code == 4401, seen
            assert "used already" in seen[0]["message"]
            # The page's session continues the same conversation (a reload); with the link beside it
            # (the same browser opening the link again) too.
            (again,), code = await hello(url, session=session)
            assert again["resumed"] and again["conversation_id"] == ready["conversation_id"], again
            (again,), _ = await hello(url, token=token, session=session)
            assert again["type"] == "ready" and again["conversation_id"] == ready["conversation_id"]

            # A session is not a link; an expired session is refused; a revocation voids sessions too.
            seen, code = await hello(url, token=session)
            assert [m.get("code") for m in seen] == ["bad_link"] and code == 4401
            stale = web.signer.session("c-robin", 60, now=time.time() - 3600)
            seen, code = await hello(url, session=stale)
            assert [m.get("code") for m in seen] == ["expired_session"] and code == 4401
            Revocations(rt.store).revoke("c-robin")
            seen, code = await hello(url, session=session)
            assert [m.get("code") for m in seen] == ["revoked_link"] and code == 4401

    try:
        asyncio.run(scenario())
    finally:
        second_store.close()
