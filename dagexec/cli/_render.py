"""Terminal output with rich: result tables, timelines (Gantt charts) and live progress."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from rich.bar import Bar
from rich.console import Console, Group, RenderableType
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from dagexec import Event, ExecutionResult, TaskFinished, TaskSkipped, TaskStarted, TaskStatus, Workflow

STATUS_STYLE = {
    TaskStatus.SUCCESS: "green",
    TaskStatus.ERROR: "red",
    TaskStatus.SKIPPED: "yellow",
    TaskStatus.CANCELLED: "magenta",
}


def _seconds(value: float | None) -> str:
    return "" if value is None else f"{value:.3f}s"


def _brief(value: object, limit: int = 60) -> str:
    try:
        text = json.dumps(value, default=repr)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def results_table(result: ExecutionResult) -> Table:
    """One row per task: status, tool, timing, and its output or its error's code and message."""
    table = Table(title=f"{result.strategy} run: tasks", title_justify="left")
    table.add_column("task")
    table.add_column("tool")
    table.add_column("status")
    table.add_column("start", justify="right")
    table.add_column("duration", justify="right")
    table.add_column("output or error", overflow="fold")
    for r in result.results:
        error = Text()
        if r.error is not None:
            code, message = r.error.code.value, r.error.message
            error.append(code, style="bold")
            # A cancelled task's message already starts with its code: "cancelled: <reason>".
            error.append(message.removeprefix(code) if message.startswith(f"{code}: ") else f": {message}")
        else:
            error.append(_brief(r.output), style="dim")
        table.add_row(
            r.task_id,
            r.tool,
            Text(r.status.value + (" (reused)" if r.reused else ""), style=STATUS_STYLE[r.status]),
            _seconds(r.started_at),
            _seconds(r.duration),
            error,
        )
    return table


def timeline(result: ExecutionResult, *, scale: float | None = None, width: int = 50) -> Table:
    """A Gantt chart: one bar per task on a time axis shared by every row.

    Args:
        result: The run to draw.
        scale: Seconds the full width stands for; the run's wall time when None
            (pass the longer of two runs to compare them on one axis).
        width: Characters of the bars.
    """
    size = scale if scale is not None else result.wall_time
    size = size if size > 0 else 1.0
    table = Table(
        title=f"{result.strategy} timeline: {result.wall_time:.3f}s, 0 to {size:.3f}s across",
        title_justify="left",
        show_edge=False,
    )
    table.add_column("task")
    table.add_column("timeline", width=width, no_wrap=True)
    for r in result.results:
        if r.started_at is None or r.finished_at is None:
            table.add_row(r.task_id, Text(r.status.value, style=STATUS_STYLE[r.status]))
        else:
            table.add_row(
                r.task_id,
                Bar(size, r.started_at, max(r.finished_at, r.started_at + size / width / 2),
                    width=width, color=STATUS_STYLE[r.status]),
            )
    return table


def summary(result: ExecutionResult) -> Text:
    """A line of figures: wall time, layers, speedup, critical path, failures."""
    counts = {status: 0 for status in TaskStatus}
    for r in result.results:
        counts[r.status] += 1
    text = Text(f"{result.strategy}: ", style="bold")
    text.append(
        f"{result.wall_time:.3f}s wall, {result.parallelization_layers} layers, "
        f"speedup {result.speedup:.2f}x, critical path {result.critical_path_time:.3f}s "
        f"({' -> '.join(result.critical_path)}); "
    )
    text.append(", ".join(f"{n} {status.value}" for status, n in counts.items() if n))
    return text


def comparison(results: Sequence[ExecutionResult]) -> RenderableType:
    """Runs of one workflow side by side: a table of figures and timelines on one axis."""
    table = Table(title="comparison", title_justify="left")
    table.add_column("strategy")
    for heading in ("wall time", "layers", "speedup", "critical path", "failed"):
        table.add_column(heading, justify="right")
    for r in results:
        table.add_row(
            r.strategy,
            _seconds(r.wall_time),
            str(r.parallelization_layers),
            f"{r.speedup:.2f}x",
            _seconds(r.critical_path_time),
            str(len(r.errors)),
        )
    if len(results) == 2 and results[1].wall_time > 0:
        table.caption = (
            f"{results[1].strategy} is {results[0].wall_time / results[1].wall_time:.2f}x "
            f"as fast as {results[0].strategy}"
        )
    scale = max(r.wall_time for r in results)
    return Group(table, *(timeline(r, scale=scale) for r in results))


def validation_report(workflow: Workflow) -> RenderableType:
    """Generations, each task's dependencies, and the longest chain of a workflow."""
    generations = Table(title="generations (layers)", title_justify="left")
    generations.add_column("#", justify="right")
    generations.add_column("tasks")
    for i, gen in enumerate(workflow.generations, 1):
        generations.add_row(str(i), ", ".join(gen))
    deps = Table(title="dependencies", title_justify="left")
    deps.add_column("task")
    deps.add_column("tool")
    deps.add_column("waits for")
    for task in workflow.tasks:
        deps.add_row(task.id, task.tool, ", ".join(task.dependencies) or "-")
    chain = workflow.longest_chain()
    return Group(
        Text(f"valid: {len(workflow.tasks)} tasks, {len(workflow.generations)} layers", style="green"),
        generations,
        deps,
        Text(f"longest chain ({len(chain)} tasks): {' -> '.join(chain)}"),
    )


class LiveProgress:
    """Tasks done of total and what is running, updated from a run's events."""

    def __init__(self, console: Console, total: int, label: str, *, live: bool = True) -> None:
        self._live = live
        self._total = total
        self._running: dict[str, None] = {}
        self._progress = Progress(
            TextColumn("[bold]{task.fields[label]}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("{task.fields[running]}"),
            console=console,
            transient=True,
        )
        self._bar = self._progress.add_task("run", total=total, label=label, running="")

    def grow(self) -> None:
        """One more task in the run (a streamed plan)."""
        self._total += 1
        self._progress.update(self._bar, total=self._total)

    def on_event(self, event: Event) -> None:
        """Take one event of the run."""
        if isinstance(event, TaskStarted):
            self._running[event.task_id] = None
        elif isinstance(event, TaskFinished | TaskSkipped):
            self._running.pop(event.result.task_id, None)
            self._progress.advance(self._bar)
        names = list(self._running)
        running = ", ".join(names[:6]) + (f" +{len(names) - 6}" if len(names) > 6 else "")
        self._progress.update(self._bar, running=f"running: {running}" if names else "")

    @contextmanager
    def shown(self) -> Iterator[LiveProgress]:
        """Show the progress while the block runs (if live)."""
        if not self._live:
            yield self
            return
        with self._progress:
            yield self


def bench_report(report: dict[str, Any]) -> RenderableType:
    """The tables of a ``dagexec bench`` report."""
    parts: list[RenderableType] = []
    m = report["machine"]
    parts.append(
        Text(
            f"machine: {m['cpu'] or 'unknown CPU'}, {m['cpus']} CPUs, {m['platform']}; Python {m['python']}, "
            f"dagexec {m['dagexec']}, trio {m['trio']}, networkx {m['networkx']}"
            + (" (quick run)" if report["quick"] else "")
        )
    )
    if "makespan" in report:
        table = Table(title="1. makespan / critical path, virtual time (median over seeds)", title_justify="left")
        for heading in ("family", "tasks", "seeds", "eager", "layered", "one at a time", "eager = critical path"):
            table.add_column(heading, justify="left" if heading == "family" else "right")
        for row in report["makespan"]["unlimited"]:
            table.add_row(
                row["family"], str(row["tasks"]), str(row["seeds"]), f"{row['eager']:.3f}",
                f"{row['layered']:.3f}", f"{row['one at a time']:.2f}",
                "yes" if row["eager_equals_critical_path"] else "NO",
            )  # fmt: skip
        parts.append(table)
        limited = Table(
            title="   under a limit k: makespan / max(critical path, work / k)", title_justify="left"
        )
        for heading in ("family", "k", "critical-path priority", "first come, first served"):
            limited.add_column(heading, justify="left" if heading == "family" else "right")
        rows: dict[tuple[str, int], dict[str, float]] = {}
        for row in report["makespan"]["limited"]:
            rows.setdefault((row["family"], row["limit"]), {})[row["priority"]] = row["ratio"]
        for (family, k), ratio in rows.items():
            limited.add_row(family, str(k), f"{ratio['critical_path']:.3f}", f"{ratio['fifo']:.3f}")
        parts.append(limited)
    if "overhead" in report:
        table = Table(title="2. scheduler overhead, no-op tools, real time (medians)", title_justify="left")
        for heading in (
            "family", "tasks", "tasks/s", "µs/task", "validate µs", "networkx check µs", "execute µs",
            "without gc", "streamed", "minimal µs", "x minimal", "peak KB/task", "minimal KB/task",
        ):  # fmt: skip
            table.add_column(heading, justify="left" if heading == "family" else "right")
        for row in report["overhead"]:
            table.add_row(
                row["family"], f"{row['tasks']:,}", f"{row['tasks_per_second']:,.0f}", f"{row['us_per_task']:.1f}",
                f"{row['validate_us_per_task']:.1f}", f"{row['graph_us_per_task']:.1f}",
                f"{row['execute_us_per_task']:.1f}", f"{row['execute_without_gc_us_per_task']:.1f}",
                f"{row['streamed_throughput_vs_execute']:.2f}x", f"{row['minimal_us_per_task']:.1f}",
                f"{row['ratio_to_minimal']:.2f}",
                f"{row['peak_kb_per_task']:.2f}", f"{row['minimal_peak_kb_per_task']:.2f}",
            )  # fmt: skip
        parts.append(table)
    if "mcp" in report:
        mcp = report["mcp"]
        if "skipped" in mcp:
            parts.append(Text(f"3. real MCP latency: skipped ({mcp['skipped']})"))
        else:
            table = Table(
                title=(
                    f"3. real MCP latency: {mcp['tools']} tools of {mcp['tool_seconds']} s on one stdio server, "
                    f"{mcp['runs']} runs"
                ),
                title_justify="left",
            )
            for heading in ("strategy", "P50", "P95", "P50 / ideal"):
                table.add_column(heading, justify="left" if heading == "strategy" else "right")
            for row in mcp["rows"]:
                table.add_row(
                    row["strategy"], f"{row['p50']:.3f}s", f"{row['p95']:.3f}s", f"{row['p50_over_ideal']:.2f}"
                )
            table.caption = (
                f"eager is {mcp['speedup_eager_over_one_at_a_time']:.2f}x as fast as one at a time; "
                f"P95 < 3 s: {'yes' if mcp['p95_eager_under_3s'] else 'NO'}"
            )
            parts.append(table)
    if "dask" in report:
        d = report["dask"]
        if "skipped" in d:
            parts.append(Text(f"4. CPU-bound tools on a Dask cluster: skipped ({d['skipped']})"))
        else:
            table = Table(
                title=(
                    f"4. {d['calls']} CPU-bound calls of ~{d['call_seconds']} s, pure Python "
                    f"(median of {d['runs']})"
                ),
                title_justify="left",
            )
            for heading in ("tools", "wall time"):
                table.add_column(heading, justify="left" if heading == "tools" else "right")
            table.add_row("LocalTools (threads, one interpreter lock)", f"{d['threads_wall']:.2f}s")
            table.add_row(f"DaskTools ({d['workers']}-worker local cluster)", f"{d['cluster_wall']:.2f}s")
            table.caption = (
                f"the cluster is {d['speedup']:.2f}x as fast; the Dask path costs {d['noop_us_per_call_parallel']:.0f} "
                f"µs per no-op call in parallel, {d['noop_ms_per_call_one_at_a_time']:.1f} ms one at a time "
                f"(Dask's own submit and result: {d['bare_dask_ms_per_call_one_at_a_time']:.1f} ms)"
            )
            parts.append(table)
    if "gateway" in report:
        g = report["gateway"]
        if "skipped" in g:
            parts.append(Text(f"5. a plan through dagexec serve: skipped ({g['skipped']})"))
        else:
            parts.append(
                Text(
                    f"5. a plan through dagexec serve: {g['tools']} tools of {g['tool_seconds']} s sent as one plan "
                    f"by an MCP client over stdio, {g['runs']} runs: P50 {g['p50']:.3f}s, P95 {g['p95']:.3f}s; "
                    f"P95 within 50 ms of {g['ideal']} s: {'yes' if g['p95_within_50ms_of_ideal'] else 'NO'}"
                )
            )
    return Group(*parts)
