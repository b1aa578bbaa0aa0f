"""What a test gives a `voicebot` subprocess whose HOME is a temporary folder."""

from __future__ import annotations

import os
from pathlib import Path


def shared_cache() -> dict[str, str]:
    """This test run's XDG_CACHE_HOME: what the models derive once (the semantic indexes, the
    prepared MiniLM graph, keyed by their content) is read from the cache instead of being rebuilt
    by every subprocess with a fresh HOME, which took minutes on a busy 2-core machine (a CLI
    test then timed out before the command was even listening)."""
    return {"XDG_CACHE_HOME": os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")}
