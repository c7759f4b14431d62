"""Part 1, makespan in virtual time: each strategy as a ratio to the physical limits.

Seeded random DAG families (:mod:`dagexec.bench._families`) run eager, layered
and one at a time, each as a ratio to the critical path (given the tools'
durations); then under concurrency limits, as a ratio to ``max(critical path,
work / limit)``, for critical-path priority and for first-come-first-served.
Virtual time (trio's ``MockClock``) is exact: these figures do not depend on
the machine.
"""

from __future__ import annotations

import statistics
from typing import Any

from .. import EagerExecutor, LayeredExecutor, LocalTools, Task, Workflow
from ._families import MAKESPAN_FAMILIES, makespan_family
from ._measure import sleep, virtual_run


def _estimate(task: Task) -> float:
    return task.estimate


def bench_makespan(quick: bool) -> dict[str, Any]:
    """Part 1: virtual-time makespans as ratios to the physical limits."""
    n, seeds, limits = (30, 3, (2, 4)) if quick else (80, 9, (2, 4, 8))
    servers = {"sim": LocalTools({"sleep": sleep})}
    rows, limited = [], []
    for family in MAKESPAN_FAMILIES:
        ratios: dict[str, list[float]] = {"eager": [], "layered": [], "one at a time": []}
        bound_ratios: dict[tuple[int, str], list[float]] = {}
        exact = True
        for seed in range(seeds):
            workflow = Workflow.from_dict(makespan_family(family, n, seed))
            durations = {t.id: t.arguments["seconds"] for t in workflow.tasks}
            critical = sum(durations[t] for t in workflow.longest_chain(_estimate))
            work = sum(durations.values())
            eager = virtual_run(EagerExecutor(servers), workflow)
            exact &= abs(eager.wall_time - critical) < 1e-6
            ratios["eager"].append(eager.wall_time / critical)
            ratios["layered"].append(virtual_run(LayeredExecutor(servers), workflow).wall_time / critical)
            one = virtual_run(EagerExecutor(servers, max_concurrency=1), workflow)
            ratios["one at a time"].append(one.wall_time / critical)
            for k in limits:
                bound = max(critical, work / k)
                for priority in ("critical_path", "fifo"):
                    run = virtual_run(EagerExecutor(servers, max_concurrency=k, priority=priority), workflow)
                    bound_ratios.setdefault((k, priority), []).append(run.wall_time / bound)
        rows.append(
            {
                "family": family,
                "tasks": n,
                "seeds": seeds,
                "eager_equals_critical_path": exact,
                **{name: statistics.median(found) for name, found in ratios.items()},
            }
        )
        for (k, priority), found in bound_ratios.items():
            limited.append(
                {"family": family, "limit": k, "priority": priority, "ratio": statistics.median(found)}
            )
    return {"unlimited": rows, "limited": limited}
