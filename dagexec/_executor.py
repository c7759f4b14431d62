"""The trio drivers: the eager executor (the product) and the layered baseline.

Both move events between the pure :mod:`~dagexec._dispatch` core and trio; they
differ only in when a ready task starts. Eager starts it the moment its last
dependency finishes, from inside the finishing task. Layered collects the ready
tasks and runs them as one generation, with a barrier after each.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping
from typing import Any

import attrs
import trio

from ._dispatch import Admission, Dispatcher
from ._errors import ToolCallError, UnknownServerError, UnknownToolError
from ._events import EventHandler, TaskFinished, TaskRetrying, TaskSkipped, TaskStarted
from ._refs import ReferenceResolutionError, resolve
from ._results import Attempt, ErrorCode, ExecutionResult, TaskError, TaskResult, TaskStatus
from ._tools import ListsTools, ToolServer
from ._workflow import Task, Workflow

#: Codes after which a task's call is tried again, if it has retries left.
RETRYABLE = frozenset({ErrorCode.TOOL_ERROR, ErrorCode.SERVER_ERROR, ErrorCode.TIMEOUT})


def check_servers(workflow: Workflow, servers: Mapping[str, ToolServer]) -> None:
    """Check that every task names a server given, and a tool it lists (if it lists any).

    Raises:
        UnknownServerError: Tasks name servers not in ``servers``; all are named.
        UnknownToolError: Tasks name tools that their server does not list.
    """
    unknown_servers = {t.id: t.server for t in workflow.tasks if t.server not in servers}
    if unknown_servers:
        raise UnknownServerError(unknown_servers)
    listed = {name: s.tool_names for name, s in servers.items() if isinstance(s, ListsTools)}
    unknown_tools = {}
    if listed:
        for task in workflow.tasks:
            names = listed.get(task.server)
            if names is not None and task.tool_name not in names:
                unknown_tools[task.id] = task.tool
    if unknown_tools:
        raise UnknownToolError(unknown_tools)


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


@attrs.define
class _Progress:
    """A running task's calls so far."""

    started_at: float | None = None
    attempts: int = 0
    timeline: list[Attempt] = attrs.field(factory=list)
    holds_slot: bool = False
    calling_since: float | None = None  # the start of the call in flight


class _Run:
    """One run's state: the core's dispatcher and admission, the tasks and their results.

    Eager (``eager=True``): a task that becomes ready is queued for a slot at
    once and starts when it gets one. Layered: ready tasks wait for
    :meth:`take_ready`, which the layer loop calls after each barrier.
    """

    def __init__(
        self,
        servers: Mapping[str, ToolServer],
        options: _Options,
        strategy: str,
        on_event: EventHandler | None,
        priorities: Mapping[str, tuple[float, ...]],
    ) -> None:
        self.servers = servers
        self.options = options
        self.strategy = strategy
        self.eager = strategy == "eager"
        self.on_event = on_event
        self.dispatcher = Dispatcher()
        limited = options.max_concurrency is not None or bool(options.server_limits)
        self.admission = Admission(options.max_concurrency, options.server_limits) if limited else None
        self.priorities = priorities
        self.tasks: dict[str, Task] = {}
        self.results: dict[str, TaskResult] = {}
        self.outputs: dict[str, Any] = {}
        self.arguments: dict[str, dict[str, Any]] = {}
        self.progress: dict[str, _Progress] = {}
        self.retry_waits: dict[str, trio.Event] = {}
        self.nursery: trio.Nursery | None = None
        self.scope = trio.CancelScope()
        self.stop_reason: str | None = None
        self.clock = trio.lowlevel.current_clock()
        self.started = self.clock.current_time()

    def now(self) -> float:
        return self.clock.current_time() - self.started

    # -- dispatching (synchronous) ---------------------------------------------------------

    def add_all(self, tasks: Iterable[Task]) -> None:
        """Add tasks, each after its dependencies, then start what is ready."""
        for task in tasks:
            self.tasks[task.id] = task
            self.dispatcher.add(task.id, task.dependencies, all_done=task.trigger == "all_done")
        self.dispatch()

    def take_ready(self) -> list[Task]:
        """Layered: the tasks ready now, best priority first."""
        self._record_skipped()
        ready = [self.tasks[tid] for tid in self.dispatcher.get_ready()]
        if self.admission is not None:
            ready.sort(key=lambda task: self.priorities.get(task.id, ()))
        return ready

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
        """Resolve a ready task's arguments, then queue it for a slot (or start it)."""
        try:
            self.arguments[task.id] = (
                resolve(task.arguments, self._output_of) if task.references else dict(task.arguments)
            )
        except ReferenceResolutionError as exc:
            now = self.now()
            self.finish(
                task,
                None,
                TaskError(ErrorCode.REFERENCE_ERROR, str(exc)),
                _Progress(started_at=now),
                dispatch=False,
            )
            return
        if self.admission is None:
            assert self.nursery is not None
            self.nursery.start_soon(self._run_task, task)
        else:
            self.admission.push(task.id, task.server, self.priorities.get(task.id, ()))

    def grant(self) -> None:
        """Give free slots to waiting calls, best priority first."""
        if self.admission is None or self.stop_reason is not None:
            return
        for tid in self.admission.grant():
            event = self.retry_waits.pop(tid, None)
            if event is not None:
                event.set()
            else:
                assert self.nursery is not None
                self.nursery.start_soon(self._run_task, self.tasks[tid])

    def _output_of(self, task_id: str) -> Any:
        result = self.results[task_id]
        if result.status is not TaskStatus.SUCCESS:
            raise ReferenceResolutionError(
                f"$OUTPUT[{task_id}]: task {task_id!r} did not succeed (it ended {result.status.value})"
            )
        return self.outputs[task_id]

    def finish(
        self, task: Task, output: Any, error: TaskError | None, progress: _Progress, *, dispatch: bool = True
    ) -> None:
        """Record a task's final result, and let its successors go on (or stop the run)."""
        succeeded = error is None
        result = self.results[task.id] = TaskResult(
            task_id=task.id,
            tool=task.tool,
            status=TaskStatus.SUCCESS if succeeded else TaskStatus.ERROR,
            output=output,
            error=error,
            started_at=progress.started_at,
            finished_at=self.now(),
            attempts=progress.attempts,
            timeline=tuple(progress.timeline) if progress.timeline else None,
        )
        self.arguments.pop(task.id, None)
        if succeeded:
            self.outputs[task.id] = output
        if self.on_event is not None:
            self.on_event(TaskFinished(result))
        self.dispatcher.done(task.id, succeeded=succeeded)
        if not succeeded and self.options.fail_fast and self.stop_reason is None:
            self._record_skipped()
            self.stop(f"task {task.id!r} failed first (fail_fast)")
        elif dispatch:
            self.dispatch()

    def stop(self, reason: str) -> None:
        """Stop the run: cancel every running task; start no other."""
        self.stop_reason = reason
        self.scope.cancel()

    # -- one task (async) ------------------------------------------------------------------

    def _release(self, task: Task, progress: _Progress) -> None:
        if progress.holds_slot:
            progress.holds_slot = False
            if self.admission is not None:
                self.admission.release(task.server)

    async def _acquire(self, task: Task, progress: _Progress) -> None:
        """Wait for a slot, in priority order, for a retry."""
        if self.admission is None:
            progress.holds_slot = True
            return
        self.admission.push(task.id, task.server, self.priorities.get(task.id, ()))
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

    async def _run_task(self, task: Task) -> None:
        """Call the task's tool, with its timeout and retries; it starts holding a slot."""
        progress = self.progress[task.id] = _Progress(holds_slot=True)
        arguments = self.arguments[task.id]
        options = self.options
        retries = task.retries if task.retries is not None else options.retries
        timeout = task.timeout if task.timeout is not None else options.task_timeout
        server = self.servers[task.server]
        tool_name = task.tool_name
        output: Any = None
        error: TaskError | None = None
        try:
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
                        with trio.move_on_after(timeout) as scope:
                            output, error = await server.call_tool(tool_name, arguments), None
                        if scope.cancelled_caught:
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
        finally:
            self._release(task, progress)
        del self.progress[task.id]
        self.finish(task, output, error, progress)

    # -- the end ---------------------------------------------------------------------------

    def result(self, workflow: Workflow, deadline: float | None) -> ExecutionResult:
        """The full result; tasks that a stop left unfinished end ``cancelled``."""
        if self.scope.cancelled_caught or self.stop_reason is not None:
            reason = self.stop_reason or f"the run's deadline of {deadline:g} s passed"
            never_started = set(self.dispatcher.stop())
            now = self.now()
            for task in workflow.tasks:
                if task.id in self.results:
                    continue
                progress = self.progress.pop(task.id, None) or _Progress()
                error = TaskError(ErrorCode.CANCELLED, f"cancelled: {reason}")
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
                if self.on_event is not None:
                    ran = task.id not in never_started and progress.started_at is not None
                    self.on_event(TaskFinished(result) if ran else TaskSkipped(result))
        return ExecutionResult(
            workflow=workflow,
            results=tuple(self.results[t.id] for t in workflow.tasks),
            wall_time=self.now(),
            strategy=self.strategy,
        )


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
        )
        _check_options(self.options)

    def _start(
        self, workflow: Workflow, timeout: float | None, on_event: EventHandler | None
    ) -> _Run:
        if timeout is not None and not timeout > 0:
            raise ValueError("timeout must be > 0")
        check_servers(workflow, self.servers)
        priorities: dict[str, tuple[float, ...]] = {}
        options = self.options
        limited = options.max_concurrency is not None or bool(options.server_limits)
        if limited and options.priority == "critical_path":
            remaining = workflow._graph.remaining(lambda task: task.estimate)
            priorities = {t.id: (-remaining[t.id], i) for i, t in enumerate(workflow.tasks)}
        run = _Run(self.servers, options, self.strategy, on_event, priorities)
        if timeout is not None:
            run.scope.deadline = trio.current_time() + timeout
        return run




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

    async def execute(
        self, workflow: Workflow, *, timeout: float | None = None, on_event: EventHandler | None = None
    ) -> ExecutionResult:
        """Run ``workflow`` and return every task's result.

        A tool's failure is data in the result; only bad input and the caller's
        own cancellation leave as exceptions (the latter after every task and
        call has been cancelled).

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
            ValueError: ``timeout`` is not > 0.
        """
        run = self._start(workflow, timeout, on_event)
        with run.scope:
            async with trio.open_nursery() as nursery:
                run.nursery = nursery
                run.add_all(workflow.topological_order())
        return run.result(workflow, timeout)


class LayeredExecutor(_Executor):
    """The baseline: runs the workflow generation by generation, a barrier after each.

    This is the seed engine's algorithm, kept for comparison: every task whose
    dependencies all succeeded runs in one nursery, and the next generation
    starts only when that nursery's slowest task is done. Failures, limits and
    every other option work as in :class:`EagerExecutor`, inside each layer.
    """

    strategy = "layered"

    async def execute(
        self, workflow: Workflow, *, timeout: float | None = None, on_event: EventHandler | None = None
    ) -> ExecutionResult:
        """Run ``workflow`` layer by layer and return every task's result.

        Args:
            workflow: The workflow to run.
            timeout: A deadline for the whole run, as for
                :meth:`EagerExecutor.execute`.
            on_event: Called with each event as it happens, as for
                :meth:`EagerExecutor.execute`.

        Raises:
            UnknownServerError: Tasks name servers the executor was not given.
            UnknownToolError: Tasks name tools their server does not list.
            ValueError: ``timeout`` is not > 0.
        """
        run = self._start(workflow, timeout, on_event)
        with run.scope:
            run.add_all(workflow.topological_order())
            while run.stop_reason is None and (layer := run.take_ready()):
                async with trio.open_nursery() as nursery:
                    run.nursery = nursery
                    for task in layer:
                        run.prepare(task)
                    run.grant()
        return run.result(workflow, timeout)
