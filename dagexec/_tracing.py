"""A run and its tasks as OpenTelemetry spans: side effects of the driver, never of the core.

dagexec is an instrumented library: it needs only ``opentelemetry-api``, and
traces through the tracer provider it is given, or the global one. When there is
none (the API's no-op default), :func:`tracer_for` says so and the driver does
no span work at all: a no-op span still costs a few microseconds, which is a
large share of a task's cost on fast tools.

One :class:`RunTrace` per traced run holds its spans. It learns everything from
the core's events (a task's beginning, its waits, calls, retries and end, a
stop), and ends the run's span with the run's result. The driver makes each
task's span current in the trio task that takes the task through its phases, so
that the spans a tool's client makes (the ``mcp`` SDK's ``tools/call`` span, and
the server's through the propagated context) nest under the task's span.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import NoOpTracerProvider, ProxyTracerProvider, Span, Status, StatusCode, Tracer

from ._codes import TaskStatus
from ._core import TaskRecord
from ._events import (
    Event,
    TaskApprovalAnswered,
    TaskApprovalAsked,
    TaskBegan,
    TaskFinished,
    TaskRetrying,
    TaskSkipped,
    TaskStarted,
    TaskWaitingForSlot,
)
from ._results import ExecutionResult, TaskResult
from ._version import __version__

if TYPE_CHECKING:
    from contextvars import Token

    from opentelemetry.context import Context
    from opentelemetry.trace import TracerProvider

#: How many ids of failed tasks, and of the critical path, the run's span names at most.
MAX_IDS = 100

_ERROR = TaskStatus.ERROR


def tracer_for(provider: TracerProvider | None) -> Tracer | None:
    """The tracer of a run, or None when tracing is off.

    Args:
        provider: The executor's tracer provider; None: the global one.

    Returns:
        None when the provider is the API's default (no provider was set) or a
        no-op one; else a tracer named ``dagexec``.
    """
    if provider is None or isinstance(provider, ProxyTracerProvider):
        provider = trace.get_tracer_provider()  # the proxy until one is set
    if isinstance(provider, ProxyTracerProvider | NoOpTracerProvider):
        return None
    return provider.get_tracer("dagexec", __version__)


class RunTrace:
    """The spans of one run: the run's, and one per task, the run's children.

    Times are the driver's (seconds since the run started, on trio's clock),
    turned into the wall-clock nanoseconds OpenTelemetry takes, so spans agree
    with the results' ``started_at`` and ``finished_at``, in virtual time too.

    Args:
        tracer: The tracer from :func:`tracer_for`.
        records: The core's records by task id (read only: each task, by its id).
        strategy: ``"eager"`` or ``"layered"``.
        run_name: The run's name (for the journal).
    """

    def __init__(self, tracer: Tracer, records: Mapping[str, TaskRecord], *, strategy: str, run_name: str) -> None:
        self._tracer = tracer
        self._records = records
        self._epoch = time.time_ns()
        # Started in the context the run is opened in: a run inside a caller's span nests under it.
        self.span = tracer.start_span(
            "dagexec run",
            attributes={"dagexec.strategy": strategy, "dagexec.run.name": run_name},
            start_time=self._epoch,
        )
        # Every task span's parent, set explicitly: an eager run begins tasks from
        # inside the trio task that made them ready, whose context is its own.
        self._parent = trace.set_span_in_context(self.span)
        self._spans: dict[str, Span] = {}  # the tasks under way
        self._failed: list[str] = []
        self._ended = False

    def _ns(self, now: float) -> int:
        return self._epoch + round(now * 1e9)

    # -- what the driver tells -------------------------------------------------------------

    def attach(self, record: TaskRecord) -> Token[Context]:
        """Make ``record``'s span current in this trio task; give the token to ``detach``."""
        return otel_context.attach(trace.set_span_in_context(self._spans[record.task.id]))

    detach = staticmethod(otel_context.detach)

    def events(self, events: Iterable[Event], now: float) -> None:
        """The core's events: a task's beginning opens its span, waits and calls are its events, its end ends it."""
        for event in events:
            if isinstance(event, TaskBegan):
                self._begin(event.task_id, event.time)
            elif isinstance(event, TaskStarted):
                self._event(event.task_id, "dagexec.call", event.time, {"dagexec.attempt": event.attempt})
            elif isinstance(event, TaskRetrying):
                attributes = {
                    "dagexec.attempt": event.attempt,
                    "error.type": event.error.code.value,
                    "dagexec.error.message": event.error.message,
                    "dagexec.retry.delay": event.delay,
                }
                self._event(event.task_id, "dagexec.retry", event.time, attributes)
            elif isinstance(event, TaskApprovalAsked):
                self._event(event.task_id, "dagexec.approval_requested", event.time)
            elif isinstance(event, TaskApprovalAnswered):
                answer = {"dagexec.approved": event.approved}
                self._event(event.task_id, "dagexec.approval_answered", event.time, answer)
            elif isinstance(event, TaskWaitingForSlot):
                self._event(event.task_id, "dagexec.slot_wait", event.time)
            elif isinstance(event, TaskFinished):
                self._ended_task(event.result, None, now)
            elif isinstance(event, TaskSkipped):
                self._ended_task(event.result, event.cause, now)
            # TaskSlotGranted, TaskCallEnded and TaskStopped: the next call's event, or the task's end, says enough.

    def _begin(self, task_id: str, now: float) -> None:
        task = self._records[task_id].task
        self._spans[task_id] = self._tracer.start_span(
            f"execute_tool {task.tool_name}",
            context=self._parent,
            attributes={
                "gen_ai.operation.name": "execute_tool",
                "gen_ai.tool.name": task.tool_name,
                "gen_ai.tool.call.id": task.id,
                "dagexec.server": task.server,
            },
            start_time=self._ns(now),
        )

    def _event(
        self, task_id: str, name: str, now: float, attributes: Mapping[str, str | int | float | bool] | None = None
    ) -> None:
        span = self._spans.get(task_id)
        if span is not None:
            span.add_event(name, attributes, self._ns(now))

    def _ended_task(self, result: TaskResult, cause: str | None, now: float) -> None:
        status, error = result.status, result.error
        span = self._spans.pop(result.task_id, None)
        if span is None:  # it never began: a short span of its own, so that its fate is in the trace
            task = self._records[result.task_id].task
            span = self._tracer.start_span(
                f"not_run {task.tool_name}",
                context=self._parent,
                attributes={"gen_ai.tool.name": task.tool_name, "gen_ai.tool.call.id": task.id},
                start_time=self._ns(now),
            )
            if cause is not None:
                span.set_attribute("dagexec.cause", cause)
        attributes: dict[str, str | int | bool] = {"dagexec.status": status.value, "dagexec.attempts": result.attempts}
        if result.reused:
            attributes["dagexec.reused"] = True
        if error is not None:
            attributes["error.type"] = error.code.value
            if status is _ERROR:
                span.set_status(Status(StatusCode.ERROR, error.message))
                if len(self._failed) < MAX_IDS:
                    self._failed.append(result.task_id)
            else:
                attributes["dagexec.error.message"] = error.message
        span.set_attributes(attributes)  # at once: the SDK takes a lock for each call
        finished = result.finished_at
        span.end(self._ns(now if finished is None else finished))

    def end(self, result: ExecutionResult) -> None:
        """The run ended: end the run's span with the result's figures (once)."""
        if self._ended:
            return
        self._ended = True
        span, counts, tasks = self.span, result.counts, len(result.results)
        attributes: dict[str, int | float | str | list[str]] = {
            "dagexec.tasks": tasks,
            "dagexec.wall_time": result.wall_time,
            **{f"dagexec.tasks.{status.value}": n for status, n in counts.items()},
        }
        if tasks:
            path = result.critical_path
            attributes["dagexec.critical_path"] = path[:MAX_IDS]
            attributes["dagexec.critical_path.tasks"] = len(path)
            attributes["dagexec.critical_path.time"] = result.critical_path_time
        if self._failed:
            attributes["dagexec.failed"] = self._failed
        if result.stop_reason is not None:
            attributes["dagexec.stop_reason"] = result.stop_reason
        span.set_attributes(attributes)
        if counts[_ERROR]:
            span.set_status(Status(StatusCode.ERROR, f"{counts[_ERROR]} of {tasks} tasks failed"))
        span.end(self._ns(result.wall_time))
