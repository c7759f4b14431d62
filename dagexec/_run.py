"""The run handle: a run under way, to add tasks to, stop, and read the result of.

The executors (:mod:`dagexec._executor`) check a plan and open a run; a
:class:`Run` is what the caller holds while it goes: it adds tasks (checked by
the executor's checks, handed in as ``problems``), turns a stop, a signal or a
cancellation from outside into the driver's stop, and makes the result once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, Protocol

import trio

from ._driver import Driver
from ._errors import CycleError, DuplicateTaskError, JournalError, PlanProblem, UnknownDependencyError, plan_error
from ._results import ExecutionResult, RunProgress, Strategy
from ._signals import SignalStop
from ._workflow import Task, Workflow

__all__ = ["JournalFailedError", "Problems", "Run"]


class JournalFailedError(JournalError):
    """The journal failed while the run was under way (a full disk): the run stopped, and here is its result.

    The run stops as :meth:`Run.stop` stops it (no task starts any more, calls
    under way are cancelled) and raises this once every task has ended. It is
    defined beside the run, not with the other errors, because it carries a
    run's result.

    Attributes:
        path: The journal file, as it was given.
        result: The run's result: every task's final status (the tasks whose
            rows were not written are in it as they ended); its
            ``stop_reason`` says the journal failed.
    """

    def __init__(self, path: str, message: str, *, result: ExecutionResult) -> None:
        super().__init__(path, message)
        self.result = result


class Problems(Protocol):
    """The executor's checks of tasks added to a run: every problem of each, the tasks before known by ``earlier``."""

    def __call__(
        self, tasks: Iterable[Task], *, earlier: Callable[[str], Task | None] | None = None
    ) -> list[PlanProblem]: ...


class Run:
    """A run under way: add tasks, stop it, and read its result once its block is left.

    Made by :meth:`EagerExecutor.open_run` (or :meth:`LayeredExecutor.open_run <dagexec.LayeredExecutor.open_run>`).
    """

    def __init__(self, driver: Driver, workflow: Workflow | None, *, problems: Problems, strategy: Strategy) -> None:
        self._problems = problems
        self._strategy = strategy
        self._driver = driver
        self._workflow = workflow
        self._result: ExecutionResult | None = None
        trace = driver.trace
        if trace is not None:  # the run's span ends with the run's result, made once when the run ends
            driver.on_end = lambda: trace.end(self.result)

    def add(self, task: Task | Mapping[str, Any]) -> Task:
        """Add a task (a :class:`Task`, or its dict as in a workflow file).

        It may depend on, and refer to, only tasks added before it, so a streamed
        plan can never form a cycle. A task added after one of its dependencies
        failed is reported skipped at once; one added after the run was stopped,
        cancelled at once.

        Returns:
            The task, checked.

        Raises:
            PlanError: The task is invalid alone or against the run: every
                problem of it in one report (its shape, a repeated id, unknown
                dependencies, its server or tool, arguments that do not fit
                its tool's schemas); the run and its other tasks go on
                untouched.
            RuntimeError: The run's block was left.
        """
        driver = self._driver
        if driver.closed:
            raise RuntimeError("the run is closed: add tasks inside its async with block")
        if not isinstance(task, Task):
            task = Task.from_dict(task)
        core = driver.core
        problems = self._problems((task,), earlier=core.task_of)
        if not problems:
            try:
                driver.add(task)  # the core checks the task's id and dependencies as it adds it
            except (DuplicateTaskError, CycleError, UnknownDependencyError):
                pass  # refused, and nothing changed: reported below with every other problem of the task
            else:
                return task
        raise plan_error(core.problems(task) + problems)

    def stop(self, reason: str = "the run was stopped") -> None:
        """Stop the run: cancel every call under way and start no other task.

        Every unfinished task ends ``cancelled`` with the message
        ``"cancelled: <reason>"``; leaving the block then returns normally, and
        :attr:`result` holds every task. Call it from any trio task of the run's
        trio run (a signal, see :meth:`stop_on_signals`; a client's
        cancellation, see :meth:`stop_when_cancelled`); a no-op once the run
        was stopped, or has ended.
        """
        if self._driver.core.ended_at is None:
            self._driver.stop(reason)

    async def stop_when_cancelled(self, reason: str) -> None:
        """Wait until cancelled, then stop the run with ``reason`` (unless it has ended): start it in a nursery.

        The one way a cancellation from outside becomes :meth:`stop`: a caller
        that shields its run, so that every task still ends with its final
        status and reports it (a gateway whose client cancelled its request),
        starts this in a nursery that the outside cancellation reaches, and
        cancels that nursery once the run has ended. Cancelled before it
        starts, it stops the run at once.
        """
        try:
            await trio.sleep_forever()
        finally:
            self.stop(reason)

    def stop_on_signals(self, signals: SignalStop, *, also: Callable[[str], None] | None = None) -> None:
        """From now until the run ends, a first SIGINT or SIGTERM stops it (:meth:`stop`, ``"interrupted by SIGINT"``).

        The one way a signal becomes :meth:`stop`, beside :meth:`stop_when_cancelled`
        for a cancellation: ``signals`` comes from :func:`~dagexec.open_signal_stop`,
        whose block a second signal ends at once. A first signal after the run
        ended is only recorded (``signals.signals``)::

            async with open_signal_stop() as signals:
                async with executor.open_run(workflow) as run:
                    run.stop_on_signals(signals)
            print(run.result.stop_reason)  # "interrupted by SIGINT", after a Ctrl-C

        Args:
            signals: The watch of :func:`~dagexec.open_signal_stop` around the run.
            also: Called with the same reason when a signal stops the run, just
                before the stop (a command's message, the reader of a streamed
                plan cancelled).
        """

        def stop(reason: str) -> None:
            if self._driver.core.ended_at is None:
                if also is not None:
                    also(reason)
                self.stop(reason)

        signals.stop_with(stop)

    @property
    def progress(self) -> RunProgress:
        """Where the run stands now, as its core counts tasks by status and those under way.

        A snapshot, made when read: read it when an event comes (``on_event``)
        to show a run's progress; at most the first 8 ids under way are listed.
        """
        return self._driver.core.progress()

    @property
    def result(self) -> ExecutionResult:
        """The full result, once the block is left.

        Raises:
            RuntimeError: The block has not been left yet.
        """
        if self._result is None:
            driver = self._driver
            if driver.core.ended_at is None:
                raise RuntimeError("the run's result is ready once its async with block is left")
            records = driver.core.records
            workflow = self._workflow
            if workflow is None or len(records) != len(workflow.tasks):  # tasks were added
                known = workflow.tasks if workflow is not None else ()
                known_ids = {t.id for t in known}
                added = [r.task for tid, r in records.items() if tid not in known_ids]
                workflow = Workflow(tasks=(*known, *added))
            core = driver.core
            assert core.ended_at is not None  # closed, and no task unfinished: the driver ended it
            self._result = ExecutionResult(
                workflow=workflow,
                results=core.results([t.id for t in workflow.tasks]),
                wall_time=core.ended_at,
                strategy=self._strategy,
                counts=core.counts,
                stop_reason=core.stop_reason,
            )
        return self._result
