"""A caller announcement (POST /calls/{uuid}) answered by any phone process: two phone processes'
registries and HTTP APIs on one store (SQLite, or a real PostgreSQL server) and one real
Mosquitto. The dialplan may ask either; the announcement reaches the call wherever it connects or
is held, and the answer says where it is: held or not yet connected (200, with its state), over (409), or held
by no process any more (404)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from aiohttp.test_utils import TestClient, TestServer

from device_bridge.broker import MosquittoBroker
from device_bridge.client import MqttConnection
from tests.waiting import until_async
from voicebot.channels.phone.announce_relay import AnnounceRelay
from voicebot.channels.phone.call_store import CallStore
from voicebot.channels.phone.calls import CallRecord, CallRegistry, http_app
from voicebot.store import Store

TOKEN = "t" * 32
AUTH = {"Authorization": f"Bearer {TOKEN}"}


async def until(predicate: Any, timeout: float = 10.0) -> bool:
    return await until_async(predicate, timeout)


@asynccontextmanager
async def phone_process(location: str, broker: MosquittoBroker) -> AsyncIterator[tuple[CallRegistry, TestClient]]:
    """What one `voicebot phone` process has for this: its registry on the store, its relay on the
    broker, and its HTTP API."""
    store = Store(location)
    conn = MqttConnection(broker.url)
    assert conn.start(wait=15.0), "the phone process could not reach the broker"
    registry = CallRegistry(store=CallStore(store))
    relay = await asyncio.to_thread(AnnounceRelay(registry, conn).start, asyncio.get_running_loop())
    try:
        async with TestClient(TestServer(http_app(registry, TOKEN))) as client:
            yield registry, client
    finally:
        relay.stop()
        conn.stop()
        store.close()


async def post(client: TestClient, call_id: str, **fields: str) -> tuple[int, dict[str, Any]]:
    async with client.post(f"/calls/{call_id}", data=fields, headers=AUTH) as resp:
        return resp.status, await resp.json()


def test_an_announcement_reaches_the_call_on_any_phone_process(store_location: str, mosquitto: MosquittoBroker) -> None:
    async def scenario() -> None:
        async with phone_process(store_location, mosquitto) as (a, api_a), \
                phone_process(store_location, mosquitto) as (b, api_b):
            # Before the call connects: A is asked, the call then connects to B, which has the caller.
            early = "6a1e0c2e-0000-4000-8000-000000000001"
            status, body = await post(api_a, early, caller="+1 555 0142", customer_id="c-42")
            assert status == 200 and body["state"] == "pending" and body["forwarded"], body
            assert await until(lambda: b.pending_announcements() == 1)
            record = b.open(CallRecord(call_id=early, transport="audiosocket"))
            assert (record.caller, record.customer_id) == ("+1 555 0142", "c-42")

            # A call already held by B, announced to A: A says who holds it; B's record has the caller.
            held = "6a1e0c2e-0000-4000-8000-000000000002"
            record = b.open(CallRecord(call_id=held, transport="audiosocket"))
            assert await until(lambda: (a.stored(held) or {}).get("state") == "active")
            status, body = await post(api_a, held.upper(), caller="+49 30 111111")
            assert status == 200 and body["state"] == "active" and body["held_by"], body
            assert record.caller == "+49 30 111111"
            # ...and any process's GET /calls/{uuid} shows it (the record stored again).
            assert await until(lambda: (a.stored(held) or {}).get("caller") == "+49 30 111111")

            # A call that is over: a clear refusal, nothing kept.
            b.close(record, "resolved", "caller")
            assert await until(lambda: (a.stored(held) or {}).get("state") == "ended")
            status, body = await post(api_a, held, caller="+49 30 111111")
            assert status == 409 and body["state"] == "ended" and "has ended" in body["error"], body

            # The store has a call as active, but its process is gone: no process holds it.
            orphan = "6a1e0c2e-0000-4000-8000-000000000003"
            b.store.save(CallRecord(call_id=orphan, transport="audiosocket").to_json())
            status, body = await post(api_b, orphan, caller="+1 555 0100")
            assert status == 404 and "no phone process holds" in body["error"], body

    asyncio.run(scenario())
