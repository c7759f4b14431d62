"""The DAG shapes the bench runs: seeded random DAGs, fan-out/fan-in, chains.

Each family is a plan as plain data (what :meth:`~dagexec.Workflow.from_dict`
reads): :func:`makespan_family` for part 1 (tasks that sleep their drawn
durations), :func:`overhead_family` for part 2 (no-op tasks).
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Any

Data = dict[str, Any]


def _tasks(deps: Mapping[int, list[int]], durations: Mapping[int, float], tool: str) -> Data:
    return {
        "tasks": [
            {
                "id": f"t{i}",
                "tool": tool,
                "arguments": {"seconds": durations[i]} if durations else {},
                "depends_on": [f"t{d}" for d in deps[i]],
                **({"estimate": durations[i]} if durations else {}),
            }
            for i in deps
        ]
    }


def random_dag(n: int, rnd: random.Random, window: int = 10) -> dict[int, list[int]]:
    """Each task depends on up to three of the ``window`` tasks before it."""
    return {i: sorted(rnd.sample(range(max(0, i - window), i), min(i, rnd.randint(0, 3)))) for i in range(n)}


def wide_dag(n: int, stages: int = 1) -> dict[int, list[int]]:
    """Fan-out/fan-in: a root, a wide layer, a join; ``stages`` times in a row."""
    deps: dict[int, list[int]] = {0: []}
    per_stage = max(1, (n - 1) // stages - 1)
    join = 0
    for _ in range(stages):
        start = len(deps)
        for i in range(start, start + per_stage):
            deps[i] = [join]
        join = len(deps)
        deps[join] = list(range(start, start + per_stage))
    return deps


def chain_dag(n: int, rnd: random.Random | None = None, chains: int = 1) -> dict[int, list[int]]:
    """``chains`` long chains; with ``rnd``, each link may get a side branch off it."""
    deps: dict[int, list[int]] = {}
    heads: list[int | None] = [None] * chains
    while len(deps) < n:
        c = len(deps) % chains
        i = len(deps)
        deps[i] = [] if heads[c] is None else [heads[c]]  # type: ignore[list-item]
        heads[c] = i
        if rnd is not None and len(deps) < n and rnd.random() < 0.4:
            deps[len(deps)] = [i]  # a side branch: nothing waits for it
    return deps


def makespan_family(name: str, n: int, seed: int) -> Data:
    """A workflow of the named family whose tasks sleep their drawn durations."""
    rnd = random.Random(f"{name}-{seed}")
    if name == "random":
        deps = random_dag(n, rnd)
    elif name == "wide":
        deps = wide_dag(n, stages=3)
    elif name == "chains":
        deps = chain_dag(n, rnd, chains=4)
    elif name == "skewed":
        deps = random_dag(n, rnd)
    else:
        raise ValueError(f"unknown family {name!r}")
    if name == "skewed":  # a few slow tools among many fast ones
        durations = {i: 5.0 if rnd.random() < 0.05 else rnd.uniform(0.1, 0.3) for i in deps}
    else:
        durations = {i: rnd.uniform(0.1, 1.0) for i in deps}
    return _tasks(deps, {i: round(d, 3) for i, d in durations.items()}, "sim:sleep")


MAKESPAN_FAMILIES = ("random", "wide", "chains", "skewed")


def overhead_family(name: str, n: int) -> Data:
    """``n`` no-op tasks in the named shape (``random``, ``wide`` or ``chain``), seeded by name and size."""
    rnd = random.Random(f"overhead-{name}-{n}")
    deps = {"random": lambda: random_dag(n, rnd, window=50), "wide": lambda: wide_dag(n), "chain": lambda: chain_dag(n)}
    return _tasks(deps[name](), {}, "noop:noop")
