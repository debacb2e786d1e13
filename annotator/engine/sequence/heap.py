"""Freed heap memory handed back to the OS during long propagations (glibc only).

A propagation frees about as much as it allocates on every frame (the frame, the encoder's
temporaries, the evicted cache entry), but glibc's malloc keeps what is freed inside its heap
whenever a live block (a pointer, a score, a cache entry) sits above it, so resident memory
grew with the sequence while the engine's state did not. Propagating 1,000 frames at 1280x720
with a 256 px model input (``benchmarks/sequence.py``'s memory run), the heap's in-use bytes
stayed at 516 MiB from frame 300 on while its free-but-resident bytes rose from 52 to 144-437
MiB (run to run); peak RSS reached 1.40-1.55x the 50-frame peak, 1.24x with the trim below.
``malloc_trim(0)`` returns the free pages of every arena (a worker thread's too) to the OS;
``MALLOC_ARENA_MAX=1`` did not help, as the bytes were all in the main arena.
"""

from __future__ import annotations

import ctypes
import functools
import os
from collections.abc import Callable

# Frames between trims. A trim takes ~2 ms; the cost is the next frame faulting the released
# pages back in: at 0.13 s a frame (256 px input), 400-frame runs were ~10% slower trimming
# every frame, 2-4% every 8th and 0.5-2.8% every 32nd (1,000-frame A/B runs too), the last with
# the same peak as every 8th (1137-1207 vs 1128-1166 MiB; no trim: 1203-1552 MiB).
TRIM_EVERY = 32


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    """glibc's ``malloc_trim``, or None where the C library is not glibc (macOS, Windows,
    musl), whose allocators need no such call or offer none."""
    try:
        if not (os.confstr("CS_GNU_LIBC_VERSION") or "").startswith("glibc"):
            return None
        trim = ctypes.CDLL(None).malloc_trim
    except (AttributeError, OSError, ValueError):  # no confstr, or a name glibc alone has
        return None
    trim.argtypes, trim.restype = [ctypes.c_size_t], ctypes.c_int
    return trim


def release_free_heap() -> bool:
    """Hand the heap's free pages back to the OS; True if there was anything to hand back
    (always False where the C library is not glibc)."""
    trim = _malloc_trim()
    return bool(trim(0)) if trim is not None else False
