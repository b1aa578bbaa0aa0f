"""A real home (tests/understand/data/home.yaml, read by the device bridge's own loader) and
an understander over it."""

from __future__ import annotations

from pathlib import Path

import pytest

from device_bridge.devices import Area, Device
from device_bridge.home import load_home
from voicebot.understand import ConversationContext, Understander

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="session")
def home_devices() -> tuple[list[Device], list[Area]]:
    home = load_home(DATA / "home.yaml")
    return [hd.device for hd in home.devices], list(home.areas)


@pytest.fixture(scope="session")
def nlu(home_devices: tuple[list[Device], list[Area]]) -> Understander:
    devices, areas = home_devices
    return Understander(lambda: devices, lambda: areas)


@pytest.fixture()
def ctx() -> ConversationContext:
    return ConversationContext()


@pytest.fixture(scope="session")
def demo() -> tuple[Understander, dict[str, Device], list[str]]:
    """The device bridge's demo home (what `voicebot demo` and the scenarios run against)."""
    home = load_home(Path(__file__).resolve().parents[2] / "device_bridge" / "homes" / "demo.yaml")
    devices = [hd.device for hd in home.devices]
    areas = list(home.areas)
    return Understander(lambda: devices, lambda: areas), {d.id: d for d in devices}, [a.name for a in areas]
