"""One live conversation: the wiring between a channel, the Listener, the dialogue and the Speaker.

    channel.frames() ─InFrame→ Listener.feed ─HeardTurn→ turn queue → Listener.hear (transcript)
        → conversation.handle (dialogue) → Speaker.say → channel.play
    Listener.feed ─BargeIn→ Speaker.cancel (the user talked over the bot)

On asyncio; Whisper, Piper and the dialogue run in worker threads so the audio keeps flowing.
Every stage emits onto the session's bus (``session.events``, :mod:`voicebot.events`): turn
timings, metrics and the store follow it; ``on_event`` hands the caller each finished
:class:`TurnRecord`, each :class:`BargeIn` and the greeting.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

import numpy as np
from pydantic import BaseModel, Field

from voicebot.config import Settings, load_settings, section
from voicebot.dialogue.types import Conversation, Reply
from voicebot.events import EventBus, Phase, Stage, emit, scope, timed
from voicebot.frames import AudioChannel
from voicebot.listen import SpeechStarted
from voicebot.listener import GREET, BargeIn, HeardTurn, Listener
from voicebot.live import LiveLink, current_link
from voicebot.metrics import Metrics, default_metrics
from voicebot.speak import Synthesizer
from voicebot.speaker import Speaker
from voicebot.transcribe import Transcriber
from voicebot.turn_taking import TurnJudge
from voicebot.turns import (
    Greeting,
    SessionEvent,
    SessionResult,
    TimingsStore,
    TurnClock,
    TurnRecord,
    store_timings,
)

log = logging.getLogger(__name__)

SORRY = "Sorry, something went wrong on my side. Could you say that again?"
ANSWER_WAIT_S = 30.0  # an announcement waits this long for the answer to a question the bot asked


class SessionSettings(BaseModel):
    """The "session" section (env VOICEBOT_SESSION__<FIELD>)."""

    # silence after which a speculative transcription starts: the turn cannot end before it is
    # done, so with a complete request (complete_end_ms) this decides the end of turn (docs/audio.md)
    pause_ms: int = Field(90, ge=30)
    quick_end_ms: int = Field(300, ge=90)  # silence that ends a turn whose transcript reads as finished
    # the same when the voice also fell at the end, and when it stayed up on words that are no
    # question (voicebot.turn_taking.end_silence_ms); fell_end_ms 0: no prosody, as before
    fell_end_ms: int = Field(180, ge=0)
    held_end_ms: int = Field(700, ge=90)
    # the understanding's judgement (voicebot.understand.completeness): a complete request ends
    # after complete_end_ms (0: no judgement, as before), one not complete yet waits incomplete_end_ms
    complete_end_ms: int = Field(200, ge=0)
    incomplete_end_ms: int = Field(700, ge=90)
    end_silence_ms: int = Field(1100, ge=300)  # silence that ends any other turn
    barge_in: bool = True
    barge_in_ms: int = Field(120, ge=60)  # voiced audio over the bot's speech that stops it
    wake_word: str | None = None  # e.g. "hey voicebot": when set, turns must start with it
    awake_s: float = Field(30.0, gt=0)  # after a wake word, follow-ups need none for this long
    idle_timeout_s: float | None = Field(None, gt=0)  # end the conversation after this much silence
    greet: bool = True  # say the dialogue's greeting when the session starts
    # Audio queued ahead of playback before the next sentence is synthesized: hides synthesis
    lookahead_s: float = Field(3.0, gt=0)  # under load; a barge-in leaves little half-made


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
        store: TimingsStore | None = None,
        on_event: Callable[[SessionEvent], None] | None = None,
        session_settings: SessionSettings | None = None,
        events: EventBus | None = None,
        live: LiveLink | None = None,
        announce: Callable[[float], str | None] | None = None,
    ) -> None:
        s = settings or load_settings()
        self.channel = channel
        self.conversation = conversation
        self.opts = opts = session_settings or section(SessionSettings, "session", s)
        self.on_event = on_event
        self.turns: list[TurnRecord] = []
        self.barge_ins: list[BargeIn] = []
        self.events = events or EventBus()
        self._clock = TurnClock(self.events)  # each turn's timings, folded from its events
        (metrics or default_metrics()).follow(self.events, channel.name)
        if store is not None:
            store_timings(self.events, store)
        # The endpointer waits the long silence; finished-sounding turns end earlier (listener doc).
        listen = s.listen.model_copy(update={"end_silence_ms": opts.end_silence_ms, "pause_ms": opts.pause_ms})
        self.listener = Listener(
            transcriber, listen, language=s.transcribe.language, speculate="thread", quick_end_ms=opts.quick_end_ms,
            fell_end_ms=opts.fell_end_ms or None, held_end_ms=opts.held_end_ms,
            judge=turn_judge_of(conversation) if opts.complete_end_ms else None,
            complete_end_ms=opts.complete_end_ms or None, incomplete_end_ms=opts.incomplete_end_ms,
            barge_in=opts.barge_in, barge_in_ms=opts.barge_in_ms, wake_word=opts.wake_word, awake_s=opts.awake_s,
        )
        self.speaker = Speaker(channel, synthesizer, opts.lookahead_s, live=lambda: self._reading)
        self._queue: asyncio.Queue[HeardTurn | None] = asyncio.Queue()
        self._current: TurnRecord | None = None
        self._done = asyncio.Event()
        self._reading = False  # the channel is delivering frames (and so playing audio)
        self._answering = False  # a turn is being transcribed, handled or spoken
        self._outcome = "abandoned"
        self._ended_by = "channel"
        self._last_activity = 0.0
        self._greeting = ""
        self.greeting_audio: list[np.ndarray] = []
        # The agents' console watches the conversation and may step in (voicebot.live).
        link = live or current_link()
        self._live = link.watch(self, conversation, channel.name) if link is not None else None
        self.agent_audio: list[np.ndarray] = []  # what agents said through the bot's voice
        self.announce = announce  # unasked speech (proactive): asked while all is quiet, with for how long
        self.announced: list[tuple[float, str]] = []  # (audio time, text) of what was announced

    async def run(self) -> SessionResult:
        with scope(self.events, self.conversation.id):
            await self._run()
        return SessionResult(
            self.conversation.id, self._outcome, self.turns, self.barge_ins, self._greeting, self._ended_by
        )

    async def _run(self) -> None:
        worker = asyncio.create_task(self._turn_worker())
        if self._live is not None:
            self._live.started(asyncio.get_running_loop())
        try:
            if self.opts.greet and not self.opts.wake_word:
                reply = await asyncio.to_thread(self.conversation.greet)
                self._greeting = reply.text
                if self._live is not None:
                    self._live.bot_said(reply.text)
                self._emit(Greeting(reply.text))
                self.speaker.say(reply, self.greeting_audio)
            reader = asyncio.create_task(self._read())
            done_wait = asyncio.create_task(self._done.wait())
            await asyncio.wait({reader, done_wait}, return_when=asyncio.FIRST_COMPLETED)
            await _cancel(done_wait if reader.done() else reader)
            if reader.done() and not reader.cancelled():
                reader.result()  # a channel error surfaces here
                await self._queue.put(None)  # the line closed: answer what was already said, then stop
                await worker
        finally:
            await _cancel(worker)
            await self.speaker.stop()
            await asyncio.to_thread(self.conversation.end, self._outcome)
            if self._live is not None:
                self._live.ended(self._outcome)

    def busy(self) -> bool:
        """The user is mid-turn or the bot has not finished answering: a scripted caller (the
        virtual line) waits for this before it speaks again or hangs up."""
        return self.bot_speaking() or self.listener.mid_turn or not self._queue.empty() or self._answering

    def bot_speaking(self) -> bool:
        return self.speaker.speaking()

    # ------------------------------------------------------------------ microphone side
    async def _read(self) -> None:
        self._reading = True
        try:
            async for frame in self.channel.frames():
                speaking = self.bot_speaking()
                for event in self.listener.feed(frame, speaking):
                    if isinstance(event, BargeIn):
                        self._barge_in(event)
                    elif isinstance(event, SpeechStarted | HeardTurn):
                        self._last_activity = self.listener.audio_t
                        if isinstance(event, HeardTurn):
                            self._queue.put_nowait(event)
                now = self.listener.audio_t
                if speaking:
                    self._last_activity = now  # the idle timeout counts from the bot's last word
                if self._done.is_set():
                    return
                if self.announce is not None and not (speaking or self.busy()):
                    self._announce(now)
                idle = self.opts.idle_timeout_s
                if idle and not (speaking or self.busy()) and now - self._last_activity > idle:
                    self._ended_by = "timeout"
                    return
        finally:
            self._reading = False

    def _announce(self, now: float) -> None:
        quiet = now - self._last_activity
        if getattr(self.conversation, "awaiting_answer", False) and quiet < ANSWER_WAIT_S:
            return  # the bot asked something: the customer may be thinking, not done
        text = self.announce(quiet) if self.announce is not None else None
        if text:
            self.announced.append((now, text))
            self._last_activity = now
            self.speaker.say(Reply(text=text), [])

    def _barge_in(self, event: BargeIn) -> None:
        self.speaker.cancel()
        if self._current is not None:
            self._current.interrupted = True
        self.barge_ins.append(event)
        self._emit(event)

    # ------------------------------------------------------------------ turn side
    async def _turn_worker(self) -> None:
        while (turn := await self._queue.get()) is not None:
            self._answering = True
            try:
                with scope(self.events, self.conversation.id, turn.index):
                    await self._answer(turn)
            except Exception as exc:
                # One turn failing (a model or the dialogue raising) must not end the conversation.
                log.exception("turn at %.2f s failed", turn.end)
                self._finish(TurnRecord(turn.index, "", turn.start, turn.end, ignored=f"error: {exc}"))
                self.speaker.say(Reply(SORRY), [])
            finally:
                self._answering = False
            if self._done.is_set():
                return
        await self.speaker.finish()  # the line closed: let the last answer out
        await self.speaker.wait_played()

    async def _answer(self, turn: HeardTurn) -> None:
        record = TurnRecord(turn.index, "", turn.start, turn.end, self._clock.timings(turn.index))
        heard = await self.listener.hear(turn)
        record.user_text, record.ignored = heard.transcript.text.strip(), heard.ignored
        if record.ignored:
            self._finish(record)
            return
        if self._live is not None and self._live.taken_over:
            # An agent has the conversation: the customer's words go to them as text, the bot is quiet.
            self._live.customer_said(record.user_text)
            record.ignored = "an agent has taken over"
            self._finish(record)
            return
        await self.speaker.stop()  # the previous reply (if still sounding) gives way to the new one
        with timed(Stage.DIALOGUE, user=heard.text) as found:
            reply = await asyncio.to_thread(self._handle, heard.text)
            found.update(intent=reply.intent, reply=reply)
        record.take(reply)
        if self._live is not None:
            self._live.answered(record.user_text, reply)
        self._current = record
        self.speaker.say(reply, record.reply_audio, on_text=lambda text: setattr(record, "reply_text", text))
        await self.speaker.finish()
        self._current = None
        self._finish(record)
        if reply.end_conversation:
            self._outcome = reply.outcome or ("transfer" if reply.escalated else "resolved")
            self._ended_by = "dialogue"
            await self.speaker.wait_played()
            self._done.set()

    # ------------------------------------------------------------------ an agent stepping in
    def hold_bot(self) -> None:
        """An agent takes over: the bot's reply under way stops (turns from now on go to the agent)."""
        self.speaker.cancel()

    def agent_says(self, text: str, language: str) -> None:
        """Speak an agent's words to the customer in the bot's voice (called on the session's loop)."""
        self._last_activity = self.listener.audio_t
        self.speaker.say(Reply(text, language=language, handled_by="agent"), self.agent_audio)

    def end_by_agent(self) -> None:
        self._outcome, self._ended_by = "resolved", "agent"
        self._done.set()

    def _handle(self, text: str) -> Reply:
        # A conversation that can stream (the LLM policy) returns once its first words exist,
        # with the text in ``text_stream``: speech starts while the rest is being written.
        streaming = getattr(self.conversation, "handle_streaming", None)
        handle = streaming if callable(streaming) else self.conversation.handle
        return self.conversation.greet() if text == GREET else handle(text)

    def _finish(self, record: TurnRecord) -> None:
        self.turns.append(record)
        self._clock.done(record.index)
        self._emit(record)
        emit(Stage.TURN, Phase.END, record.index, record=record, channel=self.channel.name)

    def _emit(self, event: SessionEvent) -> None:
        if self.on_event is not None:
            try:
                self.on_event(event)
            except Exception:
                log.exception("session event handler failed")


def turn_judge_of(conversation: object) -> TurnJudge | None:
    """The conversation's end-of-turn judgement (the rules dialogue's understanding of its home
    and state), when it offers one; a wrapper around a dialogue passes its inner one on."""
    offer = getattr(conversation, "turn_judge", None)
    return offer() if callable(offer) else None


async def _cancel(task: asyncio.Task[Any]) -> None:
    if not task.done():
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
