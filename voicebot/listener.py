"""The Listener: microphone frames in, typed turn events out.

Per :class:`~voicebot.frames.InFrame`, in this order:

1. echo cancelling (:mod:`voicebot.bargein`): when the channel reports its playback, the bot's own
   voice is subtracted from the frame;
2. barge-in: while the bot speaks, a short run of voice over it is a :class:`BargeIn`; what is
   left of the bot's voice is muted so the endpointer does not take it for the user;
3. endpointing (:class:`voicebot.listen.Endpointer`): speech started, paused, resumed, ended;
4. speculative transcription: at a pause the transcription starts, and is kept when the turn ends
   without the user going on;
5. turn-taking (:mod:`voicebot.turn_taking`): when that transcript reads as a finished sentence
   the turn ends after ``quick_end_ms`` of silence instead of the endpointer's longer one, so a
   pause inside a sentence ("turn on the ... living room lamp") does not cut the speaker off;
   when besides the voice fell at its end (a statement's final fall, :func:`final_prosody`),
   after ``fell_end_ms`` already. With a :class:`~voicebot.turn_taking.TurnJudge` (the live
   session's: the understanding over the conversation's home and state), a transcript that makes
   a complete request ends after ``complete_end_ms``, and one that is not complete yet ("set
   the thermostat") waits ``incomplete_end_ms``.

A finished turn is a :class:`HeardTurn`; :meth:`Listener.hear` gives its transcript (the
speculative one when it is valid) and applies the wake word. Every step is also a stage event
(:mod:`voicebot.events`: listen and transcribe). The live session and ``channels/files.py`` share
this class; one Listener per audio stream.
"""

from __future__ import annotations

import asyncio
import logging
import time
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Literal, Protocol

import numpy as np

from voicebot.bargein import BargeInDetector, EchoCanceller, rms
from voicebot.config import ListenSettings
from voicebot.events import Phase, Stage, emit
from voicebot.frames import InFrame, echo_history_samples
from voicebot.listen import Endpointer, ListenEvent, SpeechPaused, SpeechResumed, SpeechStarted
from voicebot.transcribe import Transcriber, Transcript
from voicebot.turn_taking import (
    Completeness,
    Prosody,
    TurnJudge,
    end_rule,
    final_prosody,
    sounds_finished,
    strip_wake_word,
)

log = logging.getLogger(__name__)

GREET = "\x00greet"  # what a turn of the wake word alone asks for


class Job(Protocol):
    """A transcription under way (an asyncio or a concurrent.futures future)."""

    def done(self) -> bool: ...
    def cancelled(self) -> bool: ...
    def exception(self) -> BaseException | None: ...
    def result(self) -> Transcript: ...


@dataclass(frozen=True)
class BargeIn:
    """The user talked over the bot: playback must stop."""

    onset: float  # audio time the user's voice began
    decided_at: float  # audio time it was decided (playback stopped)
    reaction_s: float


@dataclass(frozen=True)
class HeardTurn:
    """The end of a user turn was decided. ``index`` counts turns from 1 per Listener."""

    index: int
    start: float  # audio time speech started
    end: float  # audio time speech ended
    decided: float  # audio time the end of turn was decided
    eos_wall: float  # monotonic time the speech ended, at real-time pace
    pcm: np.ndarray
    reason: str  # silence | quick | fell | complete | incomplete | max_length | end_of_stream
    over_bot: bool  # began over the bot's speech without barging in (echo or noise)
    speculation: Job | None  # the transcription started at the pause, valid for this turn
    paused_at: float | None  # audio time that pause was noticed (with ``speculation``)


@dataclass(frozen=True)
class Heard:
    """A turn's words: ``text`` to answer, or why there is nothing to answer."""

    text: str
    transcript: Transcript
    ignored: str | None = None


ListenerEvent = SpeechStarted | SpeechPaused | HeardTurn | BargeIn


class Listener:
    def __init__(
        self,
        transcriber: Transcriber,
        settings: ListenSettings,
        *,
        language: str | None = None,
        speculate: Literal["thread", "now"] | None = None,
        quick_end_ms: int | None = None,
        fell_end_ms: int | None = None,
        held_end_ms: int | None = None,
        judge: TurnJudge | None = None,
        complete_end_ms: int | None = None,
        incomplete_end_ms: int | None = None,
        barge_in: bool = False,
        barge_in_ms: int = 120,
        wake_word: str | None = None,
        awake_s: float = 30.0,
    ) -> None:
        """``settings``: the endpointer's (its ``end_silence_ms`` is the long silence);
        ``speculate``: start a transcription at each pause, in a worker thread (a listener on an
        asyncio loop) or at once in the caller's thread (files); None: no speculation;
        ``quick_end_ms``: silence that ends a finished-sounding turn (None: never early);
        ``fell_end_ms``: the same when the voice also fell at the end, ``held_end_ms`` when it
        stayed up and the words are no question (None: no prosody, :func:`end_silence_ms`);
        ``judge``: is the transcript a complete request (None: the words and voice alone decide),
        then ended after ``complete_end_ms``, or after ``incomplete_end_ms`` when not complete."""
        self.transcriber = transcriber
        self.language = language
        self.speculate = speculate
        self.quick_end_ms = quick_end_ms
        self.fell_end_ms = fell_end_ms
        self.held_end_ms = held_end_ms if held_end_ms is not None else quick_end_ms
        self.judge = judge
        self.complete_end_ms = complete_end_ms
        self.incomplete_end_ms = incomplete_end_ms
        self._judged: tuple[Job, Completeness | None] | None = None  # the judgement of a speculation
        # the silence at the end of a pause's audio (whole frames, 16 samples a millisecond)
        self._pause_tail = max(1, round(settings.pause_ms / settings.frame_ms)) * settings.frame_ms * 16
        self._prosody: Prosody | None = None  # how the voice ended before the pause under way
        self.barge_in = barge_in
        self.wake_word = wake_word
        self.awake_s = awake_s
        self.endpointer = Endpointer(settings)
        self.canceller = EchoCanceller()
        self.detector = BargeInDetector(min_voiced_ms=barge_in_ms, frame_ms=settings.frame_ms)
        self.audio_t = 0.0  # audio time at the end of the last frame
        self.wall_t = time.monotonic()  # when that frame arrived
        self._history = echo_history_samples()
        self._turns = 0
        self._utterance_start: float | None = None
        self._over_bot = False  # the current utterance began while the bot was speaking
        self._barged = False  # a barge-in happened during the utterance under way
        self._pause: SpeechPaused | None = None
        self._speculative: Job | None = None
        self._awake_until = -1.0

    @property
    def mid_turn(self) -> bool:
        """The user is speaking or pausing inside a turn."""
        return self._utterance_start is not None or self._pause is not None

    # ------------------------------------------------------------------ frames
    def feed(self, frame: InFrame, bot_speaking: bool = False) -> list[ListenerEvent]:
        """One microphone frame; ``bot_speaking``: the bot's reply is sounding."""
        frame.check()
        t0 = self.audio_t
        self.audio_t += frame.duration_s
        self.wall_t = time.monotonic()
        out: list[ListenerEvent] = []
        pcm = frame.pcm
        echo_rms = 0.0
        if frame.echo is not None and frame.echo.size >= pcm.size + self._history // 2:
            clean, echo_rms = self.canceller.process(pcm, frame.echo)
            if echo_rms > 0:
                pcm = np.clip(clean, -32768, 32767).astype(np.int16)
        self.detector.track_floor(rms(pcm))
        if bot_speaking and self.barge_in:
            leftover = self.canceller.leftover(echo_rms) if echo_rms > 0 else None
            onset = self.detector.feed(pcm.astype(np.float32), echo_rms, t0, leftover)
            if onset is not None:
                out.append(self._barge(onset))
            elif echo_rms > 0 and not self.detector.last_voiced:
                # Echo suppression on top of cancellation: what is left of the bot's own
                # voice must not reach the endpointer as if the user had spoken.
                pcm = np.zeros_like(pcm)
        elif not bot_speaking:
            self.detector.reset()
        for event in self.endpointer.feed(pcm):
            out.extend(self._on(event, bot_speaking))
        quick = self._quick_end(bot_speaking)
        if quick is not None:
            out.append(quick)
        return out

    def flush(self) -> list[ListenerEvent]:
        """End of stream: an open turn ends ("end_of_stream")."""
        out: list[ListenerEvent] = []
        for event in self.endpointer.flush():
            out.extend(self._on(event, False))
        return out

    def _barge(self, onset: float) -> BargeIn:
        self._over_bot = False  # the utterance under way is meant for us
        self._barged = True
        event = BargeIn(onset, self.audio_t, self.audio_t - onset)
        emit(Stage.LISTEN, Phase.BARGE_IN, onset=onset, decided_at=event.decided_at, reaction_s=event.reaction_s)
        return event

    def _on(self, event: ListenEvent, speaking: bool) -> list[ListenerEvent]:
        if isinstance(event, SpeechStarted):
            self._utterance_start = event.time
            # Without barge-in the user may talk over the bot and is answered afterwards; with
            # it, voice over the bot that never triggered a barge-in is echo or noise.
            self._over_bot = speaking and not self._barged and self.barge_in
            emit(Stage.LISTEN, Phase.SPEECH_STARTED, time=event.time)
            return [event]
        if isinstance(event, SpeechPaused):
            self._pause = event
            if self.fell_end_ms is not None:
                self._prosody = final_prosody(event.pcm[: max(0, len(event.pcm) - self._pause_tail)])
            self._drop_speculation()
            if self.speculate is not None:
                self._speculative = self._start_transcription(event.pcm)
            emit(Stage.LISTEN, Phase.PAUSED, time=event.time)
            return [event]
        if isinstance(event, SpeechResumed):
            self._pause = None
            self._drop_speculation()
            emit(Stage.LISTEN, Phase.RESUMED, time=event.time)
            return []
        # TurnEnded: a speculation is valid when the turn ended on the silence after its pause
        # (a turn cut at its maximum length or at the end of the stream holds other audio).
        valid = self._pause is not None and event.reason == "silence"
        spec, pause = (self._speculative, self._pause) if valid else (None, None)
        if not valid:
            self._drop_speculation()
        self._speculative = None
        self._pause = None
        return [self._end_turn(event.start, event.end, event.pcm, spec, pause, event.reason, event.decided_at)]

    def _quick_end(self, bot_speaking: bool = False) -> HeardTurn | None:
        """End the turn early when the speculative transcript reads as a finished sentence."""
        spec, pause = self._speculative, self._pause
        if self.quick_end_ms is None or spec is None or pause is None or not spec.done() or spec.cancelled():
            return None
        if spec.exception() is not None:
            return None
        text = spec.result().text
        prosody = self._prosody if self.fell_end_ms is not None else None
        judged = None if bot_speaking else self._judgement(spec, text)
        rule = end_rule(text, prosody, self.quick_end_ms, self.fell_end_ms or 0, self.held_end_ms or 0,
                        judged, self.complete_end_ms, self.incomplete_end_ms)
        if rule is None or (self.audio_t - pause.time) * 1000 < rule[0]:
            return None
        reason = rule[1]
        end = pause.time
        start = self._utterance_start if self._utterance_start is not None else end
        self._speculative = None
        self._pause = None
        # The endpointer forgets this turn (its clock runs on) and listens for the next one.
        self.endpointer.reset()
        return self._end_turn(start, end, pause.pcm, spec, pause, reason, self.audio_t)

    def _judgement(self, spec: Job, text: str) -> Completeness | None:
        """The judge's word on this speculation's transcript, asked once per speculation (a
        judge that fails has no opinion: the turn ends as it would without one). Not asked while
        the bot speaks (the caller above: voice over the bot is a barge-in or echo, and the
        frames then must reach the barge-in detector without delay)."""
        if self.judge is None or self.complete_end_ms is None:
            return None
        if self._judged is None or self._judged[0] is not spec:
            if self.wake_word:  # the request is what follows the wake phrase, when it is said
                text = strip_wake_word(text, self.wake_word) or text
            try:
                judged = self.judge.completeness(text) if sounds_finished(text) else None
            except Exception:
                log.exception("the end-of-turn judgement failed")
                judged = None
            self._judged = (spec, judged)
        return self._judged[1]

    def _end_turn(
        self,
        start: float,
        end: float,
        pcm: np.ndarray,
        spec: Job | None,
        pause: SpeechPaused | None,
        reason: str,
        decided: float,
    ) -> HeardTurn:
        over_bot = self._over_bot
        self._utterance_start = None
        self._over_bot = False
        self._barged = False
        self._turns += 1
        eos_wall = self.wall_t - (self.audio_t - end)  # the wall time the speech ended, at real-time pace
        if self.speculate is not None:
            emit(Stage.TRANSCRIBE, Phase.SPECULATION, result="used" if spec is not None else "missed")
        if spec is not None:
            self._awaited(spec)
        emit(Stage.LISTEN, Phase.TURN_ENDED, self._turns, start=start, end=end, decided=decided, reason=reason,
             speculative=spec is not None, eos_wall=eos_wall)
        return HeardTurn(self._turns, start, end, decided, eos_wall, pcm, reason, over_bot, spec,
                         pause.decided_at if pause is not None and spec is not None else None)

    def _drop_speculation(self) -> None:
        if self._speculative is not None:
            emit(Stage.TRANSCRIBE, Phase.SPECULATION, result="discarded")
            if isinstance(self._speculative, Future):
                # Still queued behind other calls' turns (a shared pool): nobody will read it, so
                # it is never run. One already running finishes; its result is dropped.
                self._speculative.cancel()
            self._speculative = None

    def _awaited(self, job: Job) -> None:
        """The turn ended: its caller waits on this transcription now; a shared queue
        (voicebot.channels.phone.pool) runs it before other calls' speculations."""
        awaited = getattr(self.transcriber, "awaited", None)
        if callable(awaited) and isinstance(job, Future):
            awaited(job)

    # ------------------------------------------------------------------ words
    def transcribe(self, pcm: np.ndarray) -> Transcript:
        return self.transcriber.transcribe(pcm, self.language)

    def _start_transcription(self, pcm: np.ndarray) -> Job:
        if self.speculate == "thread":
            submit = getattr(self.transcriber, "submit", None)
            if callable(submit):  # a queue of its own (voicebot.channels.phone.pool): no thread waits
                job: Future[Transcript] = submit(pcm, self.language)
                return job
            return asyncio.ensure_future(asyncio.to_thread(self.transcribe, pcm))
        done: Future[Transcript] = Future()
        done.set_result(self.transcribe(pcm))
        return done

    async def hear(self, turn: HeardTurn) -> Heard:
        """The turn's words (the speculative transcript when it is there), wake word applied."""
        transcript: Transcript | None = None
        spec = turn.speculation
        if spec is not None:
            try:  # a failed speculation is not the end of the turn: transcribe it afresh
                transcript = await (asyncio.wrap_future(spec) if isinstance(spec, Future) else spec)  # type: ignore[arg-type]
            except Exception:
                transcript = None
        if transcript is None:
            submit = getattr(self.transcriber, "submit", None)
            if callable(submit):  # a shared queue: wait for it without holding a thread
                job = submit(turn.pcm, self.language)
                self._awaited(job)
                transcript = await asyncio.wrap_future(job)
            else:
                transcript = await asyncio.to_thread(self.transcribe, turn.pcm)
        return self._admit(turn, transcript)

    def hear_now(self, turn: HeardTurn) -> Heard:
        """:meth:`hear` in the caller's thread (``speculate="now"``)."""
        spec = turn.speculation
        ok = spec is not None and spec.done() and not spec.cancelled() and spec.exception() is None
        return self._admit(turn, spec.result() if ok and spec is not None else self.transcribe(turn.pcm))

    def _admit(self, turn: HeardTurn, transcript: Transcript) -> Heard:
        emit(Stage.TRANSCRIBE, Phase.END, turn.index, transcribe_s=transcript.elapsed_s,
             queued_s=transcript.queued_s, speculative=turn.speculation is not None)
        text = transcript.text.strip()
        if turn.over_bot:
            return Heard(text, transcript, "heard over the bot's own speech without barging in (echo or noise)")
        if not text:
            return Heard(text, transcript, f"nothing understood ({transcript.rejected or 'empty'})")
        return self._wake(text, turn.end, transcript)

    def _wake(self, text: str, end: float, transcript: Transcript) -> Heard:
        phrase = self.wake_word
        if not phrase:
            return Heard(text, transcript)
        if end <= self._awake_until:
            self._awake_until = end + self.awake_s
            return Heard(text, transcript)
        rest = strip_wake_word(text, phrase)
        if rest is None:
            return Heard(text, transcript, f"no wake word ({phrase!r})")
        self._awake_until = end + self.awake_s
        return Heard(rest or GREET, transcript)
