"""Who may use the console: argon2id password hashes, a sign-in rate limit kept in the store, CSRF tokens for
forms, and the secret that signs session cookies."""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import hmac
import os
import secrets
import time
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, insert, select
from sqlalchemy.engine import Engine

from voicebot.console.db import Agent, AgentError, ConsoleDB, sign_in_failures_table

# argon2-cffi's defaults (RFC 9106 low-memory profile: argon2id, 64 MiB, 3 passes).
_hasher = PasswordHasher()
# Verified against when the name is unknown, so that a wrong name costs the same time as a wrong password.
_DUMMY_HASH = _hasher.hash("not a password anyone has")
MIN_PASSWORD = 10


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise AgentError(f"the password must have at least {MIN_PASSWORD} characters")
    return _hasher.hash(password)


def authenticate(db: ConsoleDB, name: str, password: str) -> Agent | None:
    """The agent when ``password`` is theirs; None otherwise (unknown name or wrong password)."""
    found = db.agent(name) if name else None
    stored = found[1] if found else _DUMMY_HASH
    try:
        _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return None
    if found is None:
        return None
    agent, _ = found
    if _hasher.check_needs_rehash(stored):
        db.set_password_hash(agent.name, _hasher.hash(password))
    return agent


def basic_credentials(header: str | None) -> tuple[str, str] | None:
    """(name, password) from an ``Authorization: Basic ...`` header."""
    if not header or not header.lower().startswith("basic "):
        return None
    try:
        raw = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    name, sep, password = raw.partition(":")
    return (name, password) if sep else None


class SignInLimiter:
    """At most ``attempts`` failed sign-ins per ``window_s``, counted per client address and per
    agent name: guessing is slowed on one account from many hosts and on many accounts from one.
    The failures are kept in the store's database, so every console process on it (several
    workers or hosts behind one proxy) counts the same attempts: guessing cannot be spread over
    processes for more tries. Two processes checking at the same instant may each let one more
    attempt through; the limit holds beyond that."""

    def __init__(self, engine: Engine, attempts: int = 5, window_s: float = 300.0) -> None:
        self.engine, self.attempts, self.window_s = engine, attempts, window_s
        self.table = sign_in_failures_table

    @staticmethod
    def _digest(key: str) -> str:
        return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()

    def retry_after(self, *keys: str) -> float:
        """Seconds until another attempt is allowed for every key (0: now)."""
        now = time.time()
        digests = {self._digest(k) for k in keys}
        t = self.table
        with self.engine.connect() as db:
            rows = db.execute(select(t.c.key, t.c.at).where(t.c.key.in_(digests), t.c.at > now - self.window_s)
                              .order_by(t.c.at)).all()
        times: dict[str, list[float]] = {}
        for row in rows:
            times.setdefault(row.key, []).append(row.at)
        wait = 0.0
        for ats in times.values():
            if len(ats) >= self.attempts:  # allowed again once all but attempts-1 of them are out of the window
                wait = max(wait, self.window_s - (now - ats[len(ats) - self.attempts]))
        return max(0.0, wait)

    def failed(self, *keys: str) -> None:
        now = time.time()
        t = self.table
        with self.engine.begin() as db:
            db.execute(delete(t).where(t.c.at <= now - self.window_s))  # what no longer counts
            db.execute(insert(t), [{"key": self._digest(k), "at": now} for k in keys])

    def succeeded(self, name_key: str) -> None:
        with self.engine.begin() as db:
            db.execute(delete(self.table).where(self.table.c.key == self._digest(name_key)))

    def clear(self) -> None:
        """Forget every failure (an operator letting a locked-out agent in at once)."""
        with self.engine.begin() as db:
            db.execute(delete(self.table))


def new_csrf_token() -> str:
    return secrets.token_urlsafe(32)


def csrf_ok(expected: str | None, given: str | None) -> bool:
    return bool(expected) and bool(given) and hmac.compare_digest(str(expected), str(given))


def session_secret(configured: str | None, path: Path) -> str:
    """The key that signs session cookies: configured, else a file made on first start (mode 0600)."""
    if configured:
        return configured
    with contextlib.suppress(FileNotFoundError):
        text = path.read_text(encoding="utf-8").strip()
        if text:
            return text
    path.parent.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(48)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it first
        return path.read_text(encoding="utf-8").strip()
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(secret + "\n")
    return secret
