"""Random DAGs, random durations, random failures: ordering, skips and makespans."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dagexec import EagerExecutor, ExecutionResult, LayeredExecutor, TaskStatus, Workflow

from .helpers import SIM, run_in_virtual_time
from .strategies import DrawnDag, dags, shuffled_workflow_dicts, troubled_runs


def execute(executor: type[EagerExecutor], data: dict[str, Any]) -> ExecutionResult:
    workflow = Workflow.from_dict(data)

    async def main() -> ExecutionResult:
        return await executor(SIM).execute(workflow)

    return run_in_virtual_time(main)


def check_run(dag: DrawnDag, result: ExecutionResult) -> None:
    # Every task has exactly one result.
    assert sorted(r.task_id for r in result.results) == sorted(dag.ids)
    ran = {r.task_id for r in result.results if r.started_at is not None}
    # No task starts before every dependency finished.
    for tid in ran:
        for dep in dag.deps[tid]:
            assert result[dep].finished_at is not None
            assert result[tid].started_at >= result[dep].finished_at - 1e-9  # type: ignore[operator]
    # Exactly the descendants of the tasks that ran and failed are skipped.
    failed = frozenset(r.task_id for r in result.results if r.status is TaskStatus.ERROR)
    assert failed == dag.failing & ran
    skipped = {r.task_id for r in result.results if r.status is TaskStatus.SKIPPED}
    assert skipped == dag.descendants(failed)
    assert ran | skipped == set(dag.ids)


@given(dags())
def test_eager_runs_the_critical_path_and_never_loses_to_layered(dag: DrawnDag) -> None:
    eager = execute(EagerExecutor, dag.workflow_dict())
    layered = execute(LayeredExecutor, dag.workflow_dict())
    check_run(dag, eager)
    check_run(dag, layered)
    # Same failures, same skips, whichever the strategy.
    assert [r.status for r in eager.results] == [r.status for r in layered.results]

    ran = {tid: (dag.durations[tid] if eager[tid].started_at is not None else 0.0) for tid in dag.ids}
    # Eager: each task starts the instant its last dependency ends, so the run
    # takes the critical path of the durations that ran, exactly.
    for tid in dag.ids:
        if eager[tid].started_at is not None:
            ready_at = max((eager[d].finished_at or 0.0 for d in dag.deps[tid]), default=0.0)
            assert eager[tid].started_at == pytest.approx(ready_at, abs=1e-9)
    assert eager.wall_time == pytest.approx(dag.critical_path_time(ran), abs=1e-9)
    assert eager.critical_path_time == pytest.approx(dag.critical_path_time(ran), abs=1e-9)
    # Layered: the sum over generations of each one's longest task.
    layered_time = sum(max(ran[tid] for tid in gen) for gen in dag.generations())
    assert layered.wall_time == pytest.approx(layered_time, abs=1e-9)
    assert eager.wall_time <= layered.wall_time + 1e-9


@given(dags(failures=False).flatmap(lambda dag: shuffled_workflow_dicts(dag).map(lambda d: (dag, d))))
def test_task_order_in_the_file_does_not_matter(drawn: tuple[DrawnDag, dict[str, Any]]) -> None:
    dag, data = drawn
    result = execute(EagerExecutor, data)
    assert [r.task_id for r in result.results] == [task["id"] for task in data["tasks"]]
    check_run(dag, result)
    assert result.ok
    assert result.wall_time == pytest.approx(dag.critical_path_time(), abs=1e-9)


@given(troubled_runs(), st.sampled_from([EagerExecutor, LayeredExecutor]))
def test_a_result_loads_back_from_its_json(
    drawn: tuple[DrawnDag, dict[str, Any], float | None], executor: type[EagerExecutor]
) -> None:
    _, data, timeout = drawn
    workflow = Workflow.from_dict(data)

    async def main() -> ExecutionResult:
        return await executor(SIM).execute(workflow, timeout=timeout)

    result = run_in_virtual_time(main)
    written = json.loads(json.dumps(result.to_dict()))
    loaded = ExecutionResult.from_dict(written)
    assert loaded == result
    assert loaded.to_dict() == written
    # Without the workflow in the data, given beside it.
    alone = json.loads(json.dumps(result.to_dict(workflow=False)))
    assert "workflow" not in alone
    assert ExecutionResult.from_dict(alone, workflow=workflow) == result
