"""Events a run reports as they happen, to the ``on_event`` callable of ``execute``.

The run's core emits one event for every transition someone observes; the
tracer, the command line's live progress, the gateway's progress notifications
and ``on_event`` all learn what happened from them, and from nothing else. One
task's events, from its start to its result::

    TaskBegan            the run began the task: its arguments are resolved
    TaskApprovalAsked    (a task that needs approval) the approver is asked
    TaskApprovalAnswered ... and answered
    TaskWaitingForSlot   (under limits) it waits for a concurrency slot
    TaskSlotGranted      ... and got one
    TaskStarted          a call of its tool started (attempt 1, 2...)
    TaskCallEnded        ... and ended, with its error if it failed
    TaskRetrying         the call failed and will be made again after a delay
    TaskStopped          (in a stopped run) the stop reached the unfinished task
    TaskFinished         its final result (or TaskSkipped: it never ran)

Every event names its task (``task_id``).
Times are seconds since the start of the run, on the same clock as the results.
Every event is a frozen value with ``to_dict()``, so a JSON-lines stream of a
run is ``on_event=lambda e: print(json.dumps(e.to_dict(), default=repr))``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs

from ._results import TaskError, TaskResult, task_result_dict


class _Event:
    """What every event shares: its plain data."""

    __slots__ = ()

    def to_dict(self) -> dict[str, Any]:
        """The event as plain JSON-ready data: ``{"event": "TaskStarted", "task_id": ..., ...}``."""
        data: dict[str, Any] = {"event": type(self).__name__}
        for field in attrs.fields(type(self)):  # type: ignore[arg-type]  # every subclass is an attrs class
            value = getattr(self, field.name)
            if isinstance(value, TaskResult):
                value = task_result_dict(value)
            elif isinstance(value, TaskError):
                value = {"code": value.code.value, "message": value.message}
            data[field.name] = value
        return data


@attrs.frozen
class TaskBegan(_Event):
    """The run began a ready task: its references are resolved; it is asked about, waits or calls next."""

    task_id: str
    time: float


@attrs.frozen
class TaskApprovalAsked(_Event):
    """The approver is asked whether the task's call may go ahead."""

    task_id: str
    time: float


@attrs.frozen
class TaskApprovalAnswered(_Event):
    """The approver answered: ``approved`` or not (a refused task ends ``skipped``, a TaskSkipped follows)."""

    task_id: str
    time: float
    approved: bool


@attrs.frozen
class TaskWaitingForSlot(_Event):
    """The task's next call waits for a concurrency slot."""

    task_id: str
    time: float


@attrs.frozen
class TaskSlotGranted(_Event):
    """The task's next call got a concurrency slot."""

    task_id: str
    time: float


@attrs.frozen
class TaskStarted(_Event):
    """A call of a task's tool started (``attempt`` 1, then 2... for retries)."""

    task_id: str
    attempt: int
    time: float


@attrs.frozen
class TaskCallEnded(_Event):
    """A call of a task's tool ended: answered, failed (``error``), timed out, or cut by a stop."""

    task_id: str
    attempt: int
    time: float
    error: TaskError | None


@attrs.frozen
class TaskRetrying(_Event):
    """A call failed and the task will call again after ``delay`` seconds (from ``time``)."""

    task_id: str
    attempt: int
    error: TaskError
    delay: float
    time: float = 0.0


@attrs.frozen
class TaskFinished(_Event):
    """A task that ran reached its final status (success, error or cancelled).

    ``ended`` is how many tasks of the run had ended with this one, as the
    run's core counted them (1 for the first task to end).
    """

    result: TaskResult
    ended: int = attrs.field(default=0, kw_only=True)

    @property
    def task_id(self) -> str:
        """The task's id (``result.task_id``)."""
        return self.result.task_id


@attrs.frozen
class TaskSkipped(_Event):
    """A task will never run: a dependency did not succeed, or the run was stopped first.

    Its result says which (``skipped`` or ``cancelled``, with the reason);
    ``cause`` names the failed task that skipped it, if one did; ``ended``
    counts as for :class:`TaskFinished`.
    """

    result: TaskResult
    cause: str | None = None
    ended: int = attrs.field(default=0, kw_only=True)

    @property
    def task_id(self) -> str:
        """The task's id (``result.task_id``)."""
        return self.result.task_id


@attrs.frozen
class TaskStopped(_Event):
    """The run was stopped (``reason``) with the task unfinished: it ends ``cancelled`` next, or as its call does."""

    task_id: str
    time: float
    reason: str


Event = (
    TaskBegan
    | TaskApprovalAsked
    | TaskApprovalAnswered
    | TaskWaitingForSlot
    | TaskSlotGranted
    | TaskStarted
    | TaskCallEnded
    | TaskRetrying
    | TaskFinished
    | TaskStopped
    | TaskFinished
    | TaskSkipped
)
"""Any event of a run."""

EventHandler = Callable[[Event], object]
"""What ``on_event`` takes: a plain callable, called in the run's trio thread."""
