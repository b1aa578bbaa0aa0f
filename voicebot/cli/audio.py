"""Audio commands: ``voicebot transcribe``, ``voicebot say``, ``voicebot listen-file``."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Annotated

import typer

from voicebot.config import load_settings


def _fail(message: str) -> None:
    """A user-facing error: one line on stderr, no traceback."""
    typer.echo(f"error: {message}", err=True)


def register(app: typer.Typer) -> None:
    @app.command()
    def transcribe(
        files: Annotated[list[Path], typer.Argument(help="Audio files (WAV, FLAC, OGG, any rate and channels).")],
        as_json: Annotated[bool, typer.Option("--json", help="One JSON object per file.")] = False,
        language: Annotated[str | None, typer.Option(help="Language code; default: the model's or detected.")] = None,
        window: Annotated[
            float | None, typer.Option(help="Encoder window in seconds (30 = Whisper's own); default from config.")
        ] = None,
    ) -> None:
        """Transcribe audio files with the configured Whisper model (bundled tiny.en by default)."""
        from voicebot.audio import AudioFileError, read_audio
        from voicebot.models import ModelError, load_transcriber

        try:
            started = time.perf_counter()
            transcriber = load_transcriber(load_settings())
            load_s = time.perf_counter() - started
        except ModelError as exc:
            _fail(str(exc))
            raise typer.Exit(2) from None
        failed = 0
        for path in files:
            try:
                t0 = time.perf_counter()
                pcm = read_audio(path)
                read_s = time.perf_counter() - t0
            except AudioFileError as exc:
                _fail(str(exc))
                failed += 1
                continue
            result = transcriber.transcribe(pcm, language=language, window_s=window)
            if as_json:
                record = {
                    "file": str(path),
                    "text": result.text,
                    "language": result.language,
                    "confidence": result.confidence,
                    "rejected": result.rejected,
                    "timings": {
                        "audio_s": round(result.audio_s, 3),
                        "read_s": round(read_s, 4),
                        "transcribe_s": round(result.elapsed_s, 4),
                        "model_load_s": round(load_s, 3),
                        "window_s": result.window_s,
                        "real_time_factor": round(result.elapsed_s / result.audio_s, 4) if result.audio_s else None,
                    },
                }
                typer.echo(json.dumps(record, ensure_ascii=False))
            elif len(files) > 1:
                typer.echo(f"{path}: {result.text}")
            else:
                typer.echo(result.text)
        if failed:
            raise typer.Exit(1)

    @app.command()
    def say(
        text: Annotated[str, typer.Argument(help="What to say.")],
        output: Annotated[Path, typer.Option("--output", "-o", help="WAV file to write.")],
        rate: Annotated[int, typer.Option(help="Output sample rate (8000 phone, 16000, 22050 native).")] = 22050,
        language: Annotated[
            str | None,
            typer.Option("--language", "-l", help="The text's language (de, es…): spoken by that language's voice."),
        ] = None,
    ) -> None:
        """Speak text into a WAV file with the configured Piper voice, or the voice of --language
        (its Piper voice from speak.voices, else espeak-ng's)."""
        from voicebot.audio import write_wav
        from voicebot.models import ModelError, load_synthesizer

        if not text.strip():
            _fail("nothing to say: the text is empty")
            raise typer.Exit(2)
        if not 4000 <= rate <= 96000:
            _fail(f"--rate {rate} is outside 4000-96000 Hz")
            raise typer.Exit(2)
        try:
            synthesizer = load_synthesizer(load_settings())
        except ModelError as exc:
            _fail(str(exc))
            raise typer.Exit(2) from None
        pcm = synthesizer.speak_all(text, rate, language=language)
        if not len(pcm):
            _fail(f"nothing speakable in {text!r}")
            raise typer.Exit(1)
        try:
            write_wav(output, pcm, rate)
        except (OSError, RuntimeError) as exc:
            _fail(f"cannot write {output}: {exc}")
            raise typer.Exit(1) from None
        typer.echo(f"{output}: {len(pcm) / rate:.2f} s at {rate} Hz, voice {synthesizer.voice_for(language).name}",
                   err=True)

    @app.command("listen-file")
    def listen_file_cmd(
        files: Annotated[list[Path], typer.Argument(help="Recordings to stream as if live.")],
        as_json: Annotated[bool, typer.Option("--json", help="One JSON object per utterance.")] = False,
        speculate: Annotated[
            bool, typer.Option(help="Transcribe at SpeechPaused and reuse the result, as a live session does.")
        ] = True,
    ) -> None:
        """Stream recordings through the endpointer and transcriber as if live; print each utterance."""
        from voicebot.audio import AudioFileError
        from voicebot.channels.files import listen_file
        from voicebot.models import ModelError, load_transcriber

        settings = load_settings()
        try:
            transcriber = load_transcriber(settings)
        except ModelError as exc:
            _fail(str(exc))
            raise typer.Exit(2) from None
        failed = 0
        for path in files:
            try:
                for utt in listen_file(path, transcriber, settings.listen, speculate=speculate):
                    if as_json:
                        typer.echo(json.dumps({"file": str(path), **utt.as_dict()}, ensure_ascii=False))
                    else:
                        shown = utt.text or f"({utt.rejected})"
                        typer.echo(f"{path} {utt.start:7.2f}-{utt.end:7.2f} s: {shown}")
                    sys.stdout.flush()
            except AudioFileError as exc:
                _fail(str(exc))
                failed += 1
        if failed:
            raise typer.Exit(1)
