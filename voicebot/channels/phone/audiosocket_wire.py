"""Asterisk AudioSocket framing: 1 byte kind, 2 bytes big-endian payload length, payload.

Only reading and writing messages lives here; what a call does with them is in ``audiosocket``.
"""

from __future__ import annotations

import asyncio
import struct
import uuid
from dataclasses import dataclass
from enum import IntEnum

HEADER = struct.Struct(">BH")


class Kind(IntEnum):
    HANGUP = 0x00
    UUID = 0x01
    DTMF = 0x03
    SLIN_8K = 0x10
    SLIN_12K = 0x11
    SLIN_16K = 0x12
    SLIN_24K = 0x13
    SLIN_32K = 0x14
    SLIN_44K = 0x15
    SLIN_48K = 0x16
    SLIN_96K = 0x17
    SLIN_192K = 0x18
    ERROR = 0xFF


AUDIO_RATES: dict[int, int] = {
    Kind.SLIN_8K: 8000,
    Kind.SLIN_12K: 12000,
    Kind.SLIN_16K: 16000,
    Kind.SLIN_24K: 24000,
    Kind.SLIN_32K: 32000,
    Kind.SLIN_44K: 44100,
    Kind.SLIN_48K: 48000,
    Kind.SLIN_96K: 96000,
    Kind.SLIN_192K: 192000,
}
RATE_KINDS: dict[int, Kind] = {rate: Kind(kind) for kind, rate in AUDIO_RATES.items()}
DTMF_DIGITS = frozenset("0123456789*#ABCD")
_KNOWN_KINDS = frozenset(int(k) for k in Kind)


class ProtocolError(Exception):
    """The peer sent something the protocol does not allow; the message says what."""


class PeerClosed(Exception):
    """The peer closed the connection between two messages."""


@dataclass(frozen=True)
class Message:
    kind: int
    payload: bytes

    @property
    def is_audio(self) -> bool:
        return self.kind in AUDIO_RATES


async def read_message(reader: asyncio.StreamReader) -> Message:
    """Read and validate one message. Raises PeerClosed at a clean end of stream and
    ProtocolError for anything malformed (truncated header or payload, zero length where a
    payload is required, an unknown kind, a bad UUID, DTMF or audio payload)."""
    try:
        header = await reader.readexactly(HEADER.size)
    except asyncio.IncompleteReadError as exc:
        if not exc.partial:
            raise PeerClosed("connection closed") from None
        raise ProtocolError(f"truncated header: {len(exc.partial)} of {HEADER.size} bytes") from None
    kind, length = HEADER.unpack(header)
    try:
        payload = await reader.readexactly(length) if length else b""
    except asyncio.IncompleteReadError as exc:
        raise ProtocolError(
            f"truncated payload for kind 0x{kind:02x}: {len(exc.partial)} of {length} bytes"
        ) from None
    return validate(Message(kind, payload))


def validate(msg: Message) -> Message:
    kind, payload = msg.kind, msg.payload
    if kind == Kind.HANGUP or kind == Kind.ERROR:
        return msg  # both end the call; an error's payload, if any, is free-form
    if kind not in _KNOWN_KINDS:
        raise ProtocolError(f"unknown message kind 0x{kind:02x} ({len(payload)} bytes)")
    if not payload:
        raise ProtocolError(f"zero-length message of kind 0x{kind:02x}")
    if kind == Kind.UUID and len(payload) != 16:
        raise ProtocolError(f"UUID payload must be 16 bytes, got {len(payload)}")
    if kind == Kind.DTMF and (len(payload) != 1 or chr(payload[0]) not in DTMF_DIGITS):
        raise ProtocolError(f"bad DTMF payload {payload[:8]!r}")
    if msg.is_audio and len(payload) % 2:
        raise ProtocolError(f"audio payload of odd length {len(payload)} (16-bit samples expected)")
    return msg


def encode(kind: int, payload: bytes = b"") -> bytes:
    if len(payload) > 0xFFFF:
        raise ValueError(f"payload of {len(payload)} bytes does not fit an AudioSocket message")
    return HEADER.pack(kind, len(payload)) + payload


def encode_uuid(call_id: uuid.UUID | str) -> bytes:
    value = call_id if isinstance(call_id, uuid.UUID) else uuid.UUID(call_id)
    return encode(Kind.UUID, value.bytes)


def encode_audio(pcm_le16: bytes, rate: int = 8000) -> bytes:
    return encode(RATE_KINDS[rate], pcm_le16)


HANGUP = encode(Kind.HANGUP)
