"""Dependency graphs over plain ``{id: dependencies}`` maps: cycles, generations, paths (networkx).

Nothing here knows what a task is, and nothing here is consulted while a run
dispatches tasks: it checks a workflow before the run and describes it for
reports and for ranking tasks that wait for a slot.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence

import networkx as nx

from ._errors import CycleError

Dependencies = Mapping[str, Sequence[str]]
"""Each node's id, mapped to the ids it depends on (each of them a node too)."""


def in_dependency_order(dependencies: Dependencies) -> bool:
    """Whether every node comes after all its dependencies, in the map's order.

    Such a graph cannot have a cycle; planners mostly write workflows this way.
    """
    seen: set[str] = set()
    for node, deps in dependencies.items():
        if not seen.issuperset(deps):
            return False
        seen.add(node)
    return True


def check_acyclic(dependencies: Dependencies) -> None:
    """Check that the dependencies form no cycle.

    Raises:
        CycleError: They do; ``.cycle`` names one (a self-loop included).
    """
    if not in_dependency_order(dependencies):
        DependencyGraph(dependencies).check_acyclic()


def cycles(dependencies: Dependencies) -> list[list[str]]:
    """One cycle in each group of nodes that reach one another, the first node repeated last.

    Self-loops are not looked for: leave them out of ``dependencies``. Linear in
    the graph's size: one cycle per strongly connected component, not every cycle.
    """
    if in_dependency_order(dependencies):
        return []
    graph = DependencyGraph(dependencies)._graph
    found = []
    order = {node: i for i, node in enumerate(dependencies)}
    for component in nx.strongly_connected_components(graph):
        if len(component) > 1:
            start = min(component, key=order.__getitem__)
            edges = nx.find_cycle(graph.subgraph(component), source=start)
            found.append([u for u, _ in edges] + [edges[0][0]])
    found.sort(key=lambda cycle: order[cycle[0]])
    return found


class DependencyGraph:
    """A directed graph with an edge from each dependency to its dependent.

    Node order is the map's order: generations and ties keep it.

    Args:
        dependencies: Each node mapped to its dependencies, all of them nodes.
    """

    def __init__(self, dependencies: Dependencies) -> None:
        self._order = {node: i for i, node in enumerate(dependencies)}
        graph: nx.DiGraph[str] = nx.DiGraph()
        graph.add_nodes_from(dependencies)
        graph.add_edges_from((dep, node) for node, deps in dependencies.items() for dep in deps)
        self._graph = graph

    def check_acyclic(self) -> None:
        """Check that the graph has no cycle.

        Raises:
            CycleError: It has; ``.cycle`` names one, the first node repeated last.
        """
        if not nx.is_directed_acyclic_graph(self._graph):
            # Only now, since find_cycle is slow on large acyclic graphs.
            edges = nx.find_cycle(self._graph)
            raise CycleError([u for u, _ in edges] + [edges[0][0]])

    @functools.cached_property
    def generations(self) -> tuple[tuple[str, ...], ...]:
        """Topological generations, each in node order."""
        order = self._order
        return tuple(tuple(sorted(gen, key=order.__getitem__)) for gen in nx.topological_generations(self._graph))

    def topological_order(self) -> list[str]:
        """Every node after its dependencies; node order wherever the dependencies allow."""
        return list(nx.lexicographical_topological_sort(self._graph, key=self._order.__getitem__))

    def remaining(self, weight: Callable[[str], float]) -> dict[str, float]:
        """For each node, the heaviest path from it to the end of the graph, itself included."""
        rest: dict[str, float] = {}
        succ = self._graph.succ
        for gen in reversed(self.generations):
            for node in gen:
                rest[node] = weight(node) + max((rest[s] for s in succ[node]), default=0.0)
        return rest

    def longest_path(self, weight: Callable[[str], float]) -> tuple[list[str], float]:
        """The path of greatest total node weight, and that weight.

        networkx's ``dag_longest_path`` weighs edges; this weighs the nodes
        themselves, in one pass over the generations.
        """
        best: dict[str, float] = {}
        came_from: dict[str, str | None] = {}
        pred = self._graph.pred
        for gen in self.generations:
            for node in gen:
                parent = max(pred[node], key=best.__getitem__, default=None)
                came_from[node] = parent
                best[node] = weight(node) + (best[parent] if parent is not None else 0.0)
        if not best:
            return [], 0.0
        last = max(best, key=best.__getitem__)
        total = best[last]
        step: str | None = last
        path: list[str] = []
        while step is not None:
            path.append(step)
            step = came_from[step]
        return path[::-1], total
