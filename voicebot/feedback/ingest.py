"""One worker's handling of feedback messages, independent of MQTT: a message in, an
acknowledgement out. The channel (voicebot.channels.feedback) delivers the messages, sends the
acks and only then acknowledges the MQTT message to the broker.

Whole clips are processed at once. Streamed clips (start, chunk…, end) may be spread over
several workers by the shared subscription, so every part is written to the shared store
first; whichever worker receives the ``end`` assembles the clip from the store.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from voicebot.feedback.analyze import analyze_text
from voicebot.feedback.decode import decode_clip
from voicebot.feedback.followup import FollowUp
from voicebot.feedback.messages import (
    Ack,
    ClipMeta,
    FeedbackError,
    LimitExceeded,
    clip_id_from,
    meta_from,
    parse_json,
    parse_topic,
    whole_clip,
)
from voicebot.feedback.settings import FeedbackSettings
from voicebot.feedback.store import FeedbackStore
from voicebot.privacy.redact import redact
from voicebot.transcribe import Transcriber

log = logging.getLogger(__name__)

TranscriberFor = Callable[[str | None], Transcriber]  # language (None: default) → transcriber


@dataclass
class Incoming:
    """One MQTT message as the worker sees it."""

    topic: str
    payload: bytes
    props: dict[str, str] = field(default_factory=dict)  # MQTT 5 user properties
    received_at: float = field(default_factory=time.time)

    @property
    def quick(self) -> bool:
        """Start and chunk messages only write to the store; they need no model time."""
        return "/chunk/" in self.topic or self.topic.endswith("/start")


class FeedbackIngest:
    def __init__(
        self,
        fs: FeedbackSettings,
        store: FeedbackStore,
        transcriber_for: TranscriberFor,
        followup: FollowUp | None,
        worker: str,
    ) -> None:
        self.fs = fs
        self.store = store
        self.transcriber_for = transcriber_for
        self.followup = followup
        self.worker = worker

    def handle(self, msg: Incoming) -> Ack | None:
        """The acknowledgement to send for ``msg`` (None: nothing to say yet, e.g. a stored chunk).
        Never raises for bad input: every problem becomes an error ack and a log line."""
        device_id, clip_id = "unknown", clip_id_from(msg.payload, msg.props) or "unknown"
        try:
            route = parse_topic(msg.topic, self.fs.topic_prefix)
            device_id, clip_id = route.device_id, route.clip_id or clip_id
            if route.kind == "clip":
                # base64 makes 4 bytes of 3, and the metadata rides beside the audio
                if len(msg.payload) > self.fs.max_bytes * 4 // 3 + self.fs.max_message_bytes:
                    raise FeedbackError("too_large", f"the clip message is {len(msg.payload)} bytes; "
                                        f"at most {self.fs.max_bytes} bytes of audio are taken")
                meta, audio, data = whole_clip(route.device_id, msg.payload, msg.props, self.fs.max_json_depth)
                clip_id = meta.clip_id
                expected = data.get("sha256")
                if isinstance(expected, str) and expected.lower() != hashlib.sha256(audio).hexdigest():
                    raise FeedbackError("checksum_mismatch", "the audio does not match its sha256; resend the clip")
                return self._process(meta, audio, msg.received_at)
            assert route.clip_id is not None
            if route.kind == "start":
                return self._start(route.device_id, route.clip_id, msg.payload)
            if route.kind == "chunk":
                assert route.seq is not None
                return self._chunk(route.device_id, route.clip_id, route.seq, msg.payload)
            return self._end(route.device_id, route.clip_id, msg.payload, msg.received_at)
        except FeedbackError as err:
            device_id, clip_id = err.extra.get("device_id", device_id), err.extra.get("clip_id", clip_id)
            log.warning("clip %s from %s refused: %s (%s)", clip_id, device_id, err.code, err.message)
            return Ack.from_error(device_id, clip_id, err, self.worker)
        except Exception as exc:  # one clip must never stop the worker
            log.exception("clip %s from %s failed", clip_id, device_id)
            err = FeedbackError("internal", f"voicebot failed on this clip ({type(exc).__name__}); retry later")
            return Ack.from_error(device_id, clip_id, err, self.worker)

    def busy(self, msg: Incoming) -> Ack:
        """The answer to a message the worker cannot even queue (feedback.max_queued_jobs): retry later."""
        device_id, clip_id = "unknown", clip_id_from(msg.payload, msg.props) or "unknown"
        try:
            route = parse_topic(msg.topic, self.fs.topic_prefix)
            device_id, clip_id = route.device_id, route.clip_id or clip_id
        except FeedbackError as err:
            device_id, clip_id = err.extra.get("device_id", device_id), err.extra.get("clip_id", clip_id)
        err = FeedbackError("busy", f"the worker holds {self.fs.max_queued_jobs} messages already "
                            "(feedback.max_queued_jobs); retry the clip later", retry=True)
        return Ack.from_error(device_id, clip_id, err, self.worker)

    # streamed clips --------------------------------------------------------------------
    def _over_upload_limit(self, device_id: str, clip_id: str) -> bool:
        """Whether a new streamed clip would take the device past feedback.max_open_uploads (one
        already open is never refused: its chunks and end go on)."""
        open_now = self.store.open_uploads(device_id)
        return clip_id not in open_now and len(open_now) >= self.fs.max_open_uploads

    def _too_many_uploads(self) -> FeedbackError:
        return FeedbackError("too_many_uploads", f"this device has {self.fs.max_open_uploads} streamed clips open "
                             "(feedback.max_open_uploads); end them (or wait until they expire), then retry this one",
                             retry=True)

    def _start(self, device_id: str, clip_id: str, payload: bytes) -> Ack | None:
        data = self._json(payload, "the start message")
        meta = meta_from(device_id, clip_id, data)
        existing = self.store.find(device_id, clip_id)
        if existing is not None:
            return Ack(clip_id, device_id, "duplicate", existing, worker=self.worker)
        if self._over_upload_limit(device_id, clip_id):
            raise self._too_many_uploads()
        declared = data.get("bytes")
        if isinstance(declared, int) and declared > self.fs.max_bytes:
            # Remembered, so the chunks that follow are dropped without an error each.
            self.store.start_upload(device_id, clip_id, {"rejected": "too_large"})
            raise FeedbackError("too_large", f"the clip announces {declared} bytes; at most {self.fs.max_bytes} are taken")
        self.store.start_upload(device_id, clip_id, {**data, "clip_id": meta.clip_id})
        return None

    def _chunk(self, device_id: str, clip_id: str, seq: int, payload: bytes) -> Ack | None:
        meta = self.store.upload_meta(device_id, clip_id)
        if meta and meta.get("rejected"):
            return None  # already refused (too large): the device has its error
        if meta is None and self.store.find(device_id, clip_id) is not None:
            return None  # a late copy of a chunk of a clip already stored
        if meta is None and self._over_upload_limit(device_id, clip_id):
            # its start was refused (too many uploads), or never came: the device hears it at the
            # start or the end, not once per chunk, and nothing of it is stored
            log.warning("chunk %d of clip %s from %s dropped: feedback.max_open_uploads (%d) reached",
                        seq, clip_id, device_id, self.fs.max_open_uploads)
            return None
        if seq >= self.fs.max_chunks:
            self.store.forget_upload(device_id, clip_id)
            self.store.start_upload(device_id, clip_id, {**(meta or {}), "rejected": "limit_exceeded"})
            raise LimitExceeded(f"chunk {seq} is beyond the {self.fs.max_chunks} chunks a clip may have "
                                "(feedback.max_chunks)")
        total = self.store.add_chunk(device_id, clip_id, seq, payload)
        if total > self.fs.max_bytes:
            self.store.forget_upload(device_id, clip_id)
            self.store.start_upload(device_id, clip_id, {**(meta or {}), "rejected": "too_large"})
            raise FeedbackError("too_large", f"the chunks add up to more than {self.fs.max_bytes} bytes")
        return None

    def _end(self, device_id: str, clip_id: str, payload: bytes, received_at: float) -> Ack | None:
        data = self._json(payload, "the end message")
        count = data.get("chunks")
        if not isinstance(count, int) or isinstance(count, bool) or count < 1:
            raise FeedbackError("bad_request", "the end message needs `chunks`: the number of chunks sent (≥ 1)")
        if count > self.fs.max_chunks:
            self.store.forget_upload(device_id, clip_id)
            raise LimitExceeded(f"the end announces {count} chunks; a clip has at most {self.fs.max_chunks} "
                                "(feedback.max_chunks)")
        existing = self.store.find(device_id, clip_id)
        if existing is not None:
            self.store.forget_upload(device_id, clip_id)
            return Ack(clip_id, device_id, "duplicate", existing, worker=self.worker)
        if self._over_upload_limit(device_id, clip_id):
            raise self._too_many_uploads()  # nothing of this clip was kept
        # Chunks handed to other workers just before the end may still be on their way into the store.
        deadline = time.monotonic() + self.fs.chunk_wait_s
        wanted = set(range(count))  # at most max_chunks: built once, not on every look
        while True:
            meta_data = self.store.upload_meta(device_id, clip_id)
            missing = sorted(wanted - self.store.chunk_numbers(device_id, clip_id))
            if (meta_data and not missing) or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        if meta_data and meta_data.get("rejected"):
            self.store.forget_upload(device_id, clip_id)
            if meta_data["rejected"] == "limit_exceeded":
                raise LimitExceeded(f"the clip was refused: it exceeded feedback.max_chunks ({self.fs.max_chunks})")
            raise FeedbackError(str(meta_data["rejected"]), f"the clip was refused: {meta_data['rejected']}")
        if meta_data is None:
            # The end may carry the metadata itself; otherwise the start never arrived.
            if not all(data.get(k) for k in ("model", "firmware")):
                raise FeedbackError(
                    "metadata_missing", "no start message (model, firmware…) arrived for this clip; resend it"
                )
            meta_data = data
        meta = meta_from(device_id, clip_id, {**meta_data, **{k: v for k, v in data.items() if k != "chunks"}})
        if missing:
            raise FeedbackError(
                "missing_chunks", f"{len(missing)} of {count} chunks did not arrive: {missing[:20]}", missing=missing
            )
        audio = self.store.assemble(device_id, clip_id, count)
        expected_size, expected_sha = data.get("bytes"), data.get("sha256")
        if (isinstance(expected_size, int) and expected_size != len(audio)) or (
            isinstance(expected_sha, str) and expected_sha.lower() != hashlib.sha256(audio).hexdigest()
        ):
            self.store.forget_upload(device_id, clip_id)
            raise FeedbackError(
                "checksum_mismatch", f"the {count} chunks ({len(audio)} bytes) do not match the end's bytes/sha256"
            )
        try:
            return self._process(meta, audio, received_at)
        except FeedbackError:
            # The clip failed for good (silent, unknown format…): its chunks are of no further use.
            self.store.forget_upload(device_id, clip_id)
            raise

    def _json(self, payload: bytes, what: str) -> dict:
        return parse_json(payload, what, self.fs.max_json_depth, self.fs.max_message_bytes)

    # a complete clip -------------------------------------------------------------------
    def _process(self, meta: ClipMeta, audio: bytes, received_at: float) -> Ack:
        if len(audio) > self.fs.max_bytes:
            raise FeedbackError("too_large", f"the clip is {len(audio)} bytes; at most {self.fs.max_bytes} are taken")
        sha = hashlib.sha256(audio).hexdigest()
        existing = self.store.find(meta.device_id, meta.clip_id, sha)
        if existing is not None:
            log.info("clip %s from %s is a repeat of feedback %s", meta.clip_id, meta.device_id, existing)
            return Ack(meta.clip_id, meta.device_id, "duplicate", existing, worker=self.worker)
        holder = self.store.claim(meta.device_id, meta.clip_id, self.worker, self.fs.claim_lease_s)
        if holder is not None:
            # Another worker is on it (this is a retry that overtook it); it will send the ack.
            return Ack(
                meta.clip_id, meta.device_id, "in_progress", message=f"worker {holder} is processing it", worker=self.worker
            )
        try:
            return self._analyse_and_store(meta, audio, sha, received_at)
        finally:
            self.store.release(meta.device_id, meta.clip_id, self.worker)

    def _analyse_and_store(self, meta: ClipMeta, audio: bytes, sha: str, received_at: float) -> Ack:
        started = time.monotonic()
        clip = decode_clip(audio, self.fs.max_seconds, self.fs.min_seconds, self.fs.silence_dbfs)
        language = meta.language
        heard = self.transcriber_for(language).transcribe(clip.pcm, language=language)
        if not heard.text.strip():
            raise FeedbackError("no_speech", f"no words could be recognised ({heard.rejected or 'empty transcript'})")
        analysis = analyze_text(heard.text, heard.language)
        text = redact(heard.text)
        row = {
            "device_id": meta.device_id,
            "clip_id": meta.clip_id,
            "audio_sha256": sha,
            "model": meta.model,
            "firmware": meta.firmware,
            "locale": meta.locale,
            "recorded_at": meta.recorded_at or received_at,
            "received_at": received_at,
            "stored_at": time.time(),
            "duration_s": round(clip.duration_s, 3),
            "audio_format": f"{clip.format}/{clip.subtype}",
            "transcript": text,
            "language": heard.language,
            "confidence": round(heard.confidence, 3),
            "sentiment": analysis.sentiment,
            "label": analysis.label,
            "emotions": analysis.emotions,
            "topics": analysis.topics.as_dict(),
            "urgency": analysis.urgency,
            "urgency_reasons": analysis.urgency_reasons,
            "worker": self.worker,
            "audio": audio if self.fs.keep_audio else None,
        }
        feedback_id, new = self.store.add(row)
        if not new:
            return Ack(meta.clip_id, meta.device_id, "duplicate", feedback_id, worker=self.worker)
        if self.followup is not None:
            try:
                ticket_id, contacted = self.followup(feedback_id, meta, analysis, text)
                if ticket_id or contacted:
                    self.store.set_followup(feedback_id, ticket_id, contacted)
            except Exception:  # the clip is stored; a failed follow-up is logged, not a lost clip
                log.exception("follow-up for feedback %s failed", feedback_id)
        log.info(
            "stored feedback %s (clip %s from %s, %.1f s audio, %s, urgency %s) in %.2f s",
            feedback_id, meta.clip_id, meta.device_id, clip.duration_s, analysis.label, analysis.urgency,
            time.monotonic() - started,
        )
        return Ack(meta.clip_id, meta.device_id, "stored", feedback_id, worker=self.worker)
