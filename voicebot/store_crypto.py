"""Encryption at rest for what customers say: the store's transcripts, replies, ticket texts,
traces, feedback transcripts and audio are sealed with Fernet (AES-128-CBC with HMAC-SHA256,
from ``cryptography``) before SQLite sees them, so neither the database, its WAL nor a backup
holds them in clear.

The key comes from ``store.key`` (``VOICEBOT_STORE__KEY``), else from a key file, by default
beside the database (``<database>.key``, or ``store.key_file``), created on first use with mode
0600. A sealed value is ``enc1:`` + a Fernet token; values written before encryption existed
are read as they are and sealed by ``voicebot store rotate-key``. A wrong key raises one
StoreKeyError naming where the key came from; nothing is changed or deleted.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from pydantic import BaseModel

from voicebot.config import load_settings, section

PREFIX = "enc1:"
_PREFIX_BYTES = PREFIX.encode()


class RetentionDays(BaseModel):
    """Days each kind of record is kept (None: for good); enforced by the running services and
    by ``voicebot store prune``."""

    conversations: float | None = None  # conversations, their turns and their trace
    tickets: float | None = None  # closed tickets, counted from their last update
    feedback: float | None = None  # feedback clips: transcript, analysis and audio


class StoreSettings(BaseModel):
    """The ``store`` section of the configuration (``VOICEBOT_STORE__*``)."""

    # Where the database is: a file path, sqlite:///… or postgresql://user:password@host/db (several
    # hosts). ``--store``, ``dialogue.store`` and ``feedback.store`` win over it; default
    # <data_dir>/voicebot.sqlite3.
    url: str | None = None

    key: str | None = None  # a Fernet key (``voicebot store new-key``); wins over the key file
    key_file: str | None = None  # default: beside the database, ``<database>.key``
    retention_days: RetentionDays = RetentionDays()
    prune_every_s: float = 3600.0  # how often a running service applies retention_days


class StoreKeyError(RuntimeError):
    """The store's key is missing or does not open its data; the message is meant for the user."""


def new_key() -> str:
    return Fernet.generate_key().decode()


@dataclass
class StoreCipher:
    """Seals and opens column values. ``keys[0]`` seals; every key opens (during a rotation)."""

    keys: list[str]
    source: str  # where the key came from, for the error message

    def __post_init__(self) -> None:
        try:
            self._fernet = MultiFernet([Fernet(k.encode()) for k in self.keys])
        except (ValueError, TypeError) as exc:
            raise StoreKeyError(f"the store key from {self.source} is not a valid Fernet key ({exc})") from None

    def seal(self, text: str | None) -> str | None:
        if text is None:
            return None
        return PREFIX + self._fernet.encrypt(text.encode()).decode()

    def open(self, value: str | None) -> str | None:
        if value is None or not value.startswith(PREFIX):
            return value  # written before encryption: read as it is
        return self._open(value[len(PREFIX) :].encode()).decode()

    def seal_bytes(self, data: bytes | None) -> bytes | None:
        if data is None:
            return None
        return _PREFIX_BYTES + self._fernet.encrypt(data)

    def open_bytes(self, data: bytes | None) -> bytes | None:
        if data is None or not data.startswith(_PREFIX_BYTES):
            return data
        return self._open(data[len(_PREFIX_BYTES) :])

    def _open(self, token: bytes) -> bytes:
        try:
            return self._fernet.decrypt(token)
        except InvalidToken:
            raise StoreKeyError(
                f"the store key from {self.source} does not open this store's data: "
                "use the key it was written with (store.key / VOICEBOT_STORE__KEY or the key file); "
                "nothing was changed"
            ) from None


def key_file_for(database: str | Path, settings: StoreSettings) -> Path:
    return Path(settings.key_file) if settings.key_file else Path(f"{database}.key")


def load_cipher(database: str | Path, settings: StoreSettings | None = None, create: bool = True) -> StoreCipher:
    """The cipher for ``database``: the configured key, else the key file (made on first use
    when ``create``). An in-memory database gets a throwaway key: nothing of it outlives the process."""
    if settings is None:
        settings = store_settings()
    if settings.key:
        return StoreCipher([settings.key.strip()], "store.key (VOICEBOT_STORE__KEY)")
    if str(database) == ":memory:":
        return StoreCipher([new_key()], "a throwaway in-memory key")
    path = key_file_for(database, settings)
    keys = _read_keys(path)
    # A rotation that stopped between re-encrypting and replacing the key file left the new
    # key beside it; it opens what was re-encrypted.
    pending = _read_keys(rotation_file(path))
    if keys or pending:
        return StoreCipher(keys + pending, f"the key file {path}")
    if not create:
        raise StoreKeyError(
            f"the store {database} holds encrypted data but its key file {path} is missing and "
            "store.key (VOICEBOT_STORE__KEY) is not set: restore the key; nothing was changed"
        )
    with contextlib.suppress(FileExistsError):  # another process opening the same new store made it first
        write_key_file(path, new_key())
    return StoreCipher(_read_keys(path), f"the key file {path}")


def rotation_file(path: Path) -> Path:
    return path.with_name(path.name + ".new")


def write_key_file(path: Path, key: str) -> None:
    """Create ``path`` holding ``key``, readable only by its owner; never overwrites."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(key + "\n")
        f.flush()
        os.fsync(f.fileno())


def _read_keys(path: Path) -> list[str]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise StoreKeyError(f"cannot read the store key file {path}: {exc.strerror}") from None
    return [line.strip() for line in text.splitlines() if line.strip()]


def store_settings() -> StoreSettings:
    return section(StoreSettings, "store", load_settings())
