"""Live runs: plans that stream in, approval before a tool runs, resume after a crash."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import trio
import trio.testing
from hypothesis import given
from hypothesis import strategies as st

from dagexec import (
    EagerExecutor,
    ErrorCode,
    JournalError,
    LayeredExecutor,
    LocalTools,
    PlanError,
    SchemaError,
    Task,
    TaskSkipped,
    TaskStatus,
    UnknownServerError,
    Workflow,
    WorkflowError,
)

from .helpers import SIM as SERVERS
from .helpers import run_in_virtual_time, t
from .strategies import DrawnDag, dags

HERE = Path(__file__).parent


# -- streaming plans -----------------------------------------------------------------------


@given(dags(failures=False), st.data())
def test_streamed_tasks_start_when_added_and_ready(dag: DrawnDag, data: st.DataObject) -> None:
    gaps = data.draw(st.lists(st.integers(0, 10).map(lambda n: n / 10), min_size=len(dag.ids), max_size=len(dag.ids)))
    arrivals: dict[str, float] = {}
    clock = 0.0
    for tid, gap in zip(dag.ids, gaps, strict=True):
        clock += gap
        arrivals[tid] = clock

    async def main() -> Any:
        async with EagerExecutor(SERVERS).open_run() as run:
            for tid in dag.ids:
                await trio.sleep_until(arrivals[tid])
                run.add(t(tid, dag.durations[tid], *dag.deps[tid]))
        return run.result

    result = run_in_virtual_time(main)
    finish: dict[str, float] = {}
    for tid in dag.ids:  # the start the definition demands: added, and every dependency done
        start = max([arrivals[tid], *(finish[d] for d in dag.deps[tid])])
        assert result[tid].started_at == pytest.approx(start, abs=1e-9)
        finish[tid] = start + dag.durations[tid]
    assert result.wall_time == pytest.approx(max(finish.values()), abs=1e-9)
    assert [r.task_id for r in result.results] == list(dag.ids)


async def test_bad_tasks_are_refused_and_the_run_goes_on(autojump_clock: trio.testing.MockClock) -> None:
    async with EagerExecutor(SERVERS).open_run() as run:
        run.add(t("a", 1.0))
        with pytest.raises(SchemaError, match=r"\n  task 'b': depends_on: expected an array, got string 'a'$"):
            run.add({"id": "b", "tool": "sim:sleep", "depends_on": "a"})
        with pytest.raises(PlanError, match=r"^invalid plan \(1 problem\):\n  task 'c': depends_on\[0\]: unknown task 'later'$"):
            run.add(t("c", 1.0, "later"))
        with pytest.raises(PlanError, match=r"\n  task 'd': depends_on\[0\]: tasks form a cycle: d -> d \(the task depends on itself\)$"):
            run.add(t("d", 1.0, "d"))
        with pytest.raises(PlanError, match=r"\n  task 'a': id: a task of this id was added before$"):
            run.add(t("a", 1.0))
        with pytest.raises(UnknownServerError, match=r"\n  task 'e': tool: unknown server 'web' \(servers: sim\)$"):
            run.add({"id": "e", "tool": "web:get"})
        # Every problem of the task at once, with the ids that exist.
        with pytest.raises(PlanError) as every:
            run.add({"id": "f", "tool": "web:get", "depends_on": ["aa"]})
        assert [str(p) for p in every.value.problems] == [
            "task 'f': depends_on[0]: unknown task 'aa'; did you mean 'a'?",
            "task 'f': tool: unknown server 'web' (servers: sim)",
        ]
        later = run.add(Task(id="later", tool="sim:sleep", arguments={"seconds": 0.5}, depends_on=("a",)))
        assert later.id == "later"
    result = run.result
    assert [r.task_id for r in result.results] == ["a", "later"]
    assert result.ok
    assert result["later"].started_at == pytest.approx(1.0)


async def test_task_added_after_its_dependency_failed_is_skipped_at_once(
    autojump_clock: trio.testing.MockClock,
) -> None:
    events: list[object] = []
    async with EagerExecutor(SERVERS).open_run(on_event=events.append) as run:
        run.add(t("bad", 1.0, arguments={"fail": True}))
        await trio.sleep(2.0)
        run.add(t("late", 1.0, "bad"))
        skipped = [e for e in events if isinstance(e, TaskSkipped)]
        assert [e.result.task_id for e in skipped] == ["late"]  # at once, before the block ends
    assert run.result["late"].status is TaskStatus.SKIPPED
    assert run.result["late"].error is not None
    assert run.result["late"].error.message == "depends on 'bad', which ended error (tool_error)"


async def test_run_result_and_add_outside_the_block() -> None:
    async with EagerExecutor(SERVERS).open_run() as run:
        with pytest.raises(RuntimeError, match="once its async with block is left"):
            _ = run.result
    assert run.result.results == ()
    with pytest.raises(RuntimeError, match="the run is closed"):
        run.add(t("x"))


async def test_an_error_in_the_block_stops_the_run_and_comes_out_as_is(
    autojump_clock: trio.testing.MockClock,
) -> None:
    with pytest.raises(KeyError, match="planner broke"):
        async with EagerExecutor(SERVERS).open_run() as run:
            run.add(t("a", 10.0))
            await trio.sleep(1)
            raise KeyError("planner broke")
    assert trio.current_time() == pytest.approx(1.0)


async def test_deadline_of_a_streamed_run_spares_the_callers_code(autojump_clock: trio.testing.MockClock) -> None:
    async with EagerExecutor(SERVERS).open_run(timeout=2.5) as run:
        run.add(t("a", 1.0))
        run.add(t("b", 5.0))
        await trio.sleep(4)  # the caller's own code is not cancelled by the run's deadline
        run.add(t("c", 1.0))
    result = run.result
    assert {r.task_id: r.status for r in result.results} == {
        "a": TaskStatus.SUCCESS,
        "b": TaskStatus.CANCELLED,
        "c": TaskStatus.CANCELLED,
    }
    assert result["c"].error is not None
    assert result["c"].error.message == "cancelled: the run's deadline of 2.5 s passed"
    assert trio.current_time() == pytest.approx(4.0)


# -- approval ------------------------------------------------------------------------------


def approver(verdicts: dict[str, Any], asked: list[tuple[str, dict[str, Any], float]], delay: float = 0.0) -> Any:
    async def approve(task: Task, arguments: dict[str, Any]) -> bool | str:
        asked.append((task.id, arguments, trio.current_time()))
        await trio.sleep(delay)
        verdict = verdicts[task.id]
        if isinstance(verdict, Exception):
            raise verdict
        return verdict  # type: ignore[no-any-return]

    return approve


@pytest.mark.parametrize("executor", [EagerExecutor, LayeredExecutor])
async def test_approval_verdicts(executor: type[EagerExecutor], autojump_clock: trio.testing.MockClock) -> None:
    asked: list[tuple[str, dict[str, Any], float]] = []
    verdicts = {"yes": True, "no": False, "why": "too expensive", "boom": ValueError("approver down"), "odd": None}
    workflow = Workflow.from_dict(
        {
            "tasks": [
                t("src", 1.0, arguments={"value": "v"}),
                *(t(name, 1.0, "src", approval=True, arguments={"value": "$OUTPUT[src].value"}) for name in verdicts),
                t("after_no", 1.0, "no"),
            ]
        }
    )
    result = await executor(SERVERS, approve=approver(verdicts, asked)).execute(workflow)
    assert sorted(name for name, _, _ in asked) == sorted(verdicts)
    assert all(arguments == {"seconds": 1.0, "value": "v"} for _, arguments, _ in asked)  # resolved
    assert result["yes"].ok
    reasons = {
        "no": "refused",
        "why": "too expensive",
        "boom": "the approver failed: ValueError: approver down",
        "odd": "refused (the approver answered None)",
    }
    for name, reason in reasons.items():
        r = result[name]
        assert (r.status, r.attempts) == (TaskStatus.SKIPPED, 0)
        assert r.error is not None and (r.error.code, r.error.message) == (ErrorCode.REJECTED, reason)
    after = result["after_no"]
    assert after.status is TaskStatus.SKIPPED and after.error is not None
    assert after.error.message == "depends on 'no', which ended skipped (rejected)"


async def test_waiting_for_approval_holds_no_slot_and_delays_no_one(autojump_clock: trio.testing.MockClock) -> None:
    asked: list[tuple[str, dict[str, Any], float]] = []
    workflow = Workflow.from_dict(
        {"tasks": [t("gated", 1.0, approval=True, estimate=10), t("free1", 1.0), t("free2", 1.0)]}
    )
    executor = EagerExecutor(SERVERS, max_concurrency=1, approve=approver({"gated": True}, asked, delay=5.0))
    result = await executor.execute(workflow)
    assert asked[0][0] == "gated" and asked[0][2] == 0
    assert result["free1"].started_at == 0 and result["free2"].started_at == pytest.approx(1.0)
    assert result["gated"].started_at == pytest.approx(5.0)  # approved at 5 s: a slot was free
    assert result.wall_time == pytest.approx(6.0)


async def test_approve_all(autojump_clock: trio.testing.MockClock) -> None:
    asked: list[tuple[str, dict[str, Any], float]] = []
    workflow = Workflow.from_dict({"tasks": [t("a", 1.0), t("b", 1.0, "a")]})
    approve = approver({"a": True, "b": "no thanks"}, asked)
    result = await EagerExecutor(SERVERS, approve=approve, approve_all=True).execute(workflow)
    assert [name for name, _, _ in asked] == ["a", "b"]
    assert result["a"].ok and result["b"].status is TaskStatus.SKIPPED


async def test_approval_needs_an_approver() -> None:
    workflow = Workflow.from_dict({"tasks": [t("a", approval=True)]})
    with pytest.raises(
        WorkflowError, match=r"\n  task 'a': approval: the task needs approval, and the executor has no approve callable$"
    ):
        await EagerExecutor(SERVERS).execute(workflow)
    with pytest.raises(TypeError, match="approve must be an async callable"):
        EagerExecutor(SERVERS, approve=lambda task, arguments: True)  # type: ignore[arg-type,return-value]
    with pytest.raises(ValueError, match="approve_all needs an approve callable"):
        EagerExecutor(SERVERS, approve_all=True)


def test_approval_field_is_strict() -> None:
    with pytest.raises(SchemaError, match=r"\n  task 'a': approval: expected true or false, got string 'yes'$"):
        Workflow.from_dict({"tasks": [{"id": "a", "tool": "s:t", "approval": "yes"}]})


# -- the journal ---------------------------------------------------------------------------


def counting_servers(calls: Counter[str]) -> dict[str, LocalTools]:
    async def work(key: str, fail: bool = False) -> dict[str, str]:
        calls[key] += 1
        await trio.sleep(0.01)
        if fail:
            raise RuntimeError("no")
        return {"key": key, "n": str(calls[key])}

    return {"w": LocalTools({"work": work})}


def journal_workflow(changed: bool = False, fail: bool = True) -> Workflow:
    return Workflow.from_dict(
        {
            "tasks": [
                {"id": "a", "tool": "w:work", "arguments": {"key": "a"}},
                {"id": "b", "tool": "w:work", "arguments": {"key": "b" if not changed else "b2"}},
                {"id": "c", "tool": "w:work", "arguments": {"key": "c", "fail": fail}},
                {"id": "d", "tool": "w:work", "arguments": {"key": "$OUTPUT[a].key"}},
            ]
        }
    )


async def test_journal_reuses_finished_calls(tmp_path: Path) -> None:
    path = tmp_path / "run.db"
    calls: Counter[str] = Counter()
    first = await EagerExecutor(counting_servers(calls), journal=path).execute(journal_workflow())
    assert not first.ok and calls == Counter({"a": 2, "b": 1, "c": 1})
    assert not any(r.reused for r in first.results)

    second = await EagerExecutor(counting_servers(calls), journal=path).execute(journal_workflow(fail=False))
    assert second.ok
    assert {r.task_id: r.reused for r in second.results} == {"a": True, "b": True, "c": False, "d": True}
    assert second["d"].output == {"key": "a", "n": "2"}  # the journaled output, not a new call
    assert calls == Counter({"a": 2, "b": 1, "c": 2})  # only the failed call ran again

    third = await EagerExecutor(counting_servers(calls), journal=path).execute(journal_workflow(changed=True))
    assert {r.task_id: r.reused for r in third.results} == {"a": True, "b": False, "c": False, "d": True}
    assert calls["b2"] == 1


async def test_journal_records_every_finished_task(tmp_path: Path) -> None:
    path = tmp_path / "run.db"
    await EagerExecutor(counting_servers(Counter()), journal=path).execute(journal_workflow())
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        rows = db.execute("SELECT task_id, tool, status, output FROM finished ORDER BY task_id").fetchall()
    assert rows[0][:3] == ("a", "w:work", "success")
    assert [r[2] for r in rows] == ["success", "success", "error", "success"]
    assert rows[2][3] is None


async def test_unusable_journal(tmp_path: Path) -> None:
    with pytest.raises(JournalError, match="cannot open the journal"):
        await EagerExecutor(SERVERS, journal=tmp_path).execute(Workflow.from_dict({"tasks": [t("a", 0.1)]}))
    bad = tmp_path / "bad.db"
    bad.write_text("not a database, just text that is long enough to look like a header" * 10)
    with pytest.raises(JournalError, match="cannot open the journal"):
        await EagerExecutor(SERVERS, journal=bad).execute(Workflow.from_dict({"tasks": [t("a", 0.1)]}))


def test_journal_survives_sigkill(tmp_path: Path) -> None:
    """Kill a run mid-way, resume it: no call that finished runs again, and every task ends."""
    journal, effects = tmp_path / "run.db", tmp_path / "effects.log"
    worker = [sys.executable, str(HERE / "scripts" / "journal_worker.py"), str(journal), str(effects)]
    proc = subprocess.Popen(worker, stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # let some tasks finish, with others in flight
        if effects.exists() and effects.read_text().count("end ") >= 6:
            break
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    with sqlite3.connect(journal) as db:
        committed = {row[0] for row in db.execute("SELECT task_id FROM finished WHERE status = 'success'")}
    before = Counter(line.split()[1] for line in effects.read_text().splitlines() if line.startswith("start "))
    assert 0 < len(committed) < 20  # killed mid-run

    out = subprocess.run(worker, capture_output=True, text=True, timeout=120, check=True).stdout
    assert out.strip().splitlines()[-1] == "ok 20 tasks"
    after = Counter(line.split()[1] for line in effects.read_text().splitlines() if line.startswith("start "))
    repeated = {task for task, n in after.items() if n > before.get(task, 0) and before.get(task, 0) > 0}
    assert not repeated & committed  # a committed call never runs again
    assert len(repeated) <= 4  # at most the calls in flight at the kill (the worker's limit)
    assert set(after) == {f"t{i}" for i in range(20)}
    assert out.count("reused") == len(committed)
    print(f"committed before the kill: {len(committed)}, calls repeated: {sorted(repeated)}")


async def test_a_reused_task_is_not_asked_again(tmp_path: Path) -> None:
    asked: list[tuple[str, dict[str, Any], float]] = []
    workflow = Workflow.from_dict({"tasks": [{"id": "a", "tool": "w:work", "arguments": {"key": "a"}, "approval": True}]})
    approve = approver({"a": True}, asked)
    for _ in range(2):
        executor = EagerExecutor(counting_servers(Counter()), approve=approve, journal=tmp_path / "run.db")
        result = await executor.execute(workflow)
    assert result["a"].reused
    assert [name for name, _, _ in asked] == ["a"]  # asked in the first run only


async def test_outputs_that_are_not_json_are_never_reused(tmp_path: Path) -> None:
    calls: Counter[str] = Counter()

    async def make() -> object:
        calls["make"] += 1
        return {1, 2}  # a set: not JSON

    workflow = Workflow.from_dict({"tasks": [{"id": "m", "tool": "p:make"}]})
    for _ in range(2):
        result = await EagerExecutor({"p": LocalTools({"make": make})}, journal=tmp_path / "run.db").execute(workflow)
    assert result["m"].output == {1, 2} and not result["m"].reused
    assert calls["make"] == 2
    with sqlite3.connect(tmp_path / "run.db") as db:
        assert db.execute("SELECT status, output FROM finished").fetchall() == [("success", None)]


async def test_a_missing_approver_is_reported_before_the_journal_is_touched(tmp_path: Path) -> None:
    workflow = Workflow.from_dict({"tasks": [t("a", approval=True)]})
    with pytest.raises(WorkflowError, match="needs approval"):
        await EagerExecutor(SERVERS, journal=tmp_path / "run.db").execute(workflow)
    assert not (tmp_path / "run.db").exists()
