"""The executors users hold: their options, the checks before a run, and opening a run (held as a :mod:`~dagexec._run`).

:class:`EagerExecutor` is the product; :class:`LayeredExecutor` is the layer by
layer baseline it is measured against. A run is a :class:`~dagexec._core.RunCore`
(every decision) moved by a :mod:`~dagexec._driver` (every await); the two
executors differ only in their driver.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from contextlib import asynccontextmanager
from typing import Any, ClassVar, Self

import trio
from opentelemetry.trace import TracerProvider

from ._core import Rank, RunCore, Slots
from ._core.options import Approver, ExecutorOptions, Priority
from ._driver import Driver, EagerDriver, LayeredDriver
from ._errors import JournalError, PlanProblem, plan_error
from ._events import EventHandler
from ._journal import DEFAULT_RUN_NAME, Journal, check_run_name
from ._results import ExecutionResult, Strategy
from ._run import JournalFailedError, Run
from ._schemas import SchemaCheck
from ._suggest import close_names, did_you_mean, listing
from ._tools import ListsSchemas, ListsTools, ToolServer
from ._tracing import RunTrace, tracer_for
from ._workflow import Task, Workflow, parse_json, read_plan


def _by_task(problems: list[PlanProblem], data: Any) -> list[PlanProblem]:
    """Problems with each task's together, in the plan's order of tasks (plan-wide ones first)."""
    first: dict[str, int] = {}
    tasks = data.get("tasks") if isinstance(data, Mapping) else None
    for index, item in enumerate(tasks if isinstance(tasks, list) else ()):
        task_id = item.get("id") if isinstance(item, Mapping) else None
        if isinstance(task_id, str):
            first.setdefault(task_id, index)

    def place(problem: PlanProblem) -> int:
        if problem.index is not None:
            return problem.index
        return first.get(problem.task_id, -1) if problem.task_id is not None else -1

    return sorted(problems, key=place)


__all__ = ["Approver", "EagerExecutor", "ExecutorOptions", "LayeredExecutor", "Priority"]

class _Executor:
    """What both executors share: the servers, the options and the slots."""

    strategy: ClassVar[Strategy]
    _driver: ClassVar[type[Driver]]

    def __init__(
        self,
        servers: Mapping[str, ToolServer],
        *,
        max_concurrency: int | None = None,
        server_limits: Mapping[str, int] | None = None,
        task_timeout: float | None = None,
        retries: int = 0,
        retry_delay: float = 0.5,
        retry_max_delay: float = 30.0,
        retry_jitter: float = 0.5,
        fail_fast: bool = False,
        priority: Priority = "critical_path",
        approve: Approver | None = None,
        approve_all: bool = False,
        journal: str | os.PathLike[str] | None = None,
        tracer_provider: TracerProvider | None = None,
        check_schemas: bool = True,
        check_budget: float | None = 2.0,
    ) -> None:
        """Set up an executor; every option after ``servers`` is keyword-only.

        Args:
            servers: Tool servers, keyed by the server part of each task's ``tool``.
            max_concurrency: At most this many tool calls in flight at once (None:
                no limit), over every run of this executor.
            server_limits: At most ``n`` calls in flight at once on server
                ``name``, over every run of this executor.
            task_timeout: Seconds each call of a task may take before it fails with
                ``timeout``; a task's own ``timeout`` overrides it. None: no limit.
            retries: Extra calls after a failed one (``tool_error``,
                ``server_error`` or ``timeout``; never after ``reference_error``,
                ``invalid_arguments`` or ``unknown_tool``); a task's own ``retries``
                overrides it.
            retry_delay: Seconds before the first retry; it doubles for each next
                one, up to ``retry_max_delay``.
            retry_max_delay: The longest delay between two calls of a task.
            retry_jitter: Each delay is multiplied by a random factor between
                ``1 - retry_jitter`` and 1, so that retries of many tasks spread out.
            fail_fast: On the first task that fails, cancel every running task and
                start no other: they end ``cancelled``, with a message naming it.
            priority: How tasks waiting for a slot are ranked: ``"critical_path"``
                (longest remaining path of ``estimate`` first, then workflow order)
                or ``"fifo"`` (first come, first served: for comparison).
            approve: An async callable given each task that needs approval and its
                resolved arguments, before its call: ``True`` lets the call go
                ahead; ``False`` or a reason (a string) refuses it, and so does an
                approver that raises. A refused task ends ``skipped`` with code
                ``rejected``, and its descendants are skipped. Waiting for it holds
                no concurrency slot.
            approve_all: Ask ``approve`` for every task, not only those with
                ``"approval": true``.
            journal: A path to a SQLite file that records each finished task,
                under the run's name (``run_name`` of :meth:`execute`). A run of
                the same name with the same journal reuses the output of every
                task that already succeeded with the same id, tool and resolved
                arguments (``TaskResult.reused``), and runs the rest. Each run
                opens it before any call, and fails if it cannot be written or is
                in use (:class:`~dagexec.JournalError`).
            tracer_provider: The OpenTelemetry tracer provider each run makes
                its spans with (a span per run, one per task); None: the global
                one. Without one set, runs make no spans at all.
            check_schemas: Check each task against the schemas its server
                publishes (:class:`~dagexec.ListsSchemas`: MCP servers, and
                :class:`~dagexec.LocalTools` with type hints): the whole plan
                before anything runs, and each task's resolved arguments before
                its call (a mismatch fails the task with ``invalid_arguments``,
                uncalled). False: no check, for servers whose schemas are looser
                than what they accept.
            check_budget: Seconds the schema check of one plan (or of the
                tasks given to :meth:`EagerExecutor.check
                <dagexec.EagerExecutor.check>` at once) may take; a plan whose check
                takes longer is refused (:class:`~dagexec.InvalidArgumentsError`
                naming the task, its argument and its tool). None: no limit.

        Raises:
            ValueError: An option is out of range.
            TypeError: An option is of the wrong type.
        """
        self.options = ExecutorOptions(
            max_concurrency=max_concurrency,
            server_limits=server_limits or {},
            task_timeout=task_timeout,
            retries=retries,
            retry_delay=retry_delay,
            retry_max_delay=retry_max_delay,
            retry_jitter=retry_jitter,
            fail_fast=fail_fast,
            priority=priority,
            approve=approve,
            approve_all=approve_all,
            journal=journal,
            tracer_provider=tracer_provider,
            check_schemas=check_schemas,
            check_budget=check_budget,
        )
        self._setup(servers)

    @classmethod
    def from_options(cls, servers: Mapping[str, ToolServer], options: ExecutorOptions) -> Self:
        """An executor of ``servers`` with ``options``, checked already (the gateway's and the CLI's way)."""
        executor = cls.__new__(cls)
        executor.options = options
        executor._setup(servers)
        return executor

    def _setup(self, servers: Mapping[str, ToolServer]) -> None:
        """What the options and the servers make: the schema checks and the slots every run shares."""
        options = self.options
        self.servers = servers
        self._listed = {name: s.tool_names for name, s in servers.items() if isinstance(s, ListsTools)}
        published = {name: s.tool_schemas for name, s in servers.items() if isinstance(s, ListsSchemas)}
        schemas = SchemaCheck(published) if options.check_schemas else None
        # None when no tool has a schema: then the checks cost nothing at all.
        self._schemas = schemas if schemas else None
        # The concurrency slots every run of this executor shares (None: no limits).
        self._slots = Slots(options.max_concurrency, options.server_limits) if options.limited else None

    def check(self, tasks: Iterable[Task], *, earlier: Callable[[str], Task | None] | None = None) -> None:
        """Check tasks against the executor: servers and tools it has, their schemas, approvals it can give.

        Args:
            tasks: The tasks to check (a workflow's, or one added to a run).
            earlier: Gives the task of an id that a reference names, for tasks
                outside ``tasks`` (those added to a run before); by default,
                references are looked up among ``tasks``.

        Raises:
            PlanError: Every problem of every task, in one report: unknown
                servers and tools (with the names meant, where one is close),
                arguments that do not fit their tools' schemas (unless
                ``check_schemas=False``), approval without an approver. Where
                all are of one kind, the error is :class:`~dagexec.UnknownServerError`,
                :class:`~dagexec.UnknownToolError` or :class:`~dagexec.InvalidArgumentsError`.
        """
        problems = self.problems(tasks, earlier=earlier)
        if problems:
            raise plan_error(problems)

    def problems(
        self,
        tasks: Iterable[Task],
        *,
        earlier: Callable[[str], Task | None] | None = None,
        no_approver: str | None = None,
    ) -> list[PlanProblem]:
        """Every problem of the tasks against the executor, task by task.

        See :meth:`EagerExecutor.check <dagexec.EagerExecutor.check>`, which raises them.

        Args:
            tasks: The tasks to check.
            earlier: As for :meth:`EagerExecutor.check <dagexec.EagerExecutor.check>`.
            no_approver: Why no one can approve calls this time, though the
                executor has an approver (the gateway: the client cannot ask
                its person); each task that would be asked about is then a
                problem. Without an approver, that is always so.
        """
        tasks = list(tasks)
        # Only tasks with a problem get an entry: a run's every Run.add comes here, and most have none.
        found: dict[str, list[PlanProblem]] = {}
        servers, listed = self.servers, self._listed
        for task in tasks:
            server = task.server
            if server not in servers:
                problem = f"unknown server {server!r}{did_you_mean(server, servers)}"
                if servers:
                    problem += f" (servers: {listing(servers)})"
                found.setdefault(task.id, []).append(PlanProblem(task.id, "tool", problem, kind="server", name=server))
            elif server in listed and task.tool_name not in listed[server]:
                names = listed[server]
                close = ", ".join(repr(f"{server}:{name}") for name in close_names(task.tool_name, names))
                problem = f"unknown tool {task.tool!r}" + (f"; did you mean {close}?" if close else "")
                has = f"has: {listing(names)}" if names else "has no tools"
                problem += f" (server {server!r} {has})"
                found.setdefault(task.id, []).append(PlanProblem(task.id, "tool", problem, kind="tool", name=task.tool))
        if self._schemas is not None:
            if earlier is None:
                by_id = {t.id: t for t in tasks}
                earlier = by_id.get
            for argument_problem in self._schemas.plan_problems(tasks, earlier, budget=self.options.check_budget):
                found.setdefault(argument_problem.task_id or "", []).append(argument_problem)
        options = self.options
        if options.approve is None:
            no_approver = "the executor has no approve callable"
        if no_approver is not None:
            for task in tasks:
                if options.asks_about(task):
                    needs = f"the task needs approval, and {no_approver}"
                    found.setdefault(task.id, []).append(PlanProblem(task.id, "approval", needs, kind="approval"))
        if not found:
            return []
        order = dict.fromkeys([t.id for t in tasks])  # task by task, in the order of the tasks
        order.update(dict.fromkeys(found))
        return [problem for task_id in order for problem in found.get(task_id, ())]

    def check_plan(
        self, plan: Workflow | Mapping[str, Any] | str | bytes, *, no_approver: str | None = None
    ) -> Workflow:
        """Read a plan and check it against the executor: every problem in one report, before anything runs.

        Where :meth:`Workflow.from_dict <dagexec.Workflow.from_dict>` stops at the plan's own problems, this
        goes on to check the servers, tools and schemas of every task that is
        well-formed, so that one report names all that must be fixed.

        Args:
            plan: A workflow, its data (``{"tasks": [...]}``), or its JSON text.
            no_approver: Why no one can approve calls this time (see
                :meth:`EagerExecutor.problems <dagexec.EagerExecutor.problems>`).

        Returns:
            The workflow, checked.

        Raises:
            PlanError: Every problem found, task by task (a subclass when all
                are of one kind; see :class:`~dagexec.PlanError`).
        """
        if isinstance(plan, Workflow):
            problems = self.problems(plan.tasks, no_approver=no_approver)
            if problems:
                raise plan_error(problems)
            return plan
        data = parse_json(plan) if isinstance(plan, str | bytes) else plan
        tasks, problems = read_plan(data)
        known = {t.id: t for t in tasks}
        problems += self.problems(tasks, earlier=known.get, no_approver=no_approver)
        if problems:
            raise plan_error(_by_task(problems, data))
        return Workflow(tasks=tasks)

    async def execute(
        self,
        workflow: Workflow,
        *,
        timeout: float | None = None,
        on_event: EventHandler | None = None,
        run_name: str = DEFAULT_RUN_NAME,
    ) -> ExecutionResult:
        """Run ``workflow`` and return every task's result.

        A tool's failure is data in the result. Three things leave as
        exceptions: bad input (before anything runs), the caller's own
        cancellation, and an exception raised by ``on_event`` (which stops the
        run); the last two once every task has ended. This is :meth:`open_run` with the workflow and
        an empty block: use that to stop a run from outside and still get every
        result.

        Args:
            workflow: The workflow to run.
            timeout: A deadline for the whole run, in seconds: when it passes,
                running tasks are cancelled and no other starts; they all end
                ``cancelled``, and the full result is still returned.
            on_event: Called with each :class:`~dagexec.TaskStarted`,
                :class:`~dagexec.TaskRetrying`, :class:`~dagexec.TaskFinished` and
                :class:`~dagexec.TaskSkipped` as it happens, in order. If it
                raises, the run stops (every task ends ``cancelled``, with the
                exception named) and ``execute`` raises that exception as it is.
            run_name: The name the run's tasks are recorded under in the
                executor's ``journal`` (unused without one): a run reuses only
                the rows of its own name, so one journal serves many plans. Give
                each plan its own name, and the same name to the run that resumes
                it.

        Raises:
            PlanError: Tasks name servers or tools the executor does not have,
                their arguments do not fit their tools' schemas, or they need
                approval and there is no approver: every problem in one report
                (see :meth:`EagerExecutor.check <dagexec.EagerExecutor.check>`).
            JournalError: The journal cannot be opened or written (checked
                before any call).
            JournalFailedError: A row cannot be written during the run (a
                full disk): the run stops, and the error, raised once every
                task has ended, holds the run's ``result``.
            JournalInUseError: Another process holds the journal, or another
                run of ``run_name`` in this process does.
            JournalWarning: Where warnings are errors: a row of the journal
                cannot be used (else it is a warning, and its task runs again).
            ValueError: ``timeout`` is not > 0, or ``run_name`` is empty.
            TypeError: ``run_name`` is not a string.
        """
        async with self.open_run(workflow, timeout=timeout, on_event=on_event, run_name=run_name) as run:
            pass
        return run.result

    @asynccontextmanager
    async def open_run(
        self,
        workflow: Workflow | None = None,
        *,
        timeout: float | None = None,
        on_event: EventHandler | None = None,
        run_name: str = DEFAULT_RUN_NAME,
    ) -> AsyncIterator[Run]:
        """Open a run: of ``workflow``, of tasks added while it runs, or both.

        Plans that an LLM streams in can start before the planner is done::

            async with executor.open_run() as run:
                async for task in planner():
                    run.add(task)
            print(run.result.wall_time)

        Leaving the block waits for every task; ``run.result`` then holds the
        full result. :meth:`Run.stop <dagexec.Run.stop>` ends the run early from the block, or from
        any other trio task, and the result still holds every task with its
        final status; a signal (:meth:`Run.stop_on_signals <dagexec.Run.stop_on_signals>`) or a
        cancellation from outside (:meth:`Run.stop_when_cancelled <dagexec.Run.stop_when_cancelled>`)
        becomes that stop.

        An eager run starts each task the moment it is ready, while the block
        runs; a layered run starts its tasks when the block is left. Under
        limits, the workflow's tasks are ranked by their longest remaining path,
        and tasks added later by their own ``estimate`` (their successors are not
        known yet).

        Args:
            workflow: Tasks to run from the start; None: only those added.
            timeout: A deadline for the whole run, as for :meth:`execute`.
            on_event: Called with each event as it happens, as for :meth:`execute`.
            run_name: The run's name in the journal, as for :meth:`execute`.

        Yields:
            The :class:`Run`.

        Raises:
            PlanError: Tasks of ``workflow`` cannot run on this executor: every
                problem in one report (see :meth:`EagerExecutor.check <dagexec.EagerExecutor.check>`).
            JournalError: The journal cannot be opened or written (checked
                before any call).
            JournalFailedError: A row cannot be written during the run (a
                full disk): the run stops, and the error, raised once every
                task has ended, holds the run's ``result``.
            JournalInUseError: Another process holds the journal, or another
                run of ``run_name`` in this process does.
            ValueError: ``timeout`` is not > 0, or ``run_name`` is empty.
            TypeError: ``run_name`` is not a string.
        """
        if timeout is not None and not timeout > 0:
            raise ValueError("timeout must be > 0")
        check_run_name(run_name)
        if workflow is not None:
            self.check(workflow.tasks)
        path = self.options.journal
        journal = await Journal.open(path, run_name) if path is not None else None
        try:
            async with trio.open_nursery() as nursery:
                driver = self._open_driver(workflow, journal, on_event, run_name)
                run = Run(driver, workflow, problems=self.problems, strategy=self.strategy)
                await driver.start(nursery)
                if timeout is not None:
                    nursery.start_soon(driver.watch_deadline, timeout)
                if workflow is not None:
                    now = driver.now()
                    for task in workflow.topological_order():
                        driver.core.add(task, now)
                    driver.advance(now)
                body_error: BaseException | None = None
                try:
                    yield run
                except BaseException as exc:  # re-raised below, unwrapped, once every task ended
                    body_error = exc
                    driver.stop("the block around the run raised")
                await driver.close()
            if body_error is not None:
                raise body_error
            if isinstance(driver.failure, JournalError):  # with the result: every task's final status
                raise JournalFailedError(
                    driver.failure.path, f"the journal failed, the run was stopped: {driver.failure}", result=run.result
                )
            if driver.failure is not None:
                raise driver.failure
        finally:
            if journal is not None:
                with trio.CancelScope(shield=True):
                    await journal.aclose()

    def _open_driver(
        self, workflow: Workflow | None, journal: Journal | None, on_event: EventHandler | None, run_name: str
    ) -> Driver:
        tracer = tracer_for(self.options.tracer_provider)
        core = RunCore(
            self.options,
            slots=self._slots,
            rank=self._rank(workflow),
            reusable=journal.reusable if journal is not None else None,
            events=on_event is not None or tracer is not None,
            check_arguments=self._schemas.call_problems if self._schemas is not None else None,
        )
        trace = None if tracer is None else RunTrace(tracer, core.records, strategy=self.strategy, run_name=run_name)
        return self._driver(
            core,
            servers=self.servers,
            slots=self._slots,
            journal=journal,
            on_event=on_event,
            trace=trace,
        )

    def _rank(self, workflow: Workflow | None) -> Callable[[Task], Rank]:
        """How the run's calls rank for a slot: longest remaining path first, or first come first served."""
        if self.options.priority == "fifo":
            return lambda task: ()
        if workflow is None or self._slots is None:
            return _own_estimate
        remaining = workflow.remaining_paths(lambda task: task.estimate)
        ranks = {t.id: (-remaining[t.id], i) for i, t in enumerate(workflow.tasks)}
        return lambda task: ranks.get(task.id) or _own_estimate(task)


def _own_estimate(task: Task) -> Rank:
    """A task whose successors are unknown (added to a streamed run) ranks by its own estimate."""
    return (-task.estimate,)


class EagerExecutor(_Executor):
    """Runs each task the moment its last dependency finishes: no layers, no barriers.

    One trio nursery holds the run. When a task finishes, the run's core counts
    its successors' unfinished dependencies down, and every successor whose count
    reaches zero starts at once, from the finishing task itself. A run so takes
    the workflow's critical path, whatever the other branches do.

    A failing task never stops independent work: its descendants are skipped
    (``dependency_failed``) and every other task runs.

    With limits, a ready task that finds no free slot waits; waiting tasks start
    longest remaining path first, and a finishing task's newly ready successors
    compete for the slot it frees together with every task already waiting. A
    task holds a slot only while its tool call runs.
    """

    strategy = "eager"
    _driver = EagerDriver


class LayeredExecutor(_Executor):
    """The baseline: runs the workflow generation by generation, a barrier after each.

    This is the seed engine's algorithm, kept for comparison: every task whose
    dependencies all succeeded runs in one nursery, and the next generation
    starts only when that nursery's slowest task is done. Failures, limits and
    every other option work as in :class:`EagerExecutor`, inside each layer.
    """

    strategy = "layered"
    _driver = LayeredDriver
