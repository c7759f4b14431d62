"""Workflows and tasks: frozen attrs models and the one cattrs converter that loads them."""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from typing import Any, Literal, get_args

import attrs
import cattrs.gen

from ._convert import Invalid, Problems, accept_keys, converter, show, structure, unknown_keys
from ._errors import CycleError, DuplicateTaskError, PlanProblem, SchemaError, UnknownDependencyError, plan_error
from ._graph import DependencyGraph, cycles, in_dependency_order
from ._refs import Reference, scan_arguments
from ._suggest import did_you_mean


def _check_id(instance: object, attribute: attrs.Attribute[str], value: str) -> None:
    if not value:
        raise Invalid("id must not be empty")
    if "[" in value or "]" in value:
        raise Invalid(f"id {value!r} must not hold '[' or ']': no $OUTPUT[...] reference could name it")


def _check_tool(instance: object, attribute: attrs.Attribute[str], value: str) -> None:
    server, sep, tool = value.partition(":")
    if not (sep and server and tool):
        raise Invalid(f"tool {value!r} is not of the form 'server:tool'")


Trigger = Literal["all_success", "all_done"]
"""When a task runs: once every dependency succeeded, or once every one finished."""

TRIGGERS: tuple[Trigger, ...] = get_args(Trigger)


def _check_trigger(instance: object, attribute: attrs.Attribute[str], value: str) -> None:
    if value not in TRIGGERS:
        raise Invalid(f"trigger must be 'all_success' or 'all_done', not {value!r}")


def _check_positive(instance: object, attribute: attrs.Attribute[float | None], value: float | None) -> None:
    if value is not None and not value > 0:
        raise Invalid(f"{attribute.name} must be > 0, not {value!r}")


def _check_retries(instance: object, attribute: attrs.Attribute[int | None], value: int | None) -> None:
    if value is not None and value < 0:
        raise Invalid(f"retries must be >= 0, not {value!r}")


def _check_estimate(instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not (value >= 0 and math.isfinite(value)):
        raise Invalid(f"estimate must be a finite number >= 0, not {value!r}")


def _id_tuple(ids: Iterable[str]) -> tuple[str, ...]:
    """``depends_on`` as given (a list, a tuple, ...) as a tuple; a lone string is refused, not split."""
    if isinstance(ids, str):
        raise TypeError(f"depends_on must be a list of task ids, not the string {ids!r}")
    return tuple(ids)


@attrs.frozen(kw_only=True)
class Task:
    """One tool call of a workflow.

    Args:
        id: Unique within the workflow, not empty, without ``[`` or ``]``; other
            tasks name it in ``depends_on`` and in ``$OUTPUT[id]`` references.
        tool: ``"server:tool"``: the server, as keyed in the executor's servers,
            and the tool's name on it.
        arguments: JSON arguments of the call, nested at most
            :data:`~dagexec.MAX_ARGUMENT_DEPTH` levels; strings may hold
            ``$OUTPUT[...]`` references to earlier tasks' outputs, and
            ``$$OUTPUT[`` for the text ``$OUTPUT[``.
        depends_on: Ids of the tasks that must succeed first, in any sequence
            (kept as a tuple; a lone string is a ``TypeError``). A reference in
            the arguments implies a dependency too.
        timeout: Seconds each attempt may take; the executor's ``task_timeout``
            when None.
        retries: Extra attempts after a failed one; the executor's ``retries``
            when None.
        trigger: ``"all_success"`` (the default): run only when every dependency
            succeeded. ``"all_done"``: run once every dependency finished,
            whatever its status (clean-up and summary steps).
        estimate: Expected seconds (default 1): the weight of the task when
            waiting tasks are ranked by their longest remaining path.
        approval: Ask the executor's ``approve`` callable before the call.
    """

    id: str = attrs.field(validator=_check_id)
    tool: str = attrs.field(validator=_check_tool)
    arguments: Mapping[str, Any] = attrs.field(factory=dict)
    depends_on: tuple[str, ...] = attrs.field(default=(), converter=_id_tuple)
    timeout: float | None = attrs.field(default=None, validator=_check_positive)
    retries: int | None = attrs.field(default=None, validator=_check_retries)
    trigger: Trigger = attrs.field(default="all_success", validator=_check_trigger)
    estimate: float = attrs.field(default=1.0, validator=_check_estimate)
    approval: bool = False


    #: The part of ``tool`` before the colon.
    server: str = attrs.field(init=False, eq=False, repr=False)
    #: The part of ``tool`` after the colon.
    tool_name: str = attrs.field(init=False, eq=False, repr=False)
    #: Every ``$OUTPUT[...]`` reference in the arguments, in order.
    references: tuple[Reference, ...] = attrs.field(init=False, eq=False, repr=False)
    #: ``depends_on`` followed by the other tasks that references name, once each.
    dependencies: tuple[str, ...] = attrs.field(init=False, eq=False, repr=False)
    #: Whether the arguments hold references or ``$$OUTPUT[`` escapes: only then must a run resolve them.
    needs_resolving: bool = attrs.field(init=False, eq=False, repr=False)

    def __attrs_post_init__(self) -> None:
        # Computed once here: the dispatcher reads them for every task of a run.
        server, _, tool_name = self.tool.partition(":")
        object.__setattr__(self, "server", server)
        object.__setattr__(self, "tool_name", tool_name)
        # One walk checks the arguments (depth, well-formed references) and finds the references.
        references, escapes = scan_arguments(self.arguments) if self.arguments else ((), False)
        object.__setattr__(self, "references", references)
        object.__setattr__(self, "needs_resolving", bool(references) or escapes)
        if references:
            dependencies = tuple(dict.fromkeys((*self.depends_on, *(r.task_id for r in references))))
        elif len(set(self.depends_on)) == len(self.depends_on):
            dependencies = self.depends_on
        else:
            dependencies = tuple(dict.fromkeys(self.depends_on))
        object.__setattr__(self, "dependencies", dependencies)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data that :meth:`from_dict` turns back into this task."""
        data: dict[str, Any] = converter.unstructure(self)
        return data

    @classmethod
    def from_dict(cls, data: Any) -> Task:
        """Build a task from plain data, checking its shape and types.

        Raises:
            SchemaError: A field is missing, unknown, or of the wrong type or form.
        """
        return _read_task(data)


def _dependency_faults(task: Task, known: Collection[str]) -> Sequence[tuple[int | None, str, Reference | None]]:
    """Where ``task`` names itself or a task not in ``known``: the one rule of both checks below.

    Each fault is ``(place in depends_on or None, the id named, the reference or None)``.
    Called for every task a plan or a run reads: nothing is allocated when there is no fault.
    """
    task_id = task.id
    faults: list[tuple[int | None, str, Reference | None]] | None = None
    for place, dep in enumerate(task.depends_on):
        if dep == task_id or dep not in known:
            faults = faults or []
            faults.append((place, dep, None))
    for ref in task.references:
        if ref.task_id == task_id or ref.task_id not in known:
            faults = faults or []
            faults.append((None, ref.task_id, ref))
    return faults or ()


def check_dependencies(task: Task, known: Collection[str]) -> None:
    """Check that ``task`` depends, and refers, only on tasks in ``known``: the first fault, as an error.

    Raises:
        CycleError: The task depends on itself.
        UnknownDependencyError: It names a task that is not in ``known``.
    """
    for _, dep, ref in _dependency_faults(task, known):
        if dep == task.id:
            raise CycleError([task.id, task.id])
        raise UnknownDependencyError(task.id, dep, "depends_on" if ref is None else f"arguments ({ref})")


def _task_tuple(tasks: Iterable[Task]) -> tuple[Task, ...]:
    return tuple(tasks)


@attrs.frozen(kw_only=True)
class Workflow:
    """A validated DAG of tasks.

    Building one checks everything that can be checked before a run: unique ids,
    dependencies and references that name existing tasks, and no cycle.

    Args:
        tasks: The tasks, in the order that results are reported in.

    Raises:
        DuplicateTaskError: Two tasks share an id.
        UnknownDependencyError: A task depends on or refers to a missing task.
        CycleError: The dependencies form a cycle (a self-loop included).
    """

    tasks: tuple[Task, ...] = attrs.field(converter=_task_tuple)
    _by_id: dict[str, Task] = attrs.field(init=False, repr=False, eq=False)
    _in_order: bool = attrs.field(init=False, repr=False, eq=False)
    # Built when first needed: a workflow whose tasks each come after their
    # dependencies cannot have a cycle, and runs without limits need no graph.
    _graph_built: DependencyGraph | None = attrs.field(init=False, repr=False, eq=False)

    def __attrs_post_init__(self) -> None:
        by_id = {task.id: task for task in self.tasks}
        if len(by_id) != len(self.tasks):
            counts = Counter(task.id for task in self.tasks)
            raise DuplicateTaskError([tid for tid, n in counts.items() if n > 1])
        for task in self.tasks:
            check_dependencies(task, by_id)
        dependencies = {task.id: task.dependencies for task in self.tasks}
        in_order = in_dependency_order(dependencies)
        graph = None
        if not in_order:
            graph = DependencyGraph(dependencies)
            graph.check_acyclic()
        object.__setattr__(self, "_by_id", by_id)
        object.__setattr__(self, "_in_order", in_order)
        object.__setattr__(self, "_graph_built", graph)

    @property
    def _graph(self) -> DependencyGraph:
        if self._graph_built is None:
            object.__setattr__(self, "_graph_built", DependencyGraph({t.id: t.dependencies for t in self.tasks}))
        assert self._graph_built is not None
        return self._graph_built

    @property
    def generations(self) -> list[list[str]]:
        """The topological generations (layers) as lists of task ids.

        The first holds the tasks without dependencies; each next one, the tasks
        whose dependencies are all in earlier ones. This is what a layered
        executor runs, a barrier after each.
        """
        return [list(generation) for generation in self._graph.generations]

    def __getitem__(self, task_id: str) -> Task:
        return self._by_id[task_id]

    def __contains__(self, task_id: object) -> bool:
        return task_id in self._by_id

    def topological_order(self) -> list[Task]:
        """The tasks in an order where each comes after all its dependencies.

        Workflow order is kept wherever the dependencies allow.
        """
        if self._in_order:
            return list(self.tasks)
        return [self._by_id[tid] for tid in self._graph.topological_order()]

    def longest_chain(self, weight: Callable[[Task], float] = lambda task: 1.0) -> list[str]:
        """The heaviest dependency chain, each task weighing ``weight(task)``."""
        return self.critical_path(weight)[0]

    def critical_path(self, weight: Callable[[Task], float]) -> tuple[list[str], float]:
        """The heaviest dependency chain and its weight, each task weighing ``weight(task)``.

        With each task's duration as its weight, this is the time no schedule
        can beat.
        """
        by_id = self._by_id
        return self._graph.longest_path(lambda tid: weight(by_id[tid]))

    def remaining_paths(self, weight: Callable[[Task], float]) -> dict[str, float]:
        """For each task, the heaviest chain from it to the end of the workflow, itself included.

        Executors rank tasks waiting for a slot by it (with ``estimate`` as the
        weight): the longest remaining path first.
        """
        by_id = self._by_id
        return self._graph.remaining(lambda tid: weight(by_id[tid]))

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data; ``Workflow.from_dict(wf.to_dict()) == wf``."""
        data: dict[str, Any] = converter.unstructure(self)
        return data

    @classmethod
    def from_dict(cls, data: Any) -> Workflow:
        """Build and validate a workflow from plain data (``{"tasks": [...]}``).

        Every problem is found before the error is raised: each task's shape,
        repeated ids, unknown dependencies and references, cycles.

        Raises:
            PlanError: Every problem of the plan, each naming its task and
                field (:class:`SchemaError` when all are of shape or type).
        """
        tasks, problems = read_plan(data)
        if problems:
            raise plan_error(problems)
        return cls(tasks=tasks)

    @classmethod
    def from_json(cls, text: str | bytes) -> Workflow:
        """Build and validate a workflow from JSON text.

        Raises:
            SchemaError: The text is not JSON, or is nested too deeply for
                Python's JSON parser.
            PlanError: Every problem of the plan (see :meth:`from_dict`).
        """
        return cls.from_dict(parse_json(text))


def parse_json(text: str | bytes) -> Any:
    """A plan's JSON text as data.

    Raises:
        SchemaError: The text is not JSON, or nests too deeply for Python's JSON parser.
    """
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise SchemaError([PlanProblem(None, "", f"not valid JSON: {exc}")]) from None
    except RecursionError:  # the parser's own limit, far beyond MAX_ARGUMENT_DEPTH
        raise SchemaError([PlanProblem(None, "", "JSON nested too deeply to read")]) from None


def read_plan(data: Any) -> tuple[list[Task], list[PlanProblem]]:
    """Every well-formed task of a plan's data, and every problem that needs no server to find.

    Each task is read apart, so that one task's problems hide no other's; then
    repeated ids, dependencies and references that name no task, and cycles
    among the well-formed tasks. Problems come task by task, in the plan's order.

    Returns:
        The tasks that are well-formed alone, and the problems; the tasks make
        a workflow only when there are no problems.
    """
    if not isinstance(data, Mapping):
        return [], [PlanProblem(None, "", f"expected an object with 'tasks', got {show(data)}")]
    problems: list[PlanProblem] = []
    extra = [str(key) for key in data if key != "tasks"]
    if extra:
        problems.append(PlanProblem(None, "", unknown_keys(extra, ("tasks",))))
    if "tasks" not in data:
        return [], [*problems, PlanProblem(None, "tasks", "required field missing")]
    raw = data["tasks"]
    if not isinstance(raw, list):
        return [], [*problems, PlanProblem(None, "tasks", f"expected an array, got {show(raw)}")]
    # Every id the plan writes, well-formed task or not: a dependency on a task
    # that is only malformed is reported once, at that task. (``type(...) is dict``
    # first: an ABC's isinstance costs more than the rest of a task's bookkeeping.)
    first: dict[str, int] = {}
    repeated: dict[str, list[int]] = {}
    for index, item in enumerate(raw):
        task_id = item.get("id") if type(item) is dict or isinstance(item, Mapping) else None
        if isinstance(task_id, str) and task_id:
            if task_id in first:
                repeated.setdefault(task_id, [first[task_id]]).append(index)
            else:
                first[task_id] = index
    by_task: dict[int, list[PlanProblem]] = {}
    tasks: dict[str, Task] = {}
    for index, item in enumerate(raw):
        try:
            task = structure(item, Task, "task")
        except Problems as exc:
            task_id = item.get("id") if isinstance(item, Mapping) else None
            name = task_id if isinstance(task_id, str) and task_id else None
            found = by_task.setdefault(index, [])
            for line in exc.problems:
                message, _, path = line.rpartition(" @ ")
                found.append(PlanProblem(name, path.removeprefix("task").lstrip("."), message, index=index))
            continue
        found = dependency_problems(task, index, first)
        if task.id in repeated:
            places = repeated[task.id]
            if places[0] == index:
                at = ", ".join(f"tasks[{i}]" for i in places)
                problem = f"used by {len(places)} tasks ({at})"
                found.insert(0, PlanProblem(task.id, "id", problem, index=index, kind="duplicate"))
            if found:
                by_task[index] = found
            continue
        if found:
            by_task[index] = found
        tasks[task.id] = task
    graph: dict[str, Sequence[str]]
    if by_task:  # some dependencies name no task, or the task itself: left out of the graph
        graph = {t.id: [d for d in t.dependencies if d in tasks and d != t.id] for t in tasks.values()}
    else:
        graph = {t.id: t.dependencies for t in tasks.values()}
    for cycle in cycles(graph):
        head = cycle[0]
        by_task.setdefault(first[head], []).append(
            PlanProblem(head, "depends_on", f"tasks form a cycle: {' -> '.join(cycle)}", kind="cycle")
        )
    for index in sorted(by_task):
        problems += by_task[index]
    return list(tasks.values()), problems


def dependency_problems(task: Task, index: int | None, known: Collection[str]) -> list[PlanProblem]:
    """Every fault of a task's dependencies and references, as problems: itself, or a task the plan does not have."""
    problems = []
    for place, dep, ref in _dependency_faults(task, known):
        where = f"depends_on[{place}]" if ref is None else "arguments"
        if dep == task.id:
            problem = (
                f"tasks form a cycle: {dep} -> {dep} (the task depends on itself)"
                if ref is None
                else f"{ref} is the task's own output: tasks form a cycle: {dep} -> {dep}"
            )
            problems.append(PlanProblem(task.id, where, problem, index=index, kind="cycle"))
        else:
            named = f"unknown task {dep!r}" if ref is None else f"{ref} names unknown task {dep!r}"
            problem = named + did_you_mean(dep, known)
            problems.append(PlanProblem(task.id, where, problem, index=index, kind="dependency", name=dep))
    return problems


# -- loading -------------------------------------------------------------------------------

# A trigger arrives as a plain string; the field's validator says what is wrong with it.
converter.register_structure_hook_func(lambda t: t == Trigger, lambda value, _: value)
_generated_task_hook = converter.get_structure_hook(Task)


def _structure_task(value: Any, cls: type[Task]) -> Task:
    if type(value) is not dict and not isinstance(value, Mapping):
        raise Invalid(f"expected an object, got {show(value)}")
    task: Task = _generated_task_hook(value, cls)
    return task


converter.register_structure_hook(Task, _structure_task)
accept_keys(Task)
converter.register_unstructure_hook(
    Task,
    cattrs.gen.make_dict_unstructure_fn(
        Task,
        converter,
        server=cattrs.gen.override(omit=True),
        tool_name=cattrs.gen.override(omit=True),
        references=cattrs.gen.override(omit=True),
        dependencies=cattrs.gen.override(omit=True),
        needs_resolving=cattrs.gen.override(omit=True),
        timeout=cattrs.gen.override(omit_if_default=True),
        retries=cattrs.gen.override(omit_if_default=True),
        trigger=cattrs.gen.override(omit_if_default=True),
        estimate=cattrs.gen.override(omit_if_default=True),
        approval=cattrs.gen.override(omit_if_default=True),
    ),
)
converter.register_unstructure_hook(Workflow, lambda wf: {"tasks": [t.to_dict() for t in wf.tasks]})


def _read_task(data: Any) -> Task:
    """One task from plain data, every problem of its shape in the error."""
    try:
        return structure(data, Task, "task")
    except Problems as exc:
        task_id = data.get("id") if isinstance(data, Mapping) else None
        name = task_id if isinstance(task_id, str) and task_id else None
        problems = []
        for line in exc.problems:
            message, _, path = line.rpartition(" @ ")
            problems.append(PlanProblem(name, path.removeprefix("task").lstrip("."), message))
        raise SchemaError(problems) from None
