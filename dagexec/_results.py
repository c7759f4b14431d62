"""What a run returns: one TaskResult per task and the ExecutionResult around them."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any, Literal, cast

import attrs
import cattrs
from cattrs.gen import make_dict_structure_fn

from ._codes import ErrorCode, TaskStatus
from ._convert import Invalid, Problems, converter, json_type, show, structure, unknown_keys
from ._workflow import Workflow

__all__ = ["Attempt", "ErrorCode", "ExecutionResult", "Strategy", "TaskError", "TaskResult", "TaskStatus"]

Strategy = Literal["eager", "layered"]
"""Which executor ran a workflow."""


@attrs.frozen
class TaskError:
    """Why a task did not succeed: a code for programs, a message for people."""

    code: ErrorCode
    message: str


@attrs.frozen
class Attempt:
    """One call of a task's tool: when it ran, and how it failed (None: it succeeded)."""

    started_at: float
    finished_at: float
    error: TaskError | None = None


@attrs.frozen(kw_only=True)
class TaskResult:
    """The outcome of one task.

    Attributes:
        task_id: The task's id.
        tool: The task's ``server:tool``.
        status (TaskStatus): Its final status.
        output: The tool's output on success, else None.
        error (TaskError | None): None on success, else the code and message.
        started_at: Seconds from the start of the run to the start of the
            task's first call (or to its failure, for a task that failed before
            calling its tool), or None if it never started.
        finished_at: Seconds from the start of the run to the end of the task, or
            None if it never started.
        attempts: How many calls of its tool were made (0 for a task that failed
            before calling its tool, or never started).
        reused: The output came from the run's journal: an earlier run made this
            very call (same id, tool and arguments), so it was not made again.
    """

    task_id: str
    tool: str
    status: TaskStatus
    output: Any = None
    error: TaskError | None = None
    started_at: float | None = None
    finished_at: float | None = None
    attempts: int = 0
    # None: derived from started_at and finished_at (one call, the common case),
    # so that a run keeps no Attempt objects it does not need.
    _timeline: tuple[Attempt, ...] | None = attrs.field(default=None, alias="timeline")
    reused: bool = False

    @property
    def timeline(self) -> tuple[Attempt, ...]:
        """Each call of the tool, in order (retries show as several)."""
        if self._timeline is not None:
            return self._timeline
        if self.attempts == 1 and self.started_at is not None and self.finished_at is not None:
            return (Attempt(self.started_at, self.finished_at, self.error),)
        return ()

    @property
    def ok(self) -> bool:
        """Whether the task succeeded."""
        return self.status is TaskStatus.SUCCESS

    @property
    def duration(self) -> float | None:
        """Seconds the task ran, or None if it never started."""
        if self.started_at is None or self.finished_at is None:
            return None
        return self.finished_at - self.started_at


@attrs.frozen(kw_only=True)
class RunProgress:
    """Where a run under way stands: a snapshot the run's core computes (:attr:`Run.progress <dagexec.Run.progress>`).

    The command line's live progress and the gateway's progress read it (or an
    end event's ``ended``) rather than counting events themselves; the events
    say *when* to look.

    Attributes:
        total (int): Tasks in the run so far (a streamed run grows).
        counts (Mapping[TaskStatus, int]): How many tasks ended with each status
            (every status present).
        under_way (int): How many tasks have started their first call and not ended
            (calling, or waiting to call again).
        first_under_way (tuple[str, ...]): The ids of the first of those, up to the number asked
            for, in the order their first calls started.
    """

    total: int
    counts: Mapping[TaskStatus, int]
    under_way: int
    first_under_way: tuple[str, ...]

    @property
    def ended(self) -> int:
        """How many tasks ended, with any status."""
        return sum(self.counts.values())


@attrs.frozen(kw_only=True)
class ExecutionResult:
    """The outcome of a whole run: every task's result, and figures about the run.

    ``result["t1"]`` looks up one task's result.

    Attributes:
        workflow (Workflow): The workflow that ran.
        results (tuple[TaskResult, ...]): One result per task, in workflow order.
        wall_time: Seconds from the start of the run to its end, as the run's
            core recorded it when its last task ended (reading the result
            later changes nothing).
        strategy (Strategy): ``"eager"`` or ``"layered"``: the executor that ran it.
        counts (Mapping[TaskStatus, int]): How many tasks ended with each
            status, every status present (counted by the core as tasks end).
        stop_reason (str | None): Why the run was stopped (``Run.stop``, the
            deadline, fail-fast, the caller's cancellation), or None.
    """

    workflow: Workflow = attrs.field(repr=False)
    results: tuple[TaskResult, ...]
    wall_time: float
    strategy: Strategy
    counts: Mapping[TaskStatus, int] = attrs.field(
        default=attrs.Factory(lambda self: _counts(self.results), takes_self=True), repr=False
    )
    stop_reason: str | None = None

    def __getitem__(self, task_id: str) -> TaskResult:
        return self._by_id[task_id]

    @functools.cached_property
    def _by_id(self) -> dict[str, TaskResult]:
        return {r.task_id: r for r in self.results}

    @property
    def errors(self) -> list[TaskResult]:
        """The result of every task that did not succeed, in workflow order."""
        return [r for r in self.results if not r.ok]

    @property
    def ok(self) -> bool:
        """Whether every task succeeded."""
        return all(r.ok for r in self.results)

    @property
    def generations(self) -> list[list[str]]:
        """The workflow's topological generations (layers), as lists of task ids."""
        return self.workflow.generations

    @property
    def parallelization_layers(self) -> int:
        """How many generations the workflow has (a layered run waits at a barrier after each)."""
        return len(self.workflow.generations)

    @property
    def total_task_time(self) -> float:
        """The sum of every task's duration, which is what a one-at-a-time run would take."""
        return sum(r.duration or 0.0 for r in self.results)

    @property
    def speedup(self) -> float:
        """Total task time divided by wall time (the seed's ``calculateSpeedup``)."""
        return self.total_task_time / self.wall_time if self.wall_time > 0 else 0.0

    # Computed once, on the first read: it depends only on the final results, so
    # reading it late gives the same answer, and a run nobody asks it of (the
    # overhead benchmark) does not pay for it.
    @functools.cached_property
    def _critical(self) -> tuple[list[str], float]:
        by_id = self._by_id
        return self.workflow.critical_path(lambda t: by_id[t.id].duration or 0.0)

    @property
    def critical_path(self) -> list[str]:
        """Task ids of the longest dependency chain, weighted by measured durations."""
        return self._critical[0]

    @property
    def critical_path_time(self) -> float:
        """The summed durations along :attr:`critical_path`, which no schedule can beat."""
        return self._critical[1]

    def to_dict(self, *, workflow: bool = True, results: bool = True) -> dict[str, Any]:
        """Every field and figure above, as plain JSON-ready data.

        Args:
            workflow: Include the workflow that ran (``"workflow"``), so that
                :meth:`from_dict` needs nothing else to load the result again.
            results: Include each task's result (``"results"``); without
                them, the gateway writes them one at a time.
        """
        data: dict[str, Any] = {
            "strategy": self.strategy,
            "ok": self.ok,
            "wall_time": self.wall_time,
            "speedup": self.speedup,
            "parallelization_layers": self.parallelization_layers,
            "generations": self.generations,
            "critical_path": self.critical_path,
            "critical_path_time": self.critical_path_time,
            "results": [task_result_dict(r) for r in self.results] if results else None,
            "errors": [r.task_id for r in self.errors],
            "counts": {status.value: n for status, n in self.counts.items()},
            "stop_reason": self.stop_reason,
        }
        if not results:
            del data["results"]
        if workflow:
            data["workflow"] = self.workflow.to_dict()
        return data

    @classmethod
    def from_dict(cls, data: Any, *, workflow: Workflow | None = None) -> ExecutionResult:
        """Load a result that :meth:`to_dict` gave (a run's ``--json`` file): ``from_dict(r.to_dict()) == r``.

        The figures computed from the results (``ok``, ``speedup``,
        ``critical_path``, each task's ``duration``...) are read from the
        results again, not from ``data``. An output is loaded as the JSON it
        was written as.

        Args:
            data: The plain data.
            workflow: The workflow that ran, for data written with
                ``to_dict(workflow=False)`` (the gateway's); ``data``'s own
                ``"workflow"`` otherwise.

        Raises:
            ValueError: The data is not a result's: every problem, each with its
                path (``result.results[0].status``); or its workflow is not
                valid (the :class:`~dagexec.PlanError`).
        """
        if not isinstance(data, Mapping):
            raise ValueError(f"not an execution result: expected an object, got {json_type(data)}")
        fields = {key: data[key] for key in _RESULT_KEYS if key in data}
        loaded = _load(fields)
        if workflow is None:
            if "workflow" not in data:
                raise ValueError("not an execution result: no 'workflow', and none was given @ result")
            workflow = Workflow.from_dict(data["workflow"])
        known = {task.id for task in workflow.tasks}
        ran = [r.task_id for r in loaded.results]
        if sorted(ran) != sorted(known):
            planned = ", ".join(repr(task.id) for task in workflow.tasks)
            raise ValueError(
                f"not an execution result of its workflow: the results are of tasks {', '.join(map(repr, ran))}, "
                f"the workflow's are {planned}"
            )
        return cls(
            workflow=workflow,
            results=loaded.results,
            wall_time=loaded.wall_time,
            strategy=loaded.strategy,
            stop_reason=loaded.stop_reason,
        )


_converter = cattrs.Converter()
# A status or code is written as its plain text: JSON-ready data holds no enum (the gateway's answer
# would copy every task's dict to make it plain, issue 25).
_converter.register_unstructure_hook(TaskStatus, str)
_converter.register_unstructure_hook(ErrorCode, str)


@attrs.frozen(kw_only=True)
class _Loaded:
    """The fields of an ExecutionResult's data that are not computed from the others."""

    results: tuple[TaskResult, ...]
    wall_time: float
    strategy: Strategy
    stop_reason: str | None = None


_RESULT_KEYS = tuple(field.name for field in attrs.fields(_Loaded))


def _structure_enum(value: Any, cls: type[TaskStatus] | type[ErrorCode]) -> TaskStatus | ErrorCode:
    """A member of a status or code enum (the strict str hook would keep the plain string)."""
    try:
        return cls(value)
    except ValueError:
        raise Invalid(f"expected one of {', '.join(repr(m.value) for m in cls)}, got {show(value)}") from None


def _structure_strategy(value: Any, _: Any) -> Strategy:
    if value not in ("eager", "layered"):
        raise Invalid(f"expected 'eager' or 'layered', got {show(value)}")
    return cast(Strategy, value)


converter.register_structure_hook(TaskStatus, _structure_enum)
converter.register_structure_hook(ErrorCode, _structure_enum)
converter.register_structure_hook_func(lambda t: t == Strategy, _structure_strategy)
_task_result_fields = make_dict_structure_fn(TaskResult, converter)  # unknown keys: refused before it
#: The keys of a task's data: TaskResult's fields, and what task_result_dict adds.
_TASK_RESULT_KEYS = (*(field.alias or field.name for field in attrs.fields(TaskResult)), "duration")


def _structure_task_result(data: Any, _: type) -> TaskResult:
    """A task's result from :func:`task_result_dict`'s data: its duration and derived timeline computed again."""
    if not isinstance(data, Mapping):
        raise Invalid(f"expected an object, got {show(data)}")
    unknown = set(data) - set(_TASK_RESULT_KEYS)
    if unknown:
        raise Invalid(unknown_keys(unknown, _TASK_RESULT_KEYS))
    fields = dict(data)
    fields.pop("duration", None)
    if "timeline" in fields:
        fields["_timeline"] = fields.pop("timeline")
    loaded = _task_result_fields(fields, TaskResult)
    if loaded._timeline is not None and loaded._timeline == attrs.evolve(loaded, timeline=None).timeline:
        loaded = attrs.evolve(loaded, timeline=None)  # as a run keeps it: see TaskResult._timeline
    return loaded


converter.register_structure_hook(TaskResult, _structure_task_result)


def _counts(results: tuple[TaskResult, ...]) -> dict[TaskStatus, int]:
    counts = dict.fromkeys(TaskStatus, 0)
    for r in results:
        counts[r.status] += 1
    return counts


def _load(fields: Mapping[str, Any]) -> _Loaded:
    try:
        return structure(fields, _Loaded, "result")
    except Problems as exc:
        raise ValueError("not an execution result: " + "; ".join(exc.problems)) from None


def task_result_dict(result: TaskResult) -> dict[str, Any]:
    """A task's result as plain data, as :meth:`ExecutionResult.to_dict` gives each."""
    data: dict[str, Any] = _converter.unstructure(result)
    del data["_timeline"]
    data["timeline"] = _converter.unstructure(result.timeline)
    data["duration"] = result.duration
    return data
