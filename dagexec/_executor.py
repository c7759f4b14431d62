"""The trio drivers: the eager executor (the product) and the layered baseline.

Both move events between the pure :mod:`~dagexec._dispatch` core and trio; they
differ only in when a ready task starts. Eager starts it the moment its last
dependency finishes, from inside the finishing task, and takes tasks while it
runs (:meth:`EagerExecutor.open_run`). Layered collects the ready tasks and runs
them as one generation, with a barrier after each.
"""

from __future__ import annotations

import inspect
import os
import random
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from contextlib import asynccontextmanager
from typing import Any

import attrs
import trio

from ._dispatch import Admission, Dispatcher, NodeState
from ._errors import (
    DuplicateTaskError,
    ToolCallError,
    UnknownServerError,
    UnknownToolError,
    WorkflowError,
)
from ._events import EventHandler, TaskFinished, TaskRetrying, TaskSkipped, TaskStarted
from ._graph import check_dependencies
from ._journal import Journal, arguments_hash
from ._refs import ReferenceResolutionError, resolve
from ._results import Attempt, ErrorCode, ExecutionResult, TaskError, TaskResult, TaskStatus
from ._tools import ListsTools, ToolServer
from ._workflow import Task, Workflow

#: Codes after which a task's call is tried again, if it has retries left.
RETRYABLE = frozenset({ErrorCode.TOOL_ERROR, ErrorCode.SERVER_ERROR, ErrorCode.TIMEOUT})

#: What an approver is: given the task and its resolved arguments, True to let
#: the call go ahead, False or a reason (a string) to refuse it.
Approver = Callable[[Task, dict[str, Any]], Awaitable[bool | str]]


def check_servers(tasks: Iterable[Task], servers: Mapping[str, ToolServer]) -> None:
    """Check that every task names a server given, and a tool it lists (if it lists any).

    Raises:
        UnknownServerError: Tasks name servers not in ``servers``; all are named.
        UnknownToolError: Tasks name tools that their server does not list.
    """
    tasks = list(tasks)
    unknown_servers = {t.id: t.server for t in tasks if t.server not in servers}
    if unknown_servers:
        raise UnknownServerError(unknown_servers)
    listed = {name: s.tool_names for name, s in servers.items() if isinstance(s, ListsTools)}
    unknown_tools = {}
    if listed:
        for task in tasks:
            names = listed.get(task.server)
            if names is not None and task.tool_name not in names:
                unknown_tools[task.id] = task.tool
    if unknown_tools:
        raise UnknownToolError(unknown_tools)


def check_approval(tasks: Iterable[Task], approve: Approver | None) -> None:
    """Check that no task needs an approval that nobody can give.

    Raises:
        WorkflowError: A task has ``"approval": true`` and there is no approver.
    """
    if approve is None:
        for task in tasks:
            if task.approval:
                raise WorkflowError(f"task {task.id!r} needs approval, and the executor has no approve callable")


@attrs.frozen(kw_only=True)
class _Options:
    max_concurrency: int | None
    server_limits: Mapping[str, int]
    task_timeout: float | None
    retries: int
    retry_delay: float
    retry_max_delay: float
    retry_jitter: float
    fail_fast: bool
    priority: str
    approve: Approver | None
    approve_all: bool
    journal: str | os.PathLike[str] | None


def _check_options(options: _Options) -> None:
    def positive_int(name: str, value: object) -> None:
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"{name} must be an int, not {type(value).__name__}")
        if value < 1:
            raise ValueError(f"{name} must be >= 1")

    if options.max_concurrency is not None:
        positive_int("max_concurrency", options.max_concurrency)
    for server, limit in options.server_limits.items():
        positive_int(f"server_limits[{server!r}]", limit)
    if options.task_timeout is not None and not options.task_timeout > 0:
        raise ValueError("task_timeout must be > 0")
    if isinstance(options.retries, bool) or not isinstance(options.retries, int):
        raise TypeError(f"retries must be an int, not {type(options.retries).__name__}")
    if options.retries < 0:
        raise ValueError("retries must be >= 0")
    if options.retry_delay < 0 or options.retry_max_delay < 0:
        raise ValueError("retry_delay and retry_max_delay must be >= 0")
    if not 0 <= options.retry_jitter <= 1:
        raise ValueError("retry_jitter must be between 0 and 1")
    if options.priority not in ("critical_path", "fifo"):
        raise ValueError(f"priority must be 'critical_path' or 'fifo', not {options.priority!r}")
    approve = options.approve
    if approve is not None and not (
        inspect.iscoroutinefunction(approve) or inspect.iscoroutinefunction(getattr(approve, "__call__", None))  # noqa: B004
    ):
        raise TypeError("approve must be an async callable (async def)")
    if options.approve_all and options.approve is None:
        raise ValueError("approve_all needs an approve callable")


class _NoScope:
    """A stand-in for a task's cancel scope in a run that nothing can stop early."""

    cancelled_caught = False

    def __enter__(self) -> _NoScope:
        return self

    def __exit__(self, *exc_info: object) -> None:
        return None

    def cancel(self) -> None:
        """Nothing to cancel: the run has neither fail-fast nor a deadline."""


_NO_SCOPE = _NoScope()


class _Progress:
    """A running task's calls so far: a plain slotted object, made once per task."""

    __slots__ = ("attempts", "calling_since", "holds_slot", "started_at", "timeline")

    def __init__(self, *, started_at: float | None = None, holds_slot: bool = False) -> None:
        self.started_at = started_at
        self.holds_slot = holds_slot
        self.attempts = 0
        self.timeline: list[Attempt] = []  # only retried tasks fill it in
        self.calling_since: float | None = None  # the start of the call in flight


class _Run:
    """One run's state: the core's dispatcher and admission, the tasks and their results.

    Eager (``eager=True``): a task that becomes ready is queued for a slot at
    once and starts when it gets one. Layered: ready tasks wait for
    :meth:`take_ready`, which the layer loop calls after each barrier.

    A stop (fail-fast, the deadline) cancels each running task's own cancel
    scope, so that the caller's code around a streamed run is never cancelled by
    it, and every task still records its final status.
    """

    def __init__(
        self,
        servers: Mapping[str, ToolServer],
        options: _Options,
        strategy: str,
        on_event: EventHandler | None,
        priorities: Mapping[str, tuple[float, ...]] | None,
        journal: Journal | None,
        stoppable: bool,
    ) -> None:
        self.servers = servers
        self.options = options
        self.strategy = strategy
        self.eager = strategy == "eager"
        self.on_event = on_event
        self.dispatcher = Dispatcher()
        limited = options.max_concurrency is not None or bool(options.server_limits)
        self.admission = Admission(options.max_concurrency, options.server_limits) if limited else None
        # None: a streamed run, whose future successors are unknown; rank by own estimate.
        self.priorities = priorities
        self.journal = journal
        self.tasks: dict[str, Task] = {}
        self.results: dict[str, TaskResult] = {}
        self.outputs: dict[str, Any] = {}
        self.arguments: dict[str, dict[str, Any]] = {}
        self.digests: dict[str, str] = {}  # journaled runs: each call's arguments hash
        self.scopes: dict[str, trio.CancelScope] = {}
        self.retry_waits: dict[str, trio.Event] = {}
        self.queued: set[str] = set()  # waiting for a first slot, no trio task yet
        self.nursery: trio.Nursery | None = None
        self.watcher = trio.CancelScope()
        self.closed = False
        self.stop_reason: str | None = None
        # Per-task cancel scopes cost time on every task: only where a stop can happen.
        self.stoppable = options.fail_fast or stoppable
        self.approving = options.approve is not None
        self.clock = trio.lowlevel.current_clock()
        self.started = self.clock.current_time()

    def now(self) -> float:
        return self.clock.current_time() - self.started

    def emit(self, event: Any) -> None:
        if self.on_event is not None:
            self.on_event(event)

    # -- dispatching (synchronous) ---------------------------------------------------------

    def add_all(self, tasks: Iterable[Task]) -> None:
        """Add checked tasks, each after its dependencies, then start what is ready."""
        for task in tasks:
            self.tasks[task.id] = task
            self.dispatcher.add(task.id, task.dependencies, all_done=task.trigger == "all_done")
        self.dispatch()

    def add(self, task: Task) -> None:
        """Add one task to a streamed run, after checking it alone against the run.

        Raises:
            WorkflowError: The task repeats an id, names a task not added yet, an
                unknown server or tool, or needs an approver the executor lacks.
        """
        if task.id in self.tasks:
            raise DuplicateTaskError([task.id])
        check_dependencies(task, self.tasks)
        check_servers([task], self.servers)
        check_approval([task], self.options.approve)
        if self.stop_reason is not None:
            self.tasks[task.id] = task
            self._cancel_unstarted(task.id)
            return
        self.add_all([task])

    def needs_approval(self, task: Task) -> bool:
        return self.approving and (self.options.approve_all or task.approval)

    def take_ready(self) -> list[Task]:
        """Layered: the tasks ready now, best priority first."""
        self._record_skipped()
        ready = [self.tasks[tid] for tid in self.dispatcher.get_ready()]
        if self.admission is not None:
            ready.sort(key=self.priority)
        return ready

    def priority(self, task: Task) -> tuple[float, ...]:
        if self.priorities is None:
            return (-task.estimate,)
        return self.priorities.get(task.id, ())

    def dispatch(self) -> None:
        """Record skips; eager: queue every ready task. Then grant free slots."""
        dispatcher = self.dispatcher
        while True:
            self._record_skipped()
            if self.stop_reason is not None or not self.eager:
                break
            ready = dispatcher.get_ready()
            if not ready:
                break
            for tid in ready:
                self.prepare(self.tasks[tid])
        self.grant()

    def _record_skipped(self) -> None:
        dispatcher = self.dispatcher
        for tid in dispatcher.get_skipped():
            cause = dispatcher.cause(tid)
            failed = self.results[cause]
            code = failed.error.code if failed.error is not None else failed.status
            result = self.results[tid] = TaskResult(
                task_id=tid,
                tool=self.tasks[tid].tool,
                status=TaskStatus.SKIPPED,
                error=TaskError(
                    ErrorCode.DEPENDENCY_FAILED,
                    f"depends on {cause!r}, which ended {failed.status.value} ({code})",
                ),
            )
            if self.on_event is not None:
                self.on_event(TaskSkipped(result))

    def prepare(self, task: Task) -> None:
        """Resolve a ready task's arguments; reuse a journaled output, or queue the call."""
        try:
            arguments = resolve(task.arguments, self._output_of) if task.references else dict(task.arguments)
        except ReferenceResolutionError as exc:
            error = TaskError(ErrorCode.REFERENCE_ERROR, str(exc))
            self.finish(task, None, error, _Progress(started_at=self.now()), dispatch=False)
            return
        self.arguments[task.id] = arguments
        if self.journal is not None:
            digest = self.digests[task.id] = arguments_hash(task.tool, arguments)
            found, output = self.journal.reusable(task.id, task.tool, digest)
            if found:
                self.finish(task, output, None, _Progress(started_at=self.now()), dispatch=False, reused=True)
                return
        if self.admission is None or self.needs_approval(task):
            assert self.nursery is not None
            self.nursery.start_soon(self._run_task, task, self.admission is None)
        else:
            self.queued.add(task.id)
            self.admission.push(task.id, task.server, self.priority(task))

    def grant(self) -> None:
        """Give free slots to waiting calls, best priority first."""
        if self.admission is None or self.stop_reason is not None:
            return
        for tid in self.admission.grant():
            event = self.retry_waits.pop(tid, None)
            if event is not None:
                event.set()
            else:
                self.queued.discard(tid)
                assert self.nursery is not None
                self.nursery.start_soon(self._run_task, self.tasks[tid], True)

    def _output_of(self, task_id: str) -> Any:
        result = self.results[task_id]
        if result.status is not TaskStatus.SUCCESS:
            raise ReferenceResolutionError(
                f"$OUTPUT[{task_id}]: task {task_id!r} did not succeed (it ended {result.status.value})"
            )
        return self.outputs[task_id]

    def finish(
        self,
        task: Task,
        output: Any,
        error: TaskError | None,
        progress: _Progress,
        *,
        dispatch: bool = True,
        reused: bool = False,
        status: TaskStatus | None = None,
    ) -> None:
        """Record a task's final result, and let its successors go on (or stop the run)."""
        succeeded = error is None
        result = self.results[task.id] = TaskResult(
            task_id=task.id,
            tool=task.tool,
            status=status or (TaskStatus.SUCCESS if succeeded else TaskStatus.ERROR),
            output=output,
            error=error,
            started_at=progress.started_at,
            finished_at=self.now(),
            attempts=progress.attempts,
            timeline=tuple(progress.timeline) if progress.timeline else None,
            reused=reused,
        )
        self.arguments.pop(task.id, None)
        self.digests.pop(task.id, None)
        if succeeded:
            self.outputs[task.id] = output
        if self.on_event is not None:
            self.on_event(TaskSkipped(result) if result.status is TaskStatus.SKIPPED else TaskFinished(result))
        if self.stop_reason is not None and self.dispatcher.state(task.id) is not NodeState.RUNNING:
            return  # the run was stopped while the task finished: nothing waits for it
        self.dispatcher.done(task.id, succeeded=succeeded)
        if not succeeded and self.options.fail_fast and result.status is TaskStatus.ERROR:
            self._record_skipped()
            self.stop(f"task {task.id!r} failed first (fail_fast)")
        elif dispatch:
            self.dispatch()
        if self.closed:
            self._check_quiet()

    def stop(self, reason: str) -> None:
        """Stop the run: cancel every running task; start no other."""
        if self.stop_reason is not None:
            return
        self.stop_reason = reason
        for tid in self.dispatcher.stop():
            self._cancel_unstarted(tid)
        for tid in list(self.queued):
            self._cancel_unstarted(tid)
        self.queued.clear()
        for scope in self.scopes.values():
            scope.cancel()
        self.watcher.cancel()

    def _cancel_unstarted(self, tid: str) -> None:
        if tid in self.results:
            return
        result = self.results[tid] = TaskResult(
            task_id=tid,
            tool=self.tasks[tid].tool,
            status=TaskStatus.CANCELLED,
            error=TaskError(ErrorCode.CANCELLED, f"cancelled: {self.stop_reason}"),
        )
        self.emit(TaskSkipped(result))

    def _check_quiet(self) -> None:
        """Once the block is left and no task is unfinished, the deadline watcher may go."""
        if self.closed and not self.dispatcher.is_active():
            self.watcher.cancel()

    def close(self) -> None:
        """No task will be added any more."""
        self.closed = True
        self._check_quiet()

    async def watch_deadline(self, deadline: float, timeout: float) -> None:
        with self.watcher:
            await trio.sleep_until(deadline)
            self.stop(f"the run's deadline of {timeout:g} s passed")

    # -- one task (async) ------------------------------------------------------------------

    def _release(self, task: Task, progress: _Progress) -> None:
        if progress.holds_slot:
            progress.holds_slot = False
            if self.admission is not None:
                self.admission.release(task.server)

    async def _acquire(self, task: Task, progress: _Progress) -> None:
        """Wait for a slot, in priority order (for a retry, or after an approval)."""
        if self.admission is None:
            progress.holds_slot = True
            return
        self.admission.push(task.id, task.server, self.priority(task))
        event = self.retry_waits[task.id] = trio.Event()
        self.grant()
        try:
            await event.wait()
        except BaseException:
            self.admission.withdraw(task.id)
            self.retry_waits.pop(task.id, None)
            if event.is_set():  # granted, then cancelled before it woke
                progress.holds_slot = True
            raise
        progress.holds_slot = True

    def _retry_delay(self, attempt: int) -> float:
        o = self.options
        delay: float = min(o.retry_max_delay, o.retry_delay * 2.0 ** (attempt - 1))
        return delay * (1 - o.retry_jitter * random.random())

    async def _approve(self, task: Task, arguments: dict[str, Any]) -> str | None:
        """Ask the approver; None to go ahead, else the reason for refusing."""
        approve = self.options.approve
        assert approve is not None
        try:
            verdict = await approve(task, arguments)
        except Exception as exc:
            return f"the approver failed: {type(exc).__name__}: {exc}"
        if verdict is True:
            return None
        if isinstance(verdict, str) and verdict:
            return verdict
        return "refused" if verdict is False else f"refused (the approver answered {verdict!r})"

    async def _run_task(self, task: Task, holds_slot: bool) -> None:
        """Call the task's tool, with its approval, timeout and retries."""
        progress = _Progress(holds_slot=holds_slot)
        arguments = self.arguments[task.id]
        options = self.options
        retries = task.retries if task.retries is not None else options.retries
        timeout = task.timeout if task.timeout is not None else options.task_timeout
        server = self.servers[task.server]
        tool_name = task.tool_name
        output: Any = None
        error: TaskError | None = None
        scope: trio.CancelScope | _NoScope = trio.CancelScope() if self.stoppable else _NO_SCOPE
        with scope:
            if self.stoppable:
                self.scopes[task.id] = scope  # type: ignore[assignment]
                if self.stop_reason is not None:
                    scope.cancel()
            try:
                if self.needs_approval(task):
                    refusal = await self._approve(task, arguments)
                    if refusal is not None:
                        progress.started_at = self.now()
                        self.finish(
                            task, None, TaskError(ErrorCode.REJECTED, refusal), progress, status=TaskStatus.SKIPPED
                        )
                        return
                while True:
                    if not progress.holds_slot:
                        await self._acquire(task, progress)
                    progress.attempts += 1
                    started_at = self.now()
                    if progress.started_at is None:
                        progress.started_at = started_at
                    if self.on_event is not None:
                        self.on_event(TaskStarted(task.id, progress.attempts, started_at))
                    progress.calling_since = started_at
                    # The call, inlined: it runs once per attempt of every task.
                    try:
                        if timeout is None:
                            output, error = await server.call_tool(tool_name, arguments), None
                        else:
                            with trio.move_on_after(timeout) as limit:
                                output, error = await server.call_tool(tool_name, arguments), None
                            if limit.cancelled_caught:
                                output = None
                                error = TaskError(ErrorCode.TIMEOUT, f"no answer within {timeout:g} s")
                    except ToolCallError as exc:
                        output, error = None, TaskError(ErrorCode(exc.code), str(exc))
                    except Exception as exc:
                        output, error = None, TaskError(ErrorCode.TOOL_ERROR, f"{type(exc).__name__}: {exc}")
                    progress.calling_since = None
                    self._release(task, progress)
                    if error is None or error.code not in RETRYABLE or progress.attempts > retries:
                        if progress.timeline:  # retried: record the last call too
                            progress.timeline.append(Attempt(started_at, self.now(), error))
                        break
                    progress.timeline.append(Attempt(started_at, self.now(), error))
                    delay = self._retry_delay(progress.attempts)
                    if self.on_event is not None:
                        self.on_event(TaskRetrying(task.id, progress.attempts, error, delay))
                    self.grant()  # the freed slot goes to a waiting call meanwhile
                    await trio.sleep(delay)
                if self.journal is not None:
                    status = "success" if error is None else "error"
                    digest = self.digests[task.id]
                    await self.journal.record(task.id, task.tool, digest, status, output, self.now())
            finally:
                self._release(task, progress)
                self.scopes.pop(task.id, None)
        if scope.cancelled_caught and task.id not in self.results:
            self._interrupted(task, progress)
        elif task.id not in self.results:
            self.finish(task, output, error, progress)

    def _interrupted(self, task: Task, progress: _Progress) -> None:
        """A stop cancelled the task while it ran."""
        now = self.now()
        error = TaskError(ErrorCode.CANCELLED, f"cancelled: {self.stop_reason}")
        if progress.calling_since is not None and progress.timeline:
            progress.timeline.append(Attempt(progress.calling_since, now, error))
        result = self.results[task.id] = TaskResult(
            task_id=task.id,
            tool=task.tool,
            status=TaskStatus.CANCELLED,
            error=error,
            started_at=progress.started_at,
            finished_at=None if progress.started_at is None else now,
            attempts=progress.attempts,
            timeline=tuple(progress.timeline) if progress.timeline else None,
        )
        self.emit(TaskFinished(result) if progress.started_at is not None else TaskSkipped(result))

    # -- the end ---------------------------------------------------------------------------

    def result(self, workflow: Workflow | None) -> ExecutionResult:
        """The full result, in workflow order (for a streamed run, the order of adding)."""
        if workflow is None:
            workflow = Workflow(tasks=tuple(self.tasks.values()))
        for task in workflow.tasks:  # a safety net: every task has its final status
            if task.id not in self.results:
                self._cancel_unstarted(task.id)
        return ExecutionResult(
            workflow=workflow,
            results=tuple(self.results[t.id] for t in workflow.tasks),
            wall_time=self.now(),
            strategy=self.strategy,
        )


class Run:
    """A run that takes tasks while earlier ones already execute. Made by ``open_run``.

    Each added task is dispatched the moment its dependencies are done, exactly
    as in :meth:`EagerExecutor.execute`.
    """

    def __init__(self, run: _Run) -> None:
        self._run = run
        self._result: ExecutionResult | None = None

    def add(self, task: Task | Mapping[str, Any]) -> Task:
        """Add a task (a :class:`Task`, or its dict as in a workflow file).

        It may depend on, and refer to, only tasks added before it, so a streamed
        plan can never form a cycle. A task added after one of its dependencies
        failed is reported skipped at once.

        Returns:
            The task, checked.

        Raises:
            WorkflowError: The task is invalid alone or against the run (its
                shape, a repeated id, an unknown dependency, server or tool); the
                run and its other tasks go on untouched.
            RuntimeError: The run's block was left.
        """
        if self._run.closed:
            raise RuntimeError("the run is closed: add tasks inside its async with block")
        if not isinstance(task, Task):
            task = Task.from_dict(task)
        self._run.add(task)
        return task

    @property
    def result(self) -> ExecutionResult:
        """The full result, once the block is left.

        Raises:
            RuntimeError: The block has not been left yet.
        """
        if self._result is None:
            raise RuntimeError("the run's result is ready once its async with block is left")
        return self._result


class _Executor:
    """What both executors share: the servers and the options."""

    strategy = ""

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
        priority: str = "critical_path",
        approve: Approver | None = None,
        approve_all: bool = False,
        journal: str | os.PathLike[str] | None = None,
    ) -> None:
        """Set up an executor; every option after ``servers`` is keyword-only.

        Args:
            servers: Tool servers, keyed by the server part of each task's ``tool``.
            max_concurrency: At most this many tool calls in flight at once (None:
                no limit).
            server_limits: At most ``n`` calls in flight at once on server ``name``.
            task_timeout: Seconds each call of a task may take before it fails with
                ``timeout``; a task's own ``timeout`` overrides it. None: no limit.
            retries: Extra calls after a failed one (``tool_error``,
                ``server_error`` or ``timeout``; never after ``reference_error`` or
                ``unknown_tool``); a task's own ``retries`` overrides it.
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
            journal: A path to a SQLite file that records each finished task. A
                run with the same journal reuses the output of every task that
                already succeeded with the same id, tool and resolved arguments
                (``TaskResult.reused``), and runs the rest.

        Raises:
            ValueError: An option is out of range.
            TypeError: An option is of the wrong type.
        """
        self.servers = servers
        self.options = _Options(
            max_concurrency=max_concurrency,
            server_limits=dict(server_limits or {}),
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
        )
        _check_options(self.options)

    async def execute(
        self, workflow: Workflow, *, timeout: float | None = None, on_event: EventHandler | None = None
    ) -> ExecutionResult:
        """Run ``workflow`` and return every task's result.

        A tool's failure is data in the result; only bad input and the caller's
        own cancellation leave as exceptions (the latter after every task and
        call has been cancelled). For the eager executor, this is
        :meth:`EagerExecutor.open_run` with every task added at the start.

        Args:
            workflow: The workflow to run.
            timeout: A deadline for the whole run, in seconds: when it passes,
                running tasks are cancelled and no other starts; they all end
                ``cancelled``, and the full result is still returned.
            on_event: Called with each :class:`TaskStarted`,
                :class:`TaskRetrying`, :class:`TaskFinished` and
                :class:`TaskSkipped` as it happens, in order.

        Raises:
            UnknownServerError: Tasks name servers the executor was not given.
            UnknownToolError: Tasks name tools their server does not list.
            WorkflowError: Tasks need approval and there is no approver.
            ValueError: ``timeout`` is not > 0.
        """
        check_servers(workflow.tasks, self.servers)
        check_approval(workflow.tasks, self.options.approve)
        async with self._open(workflow, timeout, on_event) as run:
            run.add_all(workflow.topological_order())
            await self._drive(run)
        return run.result(workflow)

    async def _drive(self, run: _Run) -> None:
        """What runs the added tasks, beyond what the dispatcher starts by itself."""

    def _priorities(self, workflow: Workflow | None) -> dict[str, tuple[float, ...]] | None:
        """Each task's rank under limits; None for a streamed plan (ranked by its own estimate)."""
        options = self.options
        limited = options.max_concurrency is not None or bool(options.server_limits)
        if not limited or options.priority == "fifo":
            return {}
        if workflow is None:
            return None
        remaining = workflow._graph.remaining(lambda task: task.estimate)
        return {t.id: (-remaining[t.id], i) for i, t in enumerate(workflow.tasks)}

    @asynccontextmanager
    async def _open(
        self,
        workflow: Workflow | None,
        timeout: float | None,
        on_event: EventHandler | None,
    ) -> AsyncIterator[_Run]:
        """The run's nursery, deadline and journal; the body adds tasks."""
        if timeout is not None and not timeout > 0:
            raise ValueError("timeout must be > 0")
        journal = await Journal.open(self.options.journal) if self.options.journal is not None else None
        try:
            run = _Run(
                self.servers,
                self.options,
                self.strategy,
                on_event,
                self._priorities(workflow),
                journal,
                stoppable=timeout is not None,
            )
            body_error: BaseException | None = None
            async with trio.open_nursery() as nursery:
                run.nursery = nursery
                if timeout is not None:
                    nursery.start_soon(run.watch_deadline, run.started + timeout, timeout)
                try:
                    yield run
                except BaseException as exc:  # re-raised below, unwrapped, once every task ended
                    body_error = exc
                    run.stop("the block around the run raised")
                    nursery.cancel_scope.cancel()
                run.close()
            if body_error is not None:
                raise body_error
        finally:
            if journal is not None:
                await journal.aclose()


class EagerExecutor(_Executor):
    """Runs each task the moment its last dependency finishes: no layers, no barriers.

    One trio nursery holds the run. When a task finishes, the dispatcher counts
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

    @asynccontextmanager
    async def open_run(
        self, *, timeout: float | None = None, on_event: EventHandler | None = None
    ) -> AsyncIterator[Run]:
        """Open a run that takes tasks while earlier ones already execute.

        Plans that an LLM streams in can start before the planner is done::

            async with executor.open_run() as run:
                async for task in planner():
                    run.add(task)
            print(run.result.wall_time)

        Leaving the block waits for every added task; ``run.result`` then holds
        the full result, in the order the tasks were added. Under limits, waiting
        tasks are ranked by their own ``estimate`` (their successors are not
        known yet).

        Args:
            timeout: A deadline for the whole run, as for :meth:`execute`.
            on_event: Called with each event as it happens, as for :meth:`execute`.

        Yields:
            The :class:`Run`.
        """
        async with self._open(None, timeout, on_event) as run:
            handle = Run(run)
            yield handle
        handle._result = run.result(None)


class LayeredExecutor(_Executor):
    """The baseline: runs the workflow generation by generation, a barrier after each.

    This is the seed engine's algorithm, kept for comparison: every task whose
    dependencies all succeeded runs in one nursery, and the next generation
    starts only when that nursery's slowest task is done. Failures, limits and
    every other option work as in :class:`EagerExecutor`, inside each layer.
    """

    strategy = "layered"

    async def _drive(self, run: _Run) -> None:
        """Run the ready tasks one generation at a time, a barrier after each."""
        while run.stop_reason is None and (layer := run.take_ready()):
            async with trio.open_nursery() as nursery:
                run.nursery = nursery
                for task in layer:
                    run.prepare(task)
                run.grant()
