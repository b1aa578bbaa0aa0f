"""Giving memory back: glibc keeps what a process freed in its malloc arenas (one per thread
that met contention, up to 8 per core), so a phone process that answered a burst of calls stays
at its peak. The phone line caps the arenas at start and trims them after each call. Measured
figures: README, benchmark section. Elsewhere than glibc these are no-ops."""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import logging

log = logging.getLogger(__name__)

M_ARENA_MAX = -8  # glibc's mallopt parameter numbers
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 128 * 1024  # glibc's initial value, kept fixed

_libc: ctypes.CDLL | None = None
try:
    _name = ctypes.util.find_library("c")
    if _name:
        _candidate = ctypes.CDLL(_name)
        if hasattr(_candidate, "malloc_trim") and hasattr(_candidate, "mallopt"):
            _libc = _candidate
except OSError:  # no C library to talk to: nothing to tune
    _libc = None


def limit_arenas(count: int = 1) -> bool:
    """At most ``count`` malloc arenas from now on (threads share them; one measured steadiest,
    415 MB after a call in three runs of three, against 404-446 MB with two), and blocks over 128 KB
    (audio buffers, features, model scratch) always in their own mappings, which go back to the
    system when freed: glibc otherwise raises that threshold to the largest block ever freed,
    and later such blocks come from the arenas and stay there. True if applied."""
    if _libc is None:
        return False
    return bool(_libc.mallopt(M_ARENA_MAX, count)) and bool(_libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD))


def trim(collect: bool = False) -> bool:
    """Return freed heap memory to the system; True if some was. ``collect``: first free what
    only reference cycles keep alive (a finished call's session, its tasks and audio buffers)."""
    if collect:
        gc.collect()
    return bool(_libc is not None and _libc.malloc_trim(0))
