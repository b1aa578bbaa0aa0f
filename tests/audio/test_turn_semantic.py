"""The end of a turn from what the words ask for (the understanding's judgement, a TurnJudge): a
complete request ends after a shorter silence, one not complete yet waits longer than the quick
end, so a pause inside it does not cut the caller off. Through the real Listener, Whisper and
understanding, on the demo home (six lights, one floor lamp in the living room)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from device_bridge.home import load_home
from voicebot.audio import read_audio
from voicebot.channels.virtual import voiced_extent
from voicebot.config import ListenSettings
from voicebot.demo import demo_home, espeak
from voicebot.frames import InFrame
from voicebot.listener import HeardTurn, Listener
from voicebot.turn_taking import Prosody, end_rule
from voicebot.understand import Understander
from voicebot.understand.completeness import UnderstandingJudge

RATE = 16000
FELL, HELD, LEVEL = Prosody(5.0, 6.0, True), Prosody(0.2, 0.0, True), Prosody(1.5, 0.0, True)


@pytest.mark.parametrize(
    ("text", "prosody", "judged", "expected"),
    [
        ("Turn on the kitchen light.", LEVEL, "complete", (200, "complete")),
        ("Turn on the kitchen light.", FELL, "complete", (180, "complete")),  # the fall's is shorter
        ("Turn on the kitchen light.", HELD, "complete", (700, "quick")),  # sounds like going on
        ("Is the front door locked?", HELD, "complete", (200, "complete")),  # questions rise
        ("Turn on the light.", LEVEL, "incomplete", (700, "incomplete")),  # which one? more may come
        ("Turn on the light.", HELD, "incomplete", (700, "incomplete")),
        ("Turn on the light.", FELL, "incomplete", (300, "quick")),  # the voice ended it: as before
        ("Turn on the", LEVEL, "incomplete", None),  # words first: never early on "the"
        ("Turn on the kitchen light.", LEVEL, None, (300, "quick")),  # no opinion: as before
        ("Turn on the kitchen light.", FELL, None, (180, "fell")),
    ],
)
def test_end_rule_from_judgement_words_and_voice(text: str, prosody: Prosody, judged: str | None,
                                                 expected: tuple[int, str] | None) -> None:
    got = end_rule(text, prosody, quick_ms=300, fell_ms=180, held_ms=700, judged=judged,  # type: ignore[arg-type]
                   complete_ms=200, incomplete_ms=700)
    assert got == expected


def test_without_complete_ms_a_judgement_changes_nothing() -> None:
    for judged in ("complete", "incomplete", None):
        assert end_rule("Turn on the light.", LEVEL, 300, 180, 700, judged) == (300, "quick")  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def judge() -> UnderstandingJudge:
    home = load_home(demo_home())
    devices, areas = [hd.device for hd in home.devices], list(home.areas)
    return UnderstandingJudge(Understander(lambda: devices, lambda: areas))


def _turns(transcriber: object, pcm: np.ndarray, judge: UnderstandingJudge | None) -> list[HeardTurn]:
    """The turns a live session's Listener ends in this audio (prosody off: the words decide)."""
    listen = ListenSettings(pause_ms=120, end_silence_ms=1100)
    listener = Listener(transcriber, listen, speculate="now", quick_end_ms=300, held_end_ms=700,  # type: ignore[arg-type]
                        judge=judge, complete_end_ms=200, incomplete_end_ms=700)
    audio = np.concatenate([np.zeros(4800, np.int16), pcm, np.zeros(RATE * 2, np.int16)])
    out: list[HeardTurn] = []
    for k in range(0, len(audio) - 479, 480):
        out += [e for e in listener.feed(InFrame(audio[k : k + 480])) if isinstance(e, HeardTurn)]
    return out + [e for e in listener.flush() if isinstance(e, HeardTurn)]


def test_a_complete_command_ends_sooner(transcriber, shared_audio: Path, judge: UnderstandingJudge) -> None:
    """A real recording ("Turn on the living room lamp.": one floor lamp there) ends ~200 ms after
    the voice instead of the quick end's ~300 ms, with the same words."""
    pcm = read_audio(shared_audio / "turn_on_living_room_lamp.wav")
    before, after = _turns(transcriber, pcm, None), _turns(transcriber, pcm, judge)
    assert [t.reason for t in before] == ["quick"] and [t.reason for t in after] == ["complete"]
    assert after[0].decided - after[0].end < 0.25 <= before[0].decided - before[0].end
    assert after[0].end == before[0].end


def _said(text: str) -> np.ndarray:
    pcm = espeak(text, "en-gb")
    a, b = voiced_extent(pcm)
    return pcm[int(a * RATE) : int(b * RATE)]


def test_an_incomplete_prefix_does_not_end_at_the_pause(transcriber, judge: UnderstandingJudge) -> None:
    """"Turn on the light, ... in the kitchen." with a 450 ms pause: "turn on the light" reads as
    a finished sentence, so the quick end cut the caller off at the pause; in a home of six
    lights it is no complete request yet, so the turn waits and holds the whole sentence."""
    pcm = np.concatenate([_said("Turn on the light,"), np.zeros(int(0.45 * RATE), np.int16), _said("in the kitchen.")])
    before, after = _turns(transcriber, pcm, None), _turns(transcriber, pcm, judge)
    assert len(before) == 2, [t.reason for t in before]  # cut off at the pause
    assert len(after) == 1, [t.reason for t in after]
    assert "kitchen" in transcriber.transcribe(after[0].pcm).text.lower()
