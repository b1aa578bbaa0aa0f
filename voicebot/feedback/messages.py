"""The feedback wire protocol: topics, what devices send, and the acknowledgements they get.

Topics (``P`` is ``feedback.topic_prefix``, by default ``voicebot/feedback``)::

    P/<device_id>/clip                          a whole clip (JSON with base64 audio, or raw audio
                                                bytes with the metadata in MQTT 5 user properties)
    P/<device_id>/clip/<clip_id>/start          streamed clip: JSON metadata
    P/<device_id>/clip/<clip_id>/chunk/<seq>    streamed clip: raw audio bytes, seq = 0, 1, 2 …
    P/<device_id>/clip/<clip_id>/end            streamed clip: JSON {"chunks": N, "sha256": …}
    P/<device_id>/ack                           replies from voicebot (unless the device set an
                                                MQTT 5 response topic, which then wins)
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from voicebot.languages import primary_language

REQUIRED_META = ("model", "firmware")
_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,128}$")
_CLIP_ID_FIELD = re.compile(rb'"clip_id"\s*:\s*"([A-Za-z0-9_.:-]{1,128})"')


class FeedbackError(Exception):
    """A clip that cannot be taken; ``code`` is the machine-readable reason sent in the ack."""

    def __init__(self, code: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.extra = extra


class LimitExceeded(FeedbackError):
    """The peer asked for more than a configured limit allows (chunk count, nesting depth,
    message size). Answered with the final status ``rejected``: retrying cannot help."""

    def __init__(self, message: str, **extra: Any) -> None:
        super().__init__("limit_exceeded", message, **extra)


# Every error code a device can receive, with what the device should do about it.
ERROR_CODES = {
    "bad_request": "the message is not valid (topic, JSON or base64); fix the device software",
    "metadata_missing": "clip_id, model or firmware missing; resend with the metadata",
    "empty": "the clip holds no audio",
    "silent": "the clip holds only silence; nothing to hear",
    "no_speech": "the clip holds sound but no words could be recognised",
    "truncated": "the audio stops before its own header says it ends; resend the whole clip",
    "unknown_format": "not an audio format voicebot reads (WAV, FLAC, OGG Vorbis/Opus, MP3)",
    "too_long": "the clip is longer than feedback.max_seconds",
    "too_large": "the clip is larger than feedback.max_bytes",
    "missing_chunks": "the end arrived but chunks are missing; resend the chunks in `missing`, then the end",
    "checksum_mismatch": "the assembled bytes do not match sha256/bytes; resend the whole clip",
    "limit_exceeded": "the message exceeds a limit of the worker (chunks, size, nesting); do not retry it",
    "too_many_uploads": "the device has feedback.max_open_uploads streamed clips open; finish them, then retry this one",
    "busy": "the worker holds feedback.max_queued_jobs messages already; retry the clip later",
    "internal": "voicebot failed on this clip; retry later",
}


@dataclass
class ClipMeta:
    """Who sent a clip and from what."""

    device_id: str
    clip_id: str
    model: str
    firmware: str
    locale: str | None = None  # BCP 47, e.g. "en-US", "de-DE"; None: the default model's language
    recorded_at: float | None = None  # epoch seconds; None: when it arrived
    format: str | None = None  # a hint only; the bytes are sniffed by libsndfile

    @property
    def language(self) -> str | None:
        return primary_language(self.locale)


@dataclass
class Ack:
    """The reply a device gets for a clip."""

    clip_id: str
    device_id: str
    status: str  # "stored" | "duplicate" | "in_progress" | "error" | "rejected"
    feedback_id: int | None = None
    error: str | None = None  # an ERROR_CODES key when status is "error"
    message: str | None = None
    missing: list[int] = field(default_factory=list)  # for missing_chunks
    worker: str | None = None
    retry: bool | None = None  # False on a rejection: the same clip will never be taken

    def payload(self) -> bytes:
        data = {k: v for k, v in asdict(self).items() if v not in (None, [])}
        return json.dumps(data).encode()

    @classmethod
    def from_error(cls, device_id: str, clip_id: str, err: FeedbackError, worker: str | None) -> Ack:
        rejected = isinstance(err, LimitExceeded)
        return cls(
            clip_id=clip_id,
            device_id=device_id,
            status="rejected" if rejected else "error",
            error=err.code,
            message=err.message,
            missing=list(err.extra.get("missing", [])),
            worker=worker,
            retry=False if rejected else err.extra.get("retry"),
        )


@dataclass
class Route:
    """What a topic names."""

    kind: str  # "clip" | "start" | "chunk" | "end"
    device_id: str
    clip_id: str | None = None
    seq: int | None = None


def parse_topic(topic: str, prefix: str) -> Route:
    rest = topic[len(prefix) + 1 :].split("/") if topic.startswith(prefix + "/") else []
    if len(rest) >= 2 and rest[1] == "clip" and _ID.match(rest[0]):
        device_id = rest[0]
        if len(rest) == 2:
            return Route("clip", device_id)
        if len(rest) == 4 and rest[3] in ("start", "end") and _ID.match(rest[2]):
            return Route(rest[3], device_id, rest[2])
        if len(rest) == 5 and rest[3] == "chunk" and _ID.match(rest[2]) and rest[4].isdigit():
            if len(rest[4]) > 9:  # int() of a 100,000-digit string is slow, and no clip has 10^9 chunks
                raise LimitExceeded(f"chunk number {rest[4][:20]}… is far beyond any clip's chunk count "
                                    "(feedback.max_chunks)", device_id=device_id, clip_id=rest[2])
            return Route("chunk", device_id, rest[2], int(rest[4]))
    raise FeedbackError(
        "bad_request",
        f"topic {topic!r} is not {prefix}/<device_id>/clip or {prefix}/<device_id>/clip/<clip_id>/"
        "start|chunk/<seq>|end (ids: letters, digits, _ . : -)",
    )


def ack_topic(prefix: str, device_id: str) -> str:
    return f"{prefix}/{device_id}/ack"


def clip_id_from(payload: bytes, props: dict[str, str]) -> str | None:
    """The clip id, read as leniently as possible, so even a broken message gets an addressed error."""
    if props.get("clip_id"):
        return props["clip_id"]
    # Only the head of the payload is searched: the audio after it may be megabytes of base64.
    m = _CLIP_ID_FIELD.search(payload[:4096])
    return m.group(1).decode("utf-8", "replace") if m else None


def parse_json(payload: bytes, what: str, max_depth: int = 16, max_bytes: int | None = None) -> dict[str, Any]:
    """A JSON object; deeper nesting than ``max_depth`` or more than ``max_bytes`` is a LimitExceeded."""
    if max_bytes is not None and len(payload) > max_bytes:
        raise LimitExceeded(f"{what} is {len(payload)} bytes; at most {max_bytes} are read (feedback.max_message_bytes)")
    try:
        data = json.loads(payload)
    except RecursionError:
        raise LimitExceeded(f"{what} is nested deeper than {max_depth} levels (feedback.max_json_depth)") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise FeedbackError("bad_request", f"{what} is not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise FeedbackError("bad_request", f"{what} must be a JSON object")
    if json_depth(data) > max_depth:
        raise LimitExceeded(f"{what} is nested deeper than {max_depth} levels (feedback.max_json_depth)")
    return data


def json_depth(value: Any) -> int:
    """How deeply lists and objects nest in a parsed JSON value (a scalar is 0); iterative,
    so no input can exhaust the stack."""
    deepest, todo = 0, [(value, 1)]
    while todo:
        item, depth = todo.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else None
        if children is None:
            continue
        deepest = max(deepest, depth)
        todo.extend((c, depth + 1) for c in children if isinstance(c, (dict, list)))
    return deepest


def meta_from(device_id: str, clip_id: str | None, data: dict[str, Any]) -> ClipMeta:
    clip_id = clip_id or (str(data["clip_id"]) if data.get("clip_id") else None)
    missing = [k for k in ("clip_id", *REQUIRED_META) if not (clip_id if k == "clip_id" else data.get(k))]
    if missing:
        raise FeedbackError("metadata_missing", f"metadata missing: {', '.join(missing)}", missing_fields=missing)
    assert clip_id is not None
    if not _ID.match(clip_id):
        raise FeedbackError("bad_request", f"clip_id {clip_id!r} must be 1-128 of letters, digits, _ . : -")
    return ClipMeta(
        device_id=device_id,
        clip_id=clip_id,
        model=str(data["model"]),
        firmware=str(data["firmware"]),
        locale=str(data["locale"]) if data.get("locale") else None,
        recorded_at=parse_time(data.get("time")),
        format=str(data["format"]) if data.get("format") else None,
    )


def parse_time(value: Any) -> float | None:
    """Epoch seconds or an ISO 8601 string (a naive one is taken as UTC)."""
    if value in (None, ""):
        return None
    if isinstance(value, int | float):
        return float(value)
    try:
        dt = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError as exc:
        raise FeedbackError("bad_request", f"time {value!r} is neither epoch seconds nor ISO 8601") from exc
    return (dt if dt.tzinfo else dt.replace(tzinfo=UTC)).timestamp()


def whole_clip(device_id: str, payload: bytes, props: dict[str, str],
               max_depth: int = 16) -> tuple[ClipMeta, bytes, dict[str, Any]]:
    """A whole clip: JSON with base64 ``audio``, or raw audio with MQTT 5 user properties."""
    if payload[:1] == b"{":
        data = parse_json(payload, "the clip message", max_depth)
        meta = meta_from(device_id, None, data)
        audio_b64 = data.get("audio")
        if not isinstance(audio_b64, str):
            raise FeedbackError("empty", "the clip message has no `audio` (base64 string)")
        try:
            audio = base64.b64decode(audio_b64, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise FeedbackError("bad_request", f"`audio` is not valid base64: {exc}") from exc
        return meta, audio, data
    meta = meta_from(device_id, None, dict(props))
    return meta, payload, dict(props)
