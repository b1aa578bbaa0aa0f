"""Follow-ups on movement that takes time: a cover, valve, lock or thermostat announced as
started ("Closing the blinds.") is watched for the rest of the conversation, and the customer is
told when it stopped short or never arrived, so that no outcome is ever left unsaid or invented.

The watch reads the bridge's live state; it needs nothing from the device but its reports.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from device_bridge.devices import DeviceControl

MOVING_STATES = frozenset({"opening", "closing", "locking", "unlocking"})


@dataclass
class Movement:
    device_id: str
    changes: dict[str, Any]  # what was asked
    started_at: float = field(default_factory=time.monotonic)
    start_position: float | None = None
    max_travel_s: float = 90.0  # after this a cover that is still "moving" has not arrived

    def target_position(self) -> float | None:
        if "position" in self.changes:
            return float(self.changes["position"])
        want = str(self.changes.get("state", "")).lower()
        return {"open": 100.0, "closed": 0.0}.get(want)


@dataclass
class MovementStatus:
    verdict: str  # moving | arrived | stopped_short | never_moved | offline
    position: float | None = None
    state: str = ""


def follow(bridge: DeviceControl, m: Movement) -> MovementStatus:
    """Where the movement stands now, from the device's last reports."""
    st = bridge.get(m.device_id)
    state = str(st.state.get("state", "")).lower()
    pos_raw = st.state.get("current_position")
    try:
        pos = float(pos_raw) if pos_raw is not None else None
    except (TypeError, ValueError):
        pos = None
    if st.telemetry.available is False:
        return MovementStatus("offline", pos, state)
    target = m.target_position()
    want = str(m.changes.get("state", "")).lower()
    arrived = (target is not None and pos is not None and abs(pos - target) <= 2) or (
        target is None and want and state == want
    )
    if arrived and state not in MOVING_STATES:
        return MovementStatus("arrived", pos, state)
    if state in MOVING_STATES and time.monotonic() - m.started_at < m.max_travel_s:
        return MovementStatus("moving", pos, state)
    moved = pos is not None and m.start_position is not None and abs(pos - m.start_position) > 2
    return MovementStatus("stopped_short" if moved else "never_moved", pos, state)
