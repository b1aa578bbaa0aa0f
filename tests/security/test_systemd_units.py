"""Every shipped systemd unit scores 2.5 or less with `systemd-analyze security` (offline mode:
no running systemd needed), and systemd/README.md gives each unit's score as measured."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
UNITS = sorted((ROOT / "systemd").glob("*.service"))


def exposure(unit: Path) -> float:
    out = subprocess.run(["systemd-analyze", "security", "--offline=true", str(unit)],
                         capture_output=True, text=True, timeout=180)
    found = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", out.stdout)
    assert found, out.stdout[-500:] + out.stderr
    return float(found.group(1))


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
@pytest.mark.parametrize("unit", UNITS, ids=[u.name for u in UNITS])
def test_unit_exposure_is_at_most_2_5_and_documented(unit: Path) -> None:
    score = exposure(unit)
    assert score <= 2.5, f"{unit.name}: exposure {score}"
    readme = (ROOT / "systemd" / "README.md").read_text()
    row = next(line for line in readme.splitlines() if line.startswith(f"| `{unit.name}`"))
    assert f"| {score} " in row, f"systemd/README.md says {row!r}, measured {score}"
