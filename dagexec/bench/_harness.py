"""``dagexec bench``: the table of parts, and the run that takes them in turn.

Each part lives in its own module, and each is reproducible on the user's own
machine:

1. **makespan** (:mod:`._makespan`): seeded DAG families in virtual time, each
   strategy as a ratio to the physical limits.
2. **overhead** (:mod:`._overhead`): the whole pipeline on no-op tools against
   a minimal trio executor, traced and not, and its memory.
3. **mcp**, **gateway** and **branches** (:mod:`._real_mcp`): a real stdio MCP
   server, directly, through ``dagexec serve``, and on the demo plan's
   dependent branches.
4. **dask** (:mod:`._dask`): CPU-bound calls in threads against a Dask cluster.
5. **schemas** (:mod:`._schema_checks`): the schema checks' cost per task.
6. **plans** (:mod:`._plans`): planners' published plans in virtual time.

The DAG shapes are in :mod:`._families`, the simulated tools and timers in
:mod:`._measure`. Every figure is a median of several runs, and every
comparison a ratio measured in the same run, since shared machines are noisy.
"""

from __future__ import annotations

import os
import platform
from collections.abc import Callable, Sequence
from typing import Any

import networkx
import trio

from .. import __version__
from ._dask import bench_dask
from ._makespan import bench_makespan
from ._overhead import bench_overhead
from ._plan_sets import PlanSet
from ._plans import bench_plans
from ._real_mcp import bench_branches, bench_gateway, bench_mcp
from ._schema_checks import bench_schemas


def machine() -> dict[str, Any]:
    """The machine and versions the figures come from."""
    model = ""
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            names = (line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name"))
            model = next(names, "")
    except OSError:
        pass
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "cpu": model,
        "dagexec": __version__,
        "trio": trio.__version__,
        "networkx": networkx.__version__,
    }


#: Each part by name, in the order a full run takes them.
_PART_RUNS: dict[str, Callable[[bool], Any]] = {
    "makespan": bench_makespan,
    "overhead": bench_overhead,
    "mcp": bench_mcp,
    "dask": bench_dask,
    "schemas": bench_schemas,
    "gateway": bench_gateway,
    "plans": bench_plans,
    "branches": bench_branches,
}
PARTS = tuple(_PART_RUNS)


def run_bench(
    *, quick: bool = False, parts: tuple[str, ...] = PARTS, plans: Sequence[PlanSet] | None = None
) -> dict[str, Any]:
    """Run the benchmark parts and return every figure as plain data.

    Args:
        quick: A short run: fewer sizes, seeds, plans and repeats.
        parts: The parts to run, by name (:data:`PARTS`).
        plans: The plan sets of the ``plans`` part (default: the vendored ones).
    """
    report: dict[str, Any] = {"quick": quick, "machine": machine()}
    for name, run in _PART_RUNS.items():
        if name == "plans" and name in parts:
            report[name] = bench_plans(quick, plans)
        elif name in parts:
            report[name] = run(quick)
    return report
