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
# Names from other projects: no intersphinx inventories here (the build runs offline).
nitpick_ignore_regex = [
    (r"py:.*", r"(collections\.abc|typing|trio|mcp|mcp_types|httpx2|matplotlib|os|cattrs|attrs|networkx)(\..*)?"),
    (r"py:.*", r"(Any|Mapping|Sequence|Iterable|Callable|TextIO|Figure|PathLike|AsyncIterator)"),
    (r"py:.*", r"(dagexec\._[a-z_]+\..*|_Executor|Driver|Priority|Strategy|EventHandler|ServerConfig|Event|Data|Approver|Client)"),
    (r"py:.*", r"(float|int|str|bool|dict|list|tuple|object|None|ValueError|TypeError|Exception)"),
]
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


def draw_pictures() -> None:
    """Run the demo workflow layered and eager (in virtual time: exact) and draw both."""
    from dagexec import EagerExecutor, LayeredExecutor, Workflow
    from dagexec.cli._demo import DEMO_WORKFLOW, demo_servers
    from dagexec.plot import save_timelines

    GENERATED.mkdir(exist_ok=True)
    workflow = Workflow.from_dict(DEMO_WORKFLOW)
    servers = demo_servers()
    runs = _virtual_runs(workflow, [LayeredExecutor(servers), EagerExecutor(servers)])
    save_timelines(runs, GENERATED / "demo-timelines.svg")
    limited = _virtual_runs(
        workflow,
        [EagerExecutor(servers, max_concurrency=2, priority="fifo"), EagerExecutor(servers, max_concurrency=2)],
    )
    save_timelines(limited, GENERATED / "limited-timelines.svg")
    (GENERATED / "demo-figures.rst").write_text(
        f".. |layered_time| replace:: {runs[0].wall_time:.1f} s\n"
        f".. |eager_time| replace:: {runs[1].wall_time:.1f} s\n"
        f".. |fifo_time| replace:: {limited[0].wall_time:.1f} s\n"
        f".. |cp_time| replace:: {limited[1].wall_time:.1f} s\n"
    )


def draw_gateway() -> None:
    """The run behind one run_workflow call of dagexec serve: the demo plan, in virtual time (exact)."""
    from dagexec import Workflow
    from dagexec.cli._demo import DEMO_WORKFLOW, demo_servers
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

    def table(title: str, headings: list[str], rows: list[list[str]]) -> None:
        out.extend([f".. list-table:: {title}", "   :header-rows: 1", ""])
        for row in [headings, *rows]:
            out.append(f"   * - {row[0]}")
            out.extend(f"     - {cell}" for cell in row[1:])
        out.append("")

    table(
        "Makespan / critical path, virtual time (median over seeds)",
        ["family", "tasks", "seeds", "eager", "layered", "one at a time"],
        [
            [r["family"], str(r["tasks"]), str(r["seeds"]), f"{r['eager']:.3f}", f"{r['layered']:.3f}",
             f"{r['one at a time']:.2f}"]
            for r in report["makespan"]["unlimited"]
        ],
    )  # fmt: skip
    pairs: dict[tuple[str, int], dict[str, float]] = {}
    for r in report["makespan"]["limited"]:
        pairs.setdefault((r["family"], r["limit"]), {})[r["priority"]] = r["ratio"]
    table(
        "Under a limit k: makespan / max(critical path, work / k)",
        ["family", "k", "critical-path priority", "first come, first served"],
        [[f, str(k), f"{v['critical_path']:.3f}", f"{v['fifo']:.3f}"] for (f, k), v in pairs.items()],
    )
    table(
        "Scheduler overhead: no-op tools, Workflow.from_dict + execute, real time (medians)",
        ["family", "tasks", "tasks/s", "µs/task", "validate µs", "networkx check µs", "execute µs", "without gc",
         "streamed", "minimal µs", "x minimal", "peak KB/task"],
        [
            [r["family"], f"{r['tasks']:,}", f"{r['tasks_per_second']:,.0f}", f"{r['us_per_task']:.1f}",
             f"{r['validate_us_per_task']:.1f}", f"{r['graph_us_per_task']:.1f}", f"{r['execute_us_per_task']:.1f}",
             f"{r['execute_without_gc_us_per_task']:.1f}", f"{r['streamed_throughput_vs_execute']:.2f}x",
             f"{r['minimal_us_per_task']:.1f}", f"{r['ratio_to_minimal']:.2f}", f"{r['peak_kb_per_task']:.2f}"]
            for r in report["overhead"]
        ],
    )  # fmt: skip
    mcp = report["mcp"]
    table(
        f"Real MCP latency: {mcp['tools']} tools of {mcp['tool_seconds']} s on one stdio server, {mcp['runs']} runs",
        ["strategy", "P50", "P95", "P50 / ideal"],
        [[r["strategy"], f"{r['p50']:.3f} s", f"{r['p95']:.3f} s", f"{r['p50_over_ideal']:.2f}"] for r in mcp["rows"]],
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
    )
    out.append(
        f"The cluster is {d['speedup']:.2f}x as fast. The Dask path costs "
        f"{d['noop_us_per_call_parallel']:,.0f} µs per no-op call with {d['noop_calls']} in parallel, and "
        f"{d['noop_ms_per_call_one_at_a_time']:.1f} ms one at a time, against "
        f"{d['bare_dask_ms_per_call_one_at_a_time']:.1f} ms for Dask's own submit and result."
    )
    GENERATED.mkdir(exist_ok=True)
    (GENERATED / "bench-tables.rst").write_text("\n".join(out) + "\n")


draw_pictures()
draw_gateway()
bench_tables()
