"""The trio drivers: the eager executor (the product) and the layered baseline.

Both move events between the pure :class:`~dagexec._dispatch.Dispatcher` and
trio; they differ only in when a ready task starts. Eager starts it the moment
its last dependency finishes, from inside the finishing task. Layered collects
the ready tasks and runs them as one generation, with a barrier after each.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import trio

from ._dispatch import Dispatcher
from ._errors import ToolCallError, UnknownServerError, UnknownToolError
from ._events import EventHandler, TaskFinished, TaskSkipped, TaskStarted
from ._refs import ReferenceResolutionError, resolve
from ._results import ErrorCode, ExecutionResult, TaskError, TaskResult, TaskStatus
from ._tools import ListsTools, ToolServer
from ._workflow import Task, Workflow


def check_servers(workflow: Workflow, servers: Mapping[str, ToolServer]) -> None:
    """Check that every task names a server given, and a tool it lists (if it lists any).

    Raises:
        UnknownServerError: Tasks name servers not in ``servers``; all are named.
        UnknownToolError: Tasks name tools that their server does not list.
    """
    unknown_servers = {t.id: t.server for t in workflow.tasks if t.server not in servers}
    if unknown_servers:
        raise UnknownServerError(unknown_servers)
    unknown_tools = {}
    for task in workflow.tasks:
        server = servers[task.server]
        if isinstance(server, ListsTools) and task.tool_name not in server.tool_names:
            unknown_tools[task.id] = task.tool
    if unknown_tools:
        raise UnknownToolError(unknown_tools)


class _Run:
    """One run's state: the dispatcher, the tasks, their results and outputs.

    With a nursery, a task that becomes ready starts at once (eager); without
    one, ready tasks wait for :meth:`take_ready` (layered).
    """

    def __init__(
        self, servers: Mapping[str, ToolServer], strategy: str, on_event: EventHandler | None
    ) -> None:
        self.servers = servers
        self.strategy = strategy
        self.on_event = on_event
        self.dispatcher = Dispatcher()
        self.tasks: dict[str, Task] = {}
        self.results: dict[str, TaskResult] = {}
        self.outputs: dict[str, Any] = {}
        self.nursery: trio.Nursery | None = None
        self.started = trio.current_time()

    def now(self) -> float:
        return trio.current_time() - self.started

    def add(self, task: Task) -> None:
        self.tasks[task.id] = task
        self.dispatcher.add(task.id, task.dependencies)
        self._dispatch()

    def take_ready(self) -> list[Task]:
        return [self.tasks[tid] for tid in self.dispatcher.get_ready()]

    def _dispatch(self) -> None:
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
        if self.nursery is not None:
            for tid in dispatcher.get_ready():
                self.nursery.start_soon(self.run_task, self.tasks[tid])

    def _output_of(self, task_id: str) -> Any:
        result = self.results[task_id]
        if result.status is not TaskStatus.SUCCESS:
            raise ReferenceResolutionError(
                f"$OUTPUT[{task_id}]: task {task_id!r} ended {result.status.value}"
            )
        return self.outputs[task_id]

    async def run_task(self, task: Task) -> None:
        started_at = self.now()
        if self.on_event is not None:
            self.on_event(TaskStarted(task.id, 1, started_at))
        output: Any = None
        error: TaskError | None = None
        try:
            arguments = resolve(task.arguments, self._output_of)
        except ReferenceResolutionError as exc:
            error = TaskError(ErrorCode.REFERENCE_ERROR, str(exc))
        else:
            try:
                output = await self.servers[task.server].call_tool(task.tool_name, arguments)
            except ToolCallError as exc:
                error = TaskError(ErrorCode(exc.code), str(exc))
            except Exception as exc:
                error = TaskError(ErrorCode.TOOL_ERROR, f"{type(exc).__name__}: {exc}")
        succeeded = error is None
        result = self.results[task.id] = TaskResult(
            task_id=task.id,
            tool=task.tool,
            status=TaskStatus.SUCCESS if succeeded else TaskStatus.ERROR,
            output=output,
            error=error,
            started_at=started_at,
            finished_at=self.now(),
        )
        if succeeded:
            self.outputs[task.id] = output
        if self.on_event is not None:
            self.on_event(TaskFinished(result))
        self.dispatcher.done(task.id, succeeded=succeeded)
        self._dispatch()

    def result(self, workflow: Workflow) -> ExecutionResult:
        return ExecutionResult(
            workflow=workflow,
            results=tuple(self.results[t.id] for t in workflow.tasks),
            wall_time=self.now(),
            strategy=self.strategy,
        )


class EagerExecutor:
    """Runs each task the moment its last dependency finishes: no layers, no barriers.

    One trio nursery holds the run. When a task finishes, the dispatcher counts
    its successors' unfinished dependencies down, and every successor whose count
    reaches zero is started at once, from the finishing task itself. A run so
    takes the workflow's critical path, whatever the other branches do.

    A failing task never stops independent work: its descendants are skipped
    (``dependency_failed``) and every other task runs.

    Args:
        servers: Tool servers, keyed by the server part of each task's ``tool``.

    Example::

        result = await EagerExecutor({"text": LocalTools({"upper": str.upper})}).execute(wf)
    """

    strategy = "eager"

    def __init__(self, servers: Mapping[str, ToolServer]) -> None:
        self.servers = servers

    async def execute(
        self, workflow: Workflow, *, on_event: EventHandler | None = None
    ) -> ExecutionResult:
        """Run ``workflow`` and return every task's result.

        A tool's failure is data in the result; only bad input and the caller's
        own cancellation leave as exceptions.

        Args:
            workflow: The workflow to run.
            on_event: Called with each :class:`TaskStarted`, :class:`TaskFinished`
                and :class:`TaskSkipped` as it happens, in order.

        Raises:
            UnknownServerError: Tasks name servers the executor was not given.
            UnknownToolError: Tasks name tools their server does not list.
        """
        check_servers(workflow, self.servers)
        run = _Run(self.servers, self.strategy, on_event)
        async with trio.open_nursery() as nursery:
            run.nursery = nursery
            for task in workflow.topological_order():
                run.add(task)
        return run.result(workflow)


class LayeredExecutor:
    """The baseline: runs the workflow generation by generation, a barrier after each.

    This is the seed engine's algorithm, kept for comparison: every task whose
    dependencies all succeeded runs in one nursery, and the next generation
    starts only when that nursery's slowest task is done. Failures are handled
    as in :class:`EagerExecutor`.

    Args:
        servers: Tool servers, keyed by the server part of each task's ``tool``.
    """

    strategy = "layered"

    def __init__(self, servers: Mapping[str, ToolServer]) -> None:
        self.servers = servers

    async def execute(
        self, workflow: Workflow, *, on_event: EventHandler | None = None
    ) -> ExecutionResult:
        """Run ``workflow`` layer by layer and return every task's result.

        Args:
            workflow: The workflow to run.
            on_event: Called with each event as it happens, as for
                :meth:`EagerExecutor.execute`.

        Raises:
            UnknownServerError: Tasks name servers the executor was not given.
            UnknownToolError: Tasks name tools their server does not list.
        """
        check_servers(workflow, self.servers)
        run = _Run(self.servers, self.strategy, on_event)
        for task in workflow.topological_order():
            run.add(task)
        while layer := run.take_ready():
            async with trio.open_nursery() as nursery:
                for task in layer:
                    nursery.start_soon(run.run_task, task)
        return run.result(workflow)
