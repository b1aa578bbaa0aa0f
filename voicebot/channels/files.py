"""The files channel: a recording streamed through the live session's Listener (endpointing,
speculative transcription) as if it arrived live, frame by frame, with the audio time at which
each decision would have been made."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict, dataclass
from os import PathLike

import numpy as np

from voicebot.audio import read_audio
from voicebot.config import ListenSettings
from voicebot.frames import RATE, InFrame
from voicebot.listener import HeardTurn, Listener
from voicebot.transcribe import Transcriber


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
    """Feed ``pcm`` (16 kHz mono int16) in ``chunk_ms`` pieces, as a sound card would, through the
    live session's :class:`~voicebot.listener.Listener`, and yield each utterance. With
    ``speculate`` the transcription starts at the pause and is reused when the turn ends on the
    silence after it, as a live session does (here it runs at once; ``text_ready_at`` says when
    it would have been ready live)."""
    pcm = pcm.astype(np.int16, copy=False)
    listener = Listener(transcriber, settings or ListenSettings(), speculate="now" if speculate else None)
    step = RATE * chunk_ms // 1000

    def utterance(turn: HeardTurn) -> Utterance:
        tr = listener.hear_now(turn).transcript
        if turn.paused_at is not None:  # the transcription started when the pause was noticed
            ready = max(turn.decided, turn.paused_at + tr.elapsed_s)
        else:
            ready = turn.decided + tr.elapsed_s
        return Utterance(turn.start, turn.end, turn.decided, tr.elapsed_s, ready, turn.paused_at is not None,
                         tr.text, tr.confidence, tr.rejected, turn.reason)

    frames = (listener.feed(InFrame(pcm[i : i + step])) for i in range(0, len(pcm), step))
    for events in (*frames, listener.flush()):
        for event in events:
            if isinstance(event, HeardTurn):
                yield utterance(event)


def listen_file(
    path: str | PathLike[str],
    transcriber: Transcriber,
    settings: ListenSettings | None = None,
    speculate: bool = True,
) -> Iterator[Utterance]:
    """:func:`listen_pcm` on a file of any libsndfile format (AudioFileError if unreadable)."""
    yield from listen_pcm(read_audio(path), transcriber, settings, speculate=speculate)
