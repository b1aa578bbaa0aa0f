"""A voice for each reply language: the Synthesizer every caller gets from
:func:`voicebot.models.load_synthesizer`.

A reply is spoken by the voice of its language (``Reply.language``, passed as ``language=`` to
``synthesize``): the configured Piper voice for that language (``speak.voices``), else the default
voice when the language is its own (the bundled voice speaks English), else espeak-ng's voice for
the language (``speak.fallback: espeak-ng``), else the default voice. A language whose fallback
cannot speak (espeak-ng not installed, no voice for it, a failing process) is said once in the log
and spoken by the default voice from then on: a call never fails for want of a voice.

The default voice's path costs one dictionary look-up: nothing else is added to an English reply.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

from voicebot.espeak_voice import EspeakSynthesizer, EspeakUnavailable
from voicebot.languages import primary_language
from voicebot.speak import SentenceSynthesizer, SpeechChunk, first_chunk_latency, speak_all, split_sentences

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SpokenVoice:
    """One voice as it is listed (Wyoming's ``info``) and used."""

    name: str  # the Piper model's file name ("en_US-joe-medium") or "espeak-ng-de"
    language: str  # the reply language it speaks ("de")
    locale: str  # as the voice names its language ("de_DE" for Piper, "de" for espeak-ng)
    engine: str  # "piper" or "espeak-ng"
    synthesizer: SentenceSynthesizer

    @property
    def rate(self) -> int:
        return self.synthesizer.native_rate


Fallback = Callable[[str], SpokenVoice]


def espeak_fallback(words_per_minute: int = 160) -> Fallback:
    """A fallback that makes espeak-ng's voice for a language (EspeakUnavailable when it cannot)."""

    def make(language: str) -> SpokenVoice:
        synth = EspeakSynthesizer.for_language(language, words_per_minute)
        return SpokenVoice(f"espeak-ng-{language}", language, language, "espeak-ng", synth)

    return make


class VoicesByLanguage:
    """The Synthesizer that speaks each reply in its language's voice (see the module's doc).

    Thread safety: as its voices; the choice of a voice for a new language is made under a lock."""

    def __init__(
        self,
        default: SpokenVoice,
        voices: dict[str, SpokenVoice] | None = None,
        fallback: Fallback | None = None,
    ) -> None:
        self.default = default
        self.configured = {primary_language(k) or k: v for k, v in (voices or {}).items()}
        self.fallback = fallback
        self.native_rate = default.rate
        self._chosen: dict[str, SpokenVoice] = {default.language: default, **self.configured}
        # The synthesizer by the language as callers spell it; None is the default voice.
        self._routes: dict[str | None, SentenceSynthesizer] = {
            None: default.synthesizer, **{k: v.synthesizer for k, v in self._chosen.items()}
        }
        self._lock = threading.Lock()

    def voice_for(self, language: str | None) -> SpokenVoice:
        """The voice that speaks ``language`` (made on first use for a fallback voice)."""
        if language is None:
            return self.default
        wanted = primary_language(language) or ""
        with self._lock:
            voice = self._chosen.get(wanted)
            if voice is None:
                voice = self._fallback_voice(wanted)
                self._chosen[wanted] = voice
            self._routes[language] = voice.synthesizer
        return voice

    def _fallback_voice(self, language: str) -> SpokenVoice:
        if self.fallback is None or not language:
            return self.default
        try:
            voice = self.fallback(language)
        except EspeakUnavailable as exc:
            log.warning("no voice for replies in %r (%s): they are spoken by the default voice %s",
                        language, exc, self.default.name)
            return self.default
        log.info("replies in %r are spoken by %s", language, voice.name)
        return voice

    def synthesize(self, text: str, sample_rate: int = 16000, language: str | None = None) -> Iterator[SpeechChunk]:
        synth = self._routes.get(language)
        if synth is None:
            synth = self.voice_for(language).synthesizer
        if synth is self.default.synthesizer:
            return synth.synthesize(text, sample_rate)
        return self._guarded(synth, text, sample_rate, language)

    def _guarded(
        self, synth: SentenceSynthesizer, text: str, sample_rate: int, language: str | None
    ) -> Iterator[SpeechChunk]:
        """A fallback voice's sentences; if it fails (espeak-ng removed, a process killed), the
        rest of the reply and the language's later replies go to the default voice."""
        for sentence in split_sentences(text):
            try:
                chunks = list(synth.synthesize(sentence, sample_rate))
            except EspeakUnavailable as exc:
                log.warning("the voice for %r failed (%s): its replies are spoken by the default voice %s from now on",
                            language, exc, self.default.name)
                with self._lock:
                    self._chosen[primary_language(language) or ""] = self.default
                    self._routes = {k: (self.default.synthesizer if v is synth else v) for k, v in self._routes.items()}
                synth = self.default.synthesizer
                chunks = list(synth.synthesize(sentence, sample_rate))
            yield from chunks

    def warm(self) -> None:
        """One short sentence through each configured Piper voice other than the default (which
        the runtime warms itself), so the first reply in their language pays no first-call cost."""
        for voice in self.configured.values():
            if voice.synthesizer is not self.default.synthesizer:
                for _ in voice.synthesizer.synthesize("OK.", 16000):
                    pass

    def listing(self, languages: tuple[str, ...] | list[str] = ()) -> list[SpokenVoice]:
        """The voices there are, default first: the configured ones, then the fallback voices
        that can speak ``languages`` (e.g. the dialogue's reply languages)."""
        out = [self.default, *(v for v in self.configured.values() if v is not self.default)]
        for language in languages:
            voice = self.voice_for(language)
            if all(voice is not v for v in out):
                out.append(voice)
        return out

    def first_chunk_latency(
        self, text: str, sample_rate: int = 16000, language: str | None = None
    ) -> tuple[float, SpeechChunk | None]:
        return first_chunk_latency(self, text, sample_rate, language)

    def speak_all(self, text: str, sample_rate: int = 16000, language: str | None = None) -> np.ndarray:
        """The whole reply as one array, with a short pause between sentences."""
        return speak_all(self, text, sample_rate, language)
