"""One live conversation: channel audio in → listen → transcribe → dialogue → speak → channel out.

The session runs on asyncio; Whisper, Piper and the dialogue (which waits for devices) run in
worker threads so the audio keeps flowing. Latency is cut by overlapping work:

- transcription starts when the user pauses (SpeechPaused) and is kept if they do not go on;
- when that transcript reads as a finished sentence the turn ends after ``quick_end_ms`` of
  silence, otherwise the session waits the endpointer's longer silence, so a pause inside a
  sentence ("turn on the ... living room lamp") does not cut the speaker off;
- the reply is synthesized sentence by sentence and each sentence is played as soon as it
  exists (also when the dialogue streams its text).

While the bot speaks, :mod:`voicebot.bargein` watches the microphone (with the bot's own echo
removed using the playback the channel reports) and stops playback when the user talks over it.

Each turn is recorded with stage timestamps, Home Assistant assist_pipeline style, in seconds
after the end of the user's speech: ``endpoint`` (turn end decided), ``transcript``,
``reply_text``, ``first_audio`` (first reply audio handed to the channel), and durations.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
from pydantic import BaseModel, Field

from voicebot.bargein import ECHO_HISTORY_MS, BargeInDetector, EchoCanceller, rms
from voicebot.config import ListenSettings, Settings, load_settings, section
from voicebot.dialogue.types import Conversation, Reply
from voicebot.listen import Endpointer, SpeechPaused, SpeechResumed, SpeechStarted, TurnEnded
from voicebot.metrics import Metrics, default_metrics
from voicebot.reply_speech import PHRASES, reply_sentences
from voicebot.speak import Synthesizer
from voicebot.transcribe import Transcriber, Transcript
from voicebot.turn_taking import sounds_finished, strip_wake_word

__all__ = [
    "AudioChannel",
    "BargeIn",
    "Greeting",
    "InFrame",
    "Session",
    "SessionEvent",
    "SessionResult",
    "SessionSettings",
    "TurnRecord",
    "reply_sentences",
    "sounds_finished",
    "strip_wake_word",
]

log = logging.getLogger(__name__)

RATE = 16000
SORRY = "Sorry, something went wrong on my side. Could you say that again?"


class SessionSettings(BaseModel):
    """The "session" section (env VOICEBOT_SESSION__<FIELD>)."""

    pause_ms: int = Field(120, ge=30)  # silence after which a speculative transcription starts
    quick_end_ms: int = Field(300, ge=90)  # silence that ends a turn whose transcript reads as finished
    end_silence_ms: int = Field(1100, ge=300)  # silence that ends any other turn
    barge_in: bool = True
    barge_in_ms: int = Field(120, ge=60)  # voiced audio over the bot's speech that stops it
    wake_word: str | None = None  # e.g. "hey voicebot": when set, turns must start with it
    awake_s: float = Field(30.0, gt=0)  # after a wake word, follow-ups need none for this long
    idle_timeout_s: float | None = Field(None, gt=0)  # end the conversation after this much silence
    greet: bool = True  # say the dialogue's greeting when the session starts
    # Audio queued ahead of playback before the next sentence is synthesized: enough to hide
    # synthesis under load, little enough that a barge-in leaves nothing unheard half-made.
    lookahead_s: float = Field(3.0, gt=0)


@dataclass(frozen=True)
class InFrame:
    """One microphone frame at 16 kHz mono int16.

    ``echo``: what the channel played from ``ECHO_HISTORY_MS`` before this frame to its end
    (``len(pcm) + 16 * ECHO_HISTORY_MS`` samples, 16 kHz int16), when the channel knows it
    (a speakerphone); None when the far end cancels its own echo (a phone handset).
    """

    pcm: np.ndarray
    echo: np.ndarray | None = None


class AudioChannel(Protocol):
    """A full-duplex audio port at the pipeline's format; channels convert at their edge."""

    name: str  # "speaker", "phone", "file", ... (a metrics label)

    def frames(self) -> AsyncIterator[InFrame]:
        """Microphone frames (10, 20 or 30 ms), paced as they are captured; ends when the line closes."""
        ...

    async def play(self, pcm: np.ndarray) -> None:
        """Queue reply audio (16 kHz mono int16); returns once queued, before it is heard."""
        ...

    def clear(self) -> None:
        """Drop everything queued or playing at once (barge-in)."""
        ...

    def pending_s(self) -> float:
        """Seconds of reply audio queued but not yet heard."""
        ...


@dataclass
class TurnRecord:
    """One user turn and the bot's answer, with its stage timings."""

    index: int
    user_text: str
    start: float  # audio time the user began
    end: float  # audio time the user's speech ended
    timings: dict[str, Any] = field(default_factory=dict)
    reply_text: str = ""
    intent: str | None = None
    actions: list[dict[str, Any]] = field(default_factory=list)
    escalated: bool = False
    ticket_id: str | None = None
    ended_conversation: bool = False
    interrupted: bool = False  # the user barged in before the reply finished
    ignored: str | None = None  # why no reply was given (nothing heard, no wake word, echo)
    reply_audio: list[np.ndarray] = field(default_factory=list, repr=False)  # what was handed to the channel

    def as_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "user": self.user_text,
            "reply": self.reply_text,
            "start": round(self.start, 3),
            "end": round(self.end, 3),
            "intent": self.intent,
            "actions": self.actions,
            "escalated": self.escalated,
            "ticket_id": self.ticket_id,
            "interrupted": self.interrupted,
            "ignored": self.ignored,
            "timings": {k: round(v, 4) if isinstance(v, float) else v for k, v in self.timings.items()},
        }


@dataclass(frozen=True)
class BargeIn:
    onset: float  # audio time the user's voice began
    decided_at: float  # audio time playback was stopped
    reaction_s: float


@dataclass(frozen=True)
class Greeting:
    text: str


SessionEvent = TurnRecord | BargeIn | Greeting


@dataclass
class SessionResult:
    conversation_id: str
    outcome: str  # the conversation's outcome: resolved | transfer | abandoned
    turns: list[TurnRecord]
    barge_ins: list[BargeIn]
    greeting: str = ""
    ended_by: str = "channel"  # "dialogue" (goodbye or handover), "channel" (line closed) or "timeout"


class Session:
    """Run one conversation over one channel. ``await run()`` returns when the dialogue ends
    the conversation, the channel closes, or the idle timeout passes."""

    def __init__(
        self,
        channel: AudioChannel,
        conversation: Conversation,
        transcriber: Transcriber,
        synthesizer: Synthesizer,
        settings: Settings | None = None,
        *,
        metrics: Metrics | None = None,
        store: Any | None = None,
        on_event: Callable[[SessionEvent], None] | None = None,
        session_settings: SessionSettings | None = None,
    ) -> None:
        s = settings or load_settings()
        self.channel = channel
        self.conversation = conversation
        self.transcriber = transcriber
        self.synthesizer = synthesizer
        self.opts = session_settings or section(SessionSettings, "session", s)
        # The endpointer waits the long silence; finished-sounding turns end earlier (see module doc).
        self.listen_settings: ListenSettings = s.listen.model_copy(
            update={"end_silence_ms": self.opts.end_silence_ms, "pause_ms": self.opts.pause_ms}
        )
        self.metrics = metrics or default_metrics()
        self.store = store
        self.on_event = on_event
        self.turns: list[TurnRecord] = []
        self.barge_ins: list[BargeIn] = []
        self.language = s.transcribe.language

        self._endpointer = Endpointer(self.listen_settings)
        self._audio_t = 0.0  # audio time at the end of the last frame
        self._wall_t = time.monotonic()  # when that frame arrived
        self._canceller = EchoCanceller()
        self._detector = BargeInDetector(
            min_voiced_ms=self.opts.barge_in_ms, frame_ms=self.listen_settings.frame_ms
        )
        self._utterance_start: float | None = None
        self._over_bot = False  # the current utterance began while the bot was speaking
        self._barged = False  # a barge-in happened during the utterance under way
        self._pause: SpeechPaused | None = None
        self._speculative: asyncio.Future[Transcript] | None = None
        self._queue: asyncio.Queue[_Turn | None] = asyncio.Queue()
        self._speaking: asyncio.Task[None] | None = None
        self._current: TurnRecord | None = None
        self._done = asyncio.Event()
        self._reading = False  # the channel is delivering frames (and so playing audio)
        self._answering = False  # a turn is being transcribed, handled or spoken
        self._outcome = "abandoned"
        self._ended_by = "channel"
        self._awake_until = -1.0
        self._last_activity = 0.0
        self._greeting = ""
        self.greeting_audio: list[np.ndarray] = []

    # ------------------------------------------------------------------ public
    async def run(self) -> SessionResult:
        worker = asyncio.create_task(self._turn_worker())
        try:
            if self.opts.greet and not self.opts.wake_word:
                reply = await asyncio.to_thread(self.conversation.greet)
                self._greeting = reply.text
                self._emit(Greeting(reply.text))
                self._speaking = asyncio.create_task(self._speak(reply, None))
            reader = asyncio.create_task(self._read())
            done_wait = asyncio.create_task(self._done.wait())
            await asyncio.wait({reader, done_wait}, return_when=asyncio.FIRST_COMPLETED)
            if not reader.done():
                reader.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await reader
            else:
                done_wait.cancel()
                reader.result()  # a channel error surfaces here
                # The line closed: answer what was already said, then stop.
                await self._queue.put(None)
                await worker
        finally:
            if not worker.done():
                worker.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await worker
            if self._speaking is not None and not self._speaking.done():
                self._speaking.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._speaking
            await asyncio.to_thread(self.conversation.end, self._outcome)
        return SessionResult(
            self.conversation.id, self._outcome, self.turns, self.barge_ins, self._greeting, self._ended_by
        )

    def busy(self) -> bool:
        """The user is mid-turn or the bot has not finished answering: a scripted caller (the
        virtual line) waits for this before it speaks again or hangs up."""
        return (
            self.bot_speaking()
            or self._utterance_start is not None
            or self._pause is not None
            or not self._queue.empty()
            or self._answering
        )

    def bot_speaking(self) -> bool:
        return self.channel.pending_s() > 0 or (self._speaking is not None and not self._speaking.done())

    # ------------------------------------------------------------------ microphone side
    async def _read(self) -> None:
        history = RATE * ECHO_HISTORY_MS // 1000
        self._reading = True
        try:
            await self._read_frames(history)
        finally:
            self._reading = False

    async def _read_frames(self, history: int) -> None:
        async for frame in self.channel.frames():
            t0 = self._audio_t
            self._audio_t += frame.pcm.size / RATE
            self._wall_t = time.monotonic()
            speaking = self.bot_speaking()
            if speaking:
                self._last_activity = self._audio_t  # the idle timeout counts from the bot's last word
            pcm = frame.pcm
            echo_rms = 0.0
            if frame.echo is not None and frame.echo.size >= pcm.size + history // 2:
                clean, echo_rms = self._canceller.process(pcm, frame.echo)
                if echo_rms > 0:
                    pcm = np.clip(clean, -32768, 32767).astype(np.int16)
            self._detector.track_floor(rms(pcm))
            if speaking and self.opts.barge_in:
                leftover = self._canceller.leftover(echo_rms) if echo_rms > 0 else None
                onset = self._detector.feed(pcm.astype(np.float32), echo_rms, t0, leftover)
                if onset is not None:
                    self._barge_in(onset)
                elif echo_rms > 0 and not self._detector.last_voiced:
                    # Echo suppression on top of cancellation: what is left of the bot's own
                    # voice must not reach the endpointer as if the user had spoken.
                    pcm = np.zeros_like(pcm)
            elif not speaking:
                self._detector.reset()
            for event in self._endpointer.feed(pcm):
                self._on_listen_event(event, speaking)
            self._check_quick_end()
            if self._done.is_set():
                return
            if (
                self.opts.idle_timeout_s
                and not speaking
                and self._utterance_start is None
                and self._queue.empty()
                and not self._answering
                and self._audio_t - self._last_activity > self.opts.idle_timeout_s
            ):
                self._ended_by = "timeout"
                return

    def _on_listen_event(self, event: Any, speaking: bool) -> None:
        if isinstance(event, SpeechStarted):
            self._utterance_start = event.time
            # Without barge-in the user may talk over the bot and is answered afterwards; with
            # it, voice over the bot that never triggered a barge-in is echo or noise.
            self._over_bot = speaking and not self._barged and self.opts.barge_in
            self._last_activity = self._audio_t
        elif isinstance(event, SpeechPaused):
            self._pause = event
            self._drop_speculation("discarded")
            self._speculative = asyncio.ensure_future(asyncio.to_thread(self._transcribe, event.pcm))
        elif isinstance(event, SpeechResumed):
            self._pause = None
            self._drop_speculation("discarded")
        elif isinstance(event, TurnEnded):
            start = event.start
            spec = self._speculative if self._pause is not None else None
            self._speculative = None
            self._pause = None
            self._end_turn(start, event.end, event.pcm, spec, event.reason)

    def _check_quick_end(self) -> None:
        """End the turn early when the speculative transcript reads as a finished sentence."""
        spec, pause = self._speculative, self._pause
        if spec is None or pause is None or not spec.done() or spec.cancelled():
            return
        silence = self._audio_t - pause.time
        if silence * 1000 < self.opts.quick_end_ms or spec.exception() is not None:
            return
        if not sounds_finished(spec.result().text):
            return
        end = pause.time
        start = self._utterance_start if self._utterance_start is not None else end
        self._speculative = None
        self._pause = None
        # The endpointer forgets this turn (its clock runs on) and listens for the next one.
        self._endpointer.reset()
        self._end_turn(start, end, pause.pcm, spec, "quick")

    def _end_turn(
        self,
        start: float,
        end: float,
        pcm: np.ndarray,
        spec: asyncio.Future[Transcript] | None,
        reason: str,
    ) -> None:
        decided = self._audio_t
        eos_wall = self._wall_t - (decided - end)  # the wall time the speech ended, at real-time pace
        over_bot = self._over_bot
        self._utterance_start = None
        self._over_bot = False
        self._barged = False
        self._last_activity = self._audio_t
        if spec is not None:
            self.metrics.observe_speculation("used")
        else:
            self.metrics.observe_speculation("missed")
        turn = _Turn(start, end, decided, eos_wall, pcm, spec, reason, over_bot)
        self._queue.put_nowait(turn)

    def _drop_speculation(self, result: str) -> None:
        if self._speculative is not None:
            self.metrics.observe_speculation(result)
            self._speculative = None

    def _barge_in(self, onset: float) -> None:
        self.channel.clear()
        if self._speaking is not None and not self._speaking.done():
            self._speaking.cancel()
        if self._current is not None:
            self._current.interrupted = True
        self._over_bot = False  # the utterance under way is meant for us
        self._barged = True
        event = BargeIn(onset, self._audio_t, self._audio_t - onset)
        self.barge_ins.append(event)
        self.metrics.observe_barge_in(self.channel.name, event.reaction_s)
        self._emit(event)

    # ------------------------------------------------------------------ turn side
    async def _turn_worker(self) -> None:
        while True:
            turn = await self._queue.get()
            if turn is None:
                if self._speaking is not None:
                    with contextlib.suppress(asyncio.CancelledError):
                        await self._speaking
                await self._wait_played()
                return
            self._answering = True
            try:
                await self._answer(turn)
            except Exception as exc:
                # One turn failing (a model or the dialogue raising) must not end the conversation.
                log.exception("turn at %.2f s failed", turn.end)
                record = TurnRecord(len(self.turns) + 1, "", turn.start, turn.end, ignored=f"error: {exc}")
                self._finish(record)
                self._speaking = asyncio.create_task(self._speak(Reply(SORRY), None))
            finally:
                self._answering = False
            if self._done.is_set():
                return

    async def _answer(self, turn: _Turn) -> None:
        record = TurnRecord(len(self.turns) + 1, "", turn.start, turn.end)
        tm = record.timings
        tm["speech_start"] = turn.start
        tm["speech_end"] = turn.end
        tm["endpoint"] = turn.decided - turn.end
        tm["end_reason"] = turn.reason
        tm["speculative"] = turn.spec is not None
        transcript: Transcript | None = None
        if turn.spec is not None:
            with contextlib.suppress(Exception):
                transcript = await turn.spec
        if transcript is None:
            transcript = await asyncio.to_thread(self._transcribe, turn.pcm)
        tm["transcript"] = time.monotonic() - turn.eos_wall
        tm["transcribe_s"] = transcript.elapsed_s
        text = transcript.text.strip()
        record.user_text = text
        if turn.over_bot:
            record.ignored = "heard over the bot's own speech without barging in (echo or noise)"
        elif not text:
            record.ignored = f"nothing understood ({transcript.rejected or 'empty'})"
        else:
            text = self._apply_wake_word(text, turn.end, record)
        if record.ignored:
            self._finish(record)
            return
        # The previous reply (if still sounding) gives way to the new one.
        if self._speaking is not None and not self._speaking.done():
            self._speaking.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._speaking
        started = time.monotonic()
        reply = await asyncio.to_thread(self._handle, text)
        tm["dialogue_s"] = time.monotonic() - started
        tm["reply_text"] = time.monotonic() - turn.eos_wall
        record.intent = reply.intent
        record.actions = [_action(a) for a in reply.actions]
        record.escalated = reply.escalated
        record.ticket_id = reply.ticket_id
        record.ended_conversation = reply.end_conversation
        self._current = record
        self._speaking = asyncio.create_task(self._speak(reply, record, turn.eos_wall))
        with contextlib.suppress(asyncio.CancelledError):
            await self._speaking
        self._current = None
        self._finish(record)
        if reply.end_conversation:
            self._outcome = reply.outcome or ("transfer" if reply.escalated else "resolved")
            self._ended_by = "dialogue"
            await self._wait_played()
            self._done.set()

    def _handle(self, text: str) -> Reply:
        if text == "\x00greet":
            return self.conversation.greet()
        # A conversation that can stream (the LLM policy) returns once its first words exist,
        # with the text in ``text_stream``: speech starts while the rest is being written.
        streaming = getattr(self.conversation, "handle_streaming", None)
        if callable(streaming):
            return streaming(text)
        return self.conversation.handle(text)

    def _apply_wake_word(self, text: str, end: float, record: TurnRecord) -> str:
        phrase = self.opts.wake_word
        if not phrase:
            return text
        if end <= self._awake_until:
            self._awake_until = end + self.opts.awake_s
            return text
        rest = strip_wake_word(text, phrase)
        if rest is None:
            record.ignored = f"no wake word ({phrase!r})"
            return text
        self._awake_until = end + self.opts.awake_s
        return rest or "\x00greet"

    async def _speak(self, reply: Reply, record: TurnRecord | None, eos_wall: float | None = None) -> None:
        """Synthesize sentence by sentence in a worker thread; each sentence is queued on the
        channel as soon as it exists."""
        loop = asyncio.get_running_loop()
        chunks = self._chunks(reply, record)
        lock = threading.Lock()  # the generator runs in worker threads, one step at a time

        def pull() -> np.ndarray | None:
            with lock:
                return next(chunks, None)

        def close() -> None:
            with lock:  # waits for a step still running after a barge-in, then drops the rest
                chunks.close()

        first = True
        started = time.monotonic()
        try:
            while True:
                chunk = await loop.run_in_executor(None, pull)
                if chunk is None:
                    break
                if first and record is not None and eos_wall is not None:
                    record.timings["synth_first_s"] = time.monotonic() - started
                    record.timings["first_audio"] = time.monotonic() - eos_wall
                first = False
                (record.reply_audio if record is not None else self.greeting_audio).append(chunk)
                await self.channel.play(chunk)
                while self.channel.pending_s() > self.opts.lookahead_s and self._reading:
                    await asyncio.sleep(0.02)
        finally:
            loop.run_in_executor(None, close)

    def _chunks(self, reply: Reply, record: TurnRecord | None) -> Iterator[np.ndarray]:
        """The reply's audio, sentence by sentence; a streamed reply is spoken as its sentences arrive."""
        spoken: list[str] = []
        for sentence in reply_sentences(reply):
            spoken.append(sentence)
            if record is not None:
                record.reply_text = " ".join(spoken)
            cached = PHRASES.get(self.synthesizer, sentence)
            if cached is not None:
                yield cached
                continue
            pieces = []
            for chunk in self.synthesizer.synthesize(sentence, RATE):
                pcm = chunk.pcm if chunk.sample_rate == RATE else _resample(chunk.pcm, chunk.sample_rate)
                pieces.append(pcm)
                yield pcm
            PHRASES.put(self.synthesizer, sentence, pieces)

    async def _wait_played(self) -> None:
        while self.channel.pending_s() > 0 and self._reading:
            await asyncio.sleep(min(0.05, self.channel.pending_s()))

    def _transcribe(self, pcm: np.ndarray) -> Transcript:
        return self.transcriber.transcribe(pcm, self.language)

    def _finish(self, record: TurnRecord) -> None:
        self.turns.append(record)
        if record.ignored is None:
            self.metrics.observe_turn(self.channel.name, record.timings)
            self._save_timings(record)
        self._emit(record)

    def _save_timings(self, record: TurnRecord) -> None:
        if self.store is None:
            return
        data = {"turn": record.index, "user": record.user_text, **record.timings}
        try:
            setter = getattr(self.store, "set_turn_timings", None)
            if setter is not None:
                setter(self.conversation.id, data)
            else:
                self.store.add_trace(self.conversation.id, None, "turn_timings", None, data)
        except Exception:  # losing a timing record must not break the conversation
            log.exception("could not store the turn timings")

    def _emit(self, event: SessionEvent) -> None:
        if self.on_event is not None:
            try:
                self.on_event(event)
            except Exception:
                log.exception("session event handler failed")


@dataclass
class _Turn:
    start: float
    end: float
    decided: float
    eos_wall: float
    pcm: np.ndarray
    spec: asyncio.Future[Transcript] | None
    reason: str
    over_bot: bool


def _action(a: Any) -> dict[str, Any]:
    return {
        "device_id": a.device_id,
        "device": a.device_name,
        "changes": a.changes,
        "outcome": str(a.outcome),
        "reason": a.reason,
    }


def _resample(pcm: np.ndarray, rate: int) -> np.ndarray:
    from voicebot.audio import resample

    return resample(pcm, rate, RATE)


