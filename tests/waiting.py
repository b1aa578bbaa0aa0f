"""Waiting for something that happens on another thread, instead of sleeping a guess."""

from __future__ import annotations

import time
from collections.abc import Callable


def until(predicate: Callable[[], object], timeout: float = 5.0) -> bool:
    """True as soon as predicate() is true; False if it is still false after timeout."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.02)
    return bool(predicate())
