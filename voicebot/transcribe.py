"""Speech to text: the Transcriber protocol and its faster-whisper implementation."""

from __future__ import annotations

import math
import sys
import threading
import time
import types
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from voicebot.audio import SAMPLE_RATE, float_to_int16, int16_to_float, rms_dbfs
from voicebot.home_words import PROMPT_LEAD, HomeWords
from voicebot.model_error import ModelError


@dataclass(frozen=True)
class Transcript:
    """What a recogniser heard in one utterance."""

    text: str  # "" when nothing trustworthy was heard
    language: str  # ISO 639-1 code, e.g. "en"
    confidence: float  # 0..1, from the decoder's average log-probability
    audio_s: float  # length of the audio given
    elapsed_s: float  # processing time
    # why the text was thrown away, else None: "silence" (too quiet or nothing decoded), "no_speech"
    # (the model says noise), "repetition", "low_confidence", "hallucination"
    rejected: str | None = None
    window_s: float = 0.0  # encoder window actually used (0 when the model was not run)
    no_speech_prob: float = 0.0  # the model's probability that the audio holds no speech
    heard: str = ""  # Whisper's own text when ``text`` had near-misses of the home's names corrected
    queued_s: float = 0.0  # time it waited in a shared queue before the model ran (voicebot.channels.phone.pool)


class Transcriber(Protocol):
    def transcribe(self, pcm: np.ndarray, language: str | None = None) -> Transcript:
        """``pcm``: 16 kHz mono int16 samples of one utterance."""
        ...


FULL_WINDOW_FRAMES = 3000  # Whisper's 30-second window, in 10 ms mel frames
# Rejection thresholds: Whisper's own (no_speech 0.6 with avg_logprob -1, compression 2.4).
NO_SPEECH_PROB = 0.6
NO_SPEECH_SURE = 0.85  # real speech measured 0.01-0.6 (espeak-ng voices highest)
LOGPROB_SILENCE = -1.0
LOGPROB_MIN = -1.5  # below this even speech-like output is too unsure to act on
COMPRESSION_MAX = 2.4
SILENCE_DBFS = -60.0  # quieter than this is not worth running the model on
# Phrases tiny models invent on noise, rejected when the model itself doubts the audio. Words
# people really say to a support bot ("okay", "thank you", "bye") are not listed: on phone-quality
# espeak-ng speech a real "Okay." came with no_speech_prob 0.31.
HALLUCINATIONS = {"you", "thanks for watching", "thank you for watching", "so", "the end", "subtitles by"}


@dataclass(frozen=True)
class _Decoded:
    text: str
    tokens: int
    avg_logprob: float
    no_speech_prob: float
    capped: bool  # the length cap stopped the decoder


class FasterWhisperTranscriber:
    """faster-whisper (CTranslate2), int8 on CPU, greedy, no timestamps.

    Short turns are encoded with a ``window_s`` window instead of Whisper's 30 s one (the encoder
    cost is roughly linear in window length); audio longer than the window uses twice the window,
    then the full 30 s; a result that looks like a repetition loop or hits the length cap is
    decoded again with the full 30-s window; audio beyond 30 s goes through faster-whisper's
    long-form transcribe(). Docs and measurements: docs/audio.md.

    Thread safety: ``transcribe`` may be called from several threads at once. CTranslate2 queues
    concurrent encode/generate calls over ``workers`` model replicas (each using ``threads``
    cores); the feature extractor and tokenizer are used read-only.
    """

    def __init__(
        self,
        model_dir: str | Path,
        threads: int = 2,
        workers: int = 1,
        window_s: float = 10.0,
        language: str | None = None,
    ) -> None:
        _defer_pyav()
        from faster_whisper import WhisperModel

        self.model_dir = Path(model_dir)
        try:
            self._model = WhisperModel(
                str(self.model_dir), device="cpu", compute_type="int8", cpu_threads=threads, num_workers=workers
            )
        except (RuntimeError, ValueError, OSError) as exc:
            raise ModelError(
                f"cannot load the Whisper model in {self.model_dir} ({exc}): the files are damaged or not a "
                "CTranslate2 Whisper model; reinstall the model package or convert the model again"
            ) from exc
        self.multilingual = bool(self._model.model.is_multilingual)
        self.window_frames = max(100, min(FULL_WINDOW_FRAMES, round(window_s * 100)))
        self.language = language
        self._tokenizers: dict[str, object] = {}
        self._lock = threading.Lock()
        self._home: tuple[HomeWords | None, bool, bool] = (None, False, False)
        self._prompts: dict[tuple[int, str], list[int]] = {}

    def use_home_words(self, words: HomeWords | None, prompt: bool = True, correct: bool = True) -> None:
        """Hear this home's names better: ``prompt`` gives Whisper the names (and command words) as
        the text said before the turn, which biases it toward their spelling; ``correct`` replaces
        near-misses of the names in what it wrote. Applies to turns in the words' language; None
        stops both. Safe to call while other threads transcribe (one assignment)."""
        self._home = (words, prompt, correct)

    @property
    def window_s(self) -> float:
        return self.window_frames / 100

    def transcribe(self, pcm: np.ndarray, language: str | None = None, window_s: float | None = None) -> Transcript:
        """Transcribe one utterance. ``window_s`` overrides the encoder window (30 = Whisper's own)."""
        started = time.perf_counter()
        if pcm.dtype != np.int16:  # float samples in [-1, 1] are accepted too
            pcm = float_to_int16(np.asarray(pcm, dtype=np.float32))
        audio_s = len(pcm) / SAMPLE_RATE
        # English-only models (*.en) always decode English, whatever was asked.
        language = (language or self.language) if self.multilingual else "en"
        if audio_s < 0.1 or rms_dbfs(pcm) < SILENCE_DBFS:
            return Transcript("", language or "en", 0.0, audio_s, time.perf_counter() - started, "silence")

        audio = int16_to_float(pcm)
        if audio_s > FULL_WINDOW_FRAMES / 100:
            return self._long_form(audio, language, started)

        frames = self.window_frames if window_s is None else round(window_s * 100)
        frames = min(FULL_WINDOW_FRAMES, max(100, frames))
        # Longer turns step up to twice the window, then to Whisper's 30 s, always leaving 0.2 s
        # of room so the last word is not clipped at the edge.
        for tier in (frames, min(FULL_WINDOW_FRAMES, 2 * frames), FULL_WINDOW_FRAMES):
            frames = tier
            if len(audio) <= (tier - 20) * 160:
                break
        lang, decoded = self._decode(audio, frames, audio_s, language)
        if frames < FULL_WINDOW_FRAMES and (decoded.capped or _repeats_phrase(decoded.text)):
            # Short windows occasionally loop ("turn on the lamp. turn on the lamp."): redo the
            # rare suspicious case with Whisper's own window.
            lang, decoded = self._decode(audio, FULL_WINDOW_FRAMES, audio_s, language)
            frames = FULL_WINDOW_FRAMES
        return self._judge(decoded, lang, audio_s, frames, started)

    def _tokenizer(self, language: str) -> object:
        from faster_whisper.tokenizer import Tokenizer

        with self._lock:
            tok = self._tokenizers.get(language)
            if tok is None:
                tok = Tokenizer(
                    self._model.hf_tokenizer,
                    self.multilingual,
                    task="transcribe",
                    language=language if self.multilingual else "en",
                )
                self._tokenizers[language] = tok
        return tok

    def _decode(
        self, audio: np.ndarray, frames: int, audio_s: float, language: str | None
    ) -> tuple[str, _Decoded]:
        from faster_whisper.transcribe import get_suppressed_tokens

        # Pad the audio itself with digital silence up to the window, as Whisper saw in training
        # (padding the log-mel features with zeros instead loops more often on short windows).
        padded = np.pad(audio, (0, max(0, frames * 160 - len(audio))))
        window = self._model.feature_extractor(padded, padding=0)[:, :frames]
        encoded = self._model.encode(window)
        if language is None:
            ranked = self._model.model.detect_language(encoded)[0]
            language = ranked[0][0][2:-2]
        tok = self._tokenizer(language)
        home = self._home_prompt(tok, language)
        prompt = self._model.get_prompt(tok, home, without_timestamps=True)  # type: ignore[arg-type]
        # Speech runs at most ~5 tokens/s; a cap proportional to the audio stops repetition loops.
        cap = min(self._model.max_length - len(prompt), 16 + int(audio_s * 8))
        # CTranslate2 counts the prompt in max_length: the home's words (and their marker) must
        # not eat the budget of what is said
        extra = len(home) + 1 if home else 0
        result = self._model.model.generate(
            encoded,
            [prompt],
            beam_size=1,
            max_length=cap + extra,
            return_scores=True,
            return_no_speech_prob=True,
            suppress_blank=True,
            suppress_tokens=list(get_suppressed_tokens(tok, (-1,))),  # type: ignore[arg-type]
        )[0]
        tokens = [t for t in result.sequences_ids[0] if t < tok.eot]  # type: ignore[attr-defined]
        n = len(result.sequences_ids[0])
        avg_logprob = result.scores[0] * n / (n + 1)  # cumulative log-prob over tokens + end token
        text = tok.decode(tokens).strip()  # type: ignore[attr-defined]
        return language, _Decoded(text, n, avg_logprob, float(result.no_speech_prob), n >= cap)

    def _home_prompt(self, tok: object, language: str) -> list[int]:
        words, use_prompt, _ = self._home
        if words is None or not use_prompt or words.language != language:
            return []
        key = (id(words), language)
        tokens = self._prompts.get(key)
        if tokens is None:
            if len(self._prompts) > 16:
                self._prompts.clear()
            tokens = self._prompts[key] = list(tok.encode(" " + words.prompt()))  # type: ignore[attr-defined]
        return tokens

    def _judge(self, d: _Decoded, language: str, audio_s: float, frames: int, started: float) -> Transcript:
        confidence = math.exp(d.avg_logprob) if d.text else 0.0
        reason: str | None = None
        normalised = "".join(c for c in d.text.lower() if c.isalnum() or c == " ").strip()
        # Whisper's own rule, plus: a very sure "no speech" overrides a fluent invention (hum → "you").
        silent = d.no_speech_prob > NO_SPEECH_SURE or (
            d.no_speech_prob > NO_SPEECH_PROB and d.avg_logprob < LOGPROB_SILENCE
        )
        if not normalised:
            reason = "silence"
        elif silent:
            reason = "no_speech"
        elif _compression_ratio(d.text) > COMPRESSION_MAX or _looks_repetitive(d.text):
            reason = "repetition"
        elif d.avg_logprob < LOGPROB_MIN:
            reason = "low_confidence"
        elif normalised in HALLUCINATIONS and (d.no_speech_prob > 0.4 or d.avg_logprob < -0.8):
            reason = "hallucination"
        elif self._echoes_prompt(normalised, language, d.avg_logprob):
            reason = "hallucination"  # the names it was prompted with, read back from noise
        text, heard = ("", "") if reason else self._corrected(d.text, language)
        elapsed = time.perf_counter() - started
        return Transcript(
            text,
            language,
            round(min(1.0, confidence), 4),
            audio_s,
            elapsed,
            reason,
            frames / 100,
            round(d.no_speech_prob, 4),
            heard,
        )

    def _echoes_prompt(self, normalised: str, language: str, avg_logprob: float) -> bool:
        """The prompted names read back from noise: the text is nothing but the prompt's lead or
        names, two or more, or one said unsurely. One name said clearly ("living room lamp",
        the answer to "which one?") is a real answer."""
        words, use_prompt, _ = self._home
        if words is None or not use_prompt or words.language != language:
            return False
        names = {" ".join("".join(c for c in n.lower() if c.isalnum() or c == " ").split())
                 for n in words.prompt_names()}
        said = " ".join(normalised.split())
        lead = " ".join("".join(c for c in PROMPT_LEAD.lower() if c.isalnum() or c == " ").split())
        if said.startswith(lead):
            return True
        parts = [p.strip() for p in f" {said} ".split(" and ") if p.strip()]
        if not parts or not all(p in names for p in parts):
            return False
        return len(parts) >= 2 or avg_logprob < LOGPROB_SILENCE

    def _corrected(self, text: str, language: str) -> tuple[str, str]:
        """(text with the home's names put right, Whisper's text if that changed anything)."""
        words, _, correct = self._home
        if words is None or not correct or words.language != language:
            return text, ""
        fixed = words.correct(text)
        return (fixed, text) if fixed != text else (text, "")

    def _long_form(self, audio: np.ndarray, language: str | None, started: float) -> Transcript:
        segments, info = self._model.transcribe(
            audio,
            language=language,
            beam_size=1,
            temperature=0.0,
            # Timestamps let the decoder seek segment by segment; without them tiny skips
            # whole utterances inside a 30-s window.
            without_timestamps=False,
            condition_on_previous_text=False,
            vad_filter=False,
        )
        kept, dropped = [], []
        for seg in segments:
            text = seg.text.strip()
            silent = seg.no_speech_prob > NO_SPEECH_SURE or (
                seg.no_speech_prob > NO_SPEECH_PROB and seg.avg_logprob < LOGPROB_SILENCE
            )
            looping = seg.compression_ratio > COMPRESSION_MAX or _looks_repetitive(text)
            (dropped if silent or looping or not text or seg.avg_logprob < LOGPROB_MIN else kept).append(seg)
        audio_s = len(audio) / SAMPLE_RATE
        elapsed = time.perf_counter() - started
        if not kept:
            reason = "no_speech" if dropped else "silence"
            return Transcript("", info.language, 0.0, audio_s, elapsed, reason, 30.0)
        # Each 30-s segment was judged on its own; the whole is as sure as its average segment.
        avg = sum(s.avg_logprob for s in kept) / len(kept)
        text = " ".join(s.text.strip() for s in kept)
        no_speech = min(s.no_speech_prob for s in kept)
        return Transcript(text, info.language, round(math.exp(avg), 4), audio_s, elapsed, None, 30.0, round(no_speech, 4))


class _PyAVOnDemand(types.ModuleType):
    """Stands for PyAV inside faster-whisper: the real module is imported at the first use."""

    def __getattr__(self, name: str) -> object:
        import av

        return getattr(av, name)


def _defer_pyav() -> None:
    """faster-whisper imports PyAV (17 MB resident) at its own import, for decoding audio files;
    voicebot hands it samples, never files. While faster-whisper is first imported, ``av`` is a
    stand-in that imports the real PyAV only if faster-whisper ever uses it; anyone else
    importing ``av`` gets the real one. (importlib's LazyLoader cannot do this on Python 3.11:
    ``import av`` itself reads the module's spec, which loads it.)"""
    if "faster_whisper" in sys.modules or "av" in sys.modules:
        return
    sys.modules["av"] = _PyAVOnDemand("av")
    try:
        import faster_whisper  # noqa: F401
    finally:
        if isinstance(sys.modules.get("av"), _PyAVOnDemand):
            del sys.modules["av"]


def _compression_ratio(text: str) -> float:
    data = text.encode("utf-8")
    return len(data) / len(zlib.compress(data)) if data else 0.0


def _repeats_phrase(text: str) -> bool:
    """True when a phrase of 3+ words occurs twice in a row, or the whole text is one phrase said
    twice ("Nope. Nope." for a single "Nope."): worth a second look with the full window."""
    words = "".join(c if c.isalnum() or c.isspace() else " " for c in text.lower()).split()
    half = len(words) // 2
    if len(words) >= 2 and len(words) % 2 == 0 and words[:half] == words[half:]:
        return True
    for size in range(3, len(words) // 2 + 1):
        for start in range(len(words) - 2 * size + 1):
            if words[start : start + size] == words[start + size : start + 2 * size]:
                return True
    return False


def _looks_repetitive(text: str) -> bool:
    """True when a sequence of 2-6 words repeats 3 times in a row (one word: 5 times), the mark
    of a decoder stuck in a loop ("what time is it what time is it what time is it")."""
    words = "".join(c if c.isalnum() or c.isspace() else " " for c in text.lower()).split()
    for size in range(1, 7):
        times = 5 if size == 1 else 3  # people do say "no, no, no"
        for start in range(len(words) - size * times + 1):
            unit = words[start : start + size]
            if all(words[start + k * size : start + (k + 1) * size] == unit for k in range(1, times)):
                return True
    return False
