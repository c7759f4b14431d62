"""The parts on a real stdio MCP server (``python -m dagexec.bench.server``), in real time.

- **mcp**: five tools of the server, eager, layered and one at a time, P50 and
  P95 over repeated runs.
- **gateway**: the same five tools as one plan sent to ``dagexec serve`` by the
  SDK's MCP client, as an agent would send it.
- **branches**: the demo plan's dependent branches (``dagexec demo``), eager
  against layered, each against what virtual time says it should take.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Mapping
from typing import Any, TextIO

import trio

from .. import EagerExecutor, LayeredExecutor, LocalTools, Workflow
from ._families import Data
from ._measure import bench_server_config, sleep, virtual_run


async def _wall_times(
    executors: Mapping[str, EagerExecutor | LayeredExecutor], workflow: Workflow, runs: int, what: str
) -> dict[str, list[float]]:
    """Each executor's wall times over ``runs`` runs of ``workflow``, in turn, after one run to warm the session."""
    times: dict[str, list[float]] = {name: [] for name in executors}
    await next(iter(executors.values())).execute(workflow)
    for _ in range(runs):
        for name, executor in executors.items():
            result = await executor.execute(workflow)
            if not result.ok:
                raise RuntimeError(f"the {what} benchmark failed: {result.errors[0].error}")
            times[name].append(result.wall_time)
    return times


def bench_mcp(quick: bool, seconds: float = 0.2) -> dict[str, Any]:
    """Part 3: five tools on a real stdio MCP server, P50 and P95 wall times."""
    try:
        from ..servers import open_servers
    except ImportError as exc:
        return {"skipped": str(exc)}
    runs = 5 if quick else 20
    workflow = Workflow.from_dict(
        {"tasks": [{"id": f"t{i}", "tool": "bench:sleep", "arguments": {"seconds": seconds}} for i in range(5)]}
    )
    config = bench_server_config()

    async def main() -> dict[str, list[float]]:
        async with open_servers(config) as servers:
            executors: dict[str, EagerExecutor | LayeredExecutor] = {
                "eager": EagerExecutor(servers),
                "layered": LayeredExecutor(servers),
                "one at a time": EagerExecutor(servers, max_concurrency=1),
            }
            return await _wall_times(executors, workflow, runs, "MCP")

    times = trio.run(main)
    rows: list[dict[str, Any]] = []
    for name, found in times.items():
        p50 = statistics.median(found)
        p95 = statistics.quantiles(found, n=20, method="inclusive")[18] if len(found) > 1 else found[0]
        rows.append({"strategy": name, "p50": p50, "p95": p95, "p50_over_ideal": p50 / seconds})
    sequential = statistics.median(times["one at a time"])
    return {
        "runs": runs,
        "tools": 5,
        "tool_seconds": seconds,
        "ideal": seconds,
        "rows": rows,
        "speedup_eager_over_one_at_a_time": sequential / statistics.median(times["eager"]),
        "p95_eager_under_3s": max(r["p95"] for r in rows if r["strategy"] == "eager") < 3.0,
    }


def bench_gateway(quick: bool, seconds: float = 0.2) -> dict[str, Any]:
    """Part 5: the five tools of part 3 as one plan sent to ``dagexec serve`` by an MCP client, P50 and P95.

    The client is the SDK's, over stdio, as an agent's would be; each time is
    from its call of ``run_workflow`` to the result in its hands. The ideal is
    one tool's duration: what the gateway adds is the figure.
    """
    try:
        from mcp import Client, StdioServerParameters
        from mcp.client.stdio import stdio_client
    except ImportError as exc:
        return {"skipped": str(exc)}
    runs = 5 if quick else 20
    plan = {"tasks": [{"id": f"t{i}", "tool": "bench:sleep", "arguments": {"seconds": seconds}} for i in range(5)]}
    config = bench_server_config()

    async def main(servers: str, errlog: TextIO) -> list[float]:
        params = StdioServerParameters(command=sys.executable, args=["-m", "dagexec", "serve", "--servers", servers])
        times = []
        # The gateway's stderr (its start line) goes to a file, quoted if it fails, not amid the tables.
        async with Client(stdio_client(params, errlog=errlog), mode="legacy") as client:
            await client.call_tool("run_workflow", plan)  # warm up the sessions
            for _ in range(runs):
                start = time.perf_counter()
                result = await client.call_tool("run_workflow", plan)
                times.append(time.perf_counter() - start)
                if result.is_error or not result.structured_content["ok"]:
                    raise RuntimeError(f"the gateway benchmark failed: {result.content}")
        return times

    with tempfile.TemporaryDirectory() as folder:
        servers = os.path.join(folder, "servers.json")
        with open(servers, "w") as file:
            json.dump(config, file)
        with open(os.path.join(folder, "serve.log"), "w+") as errlog:
            try:
                times = trio.run(main, servers, errlog)
            except Exception:
                errlog.seek(0)
                sys.stderr.write(errlog.read())
                raise
    p95 = statistics.quantiles(times, n=20, method="inclusive")[18]
    return {
        "runs": runs,
        "tools": 5,
        "tool_seconds": seconds,
        "ideal": seconds,
        "p50": statistics.median(times),
        "p95": p95,
        "p95_within_50ms_of_ideal": p95 - seconds <= 0.05,
    }


def demo_durations() -> dict[str, float]:
    """Each task of the demo plan (``dagexec demo``) and its simulated tool's duration, read from a virtual run."""
    from .._demo import DEMO_WORKFLOW, demo_servers

    workflow = Workflow.from_dict(DEMO_WORKFLOW)
    run = virtual_run(EagerExecutor(demo_servers(), check_schemas=False), workflow)
    return {r.task_id: round(r.finished_at - r.started_at, 6) for r in run.results}  # type: ignore[operator]


def branches_plan(scale: float) -> Data:
    """The demo plan's graph with each task the bench server's ``sleep`` of its duration times ``scale``."""
    from .._demo import DEMO_WORKFLOW

    durations = demo_durations()
    workflow = Workflow.from_dict(DEMO_WORKFLOW)
    return {
        "tasks": [
            {"id": t.id, "tool": "bench:sleep", "arguments": {"seconds": round(durations[t.id] * scale, 6)},
             "depends_on": list(t.dependencies)}
            for t in workflow.tasks
        ]
    }  # fmt: skip


def bench_branches(quick: bool, scale: float = 0.25) -> dict[str, Any]:
    """Part 7: the demo plan's dependent branches on a real stdio MCP server, eager against layered.

    The twelve tasks keep the demo's dependencies; each calls the bench
    server's ``sleep`` for its demo duration times ``scale``. Virtual time
    says what each strategy should take; the runs say what it does take.
    """
    try:
        from ..servers import open_servers
    except ImportError as exc:
        return {"skipped": str(exc)}
    runs = 2 if quick else 5
    workflow = Workflow.from_dict(branches_plan(scale))
    sim = {"bench": LocalTools({"sleep": sleep})}
    virtual = {
        "eager": virtual_run(EagerExecutor(sim, check_schemas=False), workflow).wall_time,
        "layered": virtual_run(LayeredExecutor(sim, check_schemas=False), workflow).wall_time,
    }
    config = bench_server_config()

    async def main() -> dict[str, list[float]]:
        async with open_servers(config) as servers:
            executors: dict[str, EagerExecutor | LayeredExecutor] = {
                "eager": EagerExecutor(servers),
                "layered": LayeredExecutor(servers),
            }
            return await _wall_times(executors, workflow, runs, "branches")

    times = trio.run(main)
    medians = {name: statistics.median(found) for name, found in times.items()}
    return {
        "runs": runs,
        "scale": scale,
        "tasks": len(workflow.tasks),
        "layers": len(workflow.generations),
        "rows": [
            {"strategy": name, "p50": medians[name], "virtual": virtual[name],
             "p50_over_virtual": medians[name] / virtual[name]}
            for name in ("eager", "layered")
        ],
        "layered_over_eager": medians["layered"] / medians["eager"],
    }
