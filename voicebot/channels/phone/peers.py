"""Callers for testing a phone line: an Asterisk AudioSocket peer and a Twilio Media Streams
peer, each speaking the exact wire protocol in real time.

A phone carrier cannot run here, so these stand in for it: like Asterisk, the AudioSocket caller
sends one 20 ms frame every 20 ms for the whole call (silence between utterances), and like
Twilio, the Media Streams caller plays the bot's audio out of a buffer in real time, echoes each
``mark`` once the audio before it has played, and empties its buffer on ``clear``. Tests and the
benchmark use them to place calls; ``voicebot phone dial`` uses them to try a running line.
"""

from __future__ import annotations

import asyncio
import base64
import bisect
import contextlib
import hashlib
import hmac
import json
import uuid
from collections import deque
from dataclasses import dataclass, field

import numpy as np

from voicebot.audio import mulaw_decode, mulaw_encode, rms_dbfs
from voicebot.channels.phone import audiosocket_wire as aswire
from voicebot.channels.virtual import voiced_extent

FRAME_MS = 20
SPEECH_DBFS = -50.0  # a received frame louder than this is the bot speaking, not comfort silence


@dataclass
class Utterance:
    """A stretch of the bot's audio as the caller heard it."""

    start: float  # loop time the first audible frame arrived (AudioSocket) or played (Twilio)
    end: float
    frames: list[np.ndarray] = field(repr=False)

    @property
    def pcm(self) -> np.ndarray:
        return np.concatenate(self.frames) if self.frames else np.zeros(0, dtype=np.int16)


@dataclass
class Said:
    """Something the caller said: when its last frame left, and where its speech really ended."""

    sent_end: float  # loop time the last frame of the clip was sent
    speech_end: float  # loop time the last voiced audio in the clip was sent


@dataclass
class _Heard:
    times: list[float] = field(default_factory=list)
    frames: list[np.ndarray] = field(default_factory=list)
    loud: list[bool] = field(default_factory=list)  # the bot speaking, not comfort silence


def speech_end_offset(pcm: np.ndarray, rate: int) -> float:
    """Seconds from the clip's start to the end of its voiced part, measured above the clip's own
    noise floor (a recording's room noise is not speech)."""
    return voiced_extent(pcm, rate)[1]


class _Caller:
    """The shared part: a real-time sender of caller audio and a log of what was heard."""

    rate: int

    def __init__(self, rate: int, frame_ms: int = FRAME_MS) -> None:
        self.rate = rate
        self.frame_ms = frame_ms  # the caller's packetisation: 20 ms is typical, 30 ms occurs
        self.frame_len = rate * frame_ms // 1000
        self._outgoing: deque[np.ndarray] = deque()
        self._said_done: deque[tuple[asyncio.Future[Said], float, int]] = deque()
        self._sent_frames = 0
        self.heard = _Heard()
        self.closed = asyncio.Event()
        self._sender: asyncio.Task[None] | None = None
        self.noise_dbfs: float | None = None  # low line noise instead of digital silence

    def say(self, pcm: np.ndarray) -> asyncio.Future[Said]:
        """Queue speech (int16 at the call's rate); resolves when its last frame has been sent."""
        loop = asyncio.get_running_loop()
        done: asyncio.Future[Said] = loop.create_future()
        n_frames = 0
        for i in range(0, len(pcm), self.frame_len):
            frame = pcm[i : i + self.frame_len]
            if len(frame) < self.frame_len:
                frame = np.concatenate([frame, np.zeros(self.frame_len - len(frame), dtype=np.int16)])
            self._outgoing.append(frame.astype(np.int16))
            n_frames += 1
        last_index = self._sent_frames + len(self._outgoing) - 1 if self._outgoing else self._sent_frames
        trailing = n_frames * self.frame_ms / 1000 - speech_end_offset(pcm, self.rate)
        self._said_done.append((done, trailing, last_index))
        return done

    def _silence(self) -> np.ndarray:
        if self.noise_dbfs is None:
            return np.zeros(self.frame_len, dtype=np.int16)
        amp = 32768 * 10 ** (self.noise_dbfs / 20)
        return (np.random.default_rng().standard_normal(self.frame_len) * amp).astype(np.int16)

    async def _send_frame(self, frame: np.ndarray) -> None:
        raise NotImplementedError

    async def _pace(self) -> None:
        loop = asyncio.get_running_loop()
        next_at = loop.time()
        while not self.closed.is_set():
            frame = self._outgoing.popleft() if self._outgoing else self._silence()
            try:
                await self._send_frame(frame)
            except (ConnectionError, OSError):
                return
            now = loop.time()
            while self._said_done and self._said_done[0][2] <= self._sent_frames:
                fut, trailing, _ = self._said_done.popleft()
                if not fut.done():
                    fut.set_result(Said(sent_end=now, speech_end=now - trailing))
            self._sent_frames += 1
            next_at += self.frame_ms / 1000
            await asyncio.sleep(max(0.0, next_at - loop.time()))

    async def go_silent(self) -> None:
        """Stop sending anything while keeping the connection open (a peer that froze)."""
        if self._sender is not None:
            self._sender.cancel()
            with contextlib.suppress(BaseException):
                await self._sender
            self._sender = None

    def _heard_frame(self, t: float, pcm: np.ndarray) -> None:
        self.heard.times.append(t)
        self.heard.frames.append(pcm)
        # Judged once on arrival: the waits below poll often and must stay cheap with many calls.
        self.heard.loud.append(rms_dbfs(pcm) > SPEECH_DBFS)

    def first_audio_after(self, t: float) -> float | None:
        """Loop time of the first audible bot frame heard after ``t``."""
        h = self.heard
        for i in range(bisect.bisect_right(h.times, t), len(h.times)):
            if h.loud[i]:
                return h.times[i]
        return None

    async def wait_audio_after(self, t: float, timeout: float) -> float | None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while loop.time() < deadline:
            if (when := self.first_audio_after(t)) is not None:
                return when
            if self.closed.is_set():
                return self.first_audio_after(t)
            await asyncio.sleep(0.02)
        return None

    def utterances(self, gap_s: float = 0.6, after: float = 0.0) -> list[Utterance]:
        """The bot's audio (heard after loop time ``after``) split at pauses longer than ``gap_s``."""
        h = self.heard
        out: list[Utterance] = []
        first = last = -1
        for i in range(bisect.bisect_right(h.times, after), len(h.times)):
            if not h.loud[i]:
                continue
            if first >= 0 and h.times[i] - h.times[last] > gap_s:
                out.append(Utterance(h.times[first], h.times[last], h.frames[first : last + 1]))
                first = -1
            if first < 0:
                first = i
            last = i
        if first >= 0:
            out.append(Utterance(h.times[first], h.times[last], h.frames[first : last + 1]))
        return out

    def max_gap(self) -> float:
        """The longest wait between any two frames received (AudioSocket's 2-second rule)."""
        times = self.heard.times
        return float(np.max(np.diff(times))) if len(times) > 1 else 0.0

    def max_gap_in_speech(self) -> float:
        """The longest wait between two frames inside the bot's speech (real-time check)."""
        h = self.heard
        worst = 0.0
        for u in self.utterances(gap_s=0.3):
            i0 = bisect.bisect_left(h.times, u.start)
            i1 = bisect.bisect_right(h.times, u.end)
            if i1 - i0 > 1:
                worst = max(worst, float(np.max(np.diff(h.times[i0:i1]))))
        return worst


class AudioSocketCaller(_Caller):
    """Asterisk's side of an AudioSocket call."""

    def __init__(
        self, host: str, port: int, call_id: str | None = None, rate: int = 8000, frame_ms: int = FRAME_MS
    ) -> None:
        super().__init__(rate, frame_ms)
        self.host, self.port = host, port
        self.call_id = call_id or str(uuid.uuid4())
        self.kind = aswire.RATE_KINDS[rate]
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.hangup_received = False
        self.received_kinds: list[int] = []
        self._reader_task: asyncio.Task[None] | None = None

    async def connect(self, send_uuid: bool = True, stream: bool = True) -> AudioSocketCaller:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        self._reader_task = asyncio.create_task(self._read())
        if send_uuid:
            await self.send_raw(aswire.encode_uuid(self.call_id))
        if stream:
            self._sender = asyncio.create_task(self._pace())
        return self

    async def send_raw(self, data: bytes) -> None:
        assert self.writer is not None
        self.writer.write(data)
        await self.writer.drain()

    async def _send_frame(self, frame: np.ndarray) -> None:
        await self.send_raw(aswire.encode(self.kind, frame.astype("<i2").tobytes()))

    async def dtmf(self, digit: str) -> None:
        await self.send_raw(aswire.encode(aswire.Kind.DTMF, digit.encode("ascii")))

    async def hangup(self) -> None:
        with contextlib.suppress(ConnectionError, OSError):
            await self.send_raw(aswire.HANGUP)
        await self.close()

    async def close(self) -> None:
        self.closed.set()
        for task in (self._sender, self._reader_task):
            if task is not None:
                task.cancel()
                with contextlib.suppress(BaseException):
                    await task
        if self.writer is not None:
            self.writer.close()
            with contextlib.suppress(ConnectionError, OSError):
                await self.writer.wait_closed()

    async def _read(self) -> None:
        assert self.reader is not None
        loop = asyncio.get_running_loop()
        try:
            while True:
                try:
                    msg = await aswire.read_message(self.reader)
                except (aswire.PeerClosed, aswire.ProtocolError, ConnectionError, OSError):
                    return
                self.received_kinds.append(msg.kind)
                if msg.kind == aswire.Kind.HANGUP:
                    self.hangup_received = True
                    return
                if msg.is_audio:
                    self._heard_frame(loop.time(), np.frombuffer(msg.payload, dtype="<i2").astype(np.int16))
        finally:
            self.closed.set()


def twilio_signature(auth_token: str, url: str, params: dict[str, str] | None = None) -> str:
    """Twilio's request signature: base64 of HMAC-SHA1 under the auth token over the full URL
    followed by each POST parameter's name and value, sorted by name (none for a WebSocket
    upgrade). Written out here rather than taken from the twilio package, so the tests check the
    server's validator against the documented scheme, not against itself."""
    data = url + "".join(k + v for k, v in sorted((params or {}).items()))
    return base64.b64encode(hmac.new(auth_token.encode(), data.encode(), hashlib.sha1).digest()).decode()


class TwilioCaller(_Caller):
    """Twilio's side of a bidirectional Media Stream: mu-law 8 kHz, JSON text frames."""

    def __init__(
        self,
        url: str,
        call_sid: str | None = None,
        custom_parameters: dict[str, str] | None = None,
        auth_token: str | None = None,
        signed_url: str | None = None,
    ) -> None:
        super().__init__(8000)
        self.url = url
        self.auth_token = auth_token  # the account's: sign the upgrade request as Twilio does
        self.signed_url = signed_url or url  # the URL in the TwiML, when a proxy sits in between
        self.call_sid = call_sid or "CA" + uuid.uuid4().hex
        self.stream_sid = "MZ" + uuid.uuid4().hex
        self.custom_parameters = custom_parameters or {}
        self.ws: object | None = None
        self.marks_echoed: list[str] = []
        self.media_sizes: list[int] = []  # bytes of mu-law in each media message received
        self.clears = 0
        self.close_code: int | None = None
        self._seq = 0
        self._chunk = 0
        self._playout: deque[np.ndarray | str] = deque()  # frames and pending mark names
        self._reader_task: asyncio.Task[None] | None = None
        self._player: asyncio.Task[None] | None = None

    async def connect(self, start: bool = True, stream: bool = True) -> TwilioCaller:
        from websockets.asyncio.client import connect

        headers = {"X-Twilio-Signature": twilio_signature(self.auth_token, self.signed_url)} if self.auth_token else None
        self.ws = await connect(self.url, max_size=2**20, additional_headers=headers)
        self._reader_task = asyncio.create_task(self._read())
        self._player = asyncio.create_task(self._play())
        if start:
            await self._json({"event": "connected", "protocol": "Call", "version": "1.0.0"})
            await self._json(
                {
                    "event": "start",
                    "sequenceNumber": self._next_seq(),
                    "start": {
                        "accountSid": "AC" + "0" * 32,
                        "streamSid": self.stream_sid,
                        "callSid": self.call_sid,
                        "tracks": ["inbound"],
                        "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1},
                        "customParameters": self.custom_parameters,
                    },
                    "streamSid": self.stream_sid,
                }
            )
        if stream:
            self._sender = asyncio.create_task(self._pace())
        return self

    def _next_seq(self) -> str:
        self._seq += 1
        return str(self._seq)

    async def send_raw(self, data: str | bytes) -> None:
        await self.ws.send(data)  # type: ignore[attr-defined]

    async def _json(self, msg: dict[str, object]) -> None:
        await self.send_raw(json.dumps(msg))

    async def _send_frame(self, frame: np.ndarray) -> None:
        self._chunk += 1
        from websockets.exceptions import ConnectionClosed

        try:
            await self._json(
                {
                    "event": "media",
                    "sequenceNumber": self._next_seq(),
                    "media": {
                        "track": "inbound",
                        "chunk": str(self._chunk),
                        "timestamp": str((self._chunk - 1) * FRAME_MS),
                        "payload": base64.b64encode(mulaw_encode(frame)).decode("ascii"),
                    },
                    "streamSid": self.stream_sid,
                }
            )
        except ConnectionClosed as exc:
            raise ConnectionError(str(exc)) from exc

    async def dtmf(self, digit: str) -> None:
        await self._json(
            {"event": "dtmf", "streamSid": self.stream_sid, "sequenceNumber": self._next_seq(),
             "dtmf": {"track": "inbound_track", "digit": digit}}
        )

    async def hangup(self) -> None:
        from websockets.exceptions import ConnectionClosed

        with contextlib.suppress(ConnectionClosed):
            await self._json(
                {"event": "stop", "sequenceNumber": self._next_seq(), "streamSid": self.stream_sid,
                 "stop": {"accountSid": "AC" + "0" * 32, "callSid": self.call_sid}}
            )
        await self.close()

    async def close(self) -> None:
        self.closed.set()
        for task in (self._sender, self._reader_task, self._player):
            if task is not None:
                task.cancel()
                with contextlib.suppress(BaseException):
                    await task
        if self.ws is not None:
            await self.ws.close()  # type: ignore[attr-defined]

    async def _read(self) -> None:
        from websockets.exceptions import ConnectionClosed

        try:
            async for text in self.ws:  # type: ignore[attr-defined]
                msg = json.loads(text)
                event = msg.get("event")
                if event == "media":
                    payload = base64.b64decode(msg["media"]["payload"])
                    self.media_sizes.append(len(payload))
                    self._playout.append(mulaw_decode(payload))
                elif event == "mark":
                    self._playout.append(str(msg["mark"]["name"]))
                elif event == "clear":
                    self.clears += 1
                    # Twilio empties its buffer and returns the marks that were waiting in it.
                    pending = [m for m in self._playout if isinstance(m, str)]
                    self._playout.clear()
                    for name in pending:
                        await self._echo_mark(name)
        except ConnectionClosed as exc:
            self.close_code = exc.rcvd.code if exc.rcvd is not None else None
        finally:
            if self.close_code is None and self.ws is not None:
                self.close_code = getattr(self.ws, "close_code", None)
            self.closed.set()

    async def _echo_mark(self, name: str) -> None:
        from websockets.exceptions import ConnectionClosed

        self.marks_echoed.append(name)
        with contextlib.suppress(ConnectionClosed):
            await self._json(
                {"event": "mark", "sequenceNumber": self._next_seq(), "streamSid": self.stream_sid,
                 "mark": {"name": name}}
            )

    async def _play(self) -> None:
        """Play the buffer out in real time: 160 samples every 20 ms, marks as they come up."""
        loop = asyncio.get_running_loop()
        next_at = loop.time()
        pending = np.zeros(0, dtype=np.int16)
        while True:
            while self._playout and isinstance(self._playout[0], str) and not len(pending):
                await self._echo_mark(str(self._playout.popleft()))
            while len(pending) < self.frame_len and self._playout and not isinstance(self._playout[0], str):
                pending = np.concatenate([pending, self._playout.popleft()])  # type: ignore[list-item]
            if len(pending) >= self.frame_len:
                self._heard_frame(loop.time(), pending[: self.frame_len])
                pending = pending[self.frame_len :]
            next_at += FRAME_MS / 1000
            await asyncio.sleep(max(0.0, next_at - loop.time()))
