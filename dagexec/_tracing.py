"""A run and its tasks as OpenTelemetry spans: side effects of the driver, never of the core.

dagexec is an instrumented library: it needs only ``opentelemetry-api``, and
traces through the tracer provider it is given, or the global one. When there is
none (the API's no-op default), :func:`tracer_for` says so and the driver does
no span work at all: a no-op span still costs a few microseconds, which is a
large share of a task's cost on fast tools.

One :class:`RunTrace` per traced run holds its spans. The driver tells it when a
task begins, waits or is answered, hands it the core's events (calls, retries,
ends), and makes each task's span current in the trio task that takes the task
through its phases, so that the spans a tool's client makes (the ``mcp`` SDK's
``tools/call`` span, and the server's through the propagated context) nest under
the task's span.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import NoOpTracerProvider, ProxyTracerProvider, Span, Status, StatusCode, Tracer

from ._codes import TaskStatus
from ._core import APPROVE, DONE, READY, SLOT, TaskRecord
from ._events import Event, TaskRetrying, TaskStarted
from ._results import TaskResult
from ._version import __version__
from ._workflow import Workflow

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
        records: The core's records by task id (read only: the causes of skips, the critical path).
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
        self._counts = dict.fromkeys(TaskStatus, 0)
        self._failed: list[str] = []
        self._ended = False

    def _ns(self, now: float) -> int:
        return self._epoch + round(now * 1e9)

    # -- what the driver tells -------------------------------------------------------------

    def begin(self, record: TaskRecord, now: float) -> None:
        """The driver begins ``record`` now: open its span (if the core will begin it)."""
        if record.phase is not READY:
            return  # the run was stopped after the task was handed out: it never begins
        task = record.task
        self._spans[task.id] = self._tracer.start_span(
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

    def waits(self, record: TaskRecord, now: float) -> None:
        """The core set ``record``'s next phase: note a wait for the approver or a slot."""
        phase = record.phase
        if phase is APPROVE:
            self._event(record, "dagexec.approval_requested", now)
        elif phase is SLOT:
            self._event(record, "dagexec.slot_wait", now)

    def answered(self, record: TaskRecord, now: float) -> None:
        """The approver answered (a refusal ends the task: its end comes as an event)."""
        self._event(record, "dagexec.approval_answered", now, {"dagexec.approved": record.phase is not DONE})
        self.waits(record, now)

    def attach(self, record: TaskRecord) -> Token[Context]:
        """Make ``record``'s span current in this trio task; give the token to ``detach``."""
        return otel_context.attach(trace.set_span_in_context(self._spans[record.task.id]))

    detach = staticmethod(otel_context.detach)

    def events(self, events: Iterable[Event], now: float) -> None:
        """The core's events: calls and retries become span events; ends end spans."""
        for event in events:
            if isinstance(event, TaskStarted):
                span = self._spans[event.task_id]
                span.add_event("dagexec.call", {"dagexec.attempt": event.attempt}, self._ns(event.time))
            elif isinstance(event, TaskRetrying):
                span = self._spans[event.task_id]
                attributes = {
                    "dagexec.attempt": event.attempt,
                    "error.type": event.error.code.value,
                    "dagexec.error.message": event.error.message,
                    "dagexec.retry.delay": event.delay,
                }
                span.add_event("dagexec.retry", attributes, self._ns(now))
            else:
                self._ended_task(event.result, now)

    def _event(self, record: TaskRecord, name: str, now: float, attributes: dict[str, bool] | None = None) -> None:
        span = self._spans.get(record.task.id)
        if span is not None:
            span.add_event(name, attributes, self._ns(now))

    def _ended_task(self, result: TaskResult, now: float) -> None:
        status, error = result.status, result.error
        self._counts[status] += 1
        span = self._spans.pop(result.task_id, None)
        if span is None:  # it never began: a short span of its own, so that its fate is in the trace
            record = self._records[result.task_id]
            task = record.task
            span = self._tracer.start_span(
                f"not_run {task.tool_name}",
                context=self._parent,
                attributes={"gen_ai.tool.name": task.tool_name, "gen_ai.tool.call.id": task.id},
                start_time=self._ns(now),
            )
            if record.cause is not None:
                span.set_attribute("dagexec.cause", record.cause.task.id)
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

    def end(self, now: float, stop_reason: str | None) -> None:
        """Every task ended: end the run's span with the run's figures (once)."""
        if self._ended:
            return
        self._ended = True
        span, records = self.span, self._records
        counts = self._counts
        attributes: dict[str, int | float | str | list[str]] = {
            "dagexec.tasks": len(records),
            "dagexec.wall_time": now,
            **{f"dagexec.tasks.{status.value}": n for status, n in counts.items()},
        }
        if records:
            tasks = tuple(record.task for record in records.values())  # in dependency order
            path, length = Workflow(tasks=tasks).critical_path(lambda task: _duration(records[task.id]))
            attributes["dagexec.critical_path"] = path[:MAX_IDS]
            attributes["dagexec.critical_path.tasks"] = len(path)
            attributes["dagexec.critical_path.time"] = length
        if self._failed:
            attributes["dagexec.failed"] = self._failed
        if stop_reason is not None:
            attributes["dagexec.stop_reason"] = stop_reason
        span.set_attributes(attributes)
        if counts[_ERROR]:
            span.set_status(Status(StatusCode.ERROR, f"{counts[_ERROR]} of {len(records)} tasks failed"))
        span.end(self._ns(now))


def _duration(record: TaskRecord) -> float:
    result = record.result
    return (result.duration or 0.0) if result is not None else 0.0
