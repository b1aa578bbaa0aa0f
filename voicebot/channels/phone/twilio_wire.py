"""Twilio Media Streams messages: JSON text frames over a WebSocket.

Parsing turns each frame into a small dataclass or raises ProtocolError; building returns the
JSON text of the three messages a bidirectional stream may send back (media, mark, clear).
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, field
from typing import Any


class ProtocolError(Exception):
    """A frame that is not a valid Media Streams message; the message says why."""


@dataclass(frozen=True)
class Connected:
    protocol: str
    version: str


@dataclass(frozen=True)
class Start:
    stream_sid: str
    call_sid: str
    account_sid: str = ""
    tracks: tuple[str, ...] = ("inbound",)
    custom_parameters: dict[str, str] = field(default_factory=dict)
    encoding: str = "audio/x-mulaw"
    sample_rate: int = 8000
    channels: int = 1


@dataclass(frozen=True)
class Media:
    track: str
    chunk: int
    timestamp: int  # ms since the stream started
    payload: bytes  # mu-law 8 kHz


@dataclass(frozen=True)
class Dtmf:
    digit: str


@dataclass(frozen=True)
class Mark:
    name: str


@dataclass(frozen=True)
class Stop:
    call_sid: str = ""


Event = Connected | Start | Media | Dtmf | Mark | Stop


def _get(obj: Any, key: str, where: str) -> Any:
    if not isinstance(obj, dict) or key not in obj:
        raise ProtocolError(f"{where}: missing '{key}'")
    return obj[key]


def _int(value: Any, where: str) -> int:
    # Twilio sends sequenceNumber, chunk and timestamp as strings.
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ProtocolError(f"{where}: not a number: {value!r}") from None


def parse(frame: str | bytes) -> Event:
    """One WebSocket frame → one event. Binary frames are an error in Media Streams."""
    if isinstance(frame, bytes | bytearray):
        raise ProtocolError(f"binary frame of {len(frame)} bytes (Media Streams sends JSON text only)")
    try:
        msg = json.loads(frame)
    except json.JSONDecodeError as exc:
        raise ProtocolError(f"frame is not JSON: {exc.msg} at {exc.pos}") from None
    event = _get(msg, "event", "message")
    if event == "connected":
        return Connected(str(msg.get("protocol", "")), str(msg.get("version", "")))
    if event == "start":
        start = _get(msg, "start", "start")
        fmt = start.get("mediaFormat") or {}
        params = start.get("customParameters") or {}
        if not isinstance(params, dict) or not isinstance(fmt, dict):
            raise ProtocolError("start: customParameters and mediaFormat must be objects")
        stream_sid = msg.get("streamSid") or _get(start, "streamSid", "start")
        result = Start(
            stream_sid=str(stream_sid),
            call_sid=str(_get(start, "callSid", "start")),
            account_sid=str(start.get("accountSid", "")),
            tracks=tuple(start.get("tracks") or ("inbound",)),
            custom_parameters={str(k): str(v) for k, v in params.items()},
            encoding=str(fmt.get("encoding", "audio/x-mulaw")),
            sample_rate=_int(fmt.get("sampleRate", 8000), "start.mediaFormat.sampleRate"),
            channels=_int(fmt.get("channels", 1), "start.mediaFormat.channels"),
        )
        if result.encoding != "audio/x-mulaw" or result.sample_rate != 8000 or result.channels != 1:
            raise ProtocolError(
                f"unsupported media format {result.encoding} {result.sample_rate} Hz x{result.channels}"
            )
        return result
    if event == "media":
        media = _get(msg, "media", "media")
        try:
            payload = base64.b64decode(_get(media, "payload", "media"), validate=True)
        except (binascii.Error, TypeError, ValueError):
            raise ProtocolError("media: payload is not base64") from None
        return Media(
            track=str(media.get("track", "inbound")),
            chunk=_int(media.get("chunk", 0), "media.chunk"),
            timestamp=_int(media.get("timestamp", 0), "media.timestamp"),
            payload=payload,
        )
    if event == "dtmf":
        digit = str(_get(_get(msg, "dtmf", "dtmf"), "digit", "dtmf"))
        if len(digit) != 1 or digit not in "0123456789*#ABCD":
            raise ProtocolError(f"dtmf: bad digit {digit!r}")
        return Dtmf(digit)
    if event == "mark":
        return Mark(str(_get(_get(msg, "mark", "mark"), "name", "mark")))
    if event == "stop":
        stop = msg.get("stop") or {}
        return Stop(str(stop.get("callSid", "")) if isinstance(stop, dict) else "")
    raise ProtocolError(f"unknown event {event!r}")


def media(stream_sid: str, mulaw: bytes) -> str:
    payload = base64.b64encode(mulaw).decode("ascii")
    return json.dumps({"event": "media", "streamSid": stream_sid, "media": {"payload": payload}})


def mark(stream_sid: str, name: str) -> str:
    return json.dumps({"event": "mark", "streamSid": stream_sid, "mark": {"name": name}})


def clear(stream_sid: str) -> str:
    return json.dumps({"event": "clear", "streamSid": stream_sid})
