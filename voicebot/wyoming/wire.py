"""Reading Wyoming events with limits.

The ``wyoming`` package's own reader trusts the peer: it reads any ``data_length`` and
``payload_length`` it is told and turns every malformed header into a silent end of stream. A
service reachable by satellites needs the opposite: a bounded read, and a reason when input is
refused, so the log says why a connection was closed. Writing uses the package's writer as is.

Framing (wyoming 1.10): one JSON header line ending in ``\\n`` with ``type`` and optionally
``data``, ``data_length``, ``payload_length``, ``version``; then ``data_length`` bytes of JSON
merged over ``data``; then ``payload_length`` bytes of binary payload.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any

from wyoming.event import Event


class WireError(Exception):
    """Input that breaks the framing or a limit; the message says which, for the log line."""


@dataclass(frozen=True)
class Limits:
    header_bytes: int = 65_536
    data_bytes: int = 1_048_576
    payload_bytes: int = 4_194_304


def _length(header: dict[str, Any], key: str, limit: int) -> int:
    value = header.get(key)
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise WireError(f"malformed header: {key} must be a non-negative integer, got {value!r:.40}")
    if value > limit:
        raise WireError(f"oversized event: {key} {value} bytes is over the limit of {limit}")
    return value


def parse_header(line: bytes) -> dict[str, Any]:
    """The header line as a mapping, or WireError saying what is wrong with it."""
    try:
        header = json.loads(line)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise WireError(f"malformed header: not JSON ({exc})") from None
    if not isinstance(header, dict):
        raise WireError(f"malformed header: expected a JSON object, got {type(header).__name__}")
    kind = header.get("type")
    if not isinstance(kind, str) or not kind:
        raise WireError("malformed header: no event type")
    if not isinstance(header.get("data", {}), dict):
        raise WireError(f"malformed header: data of {kind!r} is not a JSON object")
    return header


async def read_event(reader: asyncio.StreamReader, limits: Limits) -> Event | None:
    """The next event; None when the peer closed the connection between events.

    The reader's own ``limit`` must be at least ``limits.header_bytes`` (the server sets it):
    a longer header line is refused rather than buffered."""
    try:
        line = await reader.readuntil(b"\n")
    except asyncio.IncompleteReadError as exc:
        if not exc.partial.strip():
            return None
        raise WireError(f"went away in the middle of a header ({len(exc.partial)} bytes arrived)") from None
    except asyncio.LimitOverrunError:
        raise WireError(f"oversized header: no end of line within {limits.header_bytes} bytes") from None
    if len(line) > limits.header_bytes:
        raise WireError(f"oversized header: {len(line)} bytes is over the limit of {limits.header_bytes}")
    if not line.strip():
        raise WireError("malformed header: an empty line")
    header = parse_header(line)
    kind: str = header["type"]
    data_length = _length(header, "data_length", limits.data_bytes)
    payload_length = _length(header, "payload_length", limits.payload_bytes)
    data: dict[str, Any] = dict(header.get("data") or {})
    try:
        if data_length:
            block = await reader.readexactly(data_length)
            try:
                extra = json.loads(block)
            except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                raise WireError(f"malformed data of {kind!r}: not JSON ({exc})") from None
            if not isinstance(extra, dict):
                raise WireError(f"malformed data of {kind!r}: expected a JSON object")
            data.update(extra)
        payload = await reader.readexactly(payload_length) if payload_length else None
    except asyncio.IncompleteReadError as exc:
        raise WireError(
            f"went away in the middle of {kind!r} ({len(exc.partial)} of {exc.expected} bytes arrived)"
        ) from None
    return Event(type=kind, data=data, payload=payload)


class RequestError(Exception):
    """A request that cannot be served (an unusable audio format, events out of order): answered
    with an ``error`` event carrying ``code``; the connection stays open."""

    def __init__(self, text: str, code: str) -> None:
        super().__init__(text)
        self.code = code
