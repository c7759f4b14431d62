"""SIGINT and SIGTERM as stops of runs: the one watcher the command line and the gateway share.

A program that runs workflows wants the first Ctrl-C (or ``kill``) to stop the
run under way the way :meth:`Run.stop <dagexec.Run.stop>` does, so that every
task ends ``cancelled`` with the signal named and the result is still printed,
and a second one to end at once. :func:`open_signal_stop` watches both signals
for a block; a run made inside it that should be stopped by them says so with
:meth:`Run.stop_on_signals <dagexec.Run.stop_on_signals>`.
"""

from __future__ import annotations

import signal
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from types import FrameType

import trio

__all__ = ["SignalStop", "open_signal_stop"]

#: The signals a :class:`SignalStop` watches.
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class SignalStop:
    """What SIGINT and SIGTERM do inside :func:`open_signal_stop`'s block.

    The first signal calls the stop of the run that watches it
    (:meth:`Run.stop_on_signals <dagexec.Run.stop_on_signals>`), with the reason
    ``"interrupted by SIGINT"`` (or ``SIGTERM``). A first signal before any run
    watched, or a second signal, cancels :attr:`scope`: the block ends at once.
    A first signal after a run watched and ended is only recorded in
    :attr:`signals`, for the caller to start no other run (and to exit with it).
    """

    def __init__(self) -> None:
        #: Every signal received, in order (the first decides a command's exit status).
        self.signals: list[signal.Signals] = []
        #: The scope of the block, cancelled to end it at once.
        self.scope = trio.CancelScope()
        self._stop: Callable[[str], None] | None = None
        self._ran = False

    @property
    def first(self) -> signal.Signals | None:
        """The first signal received, if any."""
        return self.signals[0] if self.signals else None

    @property
    def ran(self) -> bool:
        """Whether a run has watched the signals (a first signal no longer ends the block)."""
        return self._ran

    def stop_with(self, stop: Callable[[str], None]) -> None:
        """From now on, the first signal calls ``stop(reason)`` rather than cancelling the block.

        :meth:`Run.stop_on_signals <dagexec.Run.stop_on_signals>` is the way to use it; a
        later call replaces an earlier one (a command's next run).
        """
        self._stop, self._ran = stop, True

    def received(self, signum: int) -> None:
        """Act on one signal, as the class says."""
        self.signals.append(signal.Signals(signum))
        if len(self.signals) > 1 or not self._ran:
            self.scope.cancel()
        elif self._stop is not None:
            self._stop(f"interrupted by {self.signals[0].name}")
        # Else a run has ended: the caller starts no other, and its exit status says so.


@contextmanager
def _recording(signals: list[int]) -> Iterator[None]:
    """Record SIGINT and SIGTERM that come outside trio's signal receiver (just before or after it).

    Hand-written because trio's receiver only exists while it is open: a signal
    in the instants around it would otherwise be a ``KeyboardInterrupt`` (or
    kill the process, for SIGTERM) rather than a stop.
    """

    def record(signum: int, frame: FrameType | None) -> None:
        signals.append(signum)

    previous = {s: signal.signal(s, record) for s in STOP_SIGNALS}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


@asynccontextmanager
async def open_signal_stop() -> AsyncIterator[SignalStop]:
    """Watch SIGINT and SIGTERM for the block: the first stops the watching run, a second ends the block.

    The block runs inside :attr:`SignalStop.scope`; leaving it (at once, when
    the scope is cancelled) stops the watch. Signals that come just before the
    watch starts or just as it ends are counted too, so
    :attr:`SignalStop.signals` holds every one the block saw. Call it from the
    main thread of a trio run.

    Yields:
        The :class:`SignalStop`.
    """
    stop = SignalStop()
    outside: list[int] = []
    with _recording(outside), trio.open_signal_receiver(*STOP_SIGNALS) as receiver:
        for signum in outside:  # came before the receiver was there
            stop.received(signum)
        outside.clear()
        async with trio.open_nursery() as nursery:

            async def watch() -> None:
                async for signum in receiver:
                    stop.received(signum)

            nursery.start_soon(watch)
            with stop.scope:
                yield stop
            nursery.cancel_scope.cancel()
    # Signals that came as the receiver closed were delivered to the recorder.
    stop.signals += [signal.Signals(s) for s in outside]
