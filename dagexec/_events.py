"""Events a run reports as they happen, to the ``on_event`` callable of ``execute``.

Times are seconds since the start of the run, on the same clock as the results.
"""

from __future__ import annotations

from collections.abc import Callable

import attrs

from ._results import TaskError, TaskResult


@attrs.frozen
class TaskStarted:
    """A call of a task's tool started (``attempt`` 1, then 2... for retries)."""

    task_id: str
    attempt: int
    time: float


@attrs.frozen
class TaskRetrying:
    """A call failed and the task will call again after ``delay`` seconds."""

    task_id: str
    attempt: int
    error: TaskError
    delay: float


@attrs.frozen
class TaskFinished:
    """A task that ran reached its final status (success, error or cancelled)."""

    result: TaskResult

    @property
    def task_id(self) -> str:
        """The task's id (``result.task_id``)."""
        return self.result.task_id


@attrs.frozen
class TaskSkipped:
    """A task will never run: a dependency did not succeed, or the run was stopped first.

    Its result says which (``skipped`` or ``cancelled``, with the reason).
    """

    result: TaskResult

    @property
    def task_id(self) -> str:
        """The task's id (``result.task_id``)."""
        return self.result.task_id


Event = TaskStarted | TaskRetrying | TaskFinished | TaskSkipped
"""Any event of a run."""

EventHandler = Callable[[Event], object]
"""What ``on_event`` takes: a plain callable, called in the run's trio thread."""
