"""Events a run reports as they happen, to the ``on_event`` callable of ``execute``.

Times are seconds since the start of the run, on the same clock as the results.
"""

from __future__ import annotations

from collections.abc import Callable

import attrs

from ._results import TaskResult


@attrs.frozen
class TaskStarted:
    """A task was dispatched: its arguments are being resolved and its tool called."""

    task_id: str
    attempt: int
    time: float


@attrs.frozen
class TaskFinished:
    """A task that ran reached its final status (success, error or cancelled)."""

    result: TaskResult


@attrs.frozen
class TaskSkipped:
    """A task will never run: a dependency did not succeed (its result says which)."""

    result: TaskResult


Event = TaskStarted | TaskFinished | TaskSkipped
"""Any event of a run."""

EventHandler = Callable[[Event], object]
"""What ``on_event`` takes: a plain callable, called in the run's trio thread."""
