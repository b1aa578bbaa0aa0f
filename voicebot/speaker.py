"""The Speaker: a reply in, the bot's voice out on the channel (not the smart-speaker channel,
which is ``channels/speaker.py``).

The reply is cut into sentences (:func:`voicebot.reply_speech.reply_sentences`: the first one
clause first, a streamed reply as its sentences complete); each is synthesized in a worker thread
straight at the channel's rate (``AudioChannel.rate``: Piper's audio is resampled once, to what the
line plays; repeated sentences come from the synthesizer's cache) and queued on the channel as soon
as it exists, keeping at most ``lookahead_s`` queued ahead of playback. :meth:`Speaker.cancel` stops
at once (barge-in). Emits ``speak`` stage events: start, first audio, end.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Callable, Iterator

import numpy as np

from voicebot.audio import resample
from voicebot.dialogue.types import Reply
from voicebot.events import Phase, Stage, emit
from voicebot.frames import AudioChannel
from voicebot.reply_speech import reply_sentences
from voicebot.speak import Synthesizer


class Speaker:
    def __init__(
        self,
        channel: AudioChannel,
        synthesizer: Synthesizer,
        lookahead_s: float = 3.0,
        live: Callable[[], bool] = lambda: True,
    ) -> None:
        """``live``: the channel is playing (delivering frames); waits for playback stop when not."""
        self.channel = channel
        self.synthesizer = synthesizer
        self.lookahead_s = lookahead_s
        self.live = live
        self._task: asyncio.Task[None] | None = None

    def speaking(self) -> bool:
        """A reply is being synthesized, or its audio has not all been heard."""
        return self.channel.pending_s() > 0 or (self._task is not None and not self._task.done())

    def say(
        self, reply: Reply, audio: list[np.ndarray], on_text: Callable[[str], None] | None = None
    ) -> asyncio.Task[None]:
        """Start speaking ``reply``; every chunk handed to the channel is appended to ``audio``,
        and ``on_text`` hears the text spoken so far, sentence by sentence."""
        self._task = asyncio.create_task(self._speak(reply, audio, on_text))
        return self._task

    def cancel(self) -> None:
        """Barge-in: drop what is queued on the channel and stop synthesizing."""
        self.channel.clear()
        if self._task is not None and not self._task.done():
            self._task.cancel()

    async def stop(self) -> None:
        """Stop the reply under way (if any) and wait until it has let go."""
        if self._task is not None and not self._task.done():
            self._task.cancel()
        await self.finish()

    async def finish(self) -> None:
        """Wait for the reply under way to be synthesized and queued (or cancelled)."""
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def wait_played(self) -> None:
        while self.channel.pending_s() > 0 and self.live():
            await asyncio.sleep(min(0.05, self.channel.pending_s()))

    async def _speak(self, reply: Reply, audio: list[np.ndarray], on_text: Callable[[str], None] | None) -> None:
        loop = asyncio.get_running_loop()
        chunks = self._chunks(reply, on_text)
        lock = threading.Lock()  # the generator runs in worker threads, one step at a time

        def pull() -> np.ndarray | None:
            with lock:
                return next(chunks, None)

        def close() -> None:
            with lock:  # waits for a step still running after a barge-in, then drops the rest
                chunks.close()

        first = True
        started = time.monotonic()
        emit(Stage.SPEAK, Phase.START)
        try:
            while True:
                chunk = await loop.run_in_executor(None, pull)
                if chunk is None:
                    break
                if first:
                    emit(Stage.SPEAK, Phase.FIRST_AUDIO, synth_s=time.monotonic() - started)
                    first = False
                audio.append(chunk)
                await self.channel.play(chunk)
                while self.channel.pending_s() > self.lookahead_s and self.live():
                    await asyncio.sleep(0.02)
        finally:
            loop.run_in_executor(None, close)
            emit(Stage.SPEAK, Phase.END, elapsed_s=time.monotonic() - started)

    def _chunks(self, reply: Reply, on_text: Callable[[str], None] | None) -> Iterator[np.ndarray]:
        spoken: list[str] = []
        rate = self.channel.rate
        # A synthesizer shared by many conversations may let a reply's first sentence, which
        # someone is waiting for, go before the later ones (voicebot.channels.phone.pool).
        later = getattr(self.synthesizer, "synthesize_later", None)
        language = reply.language  # the voice of the reply's language speaks it (voicebot.voices)
        for sentence in reply_sentences(reply):
            if spoken and later is not None:  # may wait while the audio queued ahead lasts
                chunks = later(sentence, rate, slack_s=self.channel.pending_s(), language=language)
            else:
                chunks = self.synthesizer.synthesize(sentence, rate, language=language)
            spoken.append(sentence)
            if on_text is not None:
                on_text(" ".join(spoken))
            for chunk in chunks:
                # The synthesizer makes the channel's rate itself: one resampling, from its own.
                yield chunk.pcm if chunk.sample_rate == rate else resample(chunk.pcm, chunk.sample_rate, rate)
