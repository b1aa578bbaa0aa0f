"""A spoken conversation in German: the customer speaks German (heard by the multilingual
Whisper), the reply comes in German and is spoken by a German voice (espeak-ng's, as no German
Piper voice is configured), so it is heard as German. (English on Piper: tests/audio/test_voices.py.)"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.session.conftest import run_call
from tests.waiting import COMMAND_TIMEOUT_S
from voicebot.channels.virtual import Cue


@pytest.fixture(scope="module")
def multilingual_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The demo home whose dialogue also understands and answers German and Spanish."""
    from device_bridge.broker import MosquittoBroker
    from voicebot.config import Settings
    from voicebot.demo import demo_home
    from voicebot.runtime import build_runtime

    store: Path = tmp_path_factory.mktemp("reply-language") / "voicebot.sqlite3"
    with MosquittoBroker() as broker:
        rt = build_runtime(Settings(extra={"dialogue": {"languages": ["de", "es"], "command_timeout_s": COMMAND_TIMEOUT_S}}),
                           broker=broker.url,
                           home=demo_home(), simulate=True, store_path=store, models=False)
        try:
            # the German understanding loads here, not in the test's turn
            rt.conversation("warm-up", language="de").handle("Wie spät ist es?")
            yield rt
        finally:
            rt.close()


@pytest.fixture(scope="module")
def multilingual() -> Any:
    from voicebot.config import Settings
    from voicebot.models import load_transcriber

    return load_transcriber(Settings(transcribe={"model": "base"}))


def test_a_german_turn_is_answered_in_a_german_voice(multilingual_home, multilingual, synthesizer, say) -> None:
    sim = multilingual_home.simulator
    sim.set_state("kitchen_light", {"state": "off"})
    cues = [Cue(say("Mach das Licht in der Küche an.", voice="de+f3"), "german command")]
    done = run_call(multilingual_home, multilingual, synthesizer, cues, speed=3.0)
    (turn,) = done.answered()
    assert [a["device_id"] for a in turn.actions] == ["kitchen_light"], turn.as_dict()
    assert turn.reply_text.startswith("Erledigt"), turn.reply_text  # the reply is German text…

    reply = np.concatenate(turn.reply_audio)
    assert len(reply) / 16000 > 1.0 and np.abs(reply).max() > 3000
    heard = multilingual.transcribe(reply)
    assert heard.language == "de", heard  # …spoken by a German voice, so it is heard as German
    assert "helligkeit" in heard.text.lower(), (turn.reply_text, heard.text)  # "… mit 78 % Helligkeit."
