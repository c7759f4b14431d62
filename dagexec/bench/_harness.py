"""``dagexec bench``: measure eager against layered, and against the limits.

Four parts, each reproducible on the user's own machine:

1. **Makespan in virtual time** (trio's ``MockClock``): seeded random DAG
   families run eager, layered and one at a time, each as a ratio to the
   critical path (the physical limit, given the tools' durations); then under
   concurrency limits, as a ratio to ``max(critical path, work / limit)``, for
   critical-path priority and for first-come-first-served. Virtual time is
   exact: these figures do not depend on the machine.
2. **Scheduler overhead in real time**: no-op tools, the whole pipeline
   (``Workflow.from_dict`` then ``execute``), against a minimal trio executor
   written here (in-degree counters and ``nursery.start_soon``: the floor for
   any trio design), measured in the same run; and the same execution traced,
   with an OpenTelemetry SDK tracer provider whose spans go nowhere: the cost of
   the spans.
3. **Real MCP latency**: five tools of one real stdio MCP server, eager,
   layered and one at a time, P50 and P95 over repeated runs.
4. **Past one machine**: eight CPU-bound calls in threads (one interpreter
   lock) against a two-worker Dask cluster, and the Dask path's own cost per
   call on no-op tools.
5. **Schema checks**: what checking a 10,000-task plan against the typed
   tools of one real stdio MCP server costs per task, before the run and
   before each call; and that a plan on tools without schemas pays nothing.
6. **Published plans** (:mod:`dagexec.bench._plans`): planners' gold plans in
   virtual time, eager against layered and one at a time, under seeded
   lognormal durations; and the demo plan's dependent branches on a real MCP
   server, eager against layered.

Every figure is a median of several runs, and every comparison a ratio measured
in the same run, since shared machines are noisy.
"""

from __future__ import annotations

import functools
import gc
import json
import os
import platform
import random
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TextIO

import networkx
import trio
import trio.testing

from .. import EagerExecutor, ExecutionResult, LayeredExecutor, LocalTools, Task, Workflow, __version__
from .._graph import DependencyGraph
from . import hostile
from ._plan_sets import PlanSet
from ._plans import bench_plans

Data = dict[str, Any]

# -- DAG families --------------------------------------------------------------------------


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

# -- part 1: makespan in virtual time ------------------------------------------------------


async def _sleep(seconds: float) -> None:
    await trio.sleep(seconds)


def _estimate(task: Task) -> float:
    return task.estimate


def _virtual(executor: EagerExecutor | LayeredExecutor, workflow: Workflow) -> ExecutionResult:
    async def main() -> ExecutionResult:
        return await executor.execute(workflow)

    return trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0))


def bench_makespan(quick: bool) -> dict[str, Any]:
    """Part 1: virtual-time makespans as ratios to the physical limits."""
    n, seeds, limits = (30, 3, (2, 4)) if quick else (80, 9, (2, 4, 8))
    servers = {"sim": LocalTools({"sleep": _sleep})}
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
            eager = _virtual(EagerExecutor(servers), workflow)
            exact &= abs(eager.wall_time - critical) < 1e-6
            ratios["eager"].append(eager.wall_time / critical)
            ratios["layered"].append(_virtual(LayeredExecutor(servers), workflow).wall_time / critical)
            one = _virtual(EagerExecutor(servers, max_concurrency=1), workflow)
            ratios["one at a time"].append(one.wall_time / critical)
            for k in limits:
                bound = max(critical, work / k)
                for priority in ("critical_path", "fifo"):
                    run = _virtual(EagerExecutor(servers, max_concurrency=k, priority=priority), workflow)
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


# -- part 2: scheduler overhead in real time -----------------------------------------------


async def _noop() -> None:
    return None


async def minimal_executor(data: Data) -> None:
    """The floor for any trio design: in-degree counters and ``nursery.start_soon``."""
    tasks = data["tasks"]
    successors: dict[str, list[str]] = {t["id"]: [] for t in tasks}
    waiting: dict[str, int] = {}
    for task in tasks:
        waiting[task["id"]] = len(task["depends_on"])
        for dep in task["depends_on"]:
            successors[dep].append(task["id"])

    async with trio.open_nursery() as nursery:

        async def run(task_id: str) -> None:
            await _noop()
            for successor in successors[task_id]:
                waiting[successor] -= 1
                if not waiting[successor]:
                    nursery.start_soon(run, successor)

        for task_id, count in waiting.items():
            if not count:
                nursery.start_soon(run, task_id)


def overhead_family(name: str, n: int) -> Data:
    rnd = random.Random(f"overhead-{name}-{n}")
    deps = {"random": lambda: random_dag(n, rnd, window=50), "wide": lambda: wide_dag(n), "chain": lambda: chain_dag(n)}
    return _tasks(deps[name](), {}, "noop:noop")


def _pipeline(servers: Mapping[str, LocalTools], data: Data) -> ExecutionResult:
    return trio.run(EagerExecutor(servers).execute, Workflow.from_dict(data))


def _check_graph(dependencies: dict[str, tuple[str, ...]]) -> None:
    DependencyGraph(dependencies).check_acyclic()


async def _streamed(servers: Mapping[str, LocalTools], workflow: Workflow) -> None:
    async with EagerExecutor(servers).open_run() as run:
        for task in workflow.tasks:
            run.add(task)


def sdk_tracer_provider() -> Any:
    """An OpenTelemetry SDK tracer provider that makes every span and exports none (None without the SDK).

    What a traced run costs in dagexec and the SDK, without any exporter's own cost.
    """
    try:
        from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
        from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult
    except ImportError:
        return None

    class Discard(SpanExporter):
        def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
            return SpanExportResult.SUCCESS

    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(Discard()))
    return provider


def _timed(fn: Callable[[], Any]) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def bench_overhead(quick: bool) -> list[dict[str, Any]]:
    """Part 2: the whole pipeline on no-op tools, against the minimal executor."""
    # A quick run (the tests') keeps two sizes, small enough that the figures it can
    # check (rates, ratios, memory per task) come in seconds, not a minute.
    sizes = (1_000, 4_000) if quick else (1_000, 10_000, 100_000)
    servers = {"noop": LocalTools({"noop": _noop})}
    provider = sdk_tracer_provider()
    rows = []
    for n in sizes:
        for family in ("random", "wide", "chain"):
            data = overhead_family(family, n)
            reps = 3 if quick or n >= 100_000 else 7
            validate, execute, minimal = [], [], []
            for _ in range(reps):
                gc.collect()
                minimal.append(_timed(functools.partial(trio.run, minimal_executor, data)))
                gc.collect()
                started = time.perf_counter()
                workflow = Workflow.from_dict(data)
                loaded = time.perf_counter()
                trio.run(EagerExecutor(servers).execute, workflow)
                validate.append(loaded - started)
                execute.append(time.perf_counter() - loaded)
                del workflow
            total = [v + e for v, e in zip(validate, execute, strict=True)]
            graph = []  # networkx's acyclicity check, apart (validation needs it only out of order)
            no_gc = []  # execution with the cyclic garbage collector paused: its share of the cost
            streamed = []  # the same tasks added one by one to open_run(): a plan streaming in
            traced = []  # execution with a tracer provider: a span per run and per task
            for _ in range(reps):
                workflow = Workflow.from_dict(data)
                deps = {t.id: t.dependencies for t in workflow.tasks}
                graph.append(_timed(functools.partial(_check_graph, deps)))
                gc.collect()
                streamed.append(_timed(functools.partial(trio.run, _streamed, servers, workflow)))
                gc.collect()
                gc.disable()
                try:
                    no_gc.append(_timed(functools.partial(trio.run, EagerExecutor(servers).execute, workflow)))
                finally:
                    gc.enable()
                if provider is not None:
                    gc.collect()
                    traced_executor = EagerExecutor(servers, tracer_provider=provider)
                    traced.append(_timed(functools.partial(trio.run, traced_executor.execute, workflow)))
                del workflow
            peak = _peak_memory(functools.partial(_pipeline, servers, data))
            peak_minimal = _peak_memory(functools.partial(trio.run, minimal_executor, data))
            median = statistics.median(total)
            rows.append(
                {
                    "family": family,
                    "tasks": n,
                    "runs": reps,
                    "tasks_per_second": n / median,
                    "us_per_task": median / n * 1e6,
                    "validate_us_per_task": statistics.median(validate) / n * 1e6,
                    "execute_us_per_task": statistics.median(execute) / n * 1e6,
                    "graph_us_per_task": statistics.median(graph) / n * 1e6,
                    "execute_without_gc_us_per_task": statistics.median(no_gc) / n * 1e6,
                    "streamed_us_per_task": statistics.median(streamed) / n * 1e6,
                    "streamed_throughput_vs_execute": statistics.median(execute) / statistics.median(streamed),
                    "minimal_us_per_task": statistics.median(minimal) / n * 1e6,
                    "ratio_to_minimal": statistics.median(t / m for t, m in zip(total, minimal, strict=True)),
                    "peak_kb_per_task": peak / n / 1024,
                    "minimal_peak_kb_per_task": peak_minimal / n / 1024,
                    "traced_us_per_task": statistics.median(traced) / n * 1e6 if traced else None,
                    "tracing_us_per_task": (
                        (statistics.median(traced) - statistics.median(execute)) / n * 1e6 if traced else None
                    ),
                }
            )
    return rows


def _peak_memory(fn: Callable[[], Any]) -> int:
    """Peak bytes allocated (tracemalloc) while ``fn`` runs, beyond what was there before."""
    gc.collect()
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        fn()
        return tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()


# -- part 3: real MCP latency --------------------------------------------------------------


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
    config = {"mcpServers": {"bench": {"command": sys.executable, "args": ["-m", "dagexec.bench.server"]}}}

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


# -- part 5: a plan through the gateway ---------------------------------------------------


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
    config = {"mcpServers": {"bench": {"command": sys.executable, "args": ["-m", "dagexec.bench.server"]}}}

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


# -- part 7: dependent branches on a real MCP server --------------------------------------


def demo_durations() -> dict[str, float]:
    """Each task of the demo plan (``dagexec demo``) and its simulated tool's duration, read from a virtual run."""
    from .._demo import DEMO_WORKFLOW, demo_servers

    workflow = Workflow.from_dict(DEMO_WORKFLOW)
    run = _virtual(EagerExecutor(demo_servers(), check_schemas=False), workflow)
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
    sim = {"bench": LocalTools({"sleep": _sleep})}
    virtual = {
        "eager": _virtual(EagerExecutor(sim, check_schemas=False), workflow).wall_time,
        "layered": _virtual(LayeredExecutor(sim, check_schemas=False), workflow).wall_time,
    }
    config = {"mcpServers": {"bench": {"command": sys.executable, "args": ["-m", "dagexec.bench.server"]}}}

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


# -- part 4: CPU-bound tools on a Dask cluster --------------------------------------------


def cpu_work(n: int) -> int:
    """Pure-Python work that holds the interpreter lock (run by workers: importable)."""
    total = 0
    for i in range(n):
        total += i * i % 7
    return total


def noop_tool() -> None:
    """A tool that does nothing: the cost of the path itself."""


def _calibrate(seconds: float) -> int:
    """How many iterations of :func:`cpu_work` take about ``seconds`` here."""
    n = 200_000
    elapsed = _timed(functools.partial(cpu_work, n))
    return max(1, int(n * seconds / elapsed))


def bench_dask(quick: bool) -> dict[str, Any]:
    """Part 4: eight CPU-bound calls in threads against a 2-worker local cluster."""
    try:
        from distributed import Client, LocalCluster

        from ..dask import DaskTools
    except ImportError as exc:
        return {"skipped": str(exc)}
    seconds, runs, noops = (0.25, 1, 50) if quick else (0.5, 3, 200)
    n = _calibrate(seconds)
    cpu = Workflow.from_dict(
        {"tasks": [{"id": f"c{i}", "tool": "cpu:work", "arguments": {"n": n}} for i in range(8)]}
    )
    noop = Workflow.from_dict({"tasks": [{"id": f"n{i}", "tool": "cpu:noop"} for i in range(noops)]})
    threads = {"cpu": LocalTools({"work": cpu_work, "noop": noop_tool})}
    cluster = LocalCluster(  # type: ignore[no-untyped-call]
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
    )
    with cluster, Client(cluster) as client:  # type: ignore[no-untyped-call]
        cluster_tools = {"cpu": DaskTools(client, {"work": cpu_work, "noop": noop_tool})}
        trio.run(EagerExecutor(cluster_tools).execute, noop)  # warm up: workers import dagexec
        in_threads, on_cluster = [], []
        for _ in range(runs):
            in_threads.append(trio.run(EagerExecutor(threads).execute, cpu).wall_time)
            on_cluster.append(trio.run(EagerExecutor(cluster_tools).execute, cpu).wall_time)
        parallel = trio.run(EagerExecutor(cluster_tools).execute, noop).wall_time
        one_by_one = trio.run(EagerExecutor(cluster_tools, max_concurrency=1).execute, noop).wall_time
        # Dask's own round trip, for comparison: submit and wait, from a plain thread.
        started = time.perf_counter()
        for _ in range(noops):
            client.submit(noop_tool, pure=False).result()
        bare = time.perf_counter() - started
    threads_time, cluster_time = statistics.median(in_threads), statistics.median(on_cluster)
    return {
        "calls": 8,
        "call_seconds": seconds,
        "workers": 2,
        "runs": runs,
        "threads_wall": threads_time,
        "cluster_wall": cluster_time,
        "speedup": threads_time / cluster_time,
        "noop_calls": noops,
        "noop_us_per_call_parallel": parallel / noops * 1e6,
        "noop_ms_per_call_one_at_a_time": one_by_one / noops * 1e3,
        "bare_dask_ms_per_call_one_at_a_time": bare / noops * 1e3,
    }


# -- part 5: schema checks -----------------------------------------------------------------


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
    noop_servers = {"noop": LocalTools({"noop": _noop})}
    config = {"mcpServers": {"bench": {"command": sys.executable, "args": ["-m", "dagexec.bench.server"]}}}

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


# -- all together --------------------------------------------------------------------------


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
