"""A stdio server's processes: its exit, and stopping it with everything it started.

The process tree comes from psutil, which works where there is no ``/proc``
(macOS) and checks, before each signal, that a pid was not reused by another
process since it was found.
"""

from __future__ import annotations

import os
import signal
from contextlib import suppress

import psutil
import trio

#: Seconds each step of stopping a server gets: to exit once its stdin closed, then
#: after SIGTERM; and for what it left behind, after SIGTERM.
GRACE = 2.0

#: Windows has neither process groups to signal nor SIGKILL: there a server's
#: process alone is stopped (terminated), and what it started is not looked for.
_SIGKILL: int = getattr(signal, "SIGKILL", signal.SIGTERM)


def _descendants(pid: int) -> list[psutil.Process]:
    """The processes below ``pid`` in the process tree (each remembers its start, against pid reuse)."""
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.Error:
        return []


def _alive(process: psutil.Process) -> bool:
    """Whether ``process`` still runs: its pid not reused, and not a zombie (dead, waiting to be reaped)."""
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def _group_alive(group: int) -> bool:
    """Whether any live process is in process group ``group``."""
    for process in psutil.process_iter():
        with suppress(psutil.Error, OSError):
            if os.getpgid(process.pid) == group and _alive(process):
                return True
    return False


def _signal_leftovers(group: int, strays: list[psutil.Process], sig: int) -> bool:
    """Send ``sig`` to what a server left: its process group, and the strays still alive.

    Returns:
        Whether any live process got it (``sig`` 0 only asks).
    """
    sent = _group_alive(group) and (sig == 0 or _signal_group(group, sig))
    for stray in strays:
        if _alive(stray):
            if sig:
                with suppress(psutil.Error):
                    stray.send_signal(sig)  # psutil checks again that the pid was not reused
            sent = True
    return sent


def _signal_group(group: int, sig: int) -> bool:
    """Send ``sig`` to a process group; whether it reached any process."""
    killpg = getattr(os, "killpg", None)  # not on Windows
    if killpg is None:
        return False
    try:
        killpg(group, sig)
    except OSError:
        return False
    return True


def exit_status(process: trio.Process) -> int | None:
    """The server's exit status (as ``returncode``), or None while it runs; without reaping it.

    While the server is not reaped, its pid -- the id of its process group --
    cannot be reused, so signalling the group reaches no stranger. Where
    ``os.waitid`` is missing (macOS), this reaps, as ``returncode`` does.
    """
    waitid = getattr(os, "waitid", None)
    if waitid is None:
        return process.returncode
    try:
        status = waitid(os.P_PID, process.pid, os.WEXITED | os.WNOWAIT | os.WNOHANG)
    except ChildProcessError:  # reaped already
        return process.returncode
    if status is None:
        return None
    return int(status.si_status) if status.si_code == os.CLD_EXITED else -int(status.si_status)


async def exits_within(process: trio.Process, seconds: float) -> bool:
    """Whether the server exits within ``seconds``; it is not reaped (see :func:`exit_status`)."""
    with trio.move_on_after(seconds):
        while exit_status(process) is None:
            await trio.sleep(0.02)
        return True
    return False


def exit_cause(process: trio.Process) -> str:
    """How the server ended, in words."""
    code = exit_status(process)
    if code is None:
        return "it closed its stdout"
    if code < 0:
        return f"it was killed by signal {-code}"
    return f"it exited with code {code}"


async def stop_server(process: trio.Process) -> None:
    """Stop a stdio server, and everything it started; within bounds, so shielded is fine.

    The MCP spec's order: its stdin closes, it gets :data:`GRACE` seconds to
    exit, then SIGTERM, then SIGKILL (to its process group: it was started in
    a session of its own). Then what it left behind, which the SDK stops only
    when the server overstays its grace: every live process of its process
    group, and every process that was below it in the process tree as its
    stdin closed (so also those that left its group), gets SIGTERM, and
    SIGKILL :data:`GRACE` seconds later; and it is waited for.
    """
    strays = _descendants(process.pid) if exit_status(process) is None else []
    if process.stdin is not None:
        await process.stdin.aclose()
    if not await exits_within(process, GRACE):
        if not _signal_group(process.pid, signal.SIGTERM):
            process.terminate()
        if not await exits_within(process, GRACE):
            process.kill()
            _signal_group(process.pid, _SIGKILL)
            await exits_within(process, GRACE)
    if hasattr(os, "killpg"):
        await _stop_leftovers(process.pid, strays)
    with trio.move_on_after(GRACE):  # only now: once reaped, its pid may be reused
        await process.wait()


async def _stop_leftovers(group: int, strays: list[psutil.Process]) -> None:
    """SIGTERM to what a server left (see :func:`_signal_leftovers`), SIGKILL after :data:`GRACE` s."""
    if not _signal_leftovers(group, strays, signal.SIGTERM):
        return
    if not await _leftovers_end_within(group, strays, GRACE):
        _signal_leftovers(group, strays, _SIGKILL)
        await _leftovers_end_within(group, strays, GRACE)


async def _leftovers_end_within(group: int, strays: list[psutil.Process], seconds: float) -> bool:
    with trio.move_on_after(seconds):
        while _signal_leftovers(group, strays, 0):
            await trio.sleep(0.05)
        return True
    return False
