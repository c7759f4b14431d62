"""The workflow's graph: checks across tasks, generations and longest paths (networkx).

Nothing here is consulted while a run dispatches tasks; it validates a workflow
before the run and describes it for reports.
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING

import networkx as nx

from ._errors import CycleError, DuplicateTaskError, UnknownDependencyError

if TYPE_CHECKING:
    from ._workflow import Task


def check_dependencies(task: Task, known: Mapping[str, object] | frozenset[str]) -> None:
    """Check that ``task`` depends and refers only on tasks in ``known``.

    Raises:
        CycleError: The task depends on itself.
        UnknownDependencyError: It names a task that is not in ``known``.
    """
    for dep in task.depends_on:
        if dep == task.id:
            raise CycleError([task.id, task.id])
        if dep not in known:
            raise UnknownDependencyError(task.id, dep, "depends_on")
    for ref in task.references:
        if ref.task_id == task.id:
            raise CycleError([task.id, task.id])
        if ref.task_id not in known:
            raise UnknownDependencyError(task.id, ref.task_id, f"arguments ({ref})")


class TaskGraph:
    """A validated dependency graph: an edge from each dependency to its dependent.

    Build it with :meth:`build`, which raises for anything that cannot run.
    """

    def __init__(self, tasks: Sequence[Task], graph: nx.DiGraph[str]) -> None:
        self.tasks = {task.id: task for task in tasks}
        self.graph = graph

    @classmethod
    def build(cls, tasks: Sequence[Task]) -> TaskGraph:
        """Check ``tasks`` as a whole and build their graph.

        Raises:
            DuplicateTaskError: Ids used more than once.
            UnknownDependencyError: A dependency or reference to a missing task.
            CycleError: A cycle, self-loops included; ``.cycle`` names it.
        """
        by_id = {task.id: task for task in tasks}
        if len(by_id) != len(tasks):
            counts = Counter(task.id for task in tasks)
            raise DuplicateTaskError([tid for tid, n in counts.items() if n > 1])
        for task in tasks:
            check_dependencies(task, by_id)
        graph: nx.DiGraph[str] = nx.DiGraph()
        graph.add_nodes_from(by_id)
        graph.add_edges_from((dep, task.id) for task in tasks for dep in task.dependencies)
        if not nx.is_directed_acyclic_graph(graph):
            # Only now, since find_cycle is slow on large acyclic graphs.
            edges = nx.find_cycle(graph)
            raise CycleError([u for u, _ in edges] + [edges[0][0]])
        return cls(tasks, graph)

    @functools.cached_property
    def _index(self) -> dict[str, int]:
        return {tid: i for i, tid in enumerate(self.tasks)}

    def generations(self) -> list[list[str]]:
        """Topological generations, each in workflow order."""
        return [list(gen) for gen in self._generations]

    @functools.cached_property
    def _generations(self) -> tuple[tuple[str, ...], ...]:
        index = self._index
        return tuple(
            tuple(sorted(gen, key=index.__getitem__))
            for gen in nx.topological_generations(self.graph)
        )

    def topological_order(self) -> list[Task]:
        """Tasks in dependency order; workflow order wherever the dependencies allow."""
        seen: set[str] = set()
        for task in self.tasks.values():
            if not seen.issuperset(task.dependencies):
                break
            seen.add(task.id)
        else:  # already in dependency order, as planners mostly write them
            return list(self.tasks.values())
        order = nx.lexicographical_topological_sort(self.graph, key=self._index.__getitem__)
        return [self.tasks[tid] for tid in order]

    def remaining(self, weight: Callable[[Task], float]) -> dict[str, float]:
        """For each task, the heaviest path from it to the end of the workflow, itself included."""
        rest: dict[str, float] = {}
        succ = self.graph.succ
        for gen in reversed(self._generations):
            for tid in gen:
                rest[tid] = weight(self.tasks[tid]) + max((rest[s] for s in succ[tid]), default=0.0)
        return rest

    def longest_path(self, weight: Callable[[Task], float]) -> tuple[list[str], float]:
        """The path of greatest total node weight, and that weight.

        networkx's ``dag_longest_path`` weighs edges; this weighs the tasks
        themselves, in one pass over the generations.
        """
        best: dict[str, float] = {}
        came_from: dict[str, str | None] = {}
        pred = self.graph.pred
        for gen in self._generations:
            for tid in gen:
                parent = max(pred[tid], key=best.__getitem__, default=None)
                came_from[tid] = parent
                best[tid] = weight(self.tasks[tid]) + (best[parent] if parent is not None else 0.0)
        if not best:
            return [], 0.0
        last = max(best, key=best.__getitem__)
        total = best[last]
        node: str | None = last
        path: list[str] = []
        while node is not None:
            path.append(node)
            node = came_from[node]
        return path[::-1], total
