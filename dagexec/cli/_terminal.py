"""The terminal a command runs at: its consoles, standard input, signals and the echo of what is typed.

Exit status 128 + the signal's number (130 for SIGINT, 143 for SIGTERM) comes
from :func:`interruptible`; see :class:`Interruption`. A command whose standard
output's reader went away (``| head``) exits :data:`CLOSED_OUTPUT`.
"""

from __future__ import annotations

import argparse
import errno
import functools
import os
import signal
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from typing import IO, Any

import trio
from rich.console import Console

from dagexec import EagerExecutor, EventHandler, LayeredExecutor, Run, SignalStop, Workflow, open_signal_stop

#: Standard input's file descriptor: plans and answers are read from it directly (by dagexec._lines.LineReader).
STDIN = 0


#: The exit status of a command whose standard output was closed by its reader (``dagexec tools | head -1``):
#: 128 + SIGPIPE's number, as a shell reports a process that SIGPIPE ended.
CLOSED_OUTPUT = 141


def close_stream(stream: IO[str]) -> None:
    """Point ``stream``'s descriptor at the null device: its reader has gone.

    What is still to be written, the interpreter's last flush included, then
    goes nowhere, rather than failing again (Python's own advice for SIGPIPE).
    """
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, stream.fileno())
    os.close(null)


class _Console(Console):
    """rich's console, whose stream's reader going away is a :class:`BrokenPipeError`.

    rich ends the process there with ``SystemExit(1)``, which would be exit
    status 1 (some task failed) or an internal error; :func:`~dagexec.cli._parser.main`
    turns a broken pipe into :data:`CLOSED_OUTPUT`.
    """

    def on_broken_pipe(self) -> None:
        self.quiet = True
        close_stream(self.file)
        raise BrokenPipeError(errno.EPIPE, os.strerror(errno.EPIPE))


def make_console(*, stderr: bool = False) -> Console:
    """A console on stdout (or stderr): on a terminal, its width; piped, lines as long as they are.

    Piped to a file or another program, text is not wrapped at all (rich would
    wrap at 80 columns), and a table is as wide as its widest row needs.
    """
    stream = sys.stderr if stderr else sys.stdout
    if stream.isatty():
        return _Console(stderr=stderr)
    return _Console(stderr=stderr, width=100_000, soft_wrap=True)


class Interruption:
    """What SIGINT (Ctrl-C) and SIGTERM (``kill``, ``timeout``, docker, systemd) do to a command.

    The signals are watched by :func:`dagexec.open_signal_stop`, and the run
    under way turns the first one into :meth:`Run.stop <dagexec.Run.stop>`
    (:meth:`Run.stop_on_signals <dagexec.Run.stop_on_signals>`): every unfinished
    task ends ``cancelled``, and the command still prints every task's status,
    closes its servers and exits 128 + the signal's number (130 for SIGINT, 143
    for SIGTERM). A first signal before any run started, or a second one while
    stopping, ends the command at once: its servers are still closed, but
    nothing more is printed. This class adds only what the command says.
    """

    def __init__(self, signals: SignalStop) -> None:
        self._signals = signals

    @property
    def signal(self) -> signal.Signals | None:
        """The first signal received, if any: it decides the exit status."""
        return self._signals.first

    @asynccontextmanager
    async def open_run(
        self,
        executor: EagerExecutor | LayeredExecutor,
        workflow: Workflow | None = None,
        *,
        timeout: float | None = None,
        on_event: EventHandler | None = None,
        options: Mapping[str, Any] | None = None,
    ) -> AsyncIterator[Run]:
        """``executor.open_run(...)``, stopped by a signal; the block is cancelled too, quietly.

        ``options`` holds more of ``open_run``'s (the journal's ``run_name``).
        """
        async with executor.open_run(workflow, timeout=timeout, on_event=on_event, **(options or {})) as run:
            with trio.CancelScope() as block:

                def stopped(reason: str) -> None:
                    name = self._signals.signals[0].name
                    make_console(stderr=True).print(
                        f"{name} received: stopping the run (a second signal ends at once)", highlight=False
                    )
                    block.cancel()  # a streamed plan: stop reading it

                run.stop_on_signals(self._signals, also=stopped)
                yield run

    def describe(self) -> str:
        """The line that says how the command was interrupted."""
        signals = self._signals.signals
        names = ", then ".join(s.name for s in signals)
        if len(signals) > 1:
            return f"interrupted by {names}: stopped at once, the servers closed"
        if not self._signals.ran:
            return f"interrupted by {names} before the run started"
        return f"interrupted by {names}: the run was stopped and its servers closed"


def interruptible(
    command: Callable[[argparse.Namespace, Console, Interruption], Awaitable[int]],
) -> Callable[[argparse.Namespace, Console], Awaitable[int]]:
    """Run ``command`` inside :func:`dagexec.open_signal_stop` with its :class:`Interruption`; exit 128 + the signal."""

    @functools.wraps(command)
    async def run(args: argparse.Namespace, console: Console) -> int:
        code: int | None = None
        async with open_signal_stop() as signals:
            interruption = Interruption(signals)
            code = await command(args, console, interruption)
        if interruption.signal is None:
            assert code is not None
            return code
        make_console(stderr=True).print(interruption.describe(), highlight=False)
        return 128 + interruption.signal.value

    return run


@contextmanager
def echo_off(hidden: bool) -> Iterator[None]:
    """The terminal on standard input does not echo what is typed, if ``hidden`` (and it can be told)."""
    try:
        import termios
    except ImportError:  # no termios (Windows): the answer shows
        hidden = False
    if not hidden:
        yield
        return
    shown = termios.tcgetattr(STDIN)
    termios.tcsetattr(STDIN, termios.TCSADRAIN, [*shown[:3], shown[3] & ~termios.ECHO, *shown[4:]])
    try:
        yield
    finally:
        termios.tcsetattr(STDIN, termios.TCSADRAIN, shown)
