"""`voicebot nlu --json`: one sentence per line in, one JSON object per line out."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from tests.conftest import CliDone

DATA = Path(__file__).parent / "data"


@pytest.fixture()
def run(voicebot_cli: Callable[..., CliDone]) -> Callable[[list[str], str], CliDone]:
    """The command in this process (tests/conftest.py); the bad home file test starts one."""
    return voicebot_cli


def test_nlu_json_lines(run: Callable[[list[str], str], CliDone]) -> None:
    out = run(["nlu", "--json", "--home", str(DATA / "home.yaml")],
              "turn on the kitchen light\n\nmake it a bit darker\nwhat's the weather\n")
    assert out.returncode == 0, out.stderr
    rows = [json.loads(line) for line in out.stdout.splitlines()]
    assert [r["text"] for r in rows] == ["turn on the kitchen light", "make it a bit darker", "what's the weather"]
    assert rows[0]["intent"] == "HassTurnOn"
    assert rows[0]["slots"] == {"name": "Kitchen Light"}  # Home Assistant's slots: a name needs no domain
    assert rows[0]["devices"] == [{"id": "kitchen_light", "name": "Kitchen Light"}]
    assert rows[1]["intent"] == "HassLightSet" and rows[1]["slots"]["brightness_step"] == -10
    assert rows[2]["intent"] is None and rows[2]["devices"] == []


def test_nlu_without_a_home_still_understands(run: Callable[[list[str], str], CliDone]) -> None:
    out = run(["nlu", "--json"], "set the heating to 21 degrees\n")
    row = json.loads(out.stdout)
    assert (row["intent"], row["slots"]["temperature"]) == ("HassClimateSetTemperature", 21)


def test_bad_home_file_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "home.yaml"
    bad.write_text("devices: [{name: X, type: toaster}]\n")
    # the real process: a clear message and a failing exit status, whatever raised it
    out = subprocess.run([sys.executable, "-c", "from voicebot.cli import main; main()", "nlu", "--json", "--home",
                          str(bad)], input="hello\n", capture_output=True, text=True, timeout=180)
    assert out.returncode != 0
    assert "toaster" in out.stderr or "type" in out.stderr


def test_explain_names_the_rule_that_decided(run: Callable[[list[str], str], CliDone]) -> None:
    out = run(["nlu", "--explain", "--home", str(DATA / "home.yaml")], "turn on the kitchen light\n")
    assert out.returncode == 0, out.stderr
    assert "en_intents.yaml HassTurnOn" in out.stdout
