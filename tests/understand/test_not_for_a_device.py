"""Requests that name nothing of the home operate nothing (issue 12: 128 device actions on
crowd-sourced requests, mostly "play …" read as resuming the TV). Written in our own words,
not taken from the development data: media content, a verb whose object is not of the home,
weather talk, and a kind of player the home does not have. The same verbs with a player, a room
or Home Assistant's own objects still act."""

from __future__ import annotations

import pytest

from device_bridge.devices import Device
from voicebot.understand import Understander
from voicebot.understand.capabilities import CHANGING

ACTS = 0.5  # the dialogue's min_confidence


def _acts(u) -> bool:  # type: ignore[no-untyped-def]
    return u.intent in CHANGING and bool(u.device_ids) and u.confidence >= ACTS


@pytest.mark.parametrize("text", [
    # content voicebot cannot choose: no library, no playlists, no podcasts
    "play my road trip playlist",
    "play some songs by nina simone",
    "play music",
    "put on the latest episode of my favourite podcast",
    "skip to the next chapter of my audiobook",
    "go to the next episode",
    "resume my audiobook",
    "play the station on one hundred and one point one",
    "turn my music on",
    "play a quiz game with me",
    # mute with an object that is no player
    "mute the notifications",
    "mute yourself for an hour",
    "press the mute button",
    # a verb whose object is nothing of the home
    "open the calendar app",
    "close my email",
    # weather, not the room
    "will it be cold enough for gloves on friday",
    "it is warm outside",
    "it's going to be hot later this week",
    # a kind of player the home does not have (the demo home has a TV, no radio or speaker)
    "turn the radio on",
    "mute the speakers",
])
def test_no_device_is_operated(demo: tuple[Understander, dict[str, Device], list[str]], text: str) -> None:
    nlu, _, _ = demo
    u = nlu.understand(text, None, speaker_area="Living Room")
    assert not _acts(u), (text, u.intent, u.device_ids, u.confidence, u.matched)


@pytest.mark.parametrize(("text", "intent"), [
    ("pause the music", "HassMediaPause"),
    ("pause", "HassMediaPause"),
    ("resume the tv", "HassMediaUnpause"),
    ("play the tv", "HassMediaUnpause"),
    ("skip this song", "HassMediaNext"),
    ("skip this episode on the tv", "HassMediaNext"),
    ("go back to the previous track in the living room", "HassMediaPrevious"),
    ("mute the tv", "HassSetVolume"),
    ("turn the music down", "HassSetVolume"),
    ("open the blinds", "HassTurnOn"),
    ("close them", "HassTurnOff"),
    ("it's far too cold in here", "HassClimateSetTemperature"),
])
def test_the_same_verbs_on_the_home_still_act(
    demo: tuple[Understander, dict[str, Device], list[str]], text: str, intent: str,
) -> None:
    nlu, _, _ = demo
    u = nlu.understand(text, None, speaker_area="Living Room")
    assert u.intent == intent and u.device_ids, (text, u.intent, u.device_ids, u.matched)


def test_the_reason_is_traced(demo: tuple[Understander, dict[str, Device], list[str]]) -> None:
    nlu, _, _ = demo
    u = nlu.understand("play my road trip playlist", None, speaker_area="Living Room")
    assert u.intent is None and u.matched and "media content" in u.matched
