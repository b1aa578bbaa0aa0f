"""One-word answers are the common case in a dialogue; they must survive the endpointer, the
transcriber's hallucination filter and the phone line (8 kHz mu-law)."""

from __future__ import annotations

import numpy as np
import pytest

from voicebot.audio import mulaw_decode, mulaw_encode, resample
from voicebot.listen import Endpointer, TurnEnded
from voicebot.wer import word_error_rate

from .sounds import room

WORDS = ["Yes.", "No.", "Okay.", "Thank you.", "Stop.", "Nope.", "Repeat that."]


def over_the_phone(pcm: np.ndarray) -> np.ndarray:
    return resample(mulaw_decode(mulaw_encode(resample(pcm, 16000, 8000))), 8000, 16000)


@pytest.mark.parametrize("line", ["wideband", "phone"])
def test_short_answers_make_one_turn_and_are_heard_exactly(synthesizer, transcriber, line: str) -> None:
    for word in WORDS:
        pcm = synthesizer.speak_all(word, 16000)
        if line == "phone":
            pcm = over_the_phone(pcm)
        ep = Endpointer()
        events = ep.feed(np.concatenate([room(0.5), pcm, room(1.0)])) + ep.flush()
        found = [e for e in events if isinstance(e, TurnEnded)]
        assert len(found) == 1, word
        heard = transcriber.transcribe(found[0].pcm)
        assert heard.rejected is None and word_error_rate(word, heard.text) == 0, (word, heard.text)
