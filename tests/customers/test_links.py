"""Signed web chat links: who holds one chats as that customer until it expires or is withdrawn."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from voicebot.store import Customer, Store
from voicebot.webchat.links import LinkError, LinkSigner, Revocations, webchat_secret

SECRET = "a-test-secret-of-enough-length"


def test_a_signed_link_names_its_customer_until_it_expires() -> None:
    signer = LinkSigner(SECRET)
    token = signer.sign("c-42", ttl_s=3600, now=1000.0)
    claims = signer.verify(token, now=1000.0 + 3599)
    assert claims.customer_id == "c-42" and claims.expires_at == 4600.0
    with pytest.raises(LinkError) as expired:
        signer.verify(token, now=4600.0)
    assert expired.value.code == "expired_link" and "expired" in str(expired.value)


@pytest.mark.parametrize("tamper", [
    lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"),  # the signature changed
    lambda t: t.replace(t.split(".")[0], LinkSigner(SECRET).sign("c-7", 3600, now=1000.0).split(".")[0]),  # another customer
    lambda t: "",
    lambda t: "not a link",
    lambda t: t * 40,  # absurdly long
])
def test_a_changed_or_made_up_link_is_refused(tamper) -> None:  # type: ignore[no-untyped-def]
    signer = LinkSigner(SECRET)
    token = signer.sign("c-42", ttl_s=3600, now=1000.0)
    with pytest.raises(LinkError) as bad:
        signer.verify(tamper(token), now=1001.0)
    assert bad.value.code == "bad_link"


def test_a_link_signed_with_another_secret_is_refused() -> None:
    token = LinkSigner("another-secret-of-enough-length").sign("c-42", ttl_s=3600)
    with pytest.raises(LinkError, match="signature does not match"):
        LinkSigner(SECRET).verify(token)
    with pytest.raises(ValueError, match="at least 16 characters"):
        LinkSigner("short")


def test_revoking_voids_the_links_issued_before(tmp_path: Path) -> None:
    store = Store(tmp_path / "voicebot.sqlite3")
    store.save_customer(Customer("c-42"))
    signer, revocations = LinkSigner(SECRET), Revocations(store)
    old = signer.verify(signer.sign("c-42", 3600, now=1000.0), now=1001.0)
    revocations.check(old)  # nothing revoked yet
    revocations.revoke("c-42", now=2000.0)
    with pytest.raises(LinkError) as revoked:
        revocations.check(old)
    assert revoked.value.code == "revoked_link"
    revocations.check(signer.verify(signer.sign("c-42", 3600, now=2001.0), now=2002.0))  # a new link works
    store.close()


def test_the_generated_secret_is_private_and_kept(tmp_path: Path) -> None:
    first = webchat_secret(None, tmp_path)
    assert len(first) >= 32
    assert stat.S_IMODE((tmp_path / "webchat-secret").stat().st_mode) == 0o600
    assert webchat_secret(None, tmp_path) == first  # every process and restart signs alike
    assert webchat_secret("configured-secret-value", tmp_path) == "configured-secret-value"


def test_a_secret_file_is_read_and_a_missing_one_named(tmp_path: Path) -> None:
    (tmp_path / "credential").write_text("secret-from-a-credential-file\n")
    assert webchat_secret(None, tmp_path, str(tmp_path / "credential")) == "secret-from-a-credential-file"
    with pytest.raises(ValueError, match=r"cannot read webchat\.secret_file .*missing"):
        webchat_secret(None, tmp_path, str(tmp_path / "missing"))
    assert not (tmp_path / "webchat-secret").exists()  # no secret is generated beside a configured file
