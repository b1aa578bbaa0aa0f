"""espeak-ng as a voice: the fallback for a reply language that has no Piper voice configured.

espeak-ng (the Debian package ``espeak-ng``, which ``./dev`` installs) speaks about a hundred
languages from rules, with no model files: robotic, but in the right language and understood,
where an English Piper voice reading German is not. It is run as its own program, one process per
sentence (about 20-40 ms for a short one), text on standard input (never on the command line,
where a reply starting with "-" would read as an option), WAV on standard output.
"""

from __future__ import annotations

import io
import logging
import shutil
import subprocess
from functools import lru_cache

import numpy as np
import soundfile as sf

from voicebot.speak import SentenceSynthesizer

log = logging.getLogger(__name__)

ESPEAK_RATE = 22050  # espeak-ng's output rate (the rate in its WAV header is the one used)
TIMEOUT_S = 5.0  # one sentence; espeak-ng takes 30-100 ms, this only stops a hung process


class EspeakUnavailable(RuntimeError):
    """espeak-ng is not installed, does not know the language, or failed on a sentence."""


def espeak_program() -> str | None:
    """The espeak-ng program's path, or None when it is not installed."""
    return shutil.which("espeak-ng")


@lru_cache(maxsize=4)
def espeak_voices(program: str) -> dict[str, str]:
    """Language code ("de", "es", "en-us") → espeak-ng voice name, for espeak-ng's own voices
    (not the mbrola ones, which need another program and voice files).

    ``espeak-ng --voices`` prints one voice a line: priority, language, age/gender, name, file,
    other languages. A voice's file (``gmw/de``) is what ``-v`` takes."""
    try:
        listing = subprocess.run([program, "--voices"], capture_output=True, text=True, timeout=TIMEOUT_S,
                                 check=True).stdout
    except (OSError, subprocess.SubprocessError) as exc:
        raise EspeakUnavailable(f"cannot list espeak-ng's voices ({exc})") from exc
    voices: dict[str, str] = {}
    for line in listing.splitlines()[1:]:
        fields = line.split()
        if len(fields) < 5 or fields[4].startswith("mb/"):
            continue
        language, file = fields[1], fields[4]
        voices.setdefault(language.lower(), file)
    return voices


def espeak_voice_for(language: str, program: str) -> str | None:
    """espeak-ng's voice for a language code ("de", "es", "pt-BR", "de_DE"), or None."""
    voices = espeak_voices(program)
    code = language.lower().replace("_", "-")
    primary = code.split("-")[0]
    # English: the American voice, as the bundled Piper voice is American.
    for candidate in (code, "en-us" if primary == "en" else primary):
        if candidate in voices:
            return voices[candidate]
    return None


class EspeakSynthesizer(SentenceSynthesizer):
    """One espeak-ng voice (``voice`` as ``-v`` takes it: ``gmw/de``, ``roa/es``).

    Thread safety: each sentence is its own process, so calls from several threads only share CPU.
    A failing process raises :class:`EspeakUnavailable` (the caller speaks with another voice)."""

    def __init__(self, language: str, voice: str, program: str, words_per_minute: int = 160) -> None:
        super().__init__(deterministic=True)  # espeak-ng says a sentence the same way every time
        self.language = language
        self.voice = voice
        self.program = program
        self.words_per_minute = words_per_minute
        self.native_rate = ESPEAK_RATE

    @classmethod
    def for_language(cls, language: str, words_per_minute: int = 160) -> EspeakSynthesizer:
        """The espeak-ng voice of ``language``; EspeakUnavailable when espeak-ng is not installed
        or has no voice for it."""
        program = espeak_program()
        if program is None:
            raise EspeakUnavailable("espeak-ng is not installed (Debian package: espeak-ng)")
        voice = espeak_voice_for(language, program)
        if voice is None:
            raise EspeakUnavailable(f"espeak-ng has no voice for the language {language!r}")
        return cls(language, voice, program, words_per_minute)

    def _render(self, sentence: str) -> np.ndarray | None:
        command = [self.program, "-v", self.voice, "-s", str(self.words_per_minute), "-b", "1", "--stdout"]
        try:
            done = subprocess.run(command, input=sentence.encode("utf-8"), capture_output=True,
                                  timeout=TIMEOUT_S, check=True)
            audio, rate = sf.read(io.BytesIO(done.stdout), dtype="float32", always_2d=False)
        except (OSError, subprocess.SubprocessError, sf.LibsndfileError, RuntimeError) as exc:
            raise EspeakUnavailable(f"espeak-ng failed on {sentence[:40]!r} ({exc})") from exc
        if rate != self.native_rate:
            self.native_rate = int(rate)  # another espeak-ng build's rate; resampled from it
        return audio if len(audio) else None
