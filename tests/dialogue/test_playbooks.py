"""Playbooks are data: the bundled ones load, and a broken one is refused with a clear reason."""

from __future__ import annotations

from pathlib import Path

import pytest

from voicebot.dialogue.playbook import PlaybookError, load_playbook_file, load_playbooks, select_playbook

GOOD = """
id: kettle
title: Smart kettle does not boil
applies_to: {domains: [switch], symptoms: [kettle]}
start: ask
steps:
  ask:
    ask: "Is there water in {device}?"
    go: {yes: done, no: fill}
  fill:
    say: "Please fill it and tell me when you have."
    wait: true
    next: done
  done:
    end: resolved
"""


def test_bundled_playbooks_cover_the_required_problems() -> None:
    books = load_playbooks()
    assert len(books) >= 25
    domains = {d for b in books.values() for d in b.applies_to.domains}
    assert {"light", "switch", "climate", "lock", "cover", "sensor", "vacuum", "media_player"} <= domains
    assert {"hub_offline", "weak_signal", "low_battery"} <= set(books)


def test_a_new_playbook_needs_no_code(tmp_path: Path) -> None:
    (tmp_path / "kettle.yaml").write_text(GOOD)
    books = load_playbooks([tmp_path])
    assert select_playbook(books, "switch", None, "my kettle won't boil").id == "kettle"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("go: {yes: done, no: fill}", "go: {yes: done}"), "the answer no has no branch"),
        (("next: done", "next: nowhere"), "'nowhere', which is not a step"),
        (("ask: \"Is there water in {device}?\"", "ask: \"Is there water in {kettle}?\""), "unknown placeholder {kettle}"),
        (("start: ask", "start: begin"), "start step 'begin' is not among the steps"),
        (("end: resolved", "end: escalated"), "an escalated end needs problem"),
    ],
)
def test_invalid_playbooks_are_refused_naming_file_and_step(tmp_path: Path, change: tuple[str, str], message: str) -> None:
    path = tmp_path / "kettle.yaml"
    path.write_text(GOOD.replace(*change))
    with pytest.raises(PlaybookError) as err:
        load_playbook_file(path)
    assert str(path) in str(err.value) and message in str(err.value)


def test_a_check_must_branch_on_every_result(tmp_path: Path) -> None:
    path = tmp_path / "kettle.yaml"
    path.write_text(GOOD.replace("    ask: \"Is there water in {device}?\"\n    go: {yes: done, no: fill}",
                                 "    check: battery\n    go: {low: fill, ok: done}"))
    with pytest.raises(PlaybookError, match="check battery can give none with no branch"):
        load_playbook_file(path)


def test_unknown_playbook_jump_is_refused(tmp_path: Path) -> None:
    (tmp_path / "kettle.yaml").write_text(GOOD.replace("  done:\n    end: resolved", "  done:\n    playbook: descale"))
    with pytest.raises(PlaybookError, match="continues in playbook 'descale', which does not exist"):
        load_playbooks([tmp_path])


def test_selection_uses_device_kind_and_words() -> None:
    books = load_playbooks()
    assert select_playbook(books, "light", None, "it won't come on").id == "light_not_working"  # type: ignore[union-attr]
    assert select_playbook(books, "sensor", "temperature", "the battery is low").id == "low_battery"  # type: ignore[union-attr]
    assert select_playbook(books, None, None, "nothing works, all my devices are dead").id == "hub_offline"  # type: ignore[union-attr]
    assert select_playbook(books, None, None, "hello there") is None


def test_playbooks_command_checks_your_folder(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from voicebot.cli import app

    (tmp_path / "kettle.yaml").write_text(GOOD)
    ok = CliRunner().invoke(app, ["playbooks", "--dir", str(tmp_path)])
    assert ok.exit_code == 0 and "kettle" in ok.stdout and "light_not_working" in ok.stdout
    (tmp_path / "kettle.yaml").write_text(GOOD.replace("next: done", "next: nowhere"))
    bad = CliRunner().invoke(app, ["playbooks", "--dir", str(tmp_path)])
    assert bad.exit_code == 1 and "'nowhere', which is not a step" in bad.output
