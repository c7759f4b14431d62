"""``dagexec bench``: the benchmark harness, and the MCP server it measures.

The harness (:func:`run_bench` and its parts) measures eager against layered
and against the physical limits, on planners' published plans too (converted
by :func:`read_plans`), and what the schema checks cost;
``python -m dagexec.bench.server`` runs its MCP server (a tool that sleeps and
two typed tools, over stdio; the ``mcp`` extra).
"""

from ._dask import bench_dask as bench_dask
from ._dask import cpu_work as cpu_work
from ._dask import noop_tool as noop_tool
from ._families import MAKESPAN_FAMILIES as MAKESPAN_FAMILIES
from ._families import chain_dag as chain_dag
from ._families import makespan_family as makespan_family
from ._families import overhead_family as overhead_family
from ._families import random_dag as random_dag
from ._families import wide_dag as wide_dag
from ._harness import PARTS as PARTS
from ._harness import machine as machine
from ._harness import run_bench as run_bench
from ._makespan import bench_makespan as bench_makespan
from ._overhead import bench_overhead as bench_overhead
from ._overhead import minimal_executor as minimal_executor
from ._plan_sets import VENDORED_SETS as VENDORED_SETS
from ._plan_sets import PlanSet as PlanSet
from ._plan_sets import PlansFileError as PlansFileError
from ._plan_sets import read_plans as read_plans
from ._plan_sets import vendored_sets as vendored_sets
from ._plans import bench_plans as bench_plans
from ._plans import draw_durations as draw_durations
from ._plans import makespans as makespans
from ._real_mcp import bench_branches as bench_branches
from ._real_mcp import bench_gateway as bench_gateway
from ._real_mcp import bench_mcp as bench_mcp
from ._schema_checks import bench_schemas as bench_schemas
from ._schema_checks import typed_plan as typed_plan

__all__ = [
    "MAKESPAN_FAMILIES",
    "PARTS",
    "VENDORED_SETS",
    "PlanSet",
    "PlansFileError",
    "bench_branches",
    "bench_dask",
    "bench_gateway",
    "bench_makespan",
    "bench_mcp",
    "bench_overhead",
    "bench_plans",
    "bench_schemas",
    "chain_dag",
    "cpu_work",
    "draw_durations",
    "machine",
    "makespan_family",
    "makespans",
    "minimal_executor",
    "noop_tool",
    "overhead_family",
    "random_dag",
    "read_plans",
    "run_bench",
    "typed_plan",
    "vendored_sets",
    "wide_dag",
]
