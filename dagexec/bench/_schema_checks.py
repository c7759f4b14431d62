"""Part 5, schema checks: what checking a plan against typed tools costs per task.

A 10,000-task plan on the typed tools of a real stdio MCP server, checked
before the run and before each call, in CPU time; a plan on tools without
schemas, which should pay nothing; and the hostile schemas
(:mod:`dagexec.bench.hostile`).
"""

from __future__ import annotations

import functools
import gc
import statistics
import time
from collections.abc import Callable
from typing import Any

import trio

from .. import EagerExecutor, LocalTools, Task, Workflow
from . import hostile
from ._families import Data, overhead_family
from ._measure import bench_server_config, noop


def typed_plan(n: int) -> Data:
    """``n`` tasks on the bench server's typed tools: forecasts, each read by a report.

    Half literal arguments (an enum among them), half references into the
    forecast's output, through its ``$defs`` and a list.
    """
    tasks: list[dict[str, Any]] = []
    for i in range(n // 2):
        forecast = {"city": f"city {i}", "days": 2, "unit": "c"}
        tasks.append({"id": f"f{i}", "tool": "bench:forecast", "arguments": forecast})
        tasks.append(
            {
                "id": f"r{i}",
                "tool": "bench:report",
                "arguments": {
                    "city": f"$OUTPUT[f{i}].city",
                    "high": f"$OUTPUT[f{i}].days.0.high",
                    "unit": f"$OUTPUT[f{i}].unit",
                    "note": f"forecast $OUTPUT[f{i}].days.1.date",
                },
            }
        )
    return {"tasks": tasks}


def _resolved(task: Task) -> dict[str, Any]:
    """The arguments a report task gets once its forecast is done (the bench server's output)."""
    if not task.references:
        return dict(task.arguments)
    i = task.id[1:]
    return {"city": f"city {i}", "high": 20.0, "unit": "c", "note": "forecast day 1"}


def bench_schemas(quick: bool) -> dict[str, Any]:
    """Part 5: the schema check's cost per task, with and without schemas."""
    try:
        from .._schemas import SchemaCheck
        from ..servers import open_servers
    except ImportError as exc:
        return {"skipped": str(exc)}
    n, reps = 10_000, 5 if quick else 11
    workflow = Workflow.from_dict(typed_plan(n))
    noop_plan = Workflow.from_dict(overhead_family("random", n))
    noop_servers = {"noop": LocalTools({"noop": noop})}
    config = bench_server_config()

    resolved = [(task, _resolved(task)) for task in workflow.tasks]

    def cpu_timed(fn: Callable[[], Any]) -> float:
        # The checks are synchronous work of this process: its CPU time, which other
        # processes on a shared machine do not add to as they do to the wall clock.
        started = time.process_time()
        fn()
        return time.process_time() - started

    def plan(executor: EagerExecutor, tasks: tuple[Task, ...]) -> float:
        gc.collect()  # not a collection left by the figure before
        return cpu_timed(functools.partial(executor.check, tasks))

    def calls(check: SchemaCheck) -> float:
        gc.collect()

        def each() -> None:
            for task, arguments in resolved:
                if task.needs_resolving and check.call_problems(task, arguments) is not None:
                    raise RuntimeError(f"the schema benchmark's task {task.id!r} does not fit")

        return cpu_timed(each)

    times: dict[str, list[float]] = {"plan": [], "unchecked": [], "call": [], "noop": [], "noop_unchecked": []}

    async def main() -> None:  # the checks are synchronous: timed inside the server's session
        async with open_servers(config) as servers:
            checked, unchecked = EagerExecutor(servers), EagerExecutor(servers, check_schemas=False)
            plan(checked, workflow.tasks)  # builds each tool's validator once
            check = SchemaCheck({"bench": servers["bench"].tool_schemas})  # type: ignore[attr-defined]
            calls(check)
            noop_checked = EagerExecutor(noop_servers)
            noop_unchecked = EagerExecutor(noop_servers, check_schemas=False)
            for _ in range(reps):
                times["plan"].append(plan(checked, workflow.tasks))
                times["unchecked"].append(plan(unchecked, workflow.tasks))
                times["call"].append(calls(check))
                times["noop"].append(plan(noop_checked, noop_plan.tasks))
                times["noop_unchecked"].append(plan(noop_unchecked, noop_plan.tasks))

    trio.run(main)
    us = {name: statistics.median(found) / n * 1e6 for name, found in times.items()}
    plan_us = us["plan"] - us["unchecked"]
    return {
        "tasks": n,
        "runs": reps,
        "referencing_tasks": sum(1 for t in workflow.tasks if t.needs_resolving),
        "plan_us_per_task": plan_us,
        "call_us_per_task": us["call"],
        "total_us_per_task": plan_us + us["call"],
        "within_20us": plan_us + us["call"] <= 20.0,
        "within_3us": plan_us + us["call"] <= 3.0,
        "no_schema_us_per_task": us["noop"],
        "no_schema_unchecked_us_per_task": us["noop_unchecked"],
        "hostile": {**hostile.measure(), **hostile.gateway_ping(500 if quick else 2_000)},
    }
