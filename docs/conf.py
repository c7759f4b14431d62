"""Sphinx configuration. The build draws its pictures from real runs of the library."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE.parent))

import dagexec  # noqa: E402

project = "dagexec"
author = "the dagexec developers"
copyright = "2026, the dagexec developers"  # noqa: A001
version = release = dagexec.__version__

extensions = ["sphinx.ext.autodoc", "sphinx.ext.napoleon"]
html_theme = "furo"
html_title = "dagexec"
exclude_patterns = ["_build", "examples"]
nitpicky = True
# Names from other projects only: no intersphinx inventories here (the build runs
# offline). Every dagexec name the API reference shows must resolve. ``Client`` is
# the MCP SDK's (dagexec.mcp) and distributed's (dagexec.dask).
nitpick_ignore_regex = [
    (r"py:.*", r"(collections\.abc|typing|trio|mcp|opentelemetry|mcp_types|httpx2|matplotlib|os|cattrs|attrs|networkx|signal)(\..*)?"),
    (r"py:.*", r"(Any|Mapping|Sequence|Iterable|Callable|TextIO|Figure|PathLike|AsyncIterator|Literal|Client|TracerProvider)"),
    (r"py:.*", r"(float|int|str|bool|dict|list|tuple|object|None|ValueError|TypeError|Exception)"),
]
# Public aliases that attrs' generated signatures would otherwise spell out.
autodoc_type_aliases = {"Trigger": "Trigger", "Strategy": "Strategy"}
autodoc_member_order = "bysource"
autodoc_typehints = "description"
autoclass_content = "both"
napoleon_google_docstring = True
napoleon_numpy_docstring = False

GENERATED = HERE / "_generated"


def _virtual_runs(workflow: Any, executors: list[Any]) -> list[Any]:
    import trio
    import trio.testing

    async def main() -> list[Any]:
        return [await executor.execute(workflow) for executor in executors]

    return trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0))


def _save_timelines(runs: list[Any], titles: list[str], path: Path) -> None:
    """Draw runs with ``dagexec.plot``, each titled with what ran it (text kept as text in the SVG)."""
    import matplotlib

    from dagexec.plot import timeline_figure

    matplotlib.rcParams["svg.fonttype"] = "none"
    figure = timeline_figure(runs)
    for axes, title in zip(figure.axes, titles, strict=False):
        axes.set_title(title, fontsize=10, loc="left")
    figure.savefig(path)


def draw_pictures() -> None:
    """Run the demo workflow layered and eager, and the priority example both ways (in virtual time: exact)."""
    import runpy

    from dagexec import EagerExecutor, LayeredExecutor, Workflow
    from dagexec._demo import DEMO_WORKFLOW, demo_servers

    GENERATED.mkdir(exist_ok=True)
    workflow = Workflow.from_dict(DEMO_WORKFLOW)
    servers = demo_servers()
    layered, eager = _virtual_runs(workflow, [LayeredExecutor(servers), EagerExecutor(servers)])
    _save_timelines(
        [layered, eager],
        [f"layered, one layer after another: {layered.wall_time:.1f} s",
         f"eager, each task once its dependencies are done: {eager.wall_time:.1f} s"],
        GENERATED / "demo-timelines.svg",
    )  # fmt: skip
    example = runpy.run_path(str(HERE / "examples" / "priority.py"))  # not as __main__: nothing runs
    runs = example["compare"]()
    limit = example["LIMIT"]
    _save_timelines(
        [runs["fifo"], runs["critical_path"]],
        [f'first come, first served (priority="fifo"), {limit} calls at most: {runs["fifo"].wall_time:.1f} s',
         f"critical-path priority (the default), {limit} calls at most: {runs['critical_path'].wall_time:.1f} s"],
        GENERATED / "limited-timelines.svg",
    )  # fmt: skip
    f = example["figures"]()
    (GENERATED / "demo-figures.rst").write_text(
        f".. |layered_time| replace:: {layered.wall_time:.1f} s\n"
        f".. |eager_time| replace:: {eager.wall_time:.1f} s\n"
        f".. |limit| replace:: {limit}\n"
        f".. |fifo_time| replace:: {f['fifo']:.1f} s\n"
        f".. |cp_time| replace:: {f['critical_path']:.1f} s\n"
        f".. |bound_time| replace:: {f['bound']:.1f} s\n"
        f".. |plans| replace:: {f['plans']}\n"
        f".. |cp_mean| replace:: {f['mean_critical_path']:.3f}\n"
        f".. |fifo_mean| replace:: {f['mean_fifo']:.3f}\n"
        f".. |cp_sooner| replace:: {f['sooner']}\n"
        f".. |cp_later| replace:: {f['later']}\n"
        f".. |cp_same| replace:: {f['plans'] - f['sooner'] - f['later']}\n"
        f".. |cp_worst_loss| replace:: {f['worst_loss'] * 100:.0f} %\n"
    )


def draw_trace() -> None:
    """Run the tracing example against its real MCP server: its printed span tree, and its picture."""
    import contextlib
    import io
    import runpy

    example = runpy.run_path(str(HERE / "examples" / "tracing.py"))  # not as __main__: nothing runs yet
    GENERATED.mkdir(exist_ok=True)
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        example["main"](str(GENERATED / "trace.svg"))
    (GENERATED / "trace-tree.txt").write_text(printed.getvalue())


def draw_gateway() -> None:
    """The run behind one run_workflow call of dagexec serve: the demo plan, in virtual time (exact)."""
    from dagexec import Workflow
    from dagexec._demo import DEMO_WORKFLOW, demo_servers
    from dagexec.plot import save_timelines
    from dagexec.serve import Gateway

    GENERATED.mkdir(exist_ok=True)
    gateway = Gateway(demo_servers())
    [run] = _virtual_runs(Workflow.from_dict(DEMO_WORKFLOW), [gateway.executor])
    save_timelines([run], GENERATED / "gateway-timeline.svg")


def bench_tables() -> None:
    """Turn the committed benchmark report (docs/benchmarks.json) into rst tables."""
    report = json.loads((HERE / "benchmarks.json").read_text())
    m = report["machine"]
    out = [
        f"Measured on: {m['cpu'] or 'an unnamed CPU'}, {m['cpus']} CPUs, {m['platform']}; "
        f"Python {m['python']}, dagexec {m['dagexec']}, trio {m['trio']}, networkx {m['networkx']}.",
        "",
    ]

    def table(title: str, headings: list[str], rows: list[list[str]], legend: dict[str, str] | None = None) -> None:
        """A list-table as wide as its content (no wider than the column), then what each heading means."""
        out.extend([f".. list-table:: {title}", "   :header-rows: 1", "   :widths: auto", ""])
        for row in [headings, *rows]:
            out.append(f"   * - {row[0]}")
            out.extend(f"     - {cell}" for cell in row[1:])
        out.append("")
        out.extend(f"- **{heading}**: {meaning}" for heading, meaning in (legend or {}).items())
        out.append("")

    unlimited = report["makespan"]["unlimited"]
    table(
        f"Makespan over the critical path, virtual time: median over {unlimited[0]['seeds']} seeds of "
        f"{unlimited[0]['tasks']} tasks",
        ["family", "eager", "layered", "one at a time"],
        [[r["family"], f"{r['eager']:.3f}", f"{r['layered']:.3f}", f"{r['one at a time']:.2f}"] for r in unlimited],
        {
            "family": "how the DAG is drawn (see *How to read them* below).",
            "eager, layered": "the executor's makespan over the workflow's critical path; 1.000 is the physical "
            "limit.",
            "one at a time": "``EagerExecutor(max_concurrency=1)``: all the work, one call after another.",
        },
    )
    pairs: dict[tuple[str, int], dict[str, float]] = {}
    for r in report["makespan"]["limited"]:
        pairs.setdefault((r["family"], r["limit"]), {})[r["priority"]] = r["ratio"]
    table(
        "Under a limit k: makespan over max(critical path, work / k), median over the seeds",
        ["family", "k", "critical path", "fifo"],
        [[f, str(k), f"{v['critical_path']:.3f}", f"{v['fifo']:.3f}"] for (f, k), v in pairs.items()],
        {
            "k": "``max_concurrency``: the calls in flight at once.",
            "critical path": '``priority="critical_path"`` (the default): longest remaining path first.',
            "fifo": '``priority="fifo"``: first come, first served.',
        },
    )
    overhead = report["overhead"]
    table(
        "Scheduler overhead, real time: no-op tools, Workflow.from_dict then execute (medians)",
        ["family", "tasks", "tasks/s", "µs/task", "× minimal", "streamed", "KB/task"],
        [
            [r["family"], f"{r['tasks']:,}", f"{r['tasks_per_second']:,.0f}", f"{r['us_per_task']:.1f}",
             f"{r['ratio_to_minimal']:.2f}", f"{r['streamed_throughput_vs_execute']:.2f}",
             f"{r['peak_kb_per_task']:.2f}"]
            for r in overhead
        ],
        {
            "tasks/s, µs/task": "the whole pipeline: loading and checking the workflow, then running it.",
            "× minimal": "the pipeline's time over the minimal trio executor's in the same run (median over the "
            "runs).",
            "streamed": "the throughput of the same tasks added one by one to ``open_run()``, over ``execute``'s.",
            "KB/task": "tracemalloc's peak for the whole pipeline, per task.",
        },
    )  # fmt: skip
    table(
        "Where the time goes: µs per task (medians)",
        ["family", "tasks", "validate", "execute", "no gc", "minimal", "networkx"],
        [
            [r["family"], f"{r['tasks']:,}", f"{r['validate_us_per_task']:.1f}", f"{r['execute_us_per_task']:.1f}",
             f"{r['execute_without_gc_us_per_task']:.1f}", f"{r['minimal_us_per_task']:.1f}",
             f"{r['graph_us_per_task']:.1f}"]
            for r in overhead
        ],
        {
            "validate, execute": "µs/task in two: the cattrs loading and the checks across tasks, then the run.",
            "no gc": "``execute`` with Python's cyclic garbage collector paused.",
            "minimal": "the minimal trio executor written in the benchmark, for the whole run.",
            "networkx": "networkx's acyclicity check on the same graph, measured apart: validation needs it only "
            "for workflows whose tasks do not each come after their dependencies (such a workflow cannot have a "
            "cycle, and the benchmark's are in that order).",
        },
    )  # fmt: skip
    traced = [r for r in report["overhead"] if r.get("traced_us_per_task") is not None]
    if traced:
        table(
            "Traced: execute with an OpenTelemetry SDK tracer provider (spans made, none exported), real time (medians)",
            ["family", "tasks", "execute µs", "traced µs", "tracing µs/task"],
            [
                [r["family"], f"{r['tasks']:,}", f"{r['execute_us_per_task']:.1f}", f"{r['traced_us_per_task']:.1f}",
                 f"{r['tracing_us_per_task']:.1f}"]
                for r in traced
            ],
            {
                "execute µs": "``execute`` untraced, as in the tables above.",
                "traced µs": "the same ``execute`` with an OpenTelemetry SDK tracer provider.",
                "tracing µs/task": "the difference: what tracing costs each task.",
            },
        )  # fmt: skip
    mcp = report["mcp"]
    table(
        f"Real MCP latency: {mcp['tools']} tools of {mcp['tool_seconds']} s on one stdio server, {mcp['runs']} runs",
        ["strategy", "P50", "P95", "P50 / ideal"],
        [[r["strategy"], f"{r['p50']:.3f} s", f"{r['p95']:.3f} s", f"{r['p50_over_ideal']:.2f}"] for r in mcp["rows"]],
        {
            "strategy": "eager, layered, or one at a time (``max_concurrency=1``).",
            "P50, P95": f"the median and the 95th percentile of a run's wall time, over {mcp['runs']} runs.",
            "P50 / ideal": f"the median over one tool's duration ({mcp['tool_seconds']} s): the least a run can "
            "take.",
        },
    )
    out.append(
        f"Eager is {mcp['speedup_eager_over_one_at_a_time']:.2f}x as fast as one call at a time; "
        f"its P95 is {'under' if mcp['p95_eager_under_3s'] else 'over'} 3 s."
    )
    out.append("")
    d = report["dask"]
    table(
        f"CPU-bound tools: {d['calls']} pure-Python calls of about {d['call_seconds']} s "
        f"(median of {d['runs']})",
        ["tools", "wall time"],
        [
            ["LocalTools (threads, one interpreter lock)", f"{d['threads_wall']:.2f} s"],
            [f"DaskTools ({d['workers']}-worker local cluster)", f"{d['cluster_wall']:.2f} s"],
        ],
        {"wall time": f"one eager run of the {d['calls']} calls, all started at once."},
    )
    out.append(
        f"The cluster is {d['speedup']:.2f}x as fast. The Dask path costs "
        f"{d['noop_us_per_call_parallel']:,.0f} µs per no-op call with {d['noop_calls']} in parallel, and "
        f"{d['noop_ms_per_call_one_at_a_time']:.1f} ms one at a time, against "
        f"{d['bare_dask_ms_per_call_one_at_a_time']:.1f} ms for Dask's own submit and result."
    )
    out.append("")
    sc = report["schemas"]
    table(
        f"Schema checks: a {sc['tasks']:,}-task plan on typed tools, {sc['referencing_tasks']:,} with references "
        f"(median of {sc['runs']})",
        ["check", "µs/task"],
        [
            ["before the run (the whole plan)", f"{sc['plan_us_per_task']:.1f}"],
            ["before each call (resolved arguments)", f"{sc['call_us_per_task']:.1f}"],
            ["together", f"{sc['total_us_per_task']:.1f}"],
            ["tools without schemas", f"{sc['no_schema_us_per_task']:.2f}"],
            ["the same, check_schemas=False", f"{sc['no_schema_unchecked_us_per_task']:.2f}"],
        ],
        {"µs/task": "the check's time over the plan's tasks; for tools without schemas, all of ``check()``."},
    )
    if "hostile" in sc:
        h = sc["hostile"]
        table(
            "Schema checks on hostile schemas (dagexec/bench/hostile.py)",
            ["case", "time"],
            [
                [f"a {h['wide_schema_mb']:.1f} MB schema, listed and compiled", f"{h['wide_listing_s']:.2f} s"],
                ["the first plan on it", f"{h['wide_first_plan_s'] * 1e6:.0f} µs"],
                [f"a plan meeting {h['pattern']}", f"{h['pattern_plan_s'] * 1000:.2f} ms"],
                [f"references through anyOf, {h['nested_depth']} deep", f"{h['nested_plan_s'] * 1000:.1f} ms"],
                [
                    f"{h['gateway_tasks']:,} such pattern calls through dagexec serve: the slowest ping",
                    f"{h['gateway_slowest_ping_s'] * 1000:.0f} ms",
                ],
            ],
            {"time": "wall clock, once, on a shared machine; the first row includes the server's listing."},
        )
    if "measured" in sc:
        out.extend([f"The schema checks were measured again on their own: {sc['measured']}.", ""])
    g = report["gateway"]
    table(
        f"A plan through dagexec serve: {g['tools']} tools of {g['tool_seconds']} s as one plan, {g['runs']} runs",
        ["P50", "P95", "P95 - ideal"],
        [[f"{g['p50']:.3f} s", f"{g['p95']:.3f} s", f"{(g['p95'] - g['ideal']) * 1000:.0f} ms"]],
        {
            "P50, P95": "from the client's call of ``run_workflow`` to the result in its hands.",
            "P95 - ideal": f"over one tool's duration ({g['ideal']} s); the target is 50 ms at most.",
        },
    )
    pl = report["plans"]
    table(
        f"NESTFUL's plans, virtual time: makespan over the critical path, {pl['draws']} draws of lognormal "
        "durations a plan",
        ["set", "σ", "plans", "parallel", "held back", "one at a time", "layered", "p95", "max"],
        [
            [s["name"].removeprefix("nestful-"), f"{r['sigma']:g}", str(s["plans"]), str(s["parallel"]),
             str(r["layered_slower_plans"]), f"{r['one_at_a_time']:.3f}", f"{r['layered_mean']:.3f}",
             f"{r['layered_p95']:.3f}", f"{r['layered_max']:.3f}"]
            for s in pl["sets"]
            for r in s["rows"]
        ],
        {
            "σ": "the lognormal's σ (median 1 s): the larger, the more uneven the calls.",
            "plans": "the set's plans; **parallel**: how many of them have two calls that may run at once; "
            "**held back**: how many ran slower layered than their critical path in some draw.",
            "one at a time": "``max_concurrency=1``, the mean over plans and draws: what running calls side by "
            "side saves.",
            "layered": "``LayeredExecutor``, the mean; **p95** and **max**: its 95th percentile and its worst.",
        },
    )  # fmt: skip
    table(
        "The same plans under a limit k (σ = 1): makespan over max(critical path, work / k), mean (worst)",
        ["set", "k", "fifo", "critical path"],
        [
            [s["name"].removeprefix("nestful-"), str(k)]
            + [f"{x['mean']:.3f} ({x['max']:.3f})" for p in ("fifo", "critical_path") for x in r["limited"]
               if (x["limit"], x["priority"]) == (k, p)]
            for s in pl["sets"]
            for r in s["rows"] if r["sigma"] == 1.0
            for k in pl["limits"]
        ],
        {
            "k": "``max_concurrency``: the calls in flight at once.",
            "fifo": '``priority="fifo"``: first come, first served.',
            "critical path": '``priority="critical_path"``; the plans carry no estimates, so it ranks by the '
            "calls left on the path.",
        },
    )  # fmt: skip
    b = report["branches"]
    table(
        f"Dependent branches on a real MCP server: the demo plan at {b['scale']:g}x its durations, median of "
        f"{b['runs']} runs",
        ["strategy", "P50", "virtual", "P50 / virtual"],
        [[r["strategy"], f"{r['p50']:.3f} s", f"{r['virtual']:.3f} s", f"{r['p50_over_virtual']:.2f}"]
         for r in b["rows"]],
        {
            "P50": "the median wall time of a run on the bench server (``python -m dagexec.bench.server``).",
            "virtual": "the same plan on simulated tools in virtual time: what the schedule alone takes.",
            "P50 / virtual": "what the real server and its transport add.",
        },
    )  # fmt: skip
    GENERATED.mkdir(exist_ok=True)
    (GENERATED / "bench-tables.rst").write_text("\n".join(out) + "\n")
    # The figures the page's text quotes, from the same report, so that it cannot go stale.
    rows = {(r["family"], r["tasks"]): r for r in overhead}
    random10k = rows[("random", 10_000)]
    near = [r["ratio_to_minimal"] for r in overhead if r["family"] == "chain"] + [
        rows[("random", max(n for _, n in rows))]["ratio_to_minimal"]
    ]
    tracing = [r["tracing_us_per_task"] for r in traced]
    figures = {
        "random_tps": f"{round(random10k['tasks_per_second'], -3):,.0f}",
        "random_ratio": f"{random10k['ratio_to_minimal']:.1f}x",
        "near_ratio": f"{max(near):.1f}x",
        "wide_ratio": f"{rows[('wide', 10_000)]['ratio_to_minimal']:.1f}x",
        "streamed_min": f"{min(r['streamed_throughput_vs_execute'] for r in overhead):.2f}x",
        "peak_max": f"{max(r['peak_kb_per_task'] for r in overhead):.1f} KB",
        "tracing_range": f"{min(tracing):.0f} to {max(tracing):.0f} µs" if tracing else "(not measured)",
        "schema_total": f"{sc['total_us_per_task']:.1f} µs",
        "schema_none": f"{sc['no_schema_us_per_task']:.2f} µs",
        "gateway_over": f"{(g['p95'] - g['ideal']) * 1000:.0f} ms",
        **plan_figures(report),
    }
    (GENERATED / "bench-figures.rst").write_text(
        "".join(f".. |{name}| replace:: {value}\n" for name, value in figures.items())
    )


def plan_figures(report: dict[str, Any]) -> dict[str, str]:
    """The figures of the plans and branches parts that the concepts and benchmarks pages quote (|pl_...|)."""
    pl, b = report["plans"], report["branches"]
    figures: dict[str, str] = {}
    for s in pl["sets"]:
        key = s["name"].removeprefix("nestful-")
        (r,) = [r for r in s["rows"] if r["sigma"] == 1.0]
        figures |= {
            f"pl_{key}_plans": str(s["plans"]),
            f"pl_{key}_parallel": str(s["parallel"]),
            f"pl_{key}_held": str(r["layered_slower_plans"]),
            f"pl_{key}_tasks": f"{s['tasks_mean']:.1f}",
            f"pl_{key}_tasks_max": str(s["tasks_max"]),
            f"pl_{key}_one": f"{r['one_at_a_time']:.3f}",
            f"pl_{key}_layered": f"{r['layered_mean']:.3f}",
            f"pl_{key}_p95": f"{r['layered_p95']:.3f}",
            f"pl_{key}_max": f"{r['layered_max']:.3f}",
        }
    rows = [r for s in pl["sets"] for r in s["rows"]]
    limited = [x for r in rows for x in r["limited"]]
    figures |= {
        "pl_draws": str(pl["draws"]),
        "pl_sets": str(len(pl["sets"])),
        "pl_total": str(sum(s["plans"] for s in pl["sets"])),
        "pl_layered_low": f"{min(r['layered_mean'] for r in rows):.3f}",
        "pl_layered_high": f"{max(r['layered_mean'] for r in rows):.3f}",
        "pl_worst": f"{max(r['layered_max'] for r in rows):.2f}",
        "pl_one_low": f"{min(r['one_at_a_time'] for r in rows):.2f}",
        "pl_one_high": f"{max(r['one_at_a_time'] for r in rows):.2f}",
        "pl_eager_max": f"{max(r['eager_max'] for r in rows):.3f}",
        "pl_k4_max": f"{max(x['max'] for x in limited if x['limit'] == 4):.3f}",
        "pl_k2_mean_high": f"{max(x['mean'] for x in limited if x['limit'] == 2):.3f}",
        "pl_k2_max": f"{max(x['max'] for x in limited if x['limit'] == 2):.2f}",
        "pl_seconds": f"{pl['seconds']:.0f} s",
        "br_scale": f"{b['scale']:g}",
        "br_runs": str(b["runs"]),
        "br_ratio": f"{b['layered_over_eager']:.2f}",
    }
    for r in b["rows"]:
        figures[f"br_{r['strategy']}"] = f"{r['p50']:.3f} s"
        figures[f"br_{r['strategy']}_virtual"] = f"{r['virtual']:.3f} s"
    for r in report["makespan"]["unlimited"]:
        figures[f"mk_{r['family']}_layered"] = f"{r['layered']:.2f}"
        figures[f"mk_{r['family']}_tasks"] = str(r["tasks"])
    return figures


def draw_plan() -> None:
    """The demo plan's picture, drawn by ``dagexec graph`` itself (the plot extra)."""
    import matplotlib

    from dagexec.cli import main
    from dagexec._demo import DEMO_WORKFLOW

    GENERATED.mkdir(exist_ok=True)
    matplotlib.rcParams["svg.fonttype"] = "none"  # text kept as text in the SVG
    plan = GENERATED / "demo-plan.json"
    plan.write_text(json.dumps(DEMO_WORKFLOW, indent=2) + "\n")
    if main(["graph", str(plan), "--output", str(GENERATED / "demo-plan.svg")]) != 0:
        raise RuntimeError("dagexec graph could not draw the demo plan")
    if main(["graph", str(plan), "--output", str(GENERATED / "demo-plan.mmd")]) != 0:
        raise RuntimeError("dagexec graph could not write the demo plan's Mermaid text")


draw_pictures()
draw_plan()
draw_trace()
draw_gateway()
bench_tables()
