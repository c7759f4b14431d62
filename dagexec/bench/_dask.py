"""Part 4, past one machine: CPU-bound tools on a two-worker Dask cluster.

Eight CPU-bound calls in threads (one interpreter lock) against the cluster,
and the Dask path's own cost per call on no-op tools, beside Dask's bare round
trip. The tools are module-level functions: the workers import them.
"""

from __future__ import annotations

import functools
import statistics
import time
from typing import Any

import trio

from .. import EagerExecutor, LocalTools, Workflow
from ._measure import timed


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
    elapsed = timed(functools.partial(cpu_work, n))
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
