"""`voicebot chat` detects each typed turn's language and replies in it (issue 12 item 5)."""

from __future__ import annotations

import json
import subprocess
import sys


def test_chat_detects_the_language_per_turn() -> None:
    done = subprocess.run(
        [sys.executable, "-c", "from voicebot.cli import main; main()", "chat", "--json"],
        input="Schalte bitte das Licht in der Küche ein\nturn off the kitchen light\n",
        capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stderr
    german, english = (json.loads(line) for line in done.stdout.splitlines()[:2])
    assert german["language"] == "de" and german["intent"] == "HassTurnOn"  # the reply's language
    assert [a["device_id"] for a in german["actions"]] == ["kitchen_light"]  # the demo home's Kitchen is "Küche"
    assert english["language"] == "en" and english["intent"] == "HassTurnOff"
