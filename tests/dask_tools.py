"""Tools for the Dask tests: importable by the workers (a module, not __main__)."""

from __future__ import annotations

import os
import signal
import time
import uuid
from pathlib import Path


def cpu(n: int) -> int:
    """Pure-Python work: holds the interpreter lock the whole time."""
    total = 0
    for i in range(n):
        total += i * i % 7
    return total


def nap(seconds: float) -> float:
    time.sleep(seconds)
    return seconds


def pid() -> int:
    return os.getpid()


def fail(message: str) -> None:
    raise ValueError(message)


def die_once(marker: str, seconds: float = 0.3) -> str:
    """Kill this worker's process the first time (the marker file does not exist yet)."""
    path = Path(marker)
    if not path.exists():
        path.write_text(str(os.getpid()))
        time.sleep(seconds)
        os.kill(os.getpid(), signal.SIGKILL)
    return f"survived in {os.getpid()}"


def shout(text: str) -> str:
    return text.upper()


def meet(folder: str, size: int, timeout: float = 20.0) -> int:
    """Return this process's pid once ``size`` calls have arrived in ``folder``: proof that calls overlap.

    Each call leaves a file there, then waits for the others'; it fails if they
    are not there within ``timeout`` seconds.
    """
    Path(folder, f"{os.getpid()}-{uuid.uuid4()}").touch()
    deadline = time.monotonic() + timeout
    while (arrived := len(os.listdir(folder))) < size:
        if time.monotonic() > deadline:
            raise TimeoutError(f"only {arrived} of {size} calls met within {timeout:g} s")
        time.sleep(0.01)
    return os.getpid()


TOOLS = {"cpu": cpu, "nap": nap, "pid": pid, "fail": fail, "die_once": die_once, "shout": shout, "meet": meet}
