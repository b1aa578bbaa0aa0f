"""Waiting for something that happens on another thread, instead of sleeping a guess."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

# How long a dialogue waits for a simulated device to confirm a command, in test homes without
# faults that need the wait to run out. A healthy simulated device answers in milliseconds, but on
# a busy 2-core machine its answer has come after the product's 3 s (the bot then truthfully said
# the light "did not respond"); a wait that ends on the answer costs nothing when it is fast.
COMMAND_TIMEOUT_S = 15.0


def until(predicate: Callable[[], object], timeout: float = 5.0) -> bool:
    """True as soon as predicate() is true; False if it is still false after timeout."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.02)
    return bool(predicate())


async def until_async(predicate: Callable[[], object], timeout: float = 5.0) -> bool:
    """:func:`until` inside an event loop: the loop keeps running while it waits."""
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while loop.time() < end:
        if predicate():
            return True
        await asyncio.sleep(0.02)
    return bool(predicate())
