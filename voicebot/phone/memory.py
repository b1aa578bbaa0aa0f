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

M_ARENA_MAX = -8  # glibc's mallopt parameter number

_libc: ctypes.CDLL | None = None
try:
    _name = ctypes.util.find_library("c")
    if _name:
        _candidate = ctypes.CDLL(_name)
        if hasattr(_candidate, "malloc_trim") and hasattr(_candidate, "mallopt"):
            _libc = _candidate
except OSError:  # no C library to talk to: nothing to tune
    _libc = None


def limit_arenas(count: int = 2) -> bool:
    """At most ``count`` malloc arenas from now on (threads share them); True if applied.
    (Also fixing glibc's mmap threshold at 128 KB saved another ~40 MB after a call, but made
    concurrent transcription and synthesis take 1.9x the CPU, every large buffer being mapped
    and faulted in afresh, and one arena made threads queue for it: neither is done.)"""
    return bool(_libc is not None and _libc.mallopt(M_ARENA_MAX, count))


def trim(collect: bool = False) -> bool:
    """Return freed heap memory to the system; True if some was. ``collect``: first free what
    only reference cycles keep alive (a finished call's session, its tasks and audio buffers)."""
    if collect:
        gc.collect()
    return bool(_libc is not None and _libc.malloc_trim(0))
