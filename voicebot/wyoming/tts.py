"""Text to speech: ``synthesize`` → ``audio-start``, ``audio-chunk``s, ``audio-stop`` (the whole
text, sentence by sentence in one audio stream), and streaming synthesis: ``synthesize-start``,
``synthesize-chunk``s, ``synthesize-stop`` → one audio stream per sentence as soon as the sentence
is complete, then ``synthesize-stopped``. Home Assistant sends the whole text once more as a
``synthesize`` inside a streaming request (for older servers); that one is not spoken again.

The audio is the voice's own rate (Piper: 22,050 Hz; espeak-ng: 22,050 Hz), 16-bit mono; the client
resamples. A request names a voice, or a language: the voice of that language speaks (a configured
Piper voice, else espeak-ng's, see voicebot.voices), else the default voice.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import numpy as np
from wyoming.audio import AudioChunk, AudioStart, AudioStop
from wyoming.event import Event
from wyoming.tts import Synthesize, SynthesizeChunk, SynthesizeStart, SynthesizeStopped, SynthesizeVoice

from voicebot.languages import primary_language
from voicebot.speak import Synthesizer, split_sentences
from voicebot.wyoming.wire import RequestError, WireError

log = logging.getLogger(__name__)

Send = Callable[[Event], Awaitable[None]]
SAMPLES_PER_CHUNK = 1024
SENTENCE_GAP_S = 0.2  # silence between the sentences of one audio stream, as `voicebot say` leaves


@dataclass(frozen=True)
class Voice:
    """One voice as advertised in ``info`` and chosen by ``synthesize``."""

    name: str  # the advertised name (the Piper model's, e.g. en_US-joe-medium; espeak-ng-de)
    languages: tuple[str, ...]  # as the voice names them, e.g. ("en_US",) for Piper, ("de",) for espeak-ng
    synthesizer: Synthesizer
    rate: int
    aliases: frozenset[str] = frozenset()  # other names it answers to (the configured one, "joe")
    description: str = ""
    speaks: str | None = None  # the language asked of the synthesizer (voicebot.voices picks the voice by it)
    engine: str = "piper"  # "piper" or "espeak-ng", for the attribution in ``info``


class Voices:
    def __init__(self, voices: list[Voice]) -> None:
        if not voices:
            raise ValueError("at least one voice is needed")
        self.all = voices

    def pick(self, wanted: SynthesizeVoice | None) -> Voice:
        """The voice asked for by name; else the first in the language asked for; else the default."""
        if wanted is None:
            return self.all[0]
        if wanted.name:
            for v in self.all:
                if wanted.name == v.name or wanted.name in v.aliases:
                    return v
            log.warning("no voice named %r; speaking with %s", wanted.name, self.all[0].name)
            return self.all[0]
        lang = primary_language(wanted.language)
        for v in self.all:
            if lang and any(primary_language(x) == lang for x in v.languages):
                return v
        return self.all[0]


@dataclass
class _Stream:
    voice: Voice
    text: str = ""  # received and not yet spoken
    received: int = 0


class TextToSpeech:
    """One connection's synthesis state."""

    def __init__(self, voices: Voices, send: Send, max_text_chars: int) -> None:
        self.voices = voices
        self._send = send
        self._max_chars = max_text_chars
        self._stream: _Stream | None = None

    async def on_synthesize(self, event: Event) -> None:
        request = Synthesize.from_event(event)
        if self._stream is not None:
            return  # the whole text again inside a streaming request: already spoken by sentence
        if len(request.text) > self._max_chars:
            raise RequestError(f"text of {len(request.text)} characters is over the limit of {self._max_chars}",
                               "text-too-long")
        voice = self.voices.pick(request.voice)
        await self._speak(voice, split_sentences(request.text))

    async def on_synthesize_start(self, event: Event) -> None:
        self._stream = _Stream(self.voices.pick(SynthesizeStart.from_event(event).voice))

    async def on_synthesize_chunk(self, event: Event) -> None:
        if self._stream is None:
            raise RequestError("synthesize-chunk before synthesize-start", "synthesize-order")
        s = self._stream
        piece = SynthesizeChunk.from_event(event).text
        s.received += len(piece)
        if s.received > self._max_chars:
            raise WireError(f"more than {self._max_chars} characters in one streaming synthesis")
        s.text += piece
        sentences = split_sentences(s.text)
        if len(sentences) > 1:  # all but the last are complete: the text goes on after them
            s.text = sentences[-1]
            for sentence in sentences[:-1]:
                await self._speak(s.voice, [sentence])

    async def on_synthesize_stop(self, event: Event) -> None:
        if self._stream is None:
            raise RequestError("synthesize-stop before synthesize-start", "synthesize-order")
        s, self._stream = self._stream, None
        rest = split_sentences(s.text)
        if rest:
            await self._speak(s.voice, rest)
        await self._send(SynthesizeStopped().event())

    async def _speak(self, voice: Voice, sentences: list[str]) -> None:
        """One audio stream holding ``sentences``; each is synthesized (in a worker thread) just
        before it is sent, so the first plays while the next is made."""
        fmt = {"rate": voice.rate, "width": 2, "channels": 1}
        await self._send(AudioStart(**fmt).event())
        sent = 0
        for sentence in sentences:
            pcm = await asyncio.to_thread(_synthesize, voice, sentence)
            if not len(pcm):
                continue
            if sent:
                pcm = np.concatenate([np.zeros(int(voice.rate * SENTENCE_GAP_S), dtype=np.int16), pcm])
            for i in range(0, len(pcm), SAMPLES_PER_CHUNK):
                part = pcm[i : i + SAMPLES_PER_CHUNK]
                await self._send(AudioChunk(audio=part.astype("<i2").tobytes(), timestamp=None, **fmt).event())
            sent += 1
        await self._send(AudioStop().event())


def _synthesize(voice: Voice, sentence: str) -> np.ndarray:
    parts = [c.pcm for c in voice.synthesizer.synthesize(sentence, voice.rate, language=voice.speaks)]
    return np.concatenate(parts).astype(np.int16) if parts else np.zeros(0, dtype=np.int16)
