"""Speech to text as Home Assistant drives it: ``transcribe`` (language), ``audio-start``,
``audio-chunk``s, ``audio-stop`` → ``transcript``. Audio in any rate, sample width and channel
count is converted at this edge to the pipeline's 16 kHz mono int16; the transcriber is the one
``voicebot transcribe`` uses (short-command window, hallucination rejection), shared by every
connection through one queue.

Streaming (wyoming 1.10): ``transcript-start`` goes out when the audio starts; after the audio
stops, one ``transcript-chunk`` per sentence, then ``transcript`` (for clients that read only that)
and ``transcript-stop``. Whisper reads the whole utterance at once, so the chunks come together.

Speculation, as in the live session: Home Assistant sends ``audio-stop`` only after its own voice
detector has heard the end of speech (0.7 s of silence by default). 16 kHz audio also goes through
voicebot's endpointer as it arrives; when the speech pauses, the audio so far is transcribed at
once, and if no speech followed by ``audio-stop`` that transcript is the answer, so the wait after
``audio-stop`` is mostly gone. Speech after the pause throws the speculation away.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import numpy as np
from wyoming.asr import Transcribe, Transcript, TranscriptChunk, TranscriptStart, TranscriptStop
from wyoming.audio import AudioChunk, AudioStart
from wyoming.event import Event

from voicebot.audio import SAMPLE_RATE, to_pipeline
from voicebot.config import ListenSettings
from voicebot.languages import primary_language
from voicebot.listen import Endpointer, SpeechPaused, SpeechResumed, SpeechStarted
from voicebot.speak import split_sentences
from voicebot.transcribe import Transcriber
from voicebot.transcribe import Transcript as Heard
from voicebot.wyoming.wire import RequestError, WireError

log = logging.getLogger(__name__)

Send = Callable[[Event], Awaitable[None]]


@dataclass(frozen=True)
class AudioFormat:
    rate: int
    width: int
    channels: int

    def check(self) -> AudioFormat:
        if not 1000 <= self.rate <= 192_000:
            raise RequestError(f"unsupported audio rate {self.rate} Hz (1000-192000)", "audio-format")
        if self.width not in (1, 2, 3, 4):
            raise RequestError(f"unsupported sample width {self.width} bytes (1, 2, 3 or 4)", "audio-format")
        if not 1 <= self.channels <= 16:
            raise RequestError(f"unsupported channel count {self.channels} (1-16)", "audio-format")
        return self

    @property
    def bytes_per_second(self) -> int:
        return self.rate * self.width * self.channels


def to_int16(raw: bytes, width: int) -> np.ndarray:
    """Little-endian PCM of ``width`` bytes per sample (8-bit unsigned, as in WAV) → int16."""
    if width == 2:
        return np.frombuffer(raw, dtype="<i2").copy()
    if width == 1:
        return ((np.frombuffer(raw, dtype=np.uint8).astype(np.int16) - 128) << 8).astype(np.int16)
    if width == 3:
        b = np.frombuffer(raw, dtype=np.uint8).reshape(-1, 3)
        return (b[:, 1].astype(np.uint16) | (b[:, 2].astype(np.uint16) << 8)).view(np.int16)
    return (np.frombuffer(raw, dtype="<i4") >> 16).astype(np.int16)


@dataclass
class _Piece:
    fmt: AudioFormat
    parts: list[bytes] = field(default_factory=list)


def pipeline_audio(pieces: list[_Piece]) -> np.ndarray:
    """Every piece (one per format the client used) converted and joined, 16 kHz mono int16."""
    out: list[np.ndarray] = []
    for p in pieces:
        raw = b"".join(p.parts)
        frame = p.fmt.width * p.fmt.channels
        raw = raw[: len(raw) - len(raw) % frame]  # a torn last frame is dropped, not misread
        if raw:
            out.append(to_pipeline(to_int16(raw, p.fmt.width), p.fmt.rate, p.fmt.channels))
    return np.concatenate(out) if out else np.zeros(0, dtype=np.int16)


class SpeechToText:
    """One connection's transcription state. ``transcriber`` blocks (the shared queue): it runs in
    a worker thread."""

    def __init__(
        self,
        transcriber: Transcriber,
        send: Send,
        max_audio_s: float,
        languages: frozenset[str] | None = None,
        listen: ListenSettings | None = None,
        max_audio_bytes: int = 33_554_432,
    ) -> None:
        self._transcriber = transcriber
        self._send = send
        self._max_audio_s = max_audio_s
        self._max_bytes = max_audio_bytes
        self._bytes = 0
        self._languages = languages  # None: whatever the model detects (English-only models ignore it)
        self._language: str | None = None
        self._pieces: list[_Piece] | None = None  # None: no audio stream open
        self._seconds = 0.0
        self._listen = listen  # None: no speculation
        self._endpointer: Endpointer | None = None  # while the audio is 16 kHz and speculation is on
        self._heard: list[np.ndarray] = []  # the audio so far, 16 kHz mono int16, for speculation
        self._speculation: asyncio.Task[Heard] | None = None
        self.speculated = 0  # transcripts answered from a speculation (for tests and stats)

    async def on_transcribe(self, event: Event) -> None:
        request = Transcribe.from_event(event)
        language = primary_language(request.language)
        if language and self._languages is not None and language not in self._languages:
            log.info("transcription asked in %r, which the model does not know; detecting instead", request.language)
            language = None
        self._language = language

    async def on_audio_start(self, event: Event) -> None:
        start = AudioStart.from_event(event)
        fmt = AudioFormat(int(start.rate), int(start.width), int(start.channels)).check()
        self._pieces = [_Piece(fmt)]
        self._seconds = 0.0
        self._bytes = 0
        self._drop_speculation()
        self._heard = []
        speculate = self._listen is not None and fmt.rate == SAMPLE_RATE
        self._endpointer = Endpointer(self._listen) if speculate else None
        await self._send(TranscriptStart(language=self._language).event())

    async def on_audio_chunk(self, event: Event) -> None:
        if self._pieces is None:
            raise RequestError("audio-chunk before audio-start", "audio-order")
        chunk = AudioChunk.from_event(event)
        fmt = AudioFormat(int(chunk.rate), int(chunk.width), int(chunk.channels))
        if fmt != self._pieces[-1].fmt:
            self._pieces.append(_Piece(fmt.check()))
        self._seconds += len(chunk.audio) / fmt.bytes_per_second
        if self._seconds > self._max_audio_s:
            raise WireError(f"more than {self._max_audio_s:g} s of audio in one transcription")
        self._bytes += len(chunk.audio)
        if self._bytes > self._max_bytes:
            raise WireError(f"more than {self._max_bytes} bytes of audio in one transcription")
        self._pieces[-1].parts.append(chunk.audio)
        if self._endpointer is not None:
            self._follow(chunk.audio, fmt)

    async def on_audio_stop(self, event: Event) -> None:
        if self._pieces is None:
            raise RequestError("audio-stop before audio-start", "audio-order")
        pieces, self._pieces = self._pieces, None
        pcm = pipeline_audio(pieces)
        result = await self._speculated()
        if result is not None:
            log.info("%.1f s of audio: transcribed at the pause, before audio-stop", len(pcm) / SAMPLE_RATE)
        else:
            result = await asyncio.to_thread(self._transcriber.transcribe, pcm, self._language)
        text = result.text
        language = result.language or self._language or "en"
        if result.rejected:
            log.info("transcription of %.1f s rejected (%s)", len(pcm) / 16000, result.rejected)
        for sentence in split_sentences(text):
            await self._send(TranscriptChunk(text=sentence).event())
        await self._send(Transcript(text=text, language=language).event())
        await self._send(TranscriptStop().event())

    # speculation ------------------------------------------------------------------------
    def _follow(self, raw: bytes, fmt: AudioFormat) -> None:
        """Feed a 16 kHz chunk to the endpointer; transcribe at a pause, forget it on more speech."""
        assert self._endpointer is not None
        frame = fmt.width * fmt.channels
        # A changed rate, or a chunk that is not whole samples (the next would be read misaligned):
        # no speculation for this stream; the whole audio is converted at audio-stop as usual.
        if fmt.rate != SAMPLE_RATE or len(raw) % frame:
            self._endpointer = None
            self._drop_speculation()
            return
        samples = to_int16(raw, fmt.width)
        pcm = to_pipeline(samples, SAMPLE_RATE, fmt.channels) if fmt.channels > 1 else samples
        self._heard.append(pcm)
        for event in self._endpointer.feed(pcm):
            if isinstance(event, SpeechStarted | SpeechResumed):
                self._drop_speculation()
            elif isinstance(event, SpeechPaused):
                self._drop_speculation()
                audio = np.concatenate(self._heard)
                self._speculation = asyncio.create_task(
                    asyncio.to_thread(self._transcriber.transcribe, audio, self._language)
                )

    async def _speculated(self) -> Heard | None:
        task, self._speculation = self._speculation, None
        self._endpointer = None
        if task is None:
            return None
        try:
            result = await task
        except Exception:  # the full transcription below answers instead
            log.exception("speculative transcription failed")
            return None
        self.speculated += 1
        return result

    def close(self) -> None:
        """The connection ended: a speculation still running is not waited for."""
        self._drop_speculation()

    def _drop_speculation(self) -> None:
        task, self._speculation = self._speculation, None
        if task is not None:
            task.cancel()  # the thread finishes its work; its result is not used
