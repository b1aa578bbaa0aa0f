"""The files channel: a recording streamed through the endpointer and the transcriber as if it
arrived live, frame by frame, with the audio-time at which each decision would have been made."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict, dataclass
from os import PathLike

import numpy as np

from voicebot.audio import SAMPLE_RATE, read_audio
from voicebot.config import ListenSettings
from voicebot.listen import Endpointer, SpeechPaused, SpeechResumed, TurnEnded
from voicebot.transcribe import Transcriber, Transcript


@dataclass(frozen=True)
class Utterance:
    """One detected turn of a recording and what was heard in it."""

    start: float  # audio seconds: speech started
    end: float  # audio seconds: speech ended
    decided_at: float  # audio seconds: the endpointer decided the turn was over
    transcribe_s: float  # processing time of the transcription used
    text_ready_at: float  # audio seconds at which the text would be known live (speculation included)
    speculative: bool  # the text came from the transcription started at SpeechPaused
    text: str
    confidence: float
    rejected: str | None
    reason: str  # why the turn ended: silence, max_length, end_of_stream

    def as_dict(self) -> dict[str, object]:
        return {k: (round(v, 3) if isinstance(v, float) else v) for k, v in asdict(self).items()}


def listen_pcm(
    pcm: np.ndarray,
    transcriber: Transcriber,
    settings: ListenSettings | None = None,
    chunk_ms: int = 20,
    speculate: bool = True,
) -> Iterator[Utterance]:
    """Feed ``pcm`` (16 kHz mono int16) in ``chunk_ms`` pieces, as a sound card would, and yield
    each utterance. With ``speculate`` the transcription starts at SpeechPaused and is reused when
    the turn ends without SpeechResumed, as a live session does."""
    endpointer = Endpointer(settings)
    step = SAMPLE_RATE * chunk_ms // 1000
    pending: tuple[float, Transcript] | None = None  # (pause noticed at, transcript)

    def finish(turn: TurnEnded) -> Utterance:
        nonlocal pending
        if pending is not None:
            noticed, tr = pending
            ready, spec = max(turn.decided_at, noticed + tr.elapsed_s), True
        else:
            tr = transcriber.transcribe(turn.pcm)
            ready, spec = turn.decided_at + tr.elapsed_s, False
        pending = None
        return Utterance(
            turn.start, turn.end, turn.decided_at, tr.elapsed_s, ready, spec, tr.text, tr.confidence, tr.rejected, turn.reason
        )

    chunks = (pcm[i : i + step] for i in range(0, len(pcm), step))
    for events in (*(endpointer.feed(c) for c in chunks), endpointer.flush()):
        for event in events:
            if isinstance(event, SpeechPaused) and speculate:
                pending = (event.decided_at, transcriber.transcribe(event.pcm))
            elif isinstance(event, SpeechResumed):
                pending = None
            elif isinstance(event, TurnEnded):
                if event.reason != "silence":
                    pending = None  # the audio differs from what was transcribed at the pause
                yield finish(event)


def listen_file(
    path: str | PathLike[str],
    transcriber: Transcriber,
    settings: ListenSettings | None = None,
    speculate: bool = True,
) -> Iterator[Utterance]:
    """:func:`listen_pcm` on a file of any libsndfile format (AudioFileError if unreadable)."""
    yield from listen_pcm(read_audio(path), transcriber, settings, speculate=speculate)
