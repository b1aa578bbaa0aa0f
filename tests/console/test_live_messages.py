"""What travels between the services and the console over MQTT is checked on arrival: a
malformed snapshot or command is refused with a clear reason and changes nothing."""

from __future__ import annotations

import pytest

from device_bridge.client import Message
from voicebot.console.board import LiveBoard
from voicebot.live import LiveControl, LiveSnapshot


@pytest.mark.parametrize("payload", [b"", b"not json", b"[]", b'{"conversation_id": ""}', b'{"channel": "phone"}',
                                     b'{"conversation_id": "a", "channel": "x", "started_at": 1, "updated_at": 1, "bogus": 1}'])
def test_a_malformed_snapshot_is_refused(payload: bytes) -> None:
    with pytest.raises(ValueError, match="not a live snapshot"):
        LiveSnapshot.from_json(payload)


@pytest.mark.parametrize("payload", [b"{}", b'{"action": "sudo", "agent": "x"}', b'{"action": "say", "agent": "x"}',
                                     b'{"action": "device", "agent": "x", "device_id": "lock", "intent": "Unlock"}'])
def test_a_malformed_command_is_refused(payload: bytes) -> None:
    with pytest.raises(ValueError):
        LiveControl.from_json(payload)


def test_the_board_keeps_the_newest_snapshot_and_ignores_garbage() -> None:
    board = LiveBoard(conn=None, prefix="voicebot/live")
    newer = LiveSnapshot("c1", "phone", started_at=1.0, updated_at=9e9, taken_over_by="alice")
    older = LiveSnapshot("c1", "phone", started_at=1.0, updated_at=9e9 - 5)
    board._on_state(Message("voicebot/live/c1/state", newer.to_json().encode()))
    board._on_state(Message("voicebot/live/c1/state", older.to_json().encode()))  # arrives late
    board._on_state(Message("voicebot/live/c2/state", b"{garbage"))
    board._on_state(Message("voicebot/live/c1/state", b""))  # the retained copy cleared
    assert [s.conversation_id for s in board.conversations()] == ["c1"]
    assert board.get("c1").taken_over_by == "alice"
