"""Identity resolution: the same customer from a caller number, a speaker, a Home Assistant
satellite and a web chat login, on the store's own database file."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from voicebot.customers import IdentityBook, IdentityError, identify
from voicebot.store import Customer, Store
from voicebot.store_admin import erase_customer, export_customer


@pytest.fixture()
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store(tmp_path / "voicebot.sqlite3")
    s.save_customer(Customer("c-42", "Alex", ["+1 555 0142"]))
    s.save_customer(Customer("c-7", "Sam", []))
    yield s
    s.close()


def test_one_customer_is_recognised_on_every_channel(store: Store) -> None:
    book = IdentityBook(store)
    book.link("c-42", "speaker", "smith-home/kitchen-speaker")
    book.link("c-42", "satellite", "a1b2c3d4e5")
    book.link("c-42", "web", "Alex@Example.com")
    book.link("c-42", "phone", "+44 20 7946 0018")  # a second number, not in the profile
    assert identify(store, "phone", "+1 (555) 0142") == "c-42"  # the profile's number, any spelling
    assert identify(store, "phone", "tel:+442079460018") == "c-42"
    assert identify(store, "speaker", "smith-home / kitchen-speaker") == "c-42"
    assert identify(store, "satellite", "a1b2c3d4e5") == "c-42"
    assert identify(store, "web", "alex@example.com") == "c-42"  # logins ignore case
    assert identify(store, "customer", "c-42") == "c-42"
    kinds = {(i.kind, i.value) for i in book.identities("c-42")}
    assert kinds == {("speaker", "smith-home/kitchen-speaker"), ("satellite", "a1b2c3d4e5"),
                     ("web", "alex@example.com"), ("phone", "+442079460018"), ("phone", "+15550142")}


def test_strangers_and_nonsense_are_nobody(store: Store) -> None:
    assert identify(store, "phone", "+1 555 9999") is None
    assert identify(store, "satellite", "unknown-satellite") is None
    assert identify(store, "customer", "c-999") is None
    assert identify(store, "web", "") is None
    assert identify(store, "speaker", "x" * 5000) is None  # too long to be anyone's: nobody, no error
    assert identify(store, "fax", "123") is None
    assert identify(None, "phone", "+1 555 0142") is None


def test_an_identity_belongs_to_one_customer_and_moves_when_linked_again(store: Store) -> None:
    book = IdentityBook(store)
    book.link("c-42", "satellite", "hall-satellite")
    book.link("c-7", "satellite", "hall-satellite")
    assert identify(store, "satellite", "hall-satellite") == "c-7"
    assert book.unlink("satellite", "hall-satellite")
    assert identify(store, "satellite", "hall-satellite") is None
    assert not book.unlink("satellite", "hall-satellite")


def test_bad_links_are_refused_with_a_reason(store: Store) -> None:
    book = IdentityBook(store)
    with pytest.raises(IdentityError, match="no customer 'c-404'"):
        book.link("c-404", "web", "someone@example.com")
    with pytest.raises(IdentityError, match="unknown identity kind 'fax'"):
        book.link("c-42", "fax", "123")
    with pytest.raises(IdentityError, match="1 to 512 characters"):
        book.link("c-42", "web", "   ")


def test_identities_are_in_the_customers_export_and_gone_after_erasure(store: Store, tmp_path: Path) -> None:
    IdentityBook(store).link("c-42", "web", "alex@example.com")
    IdentityBook(store).link("c-7", "web", "sam@example.com")
    exported = export_customer(store, "c-42")
    assert [r["value"] for r in exported["customer_identities"]] == ["alex@example.com"]
    erase_customer(store, "c-42")
    assert identify(store, "web", "alex@example.com") is None
    assert identify(store, "web", "sam@example.com") == "c-7"
    db = sqlite3.connect(tmp_path / "voicebot.sqlite3")
    assert db.execute("SELECT COUNT(*) FROM customer_identities WHERE customer_id = 'c-42'").fetchone() == (0,)
