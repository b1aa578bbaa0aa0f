"""Signed web chat links: whoever holds one may chat as that customer until it expires.

A link carries the customer id and its expiry, signed with HMAC-SHA256 (itsdangerous) under the
``webchat.secret``; nothing is stored per link. Links issued before a customer's revocation time
(``voicebot webchat revoke``) are refused, so a leaked link can be voided.
"""

from __future__ import annotations

import math
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import insert, select, update

from voicebot.customers.tables import WEBCHAT_REVOCATIONS, engine_for

SALT = "voicebot.webchat.link"
SECRET_FILE = "webchat-secret"


class LinkError(ValueError):
    """A link that does not open the chat. ``code`` is what the client is told: bad_link,
    expired_link or revoked_link."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class LinkClaims:
    customer_id: str
    issued_at: float
    expires_at: float


class LinkSigner:
    def __init__(self, secret: str | bytes) -> None:
        if not secret or len(secret) < 16:
            raise ValueError("the web chat secret must be at least 16 characters")
        self._serializer = URLSafeSerializer(secret, salt=SALT)

    def sign(self, customer_id: str, ttl_s: float, now: float | None = None) -> str:
        now = time.time() if now is None else now
        # Issued at the millisecond, rounded down: a revocation in the same millisecond covers it.
        issued = math.floor(now * 1000) / 1000
        return str(self._serializer.dumps({"c": customer_id, "i": issued, "e": round(now + ttl_s, 3)}))

    def verify(self, token: Any, now: float | None = None) -> LinkClaims:
        """The link's claims, or LinkError saying why it does not open the chat."""
        if not isinstance(token, str) or not token or len(token) > 2048:
            raise LinkError("bad_link", "this chat link is not valid")
        try:
            data = self._serializer.loads(token)
        except BadSignature:
            raise LinkError("bad_link", "this chat link is not valid (its signature does not match)") from None
        try:
            claims = LinkClaims(str(data["c"]), float(data["i"]), float(data["e"]))
        except (KeyError, TypeError, ValueError):
            raise LinkError("bad_link", "this chat link is not valid") from None
        if (time.time() if now is None else now) >= claims.expires_at:
            raise LinkError("expired_link", "this chat link has expired; please ask for a new one")
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
        with self.engine.connect() as db:
            row = db.execute(select(WEBCHAT_REVOCATIONS.c.not_before)
                             .where(WEBCHAT_REVOCATIONS.c.customer_id == claims.customer_id)).first()
        if row is not None and claims.issued_at <= row.not_before:
            raise LinkError("revoked_link", "this chat link has been withdrawn; please ask for a new one")


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
