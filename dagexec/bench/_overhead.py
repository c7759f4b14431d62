"""Part 2, scheduler overhead and memory in real time.

No-op tools, the whole pipeline (``Workflow.from_dict`` then ``execute``),
against a minimal trio executor written here (in-degree counters and
``nursery.start_soon``: the floor for any trio design), measured in the same
run; the acyclicity check apart, execution with the cyclic garbage collector
paused, the same tasks streamed into ``open_run()``, and the same execution
traced, with an OpenTelemetry SDK tracer provider whose spans go nowhere (the
cost of the spans); and the peak memory of each, per task.
"""

from __future__ import annotations

import functools
import gc
import statistics
import time
import tracemalloc
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import trio

from .. import EagerExecutor, ExecutionResult, LocalTools, Workflow
from .._graph import DependencyGraph
from ._families import Data, overhead_family
from ._measure import noop, timed


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
            await noop()
            for successor in successors[task_id]:
                waiting[successor] -= 1
                if not waiting[successor]:
                    nursery.start_soon(run, successor)

        for task_id, count in waiting.items():
            if not count:
                nursery.start_soon(run, task_id)


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


def _pipeline_times(servers: Mapping[str, LocalTools], data: Data, reps: int) -> dict[str, list[float]]:
    """The minimal executor's times and the pipeline's, loading and executing apart, run by run in turn."""
    validate, execute, minimal = [], [], []
    for _ in range(reps):
        gc.collect()
        minimal.append(timed(functools.partial(trio.run, minimal_executor, data)))
        gc.collect()
        started = time.perf_counter()
        workflow = Workflow.from_dict(data)
        loaded = time.perf_counter()
        trio.run(EagerExecutor(servers).execute, workflow)
        validate.append(loaded - started)
        execute.append(time.perf_counter() - loaded)
        del workflow
    return {"validate": validate, "execute": execute, "minimal": minimal}


def _part_times(servers: Mapping[str, LocalTools], provider: Any, data: Data, reps: int) -> dict[str, list[float]]:
    """The times of the execution's parts and variants: the graph check, streamed, without gc, traced."""
    graph = []  # networkx's acyclicity check, apart (validation needs it only out of order)
    no_gc = []  # execution with the cyclic garbage collector paused: its share of the cost
    streamed = []  # the same tasks added one by one to open_run(): a plan streaming in
    traced = []  # execution with a tracer provider: a span per run and per task
    for _ in range(reps):
        workflow = Workflow.from_dict(data)
        deps = {t.id: t.dependencies for t in workflow.tasks}
        graph.append(timed(functools.partial(_check_graph, deps)))
        gc.collect()
        streamed.append(timed(functools.partial(trio.run, _streamed, servers, workflow)))
        gc.collect()
        gc.disable()
        try:
            no_gc.append(timed(functools.partial(trio.run, EagerExecutor(servers).execute, workflow)))
        finally:
            gc.enable()
        if provider is not None:
            gc.collect()
            traced_executor = EagerExecutor(servers, tracer_provider=provider)
            traced.append(timed(functools.partial(trio.run, traced_executor.execute, workflow)))
        del workflow
    return {"graph": graph, "no_gc": no_gc, "streamed": streamed, "traced": traced}


def _overhead_row(
    family: str, n: int, reps: int, times: Mapping[str, list[float]], peak: int, peak_minimal: int
) -> Data:
    """One family and size's figures, per task, from its times and peak memory."""
    validate, execute, minimal = times["validate"], times["execute"], times["minimal"]
    graph, no_gc, streamed, traced = times["graph"], times["no_gc"], times["streamed"], times["traced"]
    total = [v + e for v, e in zip(validate, execute, strict=True)]
    median = statistics.median(total)
    return {
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


def bench_overhead(quick: bool) -> list[dict[str, Any]]:
    """Part 2: the whole pipeline on no-op tools, against the minimal executor."""
    # A quick run (the tests') keeps two sizes, small enough that the figures it can
    # check (rates, ratios, memory per task) come in seconds, not a minute.
    sizes = (1_000, 4_000) if quick else (1_000, 10_000, 100_000)
    servers = {"noop": LocalTools({"noop": noop})}
    provider = sdk_tracer_provider()
    rows = []
    for n in sizes:
        for family in ("random", "wide", "chain"):
            data = overhead_family(family, n)
            reps = 3 if quick or n >= 100_000 else 7
            times = _pipeline_times(servers, data, reps)
            times |= _part_times(servers, provider, data, reps)
            peak = _peak_memory(functools.partial(_pipeline, servers, data))
            peak_minimal = _peak_memory(functools.partial(trio.run, minimal_executor, data))
            rows.append(_overhead_row(family, n, reps, times, peak, peak_minimal))
    return rows
