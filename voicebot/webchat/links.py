"""Signed web chat links and the browser sessions they open.

A link carries the customer id and its expiry, signed with HMAC-SHA256 (itsdangerous) under the
``webchat.secret``. A link opens the chat once (``webchat.single_use_links``): the first use is
recorded in the store (table ``webchat_used_links``, shared by every web chat process on it), and
the page is given a *session* in exchange, a token of its own (another salt, ``session_ttl_s``)
that the page keeps and presents when it reconnects or is reloaded. So a link forwarded, left in
a mailbox or in the browser's history after it was used opens nothing. Links and sessions issued
before a customer's revocation time (``voicebot webchat revoke``) are refused, so a leaked link
or a session on a shared computer can be voided.
"""

from __future__ import annotations

import hashlib
import math
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import Column, Float, String, Table, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from voicebot.customers.tables import WEBCHAT_REVOCATIONS, engine_for
from voicebot.database import METADATA, ensure_tables

SALT = "voicebot.webchat.link"
SESSION_SALT = "voicebot.webchat.session"

# Links that have opened a chat once (single-use links), until they expire. The id is a hash of
# the link's token, never the token itself.
USED_LINKS = Table(
    "webchat_used_links", METADATA,
    Column("link_id", String(64), primary_key=True),
    Column("customer_id", String(128), nullable=False, index=True),  # export and erasure take these rows
    Column("used_at", Float, nullable=False),
    Column("expires_at", Float, nullable=False, index=True),
)
SECRET_FILE = "webchat-secret"


class LinkError(ValueError):
    """A link (or session) that does not open the chat. ``code`` is what the client is told:
    bad_link, expired_link, revoked_link, used_link, or bad_session / expired_session."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class LinkClaims:
    customer_id: str
    issued_at: float
    expires_at: float
    link_id: str = ""  # a hash of the token: what a single-use link is remembered by


class LinkSigner:
    """Signs and checks links and, under another salt, the sessions they are exchanged for (a
    session token is never accepted as a link, nor a link as a session)."""

    def __init__(self, secret: str | bytes) -> None:
        if not secret or len(secret) < 16:
            raise ValueError("the web chat secret must be at least 16 characters")
        self._serializer = URLSafeSerializer(secret, salt=SALT)
        self._sessions = URLSafeSerializer(secret, salt=SESSION_SALT)

    def sign(self, customer_id: str, ttl_s: float, now: float | None = None) -> str:
        return self._sign(self._serializer, customer_id, ttl_s, now)

    def session(self, customer_id: str, ttl_s: float, now: float | None = None) -> str:
        """A session for the page a link opened: presented on every reconnect until it expires."""
        return self._sign(self._sessions, customer_id, ttl_s, now)

    @staticmethod
    def _sign(serializer: URLSafeSerializer, customer_id: str, ttl_s: float, now: float | None) -> str:
        now = time.time() if now is None else now
        # Issued at the millisecond, rounded down: a revocation in the same millisecond covers it.
        issued = math.floor(now * 1000) / 1000
        # "n": two links signed in the same millisecond are still two links
        return str(serializer.dumps({"c": customer_id, "i": issued, "e": round(now + ttl_s, 3),
                                     "n": secrets.token_urlsafe(9)}))

    def verify(self, token: Any, now: float | None = None) -> LinkClaims:
        """The link's claims, or LinkError saying why it does not open the chat."""
        return self._verify(self._serializer, token, now, "link", "bad_link", "expired_link")

    def verify_session(self, token: Any, now: float | None = None) -> LinkClaims:
        return self._verify(self._sessions, token, now, "session", "bad_session", "expired_session")

    @staticmethod
    def _verify(serializer: URLSafeSerializer, token: Any, now: float | None, what: str, bad: str,
                expired: str) -> LinkClaims:
        if not isinstance(token, str) or not token or len(token) > 2048:
            raise LinkError(bad, f"this chat {what} is not valid")
        try:
            data = serializer.loads(token)
        except BadSignature:
            raise LinkError(bad, f"this chat {what} is not valid (its signature does not match)") from None
        try:
            claims = LinkClaims(str(data["c"]), float(data["i"]), float(data["e"]),
                                hashlib.sha256(token.encode()).hexdigest())
        except (KeyError, TypeError, ValueError):
            raise LinkError(bad, f"this chat {what} is not valid") from None
        if (time.time() if now is None else now) >= claims.expires_at:
            if what == "link":
                raise LinkError(expired, "this chat link has expired; please ask for a new one")
            raise LinkError(expired, "this chat session has expired; please open the chat with a new link")
        return claims


class Revocations:
    """Per customer, the time before which their links no longer open the chat."""

    def __init__(self, store: Any) -> None:
        self.engine = engine_for(store)

    def revoke(self, customer_id: str, now: float | None = None) -> float:
        at = time.time() if now is None else now
        with self.engine.begin() as db:
            done = db.execute(update(WEBCHAT_REVOCATIONS).where(WEBCHAT_REVOCATIONS.c.customer_id == customer_id)
                              .values(not_before=at)).rowcount
            if not done:
                db.execute(insert(WEBCHAT_REVOCATIONS).values(customer_id=customer_id, not_before=at))
        return at

    def check(self, claims: LinkClaims) -> None:
        """Links and sessions alike: issued before the customer's revocation, refused."""
        with self.engine.connect() as db:
            row = db.execute(select(WEBCHAT_REVOCATIONS.c.not_before)
                             .where(WEBCHAT_REVOCATIONS.c.customer_id == claims.customer_id)).first()
        if row is not None and claims.issued_at <= row.not_before:
            raise LinkError("revoked_link", "this chat link has been withdrawn; please ask for a new one")


class UsedLinks:
    """Single-use links: the first use of each is recorded in the store; a second is refused,
    whichever web chat process (on the same database) it reaches."""

    def __init__(self, store: Any) -> None:
        self.engine = engine_for(store)
        ensure_tables(self.engine, (USED_LINKS,))

    def spend(self, claims: LinkClaims, now: float | None = None) -> None:
        """Record the link's first use; LinkError ``used_link`` if it was used before."""
        now = time.time() if now is None else now
        try:
            with self.engine.begin() as db:
                db.execute(delete(USED_LINKS).where(USED_LINKS.c.expires_at < now))  # expired: refused anyway
                db.execute(insert(USED_LINKS).values(link_id=claims.link_id, customer_id=claims.customer_id,
                                                     used_at=now, expires_at=claims.expires_at))
        except IntegrityError:
            raise LinkError("used_link", "this chat link has been used already; please ask for a new one "
                            "(a chat opened with it continues in the browser where it was opened)") from None


def webchat_secret(configured: str | None, data_dir: Path, secret_file: str | None = None) -> str:
    """The configured secret, else the one in ``secret_file`` (or DATA_DIR/webchat-secret, created
    with mode 0600 on first use)."""
    if configured:
        return configured
    if secret_file:
        try:
            return Path(secret_file).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ValueError(f"cannot read webchat.secret_file {secret_file}: {exc.strerror}") from None
    path = Path(data_dir) / SECRET_FILE
    try:
        return path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it first: use theirs
        return path.read_text(encoding="utf-8").strip()
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(value + "\n")
    return value
