"""The trio drivers: every await of a run, between its pure core and the world.

A driver owns the trio side of one run: the nursery its tasks run in, the cancel
scope a stop cancels, the deadline, and one trio task per task that is under way.
That trio task does what the task's :class:`~dagexec._core.Phase` says (ask the
approver, call the tool, sleep before a retry, write the journal row), tells the
core what happened, and goes on while the phase asks for it. Everything else is
the core's decision; the driver only moves events between the two.

Eager and layered runs differ in one thing, their loop: the eager driver starts
every task the moment the core hands it out as ready, from inside the task that
finished last; the layered driver starts the ready tasks one generation at a time
and waits for all of them before the next.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Mapping
from typing import Any

import trio

from ._core import APPROVE, BACKOFF, CALL, RECORD, RunCore, Slots, TaskRecord
from ._errors import JournalError
from ._events import EventHandler
from ._journal import Journal
from ._tools import ToolServer
from ._tracing import RunTrace
from ._workflow import Task

# A tuple, not a set: `in` compares enum members by identity, and hashing them is slow.
_TRIO_TASK_PHASES = (CALL, APPROVE, BACKOFF, RECORD)


class Driver:
    """Runs one run's tasks in trio, as its :class:`~dagexec._core.RunCore` decides.

    Args:
        core: The run's core; the driver becomes its ``owner``.
        servers: Tool servers by name.
        slots: The concurrency limits the core pushes calls to, or None.
        journal: The open journal, for cores that record to one.
        on_event: Called with each event the core reports.
        trace: The run's spans, when it is traced (the core then reports events).
    """

    def __init__(
        self,
        core: RunCore,
        *,
        servers: Mapping[str, ToolServer],
        slots: Slots | None,
        journal: Journal | None,
        on_event: EventHandler | None,
        trace: RunTrace | None = None,
    ) -> None:
        self.core = core
        core.owner = self  # calls of this run that get a slot come back to it
        self.servers = servers
        self.slots = slots
        self.approve = core.options.approve
        self.journal = journal
        self.on_event = on_event
        self.trace = trace
        self.clock = trio.lowlevel.current_clock()
        self.started = self.clock.current_time()
        #: Cancelled by a stop: every trio task of the run runs inside it.
        self.scope = trio.CancelScope()
        self.nursery: trio.Nursery | None = None
        self.closed = False
        #: What ``on_event`` raised, or the journal's first failure to write: the run stopped,
        #: and raises it at its end.
        self.failure: Exception | None = None
        #: Called once, when the run has ended (its core knows when).
        self.on_end: Callable[[], object] | None = None
        self._quiet = trio.Event()  # closed, and every task finished
        self._deadline = trio.CancelScope()
        # Tasks start in the context of the run's opening, not of the task that
        # made them ready (trio copies the spawning task's context).
        self._context = contextvars.copy_context()

    def now(self) -> float:
        """Seconds since the run started."""
        return self.clock.current_time() - self.started

    # -- what the run's owner calls --------------------------------------------------------

    def add(self, task: Task) -> None:
        """Add a task to the core, and start what is ready.

        Raises:
            WorkflowError: The core refused the task (see ``RunCore.add``); nothing changed.
        """
        now = self.now()
        self.core.add(task, now)
        self.advance(now)

    def stop(self, reason: str) -> None:
        """Stop the run: the core ends what waits, and every trio task is cancelled."""
        now = self.now()
        self.core.stop(reason, now)
        self.advance(now)

    async def start(self, nursery: trio.Nursery) -> None:
        """Start what the run needs in ``nursery`` before tasks are added (the eager driver: its host)."""

    async def watch_deadline(self, timeout: float) -> None:
        """Stop the run when ``timeout`` seconds have passed since it started."""
        with self._deadline:
            await trio.sleep_until(self.started + timeout)
            self.stop(f"the run's deadline of {timeout:g} s passed")

    async def close(self) -> None:
        """No task will be added any more: wait until every task has finished.

        Then no call of the run waits for a slot, and the core no longer
        names this driver as its owner: the two held each other, so that the
        run's records lived until Python's next full collection rather than
        going as soon as the run is dropped.
        """
        self.closed = True
        self.advance()
        await self._quiet.wait()
        self.core.owner = None

    # -- after every report ----------------------------------------------------------------

    def advance(self, now: float | None = None) -> None:
        """Start what the core made ready, grant free slots, hand on events, act on a stop.

        Args:
            now: The time of the report just made, if the caller has it (else read here, if needed).
        """
        core = self.core
        if core.ready:
            self.start_ready(self.now() if now is None else now)
        if self.slots is not None:
            for owner, record in self.slots.grant():
                owner.granted(record)
        if core.events:
            self.deliver_events()
        if core.stop_reason is not None:
            self.scope.cancel()
        if self.closed and not core.unfinished and core.ended_at is None:
            core.end(self.now())
            self._deadline.cancel()
            self._quiet.set()
            if self.on_end is not None:
                self.on_end()

    def deliver_events(self) -> None:
        """Hand the core's events to the trace and ``on_event``; if ``on_event`` raises, stop the run.

        The exception is kept in :attr:`failure` (the run raises it once every
        task has ended), and no further event is handed to the failed callback.
        """
        core = self.core
        events, core.events = core.events, []
        assert events is not None  # called only when the core collects events
        if self.trace is not None:
            self.trace.events(events, self.now())
        if self.failure is not None or self.on_event is None or not events:
            return
        try:
            for event in events:
                self.on_event(event)
        except Exception as exc:
            self.failure = exc
            core.stop(f"on_event raised {type(exc).__name__}: {exc}", self.now())
            stopped, core.events = core.events, []  # the callback failed: nothing more goes to it
            if self.trace is not None and stopped:
                self.trace.events(stopped, self.now())

    def start_ready(self, now: float) -> None:
        """Begin the tasks the core made ready (the eager driver: all of them, at once)."""

    def begin(self, records: list[TaskRecord], now: float) -> None:
        """Begin each task; start a trio task for those that ask or call now."""
        core = self.core
        for record in records:
            core.begin(record, now)
            if record.phase in _TRIO_TASK_PHASES:
                self.spawn(record)

    def granted(self, record: TaskRecord) -> None:
        """The slots admitted the next call of ``record`` (one of this run's tasks)."""
        self.core.granted(record, self.now())
        self.spawn(record)

    def spawn(self, record: TaskRecord) -> None:
        """Start the trio task that takes ``record`` through its phases."""
        assert self.nursery is not None
        self._context.run(self.nursery.start_soon, self.run_task if self.trace is None else self.run_traced, record)

    # -- one task ----------------------------------------------------------------------------

    async def run_traced(self, record: TaskRecord) -> None:
        """:meth:`run_task` with the task's span current: what the approver and the tool trace nests under it."""
        trace = self.trace
        assert trace is not None
        token = trace.attach(record)
        try:
            await self.run_task(record)
        finally:
            trace.detach(token)

    async def run_task(self, record: TaskRecord) -> None:
        """Take a task through its phases, until it waits for a slot or is done."""
        core = self.core
        try:
            phase = record.phase
            while phase in _TRIO_TASK_PHASES:
                if phase is CALL:
                    now = await self.call(record)
                elif phase is APPROVE:
                    assert self.approve is not None
                    try:
                        verdict: object = await self.approve(record.task, record.arguments)
                    except Exception as exc:
                        verdict = exc
                    now = self.now()
                    core.approved(record, now, verdict)
                elif phase is BACKOFF:
                    await trio.sleep(record.wait)
                    now = self.now()
                    core.backoff_over(record, now)
                else:  # RECORD: once the call ended, its row is written whatever happens
                    assert self.journal is not None
                    with trio.CancelScope(shield=True):
                        row = core.journal_row(record)
                        try:
                            await self.journal.record(
                                row.task_id, row.tool, row.digest, row.status, row.output, self.now(),
                                started=row.started, error=row.error,
                            )  # fmt: skip
                        except JournalError as exc:  # a full disk: the run stops, and raises it at its end
                            self.failure = self.failure or exc
                            self.stop(f"the journal failed: {exc}")
                    now = self.now()
                    core.recorded(record, now)  # the task ended as its call did, its row written or not
                phase = record.phase  # read first: a slot granted in advance() goes to a new trio task
                self.advance(now)
        except trio.Cancelled:
            if core.stop_reason is None:  # not our stop: the caller's own cancellation
                core.stop("the run was cancelled", self.now())
            core.interrupted(record, self.now())
            self.advance()
            raise

    async def call(self, record: TaskRecord) -> float:
        """One call of the task's tool, within its timeout; returns the time its end was reported."""
        core, task = self.core, record.task
        server = self.servers[task.server]
        timeout = core.call_timeout(task)
        # A call granted in the instant the run was stopped or cancelled must not start:
        # its trio task may be new, and a tool need not reach a checkpoint before acting.
        await trio.lowlevel.checkpoint_if_cancelled()
        core.call_started(record, self.now())
        if core.events:
            self.deliver_events()  # TaskStarted goes out before the call
            await trio.lowlevel.checkpoint_if_cancelled()  # in case on_event stopped the run
        try:
            if timeout is None:
                output = await server.call_tool(task.tool_name, record.arguments)
            else:
                with trio.move_on_after(timeout) as limit:
                    output = await server.call_tool(task.tool_name, record.arguments)
                if limit.cancelled_caught:
                    now = self.now()
                    core.call_timed_out(record, now)
                    return now
        except (Exception, SystemExit, GeneratorExit) as exc:  # a tool's failure is data, whatever it raised
            now = self.now()
            core.call_ended(record, now, None, exc)
            return now
        now = self.now()
        core.call_ended(record, now, output, None)
        return now


class EagerDriver(Driver):
    """Starts each task the moment it is ready; its tasks run while the run takes more."""

    def start_ready(self, now: float) -> None:
        """Begin every ready task, and those that became ready meanwhile, at once."""
        core = self.core
        while core.ready:
            self.begin(core.take_ready(), now)

    async def start(self, nursery: trio.Nursery) -> None:
        """Start the host of the run's tasks in ``nursery``: they run while the run takes more."""
        await nursery.start(self.host)

    async def host(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Hold the nursery the run's tasks run in, until the run is closed and quiet."""
        with self.scope:
            async with trio.open_nursery() as nursery:
                self.nursery = nursery
                task_status.started()
                await self._quiet.wait()


class LayeredDriver(Driver):
    """Runs the ready tasks one generation at a time, with a barrier after each.

    Tasks start when the run is closed: the layers run in :meth:`close`.
    """

    def __init__(self, core: RunCore, **kwargs: Any) -> None:
        super().__init__(core, **kwargs)
        self._barrier = trio.Event()

    def advance(self, now: float | None = None) -> None:
        """As for every driver; and once no task of the layer is unfinished, the barrier opens."""
        super().advance(now)
        if not self.core.in_flight:
            self._barrier.set()

    async def close(self) -> None:
        """Run the tasks added, layer by layer: each layer's tasks, then a barrier."""
        core = self.core
        with self.scope:
            while core.stop_reason is None and (layer := core.take_ready()):
                async with trio.open_nursery() as nursery:
                    self.nursery = nursery
                    self._barrier = trio.Event()
                    now = self.now()
                    self.begin(layer, now)
                    self.advance(now)
                    await self._barrier.wait()  # tasks waiting for a slot have no trio task
        await super().close()
