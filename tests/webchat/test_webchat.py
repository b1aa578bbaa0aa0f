"""The customer web chat over a real WebSocket (the ``websockets`` client) against uvicorn, the
dialogue and a simulated home on a real broker: signed links, the conversation itself, and
hostile clients that get clear errors without disturbing anyone else's chat."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from tests.webchat.chat_client import SECRET, TEST_SETTINGS, receive, say, serving, signed_in, token_of
from voicebot.runtime import Runtime
from voicebot.webchat.links import LinkSigner, Revocations


def light_on(rt: Runtime, device_id: str) -> bool:
    return str(rt.bridge.get(device_id).state.get("state", "")).lower() == "on"


async def _closed_with(ws, timeout: float = 10.0) -> tuple[list[dict], int | None]:  # type: ignore[no-untyped-def]
    """Every message until the server closes the socket, and its close code."""
    seen = []
    try:
        while True:
            seen.append(json.loads(await asyncio.wait_for(ws.recv(), timeout)))
    except ConnectionClosed as closed:
        return seen, closed.rcvd.code if closed.rcvd else None


def test_a_signed_in_customer_chats_with_the_same_dialogue_and_devices(webchat_runtime: Runtime) -> None:
    rt = webchat_runtime

    async def chat() -> None:
        async with serving(rt) as (web, url), signed_in(web, url, "c-sam") as (ws, ready, greeting):
            assert ready["name"] == "Sam" and ready["conversation_id"]
            assert greeting["type"] == "reply" and greeting["text"].startswith("Hello, Sam!")
            on = await say(ws, "turn on the floor lamp")
            assert on["actions"] and on["actions"][0]["device"] == "Floor Lamp", on
            assert light_on(rt, "floor_lamp")
            stored = rt.store.conversation(ready["conversation_id"])
            assert stored is not None and stored["channel"] == "web" and stored["customer_id"] == "c-sam"
            off = await say(ws, "turn it off again")
            assert off["actions"] and off["actions"][0]["changes"] == {"state": "off"}, off

    asyncio.run(chat())
    assert not light_on(rt, "floor_lamp")


def test_a_reloaded_page_continues_the_same_conversation(webchat_runtime: Runtime) -> None:
    async def reload() -> None:
        async with serving(webchat_runtime) as (web, url):
            async with signed_in(web, url, "c-sam") as (ws, first, _):
                await say(ws, "turn on the floor lamp")
            async with signed_in(web, url, "c-sam") as (ws, again, greeting):
                assert again["resumed"] and again["conversation_id"] == first["conversation_id"]
                assert greeting == {}  # no second greeting; the page shows the history instead
                assert [line["text"] for line in again["history"]][1] == "turn on the floor lamp"
                off = await say(ws, "turn it off")
                assert off["actions"] and off["actions"][0]["device"] == "Floor Lamp", off

    asyncio.run(reload())


@pytest.mark.parametrize("token, code", [
    (LinkSigner(SECRET).sign("c-sam", ttl_s=60, now=time.time() - 3600), "expired_link"),
    (LinkSigner("somebody-elses-secret-value").sign("c-sam", ttl_s=3600), "bad_link"),
    (LinkSigner(SECRET).sign("c-nobody", ttl_s=3600), "bad_link"),
    ("eyJjIjoiYy1zYW0ifQ.forged", "bad_link"),
    (12345, "bad_link"),
], ids=["expired", "other-secret", "no-such-customer", "forged", "not-a-string"])
def test_a_bad_or_expired_link_gets_a_clear_error_and_no_chat(webchat_runtime: Runtime, token: object, code: str) -> None:
    async def attempt() -> tuple[list[dict], int | None]:
        async with serving(webchat_runtime) as (_, url), connect(url) as ws:
            await ws.send(json.dumps({"type": "hello", "token": token}))
            return await _closed_with(ws)

    seen, close_code = asyncio.run(attempt())
    assert [m["code"] for m in seen] == [code], seen
    assert seen[0]["message"]  # a sentence for the customer, not a stack trace
    assert close_code == 4401


def test_a_revoked_link_and_a_silent_client_are_turned_away(webchat_runtime: Runtime) -> None:
    async def attempt() -> None:
        async with serving(webchat_runtime) as (web, url):
            old = token_of(web.link("c-sam", "http://chat.example"))
            Revocations(webchat_runtime.store).revoke("c-sam")
            async with connect(url) as ws:
                await ws.send(json.dumps({"type": "hello", "token": old}))
                seen, close_code = await _closed_with(ws)
                assert [m["code"] for m in seen] == ["revoked_link"] and close_code == 4401
            async with connect(url) as ws:  # says nothing: closed after hello_timeout_s
                seen, close_code = await _closed_with(ws)
                assert [m["code"] for m in seen] == ["no_hello"] and close_code == 4401
            async with signed_in(web, url, "c-sam") as (ws, ready, _):  # a new link works
                assert ready["type"] == "ready"

    asyncio.run(attempt())


def test_hostile_clients_get_clear_errors_and_another_customers_chat_goes_on(webchat_runtime: Runtime) -> None:
    rt = webchat_runtime

    # A slow refill (one message per 10 s): the flood below is a flood however long the bot takes to
    # answer the messages it lets through on a busy machine (at one a second, a reply taking over a
    # second refills the bucket as fast as the flood drains it).
    settings = TEST_SETTINGS.model_copy(update={"messages_per_minute": 6})

    async def attack() -> None:
        async with serving(rt, settings) as (web, url), signed_in(web, url, "c-sam") as (good, _, _):
            async with signed_in(web, url, "c-jordan") as (bad, _, _):
                # Not JSON, not a message, too long: each answered, the chat stays open.
                await bad.send("{not json")
                assert (await receive(bad))["code"] == "bad_message"
                await bad.send(json.dumps({"type": "message", "text": ["a", "list"]}))
                assert (await receive(bad))["code"] == "bad_message"
                await bad.send(json.dumps({"type": "message", "text": "x" * 500}))
                too_long = await receive(bad)
                assert too_long["code"] == "too_long" and "200 characters" in too_long["message"]
                # Meanwhile the other customer is answered as usual.
                assert (await say(good, "turn on the floor lamp"))["actions"]
                # A flood: "too fast" errors, then the socket is closed (1008).
                for _ in range(12):
                    with contextlib.suppress(ConnectionClosed):  # the server may have closed it already
                        await bad.send(json.dumps({"type": "message", "text": "hello"}))
                seen, close_code = await _closed_with(bad)
                assert "too_fast" in [m.get("code") for m in seen] and close_code == 1008, (seen, close_code)
            # An oversized frame closes that socket with 1009, after a clear error.
            async with signed_in(web, url, "c-jordan") as (big, _, _):
                await big.send(json.dumps({"type": "message", "text": "y" * 5000}))
                seen, close_code = await _closed_with(big)
                assert [m["code"] for m in seen] == ["too_large"] and close_code == 1009
            # ... and far larger ones are refused by the protocol layer itself.
            async with signed_in(web, url, "c-jordan") as (huge, _, _):
                await huge.send("z" * (8 * TEST_SETTINGS.max_frame_bytes))
                _, close_code = await _closed_with(huge)
                assert close_code == 1009
            reply = await say(good, "turn off the floor lamp")
            assert reply["type"] == "reply" and reply["actions"], reply

    asyncio.run(attack())
    assert not light_on(rt, "floor_lamp")


def test_the_page_is_served_with_its_safety_headers(webchat_runtime: Runtime) -> None:
    import urllib.request

    async def fetch() -> None:
        async with serving(webchat_runtime) as (_, url):
            base = url.replace("ws://", "http://").removesuffix("/ws")
            page = await asyncio.to_thread(urllib.request.urlopen, base + "/")
            html = page.read().decode()
            assert page.headers["Content-Type"].startswith("text/html")
            assert "script-src 'self'" in page.headers["Content-Security-Policy"]
            assert page.headers["Referrer-Policy"] == "no-referrer"
            assert '<html lang="en">' in html and '<label for="message">' in html and 'role="log"' in html
            assert "<script>" not in html  # no inline script: the policy forbids it
            js = await asyncio.to_thread(urllib.request.urlopen, base + "/chat.js")
            assert js.headers["Content-Type"].startswith("text/javascript") and b'type: "hello"' in js.read()
            health = json.loads((await asyncio.to_thread(urllib.request.urlopen, base + "/healthz")).read())
            assert health["ok"] is True

    asyncio.run(fetch())


def test_the_chat_mounted_in_another_application_works_under_its_prefix(webchat_runtime: Runtime) -> None:
    import socket
    import urllib.request

    import uvicorn
    from starlette.applications import Starlette
    from starlette.routing import Mount

    from voicebot.webchat.app import WebChat

    async def mounted() -> None:
        chat = WebChat(webchat_runtime.conversation, webchat_runtime.store, TEST_SETTINGS, SECRET)
        host_app = Starlette(routes=[Mount("/chat", app=chat.app())])
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        server = uvicorn.Server(uvicorn.Config(host_app, log_level="warning", lifespan="off"))
        task = asyncio.create_task(server.serve(sockets=[sock]))
        try:
            while not server.started:
                await asyncio.sleep(0.02)
            port = sock.getsockname()[1]
            page = await asyncio.to_thread(urllib.request.urlopen, f"http://127.0.0.1:{port}/chat/")
            assert b'src="chat.js"' in page.read()  # relative: it loads from under the prefix
            async with signed_in(chat, f"ws://127.0.0.1:{port}/chat/ws", "c-sam") as (_, ready, greeting):
                assert ready["type"] == "ready" and greeting["text"].startswith("Hello, Sam!")
        finally:
            server.should_exit = True
            await task
            await chat.close()

    asyncio.run(mounted())


def test_asking_for_a_person_in_the_chat_opens_a_ticket_with_the_chat_in_it(webchat_runtime: Runtime) -> None:
    rt = webchat_runtime

    async def escalate() -> tuple[dict, dict]:
        async with serving(rt) as (web, url), signed_in(web, url, "c-kim") as (ws, ready, _):
            await say(ws, "turn on the floor lamp")
            return ready, await say(ws, "I want to talk to a human")

    ready, reply = asyncio.run(escalate())
    assert reply["escalated"] and reply["ticket_id"], reply
    assert f"ticket number {reply['ticket_id']}" in reply["text"], reply["text"]  # said, with what happens next
    ticket = rt.store.ticket(reply["ticket_id"])
    assert ticket is not None and ticket.customer_id == "c-kim" and ticket.conversation_id == ready["conversation_id"]
    assert ticket.summary["channel"] == "web"
    assert [t["user"] for t in ticket.summary["transcript"]][:1] == ["turn on the floor lamp"]
    # Asking for a person is no problem with the floor lamp: the next conversation does not bring it up.
    call = rt.conversation("phone", caller="+1 555 0199")
    assert "floor lamp" not in call.greet().text.lower()
    call.end("abandoned")
