"""`dagexec bench --quick`: its structure, and its exact virtual-time results.

The real-time parts (overhead, MCP latency, Dask) are figures to read, not
claims to assert: their tests check only what holds on any machine, however
loaded. That calls overlap is checked where it can be proved: test_mcp and
test_dask.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from dagexec.bench import chain_dag, makespan_family, wide_dag

from .helpers import dagexec


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("bench") / "bench.json"
    # The parts this module checks; test_plans_bench runs the plans and branches parts.
    parts = [arg for part in ("makespan", "overhead", "mcp", "dask", "schemas", "gateway") for arg in ("--part", part)]
    run = dagexec("bench", "--quick", *parts, "--json", str(out), timeout=600)
    assert run.returncode == 0, run.stderr
    assert "1. makespan / critical path" in run.stdout
    assert "2. scheduler overhead" in run.stdout
    assert "traced: execute with an OpenTelemetry SDK tracer provider" in run.stdout
    assert "3. real MCP latency" in run.stdout
    assert "4. 8 CPU-bound calls" in run.stdout
    assert "5. schema checks" in run.stdout
    data: dict[str, Any] = json.loads(out.read_text())
    return data


@pytest.mark.slow
def test_machine_is_named(report: dict[str, Any]) -> None:
    assert report["quick"] is True
    assert set(report["machine"]) >= {"python", "platform", "cpus", "dagexec", "trio", "networkx"}


@pytest.mark.slow
def test_eager_makespan_is_the_critical_path_exactly(report: dict[str, Any]) -> None:
    rows = report["makespan"]["unlimited"]
    assert [r["family"] for r in rows] == ["random", "wide", "chains", "skewed"]
    for row in rows:
        assert row["eager_equals_critical_path"] is True
        assert row["eager"] == pytest.approx(1.0, abs=1e-9)
        assert row["layered"] >= 1.0 - 1e-9
        assert row["one at a time"] >= row["layered"] - 1e-9
    # Layering hurts where branches are uneven: skewed tools, chains with side branches.
    by_family = {r["family"]: r for r in rows}
    assert by_family["skewed"]["layered"] > 1.1
    assert by_family["chains"]["layered"] > 1.1


@pytest.mark.slow
def test_limited_makespans_respect_the_lower_bound(report: dict[str, Any]) -> None:
    limited = report["makespan"]["limited"]
    assert {(r["limit"], r["priority"]) for r in limited} == {
        (k, p) for k in (2, 4) for p in ("critical_path", "fifo")
    }
    for row in limited:
        assert 1.0 - 1e-9 <= row["ratio"] <= 2.0  # a list schedule is within twice the bound


@pytest.mark.slow
def test_overhead_rows_are_sane(report: dict[str, Any]) -> None:
    rows = report["overhead"]
    assert {(r["family"], r["tasks"]) for r in rows} == {
        (f, n) for f in ("random", "wide", "chain") for n in (1_000, 4_000)
    }
    for row in rows:
        assert row["tasks_per_second"] > 1_000  # a millisecond a task: some 30 times what it takes
        # Each run's total is its validation plus its execution, so the median
        # total is at least the median of either part (medians of sums and sums
        # of medians are not otherwise comparable).
        assert row["us_per_task"] >= max(row["validate_us_per_task"], row["execute_us_per_task"])
        assert 0.5 < row["ratio_to_minimal"] < 50
        assert 0 < row["peak_kb_per_task"] < 20
        assert row["traced_us_per_task"] > 0  # the same execution, with a span per run and per task


@pytest.mark.slow
def test_mcp_latency(report: dict[str, Any]) -> None:
    mcp = report["mcp"]
    assert set(mcp) == {"runs", "tools", "tool_seconds", "ideal", "rows", "speedup_eager_over_one_at_a_time",
                        "p95_eager_under_3s"}  # fmt: skip
    assert (mcp["runs"], mcp["tools"]) == (5, 5)
    assert [r["strategy"] for r in mcp["rows"]] == ["eager", "layered", "one at a time"]
    eager, layered, one = mcp["rows"]
    assert mcp["ideal"] <= eager["p50"] <= eager["p95"] < 3.0  # 15 times the call: a wide bound
    assert mcp["ideal"] <= layered["p50"] <= layered["p95"]
    assert 5 * mcp["ideal"] <= one["p50"] <= one["p95"]  # five calls, one after another


@pytest.mark.slow
def test_gateway_part(report: dict[str, Any]) -> None:
    gateway = report["gateway"]
    assert set(gateway) == {"runs", "tools", "tool_seconds", "ideal", "p50", "p95", "p95_within_50ms_of_ideal"}
    assert (gateway["runs"], gateway["tools"], gateway["ideal"]) == (5, 5, 0.2)
    assert gateway["ideal"] <= gateway["p50"] <= gateway["p95"] < 3.0  # 15 times the call: a wide bound
    assert gateway["p95_within_50ms_of_ideal"] == (gateway["p95"] - 0.2 <= 0.05)


@pytest.mark.slow
def test_dask_part(report: dict[str, Any]) -> None:
    dask = report["dask"]
    assert set(dask) == {"calls", "call_seconds", "workers", "runs", "threads_wall", "cluster_wall", "speedup",
                         "noop_calls", "noop_us_per_call_parallel", "noop_ms_per_call_one_at_a_time",
                         "bare_dask_ms_per_call_one_at_a_time"}  # fmt: skip
    assert (dask["calls"], dask["workers"], dask["runs"], dask["noop_calls"]) == (8, 2, 1, 50)
    assert dask["threads_wall"] > 0 and dask["cluster_wall"] > 0
    assert dask["noop_ms_per_call_one_at_a_time"] > 0 and dask["bare_dask_ms_per_call_one_at_a_time"] > 0


@pytest.mark.slow
def test_schema_check_part(report: dict[str, Any]) -> None:
    schemas = report["schemas"]
    assert set(schemas) == {"tasks", "runs", "referencing_tasks", "plan_us_per_task", "call_us_per_task",
                            "total_us_per_task", "within_20us", "within_3us", "no_schema_us_per_task",
                            "no_schema_unchecked_us_per_task", "hostile"}  # fmt: skip
    assert (schemas["tasks"], schemas["referencing_tasks"], schemas["runs"]) == (10_000, 5_000, 5)
    assert schemas["call_us_per_task"] > 0
    assert schemas["total_us_per_task"] == pytest.approx(schemas["plan_us_per_task"] + schemas["call_us_per_task"])
    assert schemas["within_20us"] is (schemas["total_us_per_task"] <= 20.0)
    assert schemas["within_3us"] is (schemas["total_us_per_task"] <= 3.0)
    hostile = schemas["hostile"]
    # The hostile schemas were checked, and each refused what it should: the backtracking
    # pattern's text, and the reference through the nested anyOf to a key none has.
    assert (hostile["pattern_problems"], hostile["nested_problems"], hostile["nested_depth"]) == (1, 1, 14)
    assert hostile["wide_schema_mb"] > 10 and hostile["gateway_pings"] > 0


def test_dag_families() -> None:
    assert wide_dag(6) == {0: [], 1: [0], 2: [0], 3: [0], 4: [0], 5: [1, 2, 3, 4]}
    assert chain_dag(4) == {0: [], 1: [0], 2: [1], 3: [2]}
    data = makespan_family("skewed", 40, seed=1)
    assert len(data["tasks"]) == 40
    assert data == makespan_family("skewed", 40, seed=1)  # seeded: the same every time
    assert all(t["estimate"] == t["arguments"]["seconds"] for t in data["tasks"])


def test_bench_json_needs_a_writable_path(tmp_path: Path) -> None:
    run = dagexec("bench", "--quick", "--part", "makespan", "--json", str(tmp_path / "no" / "x.json"))
    assert run.returncode == 2
    assert "cannot write" in run.stderr


def test_the_command_line_offers_every_part() -> None:
    from dagexec.bench import PARTS
    from dagexec.cli._parser import build_parser

    parser = build_parser()
    (commands,) = [a for a in parser._actions if a.dest == "command"]
    bench = commands.choices["bench"]  # type: ignore[index]
    (part,) = [a for a in bench._actions if a.dest == "part"]
    assert tuple(part.choices) == PARTS  # type: ignore[arg-type]
