"""The tables of a ``dagexec bench`` report: a small function for each part's, in the order the parts run."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

#: A part's figures (its entry in the report) in, its tables or lines out.
Drawing = Callable[[Any], list[RenderableType]]


def bench_report(report: dict[str, Any]) -> RenderableType:
    """The tables of a ``dagexec bench`` report: the machine, then each part that ran."""
    parts: list[RenderableType] = [_machine(report)]
    for name, draw in PARTS:
        if name in report:
            parts.extend(draw(report[name]))
    return Group(*parts)


def _table(title: str, headings: Sequence[str], rows: Iterable[Sequence[str]], caption: str = "") -> Table:
    """One table of a bench report: its title on the left, the first column left, the figures right."""
    table = Table(title=title, title_justify="left", caption=caption or None)
    for n, heading in enumerate(headings):
        table.add_column(heading, justify="right" if n else "left")
    for row in rows:
        table.add_row(*row)
    return table


def _yes(flag: object) -> str:
    return "yes" if flag else "NO"


def _machine(report: dict[str, Any]) -> Text:
    m = report["machine"]
    return Text(
        f"machine: {m['cpu'] or 'unknown CPU'}, {m['cpus']} CPUs, {m['platform']}; Python {m['python']}, "
        f"dagexec {m['dagexec']}, trio {m['trio']}, networkx {m['networkx']}"
        + (" (quick run)" if report["quick"] else "")
    )


def _makespan(makespan: dict[str, Any]) -> list[RenderableType]:
    unlimited = _table(
        "1. makespan / critical path, virtual time (median over seeds)",
        ("family", "tasks", "seeds", "eager", "layered", "one at a time", "eager = critical path"),
        (
            (row["family"], str(row["tasks"]), str(row["seeds"]), f"{row['eager']:.3f}",
             f"{row['layered']:.3f}", f"{row['one at a time']:.2f}", _yes(row["eager_equals_critical_path"]))
            for row in makespan["unlimited"]
        ),
    )  # fmt: skip
    ratios: dict[tuple[str, int], dict[str, float]] = {}
    for row in makespan["limited"]:
        ratios.setdefault((row["family"], row["limit"]), {})[row["priority"]] = row["ratio"]
    limited = _table(
        "   under a limit k: makespan / max(critical path, work / k)",
        ("family", "k", "critical-path priority", "first come, first served"),
        ((family, str(k), f"{r['critical_path']:.3f}", f"{r['fifo']:.3f}") for (family, k), r in ratios.items()),
    )
    return [unlimited, limited]


def _overhead(overhead: list[dict[str, Any]]) -> list[RenderableType]:
    tables: list[RenderableType] = [_throughput(overhead), _time_spent(overhead)]
    traced = [row for row in overhead if row.get("traced_us_per_task") is not None]
    if traced:
        tables.append(_table(
            "   traced: execute with an OpenTelemetry SDK tracer provider (spans made, none exported)",
            ("family", "tasks", "execute µs", "traced µs", "tracing µs/task"),
            (
                (row["family"], f"{row['tasks']:,}", f"{row['execute_us_per_task']:.1f}",
                 f"{row['traced_us_per_task']:.1f}", f"{row['tracing_us_per_task']:.1f}")
                for row in traced
            ),
        ))  # fmt: skip
    return tables


def _throughput(overhead: list[dict[str, Any]]) -> Table:
    return _table(
        "2. scheduler overhead, no-op tools, real time (medians): Workflow.from_dict then execute",
        ("family", "tasks", "tasks/s", "µs/task", "x minimal", "streamed", "KB/task"),
        (
            (row["family"], f"{row['tasks']:,}", f"{row['tasks_per_second']:,.0f}", f"{row['us_per_task']:.1f}",
             f"{row['ratio_to_minimal']:.2f}", f"{row['streamed_throughput_vs_execute']:.2f}x",
             f"{row['peak_kb_per_task']:.2f}")
            for row in overhead
        ),
        "x minimal: over a minimal trio executor in the same run; streamed: open_run()'s throughput over "
        "execute's; KB/task: tracemalloc's peak",
    )  # fmt: skip


def _time_spent(overhead: list[dict[str, Any]]) -> Table:
    return _table(
        "   where the time goes: µs per task (medians)",
        ("family", "tasks", "validate", "execute", "no gc", "minimal", "networkx", "minimal KB"),
        (
            (row["family"], f"{row['tasks']:,}", f"{row['validate_us_per_task']:.1f}",
             f"{row['execute_us_per_task']:.1f}", f"{row['execute_without_gc_us_per_task']:.1f}",
             f"{row['minimal_us_per_task']:.1f}", f"{row['graph_us_per_task']:.1f}",
             f"{row['minimal_peak_kb_per_task']:.2f}")
            for row in overhead
        ),
        "no gc: execute with the cyclic garbage collector paused; networkx: its acyclicity check alone; "
        "minimal KB: the minimal executor's peak per task",
    )  # fmt: skip


def _mcp(mcp: dict[str, Any]) -> list[RenderableType]:
    if "skipped" in mcp:
        return [Text(f"3. real MCP latency: skipped ({mcp['skipped']})")]
    return [_table(
        f"3. real MCP latency: {mcp['tools']} tools of {mcp['tool_seconds']} s on one stdio server, {mcp['runs']} runs",
        ("strategy", "P50", "P95", "P50 / ideal"),
        (
            (row["strategy"], f"{row['p50']:.3f}s", f"{row['p95']:.3f}s", f"{row['p50_over_ideal']:.2f}")
            for row in mcp["rows"]
        ),
        f"eager is {mcp['speedup_eager_over_one_at_a_time']:.2f}x as fast as one at a time; "
        f"P95 < 3 s: {_yes(mcp['p95_eager_under_3s'])}",
    )]  # fmt: skip


def _dask(d: dict[str, Any]) -> list[RenderableType]:
    if "skipped" in d:
        return [Text(f"4. CPU-bound tools on a Dask cluster: skipped ({d['skipped']})")]
    return [_table(
        f"4. {d['calls']} CPU-bound calls of ~{d['call_seconds']} s, pure Python (median of {d['runs']})",
        ("tools", "wall time"),
        (
            ("LocalTools (threads, one interpreter lock)", f"{d['threads_wall']:.2f}s"),
            (f"DaskTools ({d['workers']}-worker local cluster)", f"{d['cluster_wall']:.2f}s"),
        ),
        f"the cluster is {d['speedup']:.2f}x as fast; the Dask path costs {d['noop_us_per_call_parallel']:.0f} "
        f"µs per no-op call in parallel, {d['noop_ms_per_call_one_at_a_time']:.1f} ms one at a time "
        f"(Dask's own submit and result: {d['bare_dask_ms_per_call_one_at_a_time']:.1f} ms)",
    )]  # fmt: skip


def _schemas(sc: dict[str, Any]) -> list[RenderableType]:
    if "skipped" in sc:
        return [Text(f"5. schema checks: skipped ({sc['skipped']})")]
    tables: list[RenderableType] = [_table(
        f"5. schema checks: a {sc['tasks']:,}-task plan on one stdio server's typed tools, "
        f"{sc['referencing_tasks']:,} with references (median of {sc['runs']})",
        ("check", "µs/task"),
        (
            ("before the run (the whole plan)", f"{sc['plan_us_per_task']:.1f}"),
            ("before each call (resolved arguments)", f"{sc['call_us_per_task']:.1f}"),
            ("together", f"{sc['total_us_per_task']:.1f}"),
            ("tools without schemas: check()", f"{sc['no_schema_us_per_task']:.2f}"),
            ("   the same, check_schemas=False", f"{sc['no_schema_unchecked_us_per_task']:.2f}"),
        ),
        f"within 20 µs per task: {_yes(sc['within_20us'])}; within 3 µs: {_yes(sc.get('within_3us'))}",
    )]  # fmt: skip
    if sc.get("hostile"):
        tables.append(_hostile(sc["hostile"]))
    return tables


def _hostile(h: dict[str, Any]) -> Table:
    return _table(
        "   hostile schemas (a server's, checked before the run)",
        ("schema", "seconds"),
        (
            (f"{h['wide_schema_mb']:.0f} MB input schema: compiled as tools are listed", f"{h['wide_listing_s']:.3f}"),
            ("   the first plan that uses it", f"{h['wide_first_plan_s']:.5f}"),
            (f"pattern {h['pattern']} on {h['pattern_text_length']} characters: the plan",
             f"{h['pattern_plan_s']:.5f}"),
            (f"anyOf nested {h['nested_depth']} deep: the plan ({h['nested_peak_mb']:.2f} MB at most)",
             f"{h['nested_plan_s']:.5f}"),
            (f"dagexec serve: {h['gateway_tasks']:,} calls under the pattern, refused", f"{h['gateway_plan_s']:.3f}"),
            (f"   the slowest of {h['gateway_pings']} pings meanwhile", f"{h['gateway_slowest_ping_s']:.3f}"),
        ),
        "each within 2 s, and the check of one plan within its budget",
    )  # fmt: skip


def _gateway(g: dict[str, Any]) -> list[RenderableType]:
    if "skipped" in g:
        return [Text(f"6. a plan through dagexec serve: skipped ({g['skipped']})")]
    return [Text(
        f"6. a plan through dagexec serve: {g['tools']} tools of {g['tool_seconds']} s sent as one plan "
        f"by an MCP client over stdio, {g['runs']} runs: P50 {g['p50']:.3f}s, P95 {g['p95']:.3f}s; "
        f"P95 within 50 ms of {g['ideal']} s: {_yes(g['p95_within_50ms_of_ideal'])}"
    )]  # fmt: skip


def _plans(plans: dict[str, Any]) -> list[RenderableType]:
    """The plans part: a row per set and sigma, then the limits."""
    sets = plans["sets"]
    ratios = _table(
        f"7. published plans, virtual time: lognormal durations (median 1 s), {plans['draws']} draw(s) a plan; "
        "ratios to the critical path",
        ("set", "sigma", "plans", "parallel", "held back", "one at a time", "layered mean", "p95", "max", "eager max"),
        (
            (s["name"], f"{row['sigma']:g}", f"{s['plans']}" + (f" of {s['of']}" if s["plans"] != s["of"] else ""),
             str(s["parallel"]), str(row["layered_slower_plans"]), f"{row['one_at_a_time']:.3f}",
             f"{row['layered_mean']:.3f}",
             f"{row['layered_p95']:.3f}", f"{row['layered_max']:.3f}", f"{row['eager_max']:.3f}")
            for s in sets
            for row in s["rows"]
        ),
        "parallel: plans with two tasks that may run at once; held back: plans that layered ran slower than their "
        "critical path in some draw; one at a time: max_concurrency=1, the mean; "
        f"records skipped (not plans): {sum(s['skipped'] for s in sets)}; done in {plans['seconds']:.1f}s",
    )  # fmt: skip
    limited = _table(
        "   eager under a limit k: makespan / max(critical path, work / k), mean (max)",
        ("set", "sigma", "k", "first come, first served", "critical-path priority"),
        (
            (s["name"], f"{row['sigma']:g}", str(k),
             *(f"{r['mean']:.3f} ({r['max']:.3f})" for p in ("fifo", "critical_path")
               for r in row["limited"] if r["limit"] == k and r["priority"] == p))
            for s in sets
            for row in s["rows"]
            for k in plans["limits"]
        ),
        "the plans carry no estimates: critical-path priority ranks by the calls left on the path",
    )  # fmt: skip
    return [ratios, limited]


def _branches(b: dict[str, Any]) -> list[RenderableType]:
    if "skipped" in b:
        return [Text(f"8. dependent branches on a real MCP server: skipped ({b['skipped']})")]
    return [_table(
        f"8. dependent branches on a real MCP server: the demo plan ({b['tasks']} tasks, {b['layers']} layers) "
        f"at {b['scale']:g}x its durations, median of {b['runs']} runs",
        ("strategy", "P50", "virtual time", "P50 / virtual"),
        (
            (row["strategy"], f"{row['p50']:.3f}s", f"{row['virtual']:.3f}s", f"{row['p50_over_virtual']:.2f}")
            for row in b["rows"]
        ),
        f"layered takes {b['layered_over_eager']:.2f}x eager's time; virtual time: the same plan on "
        "simulated tools, exact",
    )]  # fmt: skip


#: Each part of the report with its drawing, in the order of dagexec.bench.PARTS.
PARTS: tuple[tuple[str, Drawing], ...] = (
    ("makespan", _makespan),
    ("overhead", _overhead),
    ("mcp", _mcp),
    ("dask", _dask),
    ("schemas", _schemas),
    ("gateway", _gateway),
    ("plans", _plans),
    ("branches", _branches),
)
