"""The runtime gives its transcriber the home's names: near-misses of them are corrected."""

from __future__ import annotations

from typing import Any


def test_runtime_corrects_a_near_miss_of_a_home_device_name(home_stack: Any) -> None:
    home_stack.load_models()
    transcriber = home_stack.transcriber
    # what Whisper might write for "living room ceiling light" (a turn's text goes through this)
    fixed, heard = transcriber._corrected("turn on the living rom ceiling lite", "en")
    assert fixed.lower() == "turn on the living room ceiling light" and heard == "turn on the living rom ceiling lite"
    assert transcriber._home[1] is False  # correction only, no prompt (the measured best)

