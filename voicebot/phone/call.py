"""One phone call: the live session (voicebot.session) over a phone leg, plus the phone rules.

The session does the conversation itself (endpointing, speculative transcription, dialogue,
sentence-by-sentence speech, barge-in). This module adds what only a phone call has: DTMF
(``0`` a human, ``#`` the last reply again, other digits to the dialogue), ending the bot's leg
after the last reply has been heard (transfer or resolved), and recording the call's outcome
with its ticket on every path, including a caller who hangs up and a peer that sends garbage.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any

import numpy as np

from voicebot.channels.phone.calls import CallRecord, CallRegistry, Turn
from voicebot.channels.phone.channel import PhoneChannel
from voicebot.channels.phone.leg import Leg
from voicebot.channels.phone.pool import TranscriptionPool
from voicebot.config import Settings
from voicebot.dialogue.types import Conversation, Reply
from voicebot.listener import BargeIn
from voicebot.privacy.redact import redact
from voicebot.session import Session, SessionSettings, turn_judge_of
from voicebot.speak import Synthesizer
from voicebot.turn_taking import TurnJudge
from voicebot.turns import SessionEvent, TurnRecord

log = logging.getLogger(__name__)

# The dialogue's outcomes as call outcomes: a ticket for a callback ("escalated") ends the call's
# business as much as a fix does; only "transfer" sends the caller on to an agent queue.
CALL_OUTCOMES = {
    "transfer": "transfer",
    "resolved": "resolved",
    "escalated": "resolved",
    "abandoned": "abandoned",
    "timeout": "abandoned",
}
HUMAN_REQUEST = "I want to talk to a human"  # what DTMF 0 means when the dialogue has no rule for it


@dataclass
class PhoneServices:
    """What every call of the process shares: loaded models, pools, the dialogue factory."""

    registry: CallRegistry
    pool: TranscriptionPool
    synthesizer: Synthesizer
    new_conversation: Callable[[CallRecord], Conversation]
    settings: Settings
    session_settings: SessionSettings
    frame_ms: int  # the endpointer's frame length
    executor: Executor  # dialogue turns and synthesis of the call's own replies
    store: Any = None
    playback_grace_s: float = 3.0  # how long to wait for Twilio to confirm the last audio played


class _ObservedConversation:
    """The dialogue as the call sees it: each reply is noted on the call record, a new reply from
    the session lifts the hold on its audio, and ``end`` stores the call's real outcome."""

    def __init__(self, inner: Conversation, call: PhoneCall) -> None:
        self.inner = inner
        self.call = call

    @property
    def id(self) -> str:
        return self.inner.id

    def greet(self) -> Reply:
        reply = self.inner.greet()
        self.call.note(Turn(user="", bot=reply.text, source="greeting", intent=reply.intent), reply)
        self.call.channel.holding = False
        return reply

    def handle(self, text: str) -> Reply:
        reply = self.inner.handle(text)
        self.call.note(Turn(user=text, bot=reply.text, intent=reply.intent), reply)
        self.call.channel.holding = False
        return reply

    def handle_dtmf(self, digit: str) -> Reply:
        reply = self.inner.handle_dtmf(digit)
        if digit == "0" and not reply.escalated:
            reply = self.inner.handle(HUMAN_REQUEST)
        self.call.note(Turn(user=f"[DTMF {digit}]", bot=reply.text, source="dtmf", intent=reply.intent), reply)
        return reply

    def end(self, outcome: str) -> None:
        self.inner.end(self.call.final_outcome())

    def turn_judge(self) -> TurnJudge | None:
        """The dialogue's end-of-turn judgement: a caller's complete request ends the turn
        sooner on the phone too (without this the call's sessions never had one)."""
        return turn_judge_of(self.inner)


class PhoneCall:
    def __init__(self, leg: Leg, record: CallRecord, services: PhoneServices) -> None:
        self.leg = leg
        self.record = record
        self.s = services
        self.channel = PhoneChannel(leg, services.frame_ms)
        self.session: Session | None = None
        self._loop = asyncio.get_running_loop()
        self._dtmf: asyncio.Queue[str] = asyncio.Queue()
        self._marks: dict[str, asyncio.Event] = {}
        self._hung_up: tuple[str, str | None] | None = None  # (by, error) when the leg went away
        self._bot_ended = False
        self._outcome: str | None = None  # from the dialogue's replies
        self._last_reply = ""
        self._last_language = "en"  # the last reply's, so "#" repeats it in its voice
        self._own_speaking = False
        self.on_end: Callable[[], None] = lambda: None  # the line's admission counts the call out

    # -- input from the leg (called on the event loop) ---------------------------------------
    def audio(self, pcm: np.ndarray, rate: int) -> None:
        self.channel.push(pcm, rate)

    def dtmf(self, digit: str) -> None:
        self._dtmf.put_nowait(digit)

    def played(self, mark: str) -> None:
        if (ev := self._marks.get(mark)) is not None:
            ev.set()

    def hangup(self, by: str, error: str | None = None) -> None:
        if self._hung_up is None and not self._bot_ended:
            self._hung_up = (by, error)
        # Nobody is listening any more: stop the audio, let the session wind down.
        self.channel.holding = True
        self.channel.clear()
        self.channel.close_input()

    # -- replies as the dialogue gives them (worker threads) ----------------------------------
    def note(self, turn: Turn, reply: Reply) -> None:
        self.record.turns.append(turn)
        if reply.text:
            self._last_reply, self._last_language = reply.text, reply.language
        if reply.ticket_id:
            self.record.ticket_id = reply.ticket_id
        if reply.outcome:
            self.record.dialogue_outcome = reply.outcome
            self._outcome = CALL_OUTCOMES.get(reply.outcome, self._outcome)
        elif reply.end_conversation:
            self._outcome = "transfer" if reply.escalated else "resolved"

    def final_outcome(self) -> str:
        if self._bot_ended:
            return self._outcome or "resolved"
        # The caller left: once they were told what happens next (a transfer, a fix, a ticket
        # with a callback) the call did its job; before that it was abandoned.
        return self._outcome or "abandoned"

    # -- the call ---------------------------------------------------------------------------
    async def run(self) -> None:
        pacer = self.channel.pacer
        pacer.start()
        dtmf_task: asyncio.Task[None] | None = None
        error: str | None = None
        try:
            inner = await self._in_thread(self.s.new_conversation, self.record)
            self.record.conversation_id = getattr(inner, "id", None)
            conversation = _ObservedConversation(inner, self)
            self.session = session = Session(
                self.channel,
                conversation,
                self.s.pool,
                self.s.synthesizer,
                self.s.settings,
                store=self.s.store,
                on_event=self._on_event,
                session_settings=self.s.session_settings,
            )
            pacer.producing = lambda: session.bot_speaking() or self._own_speaking
            dtmf_task = asyncio.create_task(self._dtmf_loop())
            result = await session.run()
            if self._hung_up is None:
                self._bot_ended = True
                if self._outcome is None:
                    # The session ended on its own: the caller stayed silent past the timeout.
                    self._outcome = CALL_OUTCOMES.get(result.outcome, "abandoned")
                await self._wait_heard()
        except asyncio.CancelledError:
            error = "the server stopped"
            raise
        except Exception as exc:
            log.exception("call %s failed", self.record.call_id)
            error = f"internal error: {exc}"
        finally:
            try:
                if dtmf_task is not None:
                    dtmf_task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await dtmf_task
                await self._end(error)
            finally:
                self.on_end()

    def _on_event(self, event: SessionEvent) -> None:
        if isinstance(event, BargeIn):
            self.record.barge_ins += 1
            log.info("call %s: barge-in after %.2f s", self.record.call_id, event.reaction_s)
        elif isinstance(event, TurnRecord) and event.ignored is not None:
            # What callers say stays out of INFO logs (docs/security.md); DEBUG has it redacted.
            log.info("call %s: a turn was ignored: %s", self.record.call_id, event.ignored)
            log.debug("call %s: ignored turn %r", self.record.call_id, redact(event.user_text or ""))
        elif isinstance(event, TurnRecord):
            log.info(
                "call %s: answered a turn (first audio %.2f s after the end of speech)",
                self.record.call_id,
                event.timings.first_audio if event.timings.first_audio is not None else float("nan"),
            )
            log.debug(
                "call %s: heard %r, answered %r", self.record.call_id, redact(event.user_text or ""), event.reply_text
            )
            for turn in reversed(self.record.turns):
                if turn.user == event.user_text and turn.end_of_speech_to_first_audio_s is None:
                    first = event.timings.first_audio
                    turn.end_of_speech_to_first_audio_s = round(first, 3) if first is not None else None
                    turn.timings = event.timings.as_dict(3)
                    break

    async def _dtmf_loop(self) -> None:
        while True:
            digit = await self._dtmf.get()
            log.info("call %s: DTMF %s", self.record.call_id, digit)
            reply: Reply | None = None
            if digit == "#":
                text, language = self._last_reply, self._last_language
            else:
                assert self.session is not None
                reply = await self._in_thread(self.session.conversation.handle_dtmf, digit)
                text, language = reply.text, reply.language
            if text and self._hung_up is None:
                # The answer to the key replaces whatever the bot was saying.
                self.channel.holding = True
                self.channel.clear()
                await self._speak_own(text, language)
            if reply is not None and reply.end_conversation:
                self._bot_ended = True
                await self._wait_queued_out()
                self.channel.close_input()  # the session finishes and run() ends the leg
                return

    async def _speak_own(self, text: str, language: str) -> None:
        generation = self.channel.generation
        chunks = iter(self.s.synthesizer.synthesize(text, self.channel.rate, language=language))
        self._own_speaking = True
        try:
            while True:
                chunk = await self._in_thread(next, chunks, None)
                if chunk is None or self.channel.generation != generation:
                    return  # finished, or cut off by a barge-in
                self.channel.play_own(chunk.pcm)
        finally:
            self._own_speaking = False

    async def _wait_queued_out(self) -> None:
        while self.channel.pending_s() > 0 and self._hung_up is None:
            await asyncio.sleep(0.02)

    async def _wait_heard(self) -> None:
        """Wait until the caller has heard the last reply, so they know what happens next."""
        await self._wait_queued_out()
        if self.leg.confirms_playback and self._hung_up is None:
            name = f"end-{len(self.record.turns)}"
            played = self._marks[name] = asyncio.Event()
            await self.leg.mark(name)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(played.wait(), self.s.playback_grace_s)

    async def _end(self, error: str | None) -> None:
        by, leg_error = self._hung_up or ("bot", None)
        error = error or leg_error
        if error and by == "bot":
            by = "error"
        outcome = self.final_outcome()
        stats = self.channel.pacer.stats
        self.record.underruns = stats.underruns
        self.record.late_frames = stats.late_ticks
        self.record.max_lateness_s = round(stats.max_lateness_s, 3)
        self.s.registry.close(self.record, outcome, by, error)
        await self.channel.pacer.stop()
        if by != "caller":
            await self.leg.hangup()
        log.info("call %s ended by %s: %s%s", self.record.call_id, by, outcome, f" ({error})" if error else "")

    async def _in_thread(self, fn: Callable[..., Any], *args: Any) -> Any:
        return await self._loop.run_in_executor(self.s.executor, fn, *args)
