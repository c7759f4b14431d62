"""Giving a large plan's memory back to the operating system once it is answered."""

from __future__ import annotations

import ctypes
import functools
import gc
from collections.abc import Callable

import trio

#: Plans of at least this many tasks give the memory their run freed back to the OS once answered
#: (see :func:`give_back_memory`); a smaller plan frees too little to be worth the milliseconds.
TRIM_AFTER = 1000

#: Seconds from a large plan's answer to giving memory back: time for the SDK to write the answer.
TRIM_DELAY = 1.0


def _find_malloc_trim() -> Callable[[], object] | None:
    """glibc's ``malloc_trim(0)``, through ctypes; None where the C library has none (musl, macOS, Windows)."""
    try:
        trim = ctypes.CDLL("libc.so.6").malloc_trim
    except (OSError, AttributeError):
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return functools.partial(trim, 0)


#: Gives the memory the process freed back to the OS, or None (see :func:`give_back_memory`).
_malloc_trim = _find_malloc_trim()


async def give_back_memory() -> None:
    """Once a large plan's answer is written, give the memory it freed back to the OS, where glibc can.

    A large plan's run and answer are many small objects; freed, glibc keeps
    their pages in its heap for the next ``malloc``, and the gateway's
    resident memory stays near its peak for as long as it runs (hundreds of MB
    after 100,000 tasks, issue 25). ``malloc_trim(0)`` returns every free page
    to the OS: the well-known remedy, and glibc's own call for it; Python has
    none. It takes milliseconds, so it runs in a worker thread (ctypes lets go of
    the GIL), after :data:`TRIM_DELAY` seconds, so that the copies the SDK makes
    while writing the answer are freed too.
    """
    await trio.sleep(TRIM_DELAY)
    # A full collection also empties the interpreter's free lists (of floats, tuples, dicts...), whose
    # blocks keep the allocator's arenas: 16 MB more was kept after a 20,000-task plan without it.
    gc.collect()
    if _malloc_trim is not None:
        await trio.to_thread.run_sync(_malloc_trim)
