"""The tables that make one customer out of every channel, on the store's database.

They live on ``voicebot.database.METADATA`` beside the store's own tables and are opened on the
store's location (``open_engine``), so SQLite and PostgreSQL both work and a customer's export
and erasure (which take every table with a ``customer_id`` column) include them.
"""

from __future__ import annotations

import threading
import weakref
from typing import Any

from sqlalchemy import Column, Float, Index, String, Table, Text, create_engine
from sqlalchemy.engine import Engine
from sqlalchemy.pool import StaticPool

from voicebot.database import METADATA, ensure_tables, open_engine

# How a customer is recognised on a channel: (kind, value) → customer. Kinds: phone (a caller
# number, normalised), speaker (HOME/DEVICE of a smart speaker), satellite (a Home Assistant
# satellite or device id), web (a web chat login). A customer's profile phones count too.
IDENTITIES = Table(
    "customer_identities",
    METADATA,
    Column("kind", String(32), primary_key=True),
    Column("value", String(512), primary_key=True),
    Column("customer_id", String(128), nullable=False),
    Column("created_at", Float, nullable=False),
    Index("customer_identities_customer", "customer_id"),
)

# Where the customer's last conversation left off, on whichever channel: the devices it was
# about, the problem still open, the language. Labels and ids only (no customer words), like the
# store's other unencrypted columns (docs/security.md).
THREADS = Table(
    "customer_threads",
    METADATA,
    Column("customer_id", String(128), primary_key=True),
    Column("conversation_id", String(64), nullable=False),
    Column("channel", String(32), nullable=False),
    Column("updated_at", Float, nullable=False),
    Column("language", String(8), nullable=False, default="en"),
    Column("data", Text, nullable=False, default="{}"),  # JSON: devices, area, problem
)

# Web chat links issued before this time no longer open a chat ("voicebot webchat revoke").
WEBCHAT_REVOCATIONS = Table(
    "webchat_revocations",
    METADATA,
    Column("customer_id", String(128), primary_key=True),
    Column("not_before", Float, nullable=False),
)

TABLES = (IDENTITIES, THREADS, WEBCHAT_REVOCATIONS)

_lock = threading.Lock()
_by_store: weakref.WeakKeyDictionary[Any, Engine] = weakref.WeakKeyDictionary()


def store_location(store: Any) -> str:
    """Where ``store`` (voicebot.store.Store) keeps its data: what ``--store`` or ``store.url`` said."""
    for name in ("location", "url", "path"):
        value = getattr(store, name, None)
        if value:
            return str(value)
    return ":memory:"


def engine_for(store: Any) -> Engine:
    """The engine for these tables on ``store``'s database, the tables created where missing.
    A throw-away in-memory store gets a private in-memory database that lives as long as it."""
    with _lock:
        engine = _by_store.get(store)
        if engine is not None:
            return engine
        own = getattr(store, "engine", None)
        if isinstance(own, Engine):
            engine = own
        else:
            location = store_location(store)
            if location == ":memory:":
                # one connection shared by every thread, or each thread would see its own database
                engine = create_engine("sqlite://", poolclass=StaticPool, connect_args={"check_same_thread": False})
            else:
                engine = open_engine(location)
        ensure_tables(engine, TABLES)
        _by_store[store] = engine
        return engine
