"""One phone call: the caller's audio through the endpointer, transcription (pooled), the
dialogue and the synthesizer, and the bot's audio back out in real time.

The transport (AudioSocket or Twilio) is behind ``Leg``; this module holds the phone rules:
the greeting, barge-in (flush the paced audio and ask the far end to clear its buffer), DTMF
(``0`` a human, ``#`` the last reply again, other digits to the dialogue), ending the call after
the last reply has played (transfer or resolved), and recording the outcome on every path,
including a caller who hangs up and a peer that sends garbage.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import soxr

from voicebot.audio import SAMPLE_RATE, FrameBuffer
from voicebot.channels.phone.calls import CallRecord, CallRegistry, Turn
from voicebot.channels.phone.leg import Leg
from voicebot.channels.phone.pacing import Pacer
from voicebot.channels.phone.pool import TranscriptionPool
from voicebot.dialogue.types import Conversation, Reply
from voicebot.listen import SpeechStarted, TurnEnded
from voicebot.speak import Synthesizer

log = logging.getLogger(__name__)

HUMAN_REQUEST = "I want to talk to a human"  # what DTMF 0 means when the dialogue has no DTMF rule for it


class Endpointer(Protocol):
    def feed(self, frame: np.ndarray) -> list[Any]: ...


@dataclass
class PhoneServices:
    """What every call of the process shares: loaded models, pools, the dialogue factory."""

    registry: CallRegistry
    pool: TranscriptionPool
    synthesizer: Synthesizer
    new_conversation: Callable[[CallRecord], Conversation]
    new_endpointer: Callable[[], Endpointer]
    endpointer_frame_ms: int
    executor: Executor  # dialogue turns and synthesis run here, off the event loop
    greet: bool = True
    playback_grace_s: float = 2.0  # how long past the audio's length to wait for a playback mark


@dataclass
class _Speech:
    """A reply being spoken: its text and, once synthesized, its audio at the call's rate."""

    text: str
    pcm: list[np.ndarray] = field(default_factory=list)
    cancelled: threading.Event = field(default_factory=threading.Event)
    first_audio: asyncio.Future[float] | None = None


class PhoneCall:
    def __init__(self, leg: Leg, record: CallRecord, services: PhoneServices) -> None:
        self.leg = leg
        self.record = record
        self.s = services
        self.pacer = Pacer(leg.rate, leg.send_audio, fill_silence=leg.fill_silence)
        self._events: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        self._loop = asyncio.get_running_loop()
        self._resampler = soxr.ResampleStream(leg.rate, SAMPLE_RATE, 1, dtype="int16") if leg.rate != SAMPLE_RATE else None
        self._resamplers_by_rate: dict[int, soxr.ResampleStream] = {}
        self._frames = FrameBuffer(SAMPLE_RATE * services.endpointer_frame_ms // 1000)
        self._endpointer = services.new_endpointer()
        self._audio_s = 0.0  # seconds of caller audio received
        self._speaking: _Speech | None = None
        self._speak_task: asyncio.Task[None] | None = None
        self._last: _Speech | None = None
        self._marks: dict[str, asyncio.Event] = {}
        self._mark_seq = 0
        self._conversation: Conversation | None = None
        self._ended = False
        self._outcome: str | None = None

    # -- input from the leg (called on the event loop) ---------------------------------------
    def audio(self, pcm: np.ndarray, rate: int) -> None:
        if self._ended:
            return
        if rate == SAMPLE_RATE:
            wide = pcm
        elif rate == self.leg.rate and self._resampler is not None:
            wide = self._resampler.resample_chunk(pcm)
        else:  # the rate changed mid-call; keep listening rather than drop the caller
            stream = self._resamplers_by_rate.setdefault(rate, soxr.ResampleStream(rate, SAMPLE_RATE, 1, dtype="int16"))
            wide = stream.resample_chunk(pcm)
        self._audio_s += len(pcm) / rate
        now = self._loop.time()
        for frame in self._frames.push(wide):
            for event in self._endpointer.feed(frame):
                if isinstance(event, SpeechStarted):
                    if self.pacer.playing:
                        self._barge_in()
                elif isinstance(event, TurnEnded):
                    # Map the turn's audio time to loop time: the newest sample arrived just now.
                    end_of_speech = now - max(0.0, self._audio_s - event.end)
                    self._events.put_nowait(("turn", (event, end_of_speech)))

    def dtmf(self, digit: str) -> None:
        if not self._ended:
            self._events.put_nowait(("dtmf", digit))

    def played(self, mark: str) -> None:
        if (ev := self._marks.get(mark)) is not None:
            ev.set()

    def hangup(self, by: str, error: str | None = None) -> None:
        self._events.put_nowait(("hangup", (by, error)))

    # -- the call ---------------------------------------------------------------------------
    async def run(self) -> None:
        self.pacer.start()
        ended_by, error = "caller", None
        try:
            self._conversation = await self._in_thread(self.s.new_conversation, self.record)
            self.record.conversation_id = getattr(self._conversation, "id", None)
            if self.s.greet:
                reply = await self._in_thread(self._conversation.greet)
                self._note(Turn(user="", bot=reply.text, source="greeting", intent=reply.intent), reply)
                self._say(reply.text)
            while True:
                kind, value = await self._events.get()
                if kind == "hangup":
                    ended_by, error = value
                    break
                reply = await (self._on_turn(*value) if kind == "turn" else self._on_dtmf(value))
                if reply is not None and reply.end_conversation:
                    await self._finish_speaking()
                    ended_by = "bot"
                    break
        except asyncio.CancelledError:
            ended_by, error = "error", "the server stopped"
            raise
        except Exception as exc:
            log.exception("call %s failed", self.record.call_id)
            ended_by, error = "error", f"internal error: {exc}"
        finally:
            await self._end(ended_by, error)

    async def _on_turn(self, event: TurnEnded, end_of_speech: float) -> Reply | None:
        transcript = await self.s.pool.transcribe(event.pcm)
        if not transcript.text:
            log.info("call %s: turn not understood as speech (%s)", self.record.call_id, transcript.rejected)
            return None
        assert self._conversation is not None
        reply = await self._in_thread(self._conversation.handle, transcript.text)
        turn = Turn(user=transcript.text, bot=reply.text, intent=reply.intent)
        self._note(turn, reply)
        speech = self._say(reply.text)
        if speech.first_audio is not None:
            first = speech.first_audio

            def record_latency(f: asyncio.Future[float]) -> None:
                if not f.cancelled():
                    turn.end_of_speech_to_first_audio_s = round(f.result() - end_of_speech, 3)

            first.add_done_callback(record_latency)
        return reply

    async def _on_dtmf(self, digit: str) -> Reply | None:
        assert self._conversation is not None
        if digit == "#":
            if self._last is not None:
                self._interrupt()
                self._replay(self._last)
            return None
        reply = await self._in_thread(self._conversation.handle_dtmf, digit)
        if digit == "0" and not reply.escalated:
            reply = await self._in_thread(self._conversation.handle, HUMAN_REQUEST)
        self._note(Turn(user=f"[DTMF {digit}]", bot=reply.text, source="dtmf", intent=reply.intent), reply)
        self._interrupt()
        self._say(reply.text)
        return reply

    def _note(self, turn: Turn, reply: Reply) -> None:
        self.record.turns.append(turn)
        if reply.ticket_id:
            self.record.ticket_id = reply.ticket_id
        if reply.end_conversation or reply.outcome:
            self._outcome = reply.outcome or ("transfer" if reply.escalated else "resolved")
        elif reply.escalated:
            self._outcome = "transfer"

    # -- speaking ----------------------------------------------------------------------------
    def _say(self, text: str) -> _Speech:
        """Start speaking ``text`` (synthesized sentence by sentence in a worker thread)."""
        self._interrupt()
        speech = _Speech(text)
        speech.first_audio = self.pacer.start_reply()
        self._speaking = speech
        self._speak_task = asyncio.create_task(self._synthesize(speech))
        return speech

    async def _synthesize(self, speech: _Speech) -> None:
        chunks: asyncio.Queue[np.ndarray | None] = asyncio.Queue()

        def produce() -> None:
            try:
                for chunk in self.s.synthesizer.synthesize(speech.text, sample_rate=self.leg.rate):
                    if speech.cancelled.is_set():
                        return
                    self._loop.call_soon_threadsafe(chunks.put_nowait, chunk.pcm)
            finally:
                self._loop.call_soon_threadsafe(chunks.put_nowait, None)

        work = self._loop.run_in_executor(self.s.executor, produce)
        try:
            while (pcm := await chunks.get()) is not None:
                if speech.cancelled.is_set():
                    break
                speech.pcm.append(pcm)
                self.pacer.enqueue(pcm)
        finally:
            if not speech.cancelled.is_set():
                self.pacer.finish_reply()
                self._last = speech
            await asyncio.shield(work)

    def _replay(self, speech: _Speech) -> None:
        again = _Speech(speech.text, list(speech.pcm))
        again.first_audio = self.pacer.start_reply()
        self._speaking = again
        for pcm in again.pcm:
            self.pacer.enqueue(pcm)
        self.pacer.finish_reply()

    def _interrupt(self) -> bool:
        """Stop the current reply (synthesis and queued audio); True if something was playing."""
        was_playing = self.pacer.playing
        if self._speaking is not None:
            self._speaking.cancelled.set()
            self._speaking = None
        self.pacer.flush()
        return was_playing

    def _barge_in(self) -> None:
        if self._interrupt():
            self.record.barge_ins += 1
            log.info("call %s: barge-in, playback stopped", self.record.call_id)
            if self.leg.confirms_playback:
                asyncio.create_task(self.leg.clear())  # noqa: RUF006 (one short send; its loss is harmless)

    async def _finish_speaking(self) -> None:
        """Wait until the last reply has been heard, so the caller hears what happens next."""
        if self._speak_task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._speak_task
        await self.pacer.drained()
        if self.leg.confirms_playback:
            self._mark_seq += 1
            name = f"end-{self._mark_seq}"
            played = self._marks[name] = asyncio.Event()
            await self.leg.mark(name)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(played.wait(), self.s.playback_grace_s + 1.0)

    # -- ending ------------------------------------------------------------------------------
    async def _end(self, ended_by: str, error: str | None) -> None:
        self._ended = True
        self._interrupt()
        outcome = self._outcome if ended_by == "bot" or self._outcome == "transfer" else None
        outcome = outcome or ("abandoned" if ended_by != "bot" else "resolved")
        if self._conversation is not None:
            try:
                await self._in_thread(self._conversation.end, outcome)
            except Exception:
                log.exception("call %s: the conversation could not be stored", self.record.call_id)
        self.record.underruns = self.pacer.stats.underruns
        self.s.registry.close(self.record, outcome, ended_by, error)
        await self.pacer.stop()
        if ended_by == "bot":
            await self.leg.hangup()
        log.info(
            "call %s ended by %s: %s%s", self.record.call_id, ended_by, outcome, f" ({error})" if error else ""
        )

    async def _in_thread(self, fn: Callable[..., Any], *args: Any) -> Any:
        return await self._loop.run_in_executor(self.s.executor, fn, *args)

