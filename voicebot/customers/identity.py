"""Who the customer is, whatever the channel: (kind, value) → customer id.

    identify(store, "phone", "+1 555 0142")      # a caller number (also a profile's phones)
    identify(store, "speaker", "smith-home/kitchen-speaker")   # HOME/DEVICE of a smart speaker
    identify(store, "satellite", "a1b2c3...")    # a Home Assistant satellite (or device) id
    identify(store, "web", "alex@example.com")   # a web chat login
    identify(store, "customer", "c-42")          # a customer id, when the channel knows it already

Every channel asks the same question here, so the same customer is recognised on each and their
history follows them (voicebot.customers.continuity).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, insert, select, update

from voicebot.customers.tables import IDENTITIES, engine_for
from voicebot.store import normalise_phone

KINDS = ("phone", "speaker", "satellite", "web")
MAX_VALUE_CHARS = 512


class IdentityError(ValueError):
    """An identity that cannot be kept or looked up; the message says why."""


@dataclass(frozen=True)
class Identity:
    kind: str
    value: str
    customer_id: str


def normalise(kind: str, value: str) -> str:
    """One spelling per identity: a phone number's digits, a login in lower case, ids trimmed."""
    if kind not in (*KINDS, "customer"):
        raise IdentityError(f"unknown identity kind {kind!r}; use one of {', '.join(KINDS)}")
    text = str(value).strip()
    if kind == "phone":
        text = normalise_phone(text)
    elif kind == "web":
        text = text.lower()
    elif kind == "speaker":
        text = "/".join(part.strip() for part in text.split("/"))
    if not text or len(text) > MAX_VALUE_CHARS:
        raise IdentityError(f"a {kind} identity must be 1 to {MAX_VALUE_CHARS} characters")
    return text


class IdentityBook:
    """The identities table on one store's database."""

    def __init__(self, store: Any) -> None:
        self.store = store
        self.engine = engine_for(store)

    def link(self, customer_id: str, kind: str, value: str) -> Identity:
        """Recognise ``customer_id`` by (kind, value) from now on; an identity belongs to one
        customer, so linking it again moves it."""
        if kind == "customer":
            raise IdentityError("a customer id needs no link")
        if self.store.customer(customer_id) is None:
            raise IdentityError(f"no customer {customer_id!r}")
        value = normalise(kind, value)
        with self.engine.begin() as db:
            moved = db.execute(
                update(IDENTITIES)
                .where(IDENTITIES.c.kind == kind, IDENTITIES.c.value == value)
                .values(customer_id=customer_id)
            ).rowcount
            if not moved:
                db.execute(insert(IDENTITIES).values(kind=kind, value=value, customer_id=customer_id,
                                                     created_at=time.time()))
        return Identity(kind, value, customer_id)

    def unlink(self, kind: str, value: str) -> bool:
        value = normalise(kind, value)
        with self.engine.begin() as db:
            return bool(db.execute(
                delete(IDENTITIES).where(IDENTITIES.c.kind == kind, IDENTITIES.c.value == value)
            ).rowcount)

    def identities(self, customer_id: str) -> list[Identity]:
        """The customer's identities, their profile's phone numbers included."""
        with self.engine.connect() as db:
            rows = db.execute(
                select(IDENTITIES.c.kind, IDENTITIES.c.value)
                .where(IDENTITIES.c.customer_id == customer_id)
                .order_by(IDENTITIES.c.kind, IDENTITIES.c.value)
            ).all()
        found = [Identity(r.kind, r.value, customer_id) for r in rows]
        customer = self.store.customer(customer_id)
        for phone in customer.phones if customer else []:
            ident = Identity("phone", normalise_phone(phone), customer_id)
            if ident not in found:
                found.append(ident)
        return found

    def identify(self, kind: str, value: str | None) -> str | None:
        """The customer recognised by (kind, value), or None."""
        if not value:
            return None
        try:
            value = normalise(kind, value)
        except IdentityError:
            return None  # a value no customer could have: nobody
        if kind == "customer":
            return value if self.store.customer(value) is not None else None
        with self.engine.connect() as db:
            row = db.execute(
                select(IDENTITIES.c.customer_id).where(IDENTITIES.c.kind == kind, IDENTITIES.c.value == value)
            ).first()
        if row is not None:
            return str(row.customer_id)
        if kind == "phone":
            customer = self.store.customer_by_phone(value)
            return customer.customer_id if customer is not None else None
        return None


def identify(store: Any, kind: str, value: str | None) -> str | None:
    """The customer id recognised on a channel by (kind, value), or None: the one call every
    channel makes (phone: caller number; speaker: HOME/DEVICE; satellite: Home Assistant's id;
    web: a login). ``store`` is the runtime's voicebot.store.Store."""
    if store is None or not value:
        return None
    return IdentityBook(store).identify(kind, value)
