"""Runs through the trio driver: stopping from outside, limits shared by runs, where tasks start."""

from __future__ import annotations

import contextvars
import json
import os
import signal
from pathlib import Path
from typing import Any, ClassVar

import pytest
import trio
import trio.testing

from dagexec import (
    EagerExecutor,
    ErrorCode,
    Event,
    ExecutionResult,
    LayeredExecutor,
    LocalTools,
    Run,
    SignalStop,
    Task,
    TaskFinished,
    TaskStatus,
    TaskStopped,
    ToolCallError,
    Workflow,
    open_signal_stop,
)
from dagexec._core import TRANSITIONS, Phase, TaskRecord
from dagexec._core import run as core_run

EXECUTORS = [EagerExecutor, LayeredExecutor]


def workflow(*tasks: tuple[str, float, tuple[str, ...]], tool: str = "s:sleep") -> Workflow:
    return Workflow.from_dict(
        {
            "tasks": [
                {"id": tid, "tool": tool, "arguments": {"seconds": seconds}, "depends_on": list(deps)}
                for tid, seconds, deps in tasks
            ]
        }
    )


async def sleep(seconds: float) -> float:
    await trio.sleep(seconds)
    return seconds


SERVERS = {"s": LocalTools({"sleep": sleep})}


@pytest.mark.parametrize("executor", EXECUTORS)
async def test_stop_from_another_task_returns_every_status(
    executor: type[EagerExecutor], autojump_clock: trio.testing.MockClock
) -> None:
    wf = workflow(("quick", 1.0, ()), ("slow", 10.0, ()), ("after", 1.0, ("slow",)), ("next", 1.0, ("quick",)))
    async with trio.open_nursery() as nursery, executor(SERVERS).open_run(wf) as run:

        async def stop_later() -> None:
            await trio.sleep(1.5)
            run.stop("the user pressed stop")

        nursery.start_soon(stop_later)
    result = run.result
    assert result.wall_time == 1.5
    expected = {"quick": TaskStatus.SUCCESS, "slow": TaskStatus.CANCELLED, "after": TaskStatus.CANCELLED}
    # eager started next at 1.0 (cancelled mid-call); layered waits for slow's layer first
    expected["next"] = TaskStatus.CANCELLED
    assert {r.task_id: r.status for r in result.results} == expected
    for tid in ("slow", "after", "next"):
        assert result[tid].error is not None
        assert result[tid].error.message == "cancelled: the user pressed stop"  # type: ignore[union-attr]
    assert result["slow"].started_at == 0.0 and result["slow"].finished_at == 1.5
    assert result["after"].started_at is None
    assert result["next"].started_at == (1.0 if executor is EagerExecutor else None)


async def test_stop_inside_the_block_and_tasks_added_after_it(autojump_clock: trio.testing.MockClock) -> None:
    async with EagerExecutor(SERVERS).open_run() as run:
        run.add({"id": "a", "tool": "s:sleep", "arguments": {"seconds": 5}})
        await trio.sleep(1)
        run.stop()
        run.stop("again")  # a no-op: the first reason stays
        late = run.add({"id": "late", "tool": "s:sleep", "arguments": {"seconds": 1}})
        assert late.id == "late"
    assert {r.task_id: (r.status, r.error.message if r.error else None) for r in run.result.results} == {
        "a": (TaskStatus.CANCELLED, "cancelled: the run was stopped"),
        "late": (TaskStatus.CANCELLED, "cancelled: the run was stopped"),
    }


async def test_a_call_that_returns_as_the_run_stops_keeps_its_result() -> None:
    """The stop comes from the task's own event, after its call returned: its output is kept."""
    events: list[str] = []

    def on_event(event: object) -> None:
        if isinstance(event, TaskFinished):
            events.append(event.task_id)
            run.stop("the first task finished")

    wf = workflow(("a", 0.0, ()), ("b", 0.0, ()), ("c", 0.0, ("a", "b")))
    async with EagerExecutor(SERVERS).open_run(wf, on_event=on_event) as run:
        pass
    statuses = {r.task_id: r.status for r in run.result.results}
    first = events[0]
    assert statuses[first] is TaskStatus.SUCCESS and run.result[first].output == 0.0
    assert statuses["c"] is TaskStatus.CANCELLED
    # the other call either ended first too (success) or was cancelled: never lost, never both
    other = "b" if first == "a" else "a"
    assert statuses[other] in (TaskStatus.SUCCESS, TaskStatus.CANCELLED)


async def test_two_runs_of_one_executor_share_its_server_limit(autojump_clock: trio.testing.MockClock) -> None:
    in_flight = 0
    most = 0

    async def call(seconds: float) -> float:
        nonlocal in_flight, most
        in_flight += 1
        most = max(most, in_flight)
        await trio.sleep(seconds)
        in_flight -= 1
        return seconds

    executor = EagerExecutor({"db": LocalTools({"q": call})}, server_limits={"db": 2})
    results = {}

    async def one(name: str) -> None:
        wf = workflow(*((f"{name}{i}", 1.0, ()) for i in range(3)), tool="db:q")
        results[name] = await executor.execute(wf)

    async with trio.open_nursery() as nursery:
        nursery.start_soon(one, "x")
        nursery.start_soon(one, "y")
    assert most == 2  # six calls, never more than two at once
    assert trio.current_time() == 3.0  # 6 calls of 1 s, 2 at a time
    assert all(r.ok for r in results.values())


async def test_a_stopped_run_frees_the_slots_its_calls_held(autojump_clock: trio.testing.MockClock) -> None:
    executor = EagerExecutor(SERVERS, max_concurrency=1)
    async with executor.open_run(workflow(("long", 10.0, ()), ("queued", 1.0, ()))) as run:
        await trio.sleep(1)
        run.stop()
    assert [r.status for r in run.result.results] == [TaskStatus.CANCELLED, TaskStatus.CANCELLED]
    started = trio.current_time()
    result = await executor.execute(workflow(("next", 1.0, ())))
    assert result.ok and trio.current_time() - started == 1.0  # the slot was free at once


REQUEST = contextvars.ContextVar("REQUEST", default="none")


async def test_tasks_start_in_the_run_s_context_not_in_the_finishing_task_s() -> None:
    seen: dict[str, str] = {}

    async def mark(name: str) -> str:
        seen[name] = REQUEST.get()
        REQUEST.set(f"set by {name}")  # a tool's own context change stays in its own task
        return name

    wf = Workflow.from_dict(
        {
            "tasks": [
                {"id": "a", "tool": "m:mark", "arguments": {"name": "a"}},
                {"id": "b", "tool": "m:mark", "arguments": {"name": "b"}, "depends_on": ["a"]},
            ]
        }
    )
    REQUEST.set("the caller's")
    await EagerExecutor({"m": LocalTools({"mark": mark})}).execute(wf)
    assert seen == {"a": "the caller's", "b": "the caller's"}


class QuotaError(ToolCallError):
    code = "quota_exceeded"  # type: ignore[assignment]  # a code dagexec does not know


async def test_a_tool_error_with_a_code_of_its_own_is_a_tool_error() -> None:
    async def limited() -> None:
        raise QuotaError("100 calls a day")

    wf = Workflow.from_dict({"tasks": [{"id": "q", "tool": "t:limited"}, {"id": "ok", "tool": "t:fine"}]})
    result = await EagerExecutor({"t": LocalTools({"limited": limited, "fine": lambda: "fine"})}).execute(wf)
    q = result["q"]
    assert q.status is TaskStatus.ERROR and q.error is not None
    assert (q.error.code, q.error.message) == (ErrorCode.TOOL_ERROR, "quota_exceeded: 100 calls a day")
    assert result["ok"].output == "fine"


async def test_results_before_the_block_is_left_are_an_error() -> None:
    async with EagerExecutor(SERVERS).open_run() as run:
        with pytest.raises(RuntimeError, match="once its async with block is left"):
            _ = run.result


def _names(result: Any) -> list[str]:
    return [r.task_id for r in result.results]


async def test_a_workflow_with_tasks_added_reports_them_after_its_own(autojump_clock: trio.testing.MockClock) -> None:
    async with EagerExecutor(SERVERS).open_run(workflow(("b", 1.0, ("a",)), ("a", 1.0, ()))) as run:
        run.add({"id": "c", "tool": "s:sleep", "arguments": {"seconds": 1}, "depends_on": ["b"]})
    assert _names(run.result) == ["b", "a", "c"]
    assert run.result["c"].started_at == 2.0
    assert [t.id for t in run.result.workflow.tasks] == ["b", "a", "c"]


@pytest.mark.parametrize("exception", [SystemExit(3), GeneratorExit()])
async def test_a_tool_raising_systemexit_or_generatorexit_fails_only_its_task(exception: BaseException) -> None:
    def bad() -> None:
        raise exception

    wf = Workflow.from_dict({"tasks": [{"id": "bad", "tool": "t:bad"}, {"id": "ok", "tool": "t:ok"}]})
    result = await EagerExecutor({"t": LocalTools({"bad": bad, "ok": lambda: "fine"})}).execute(wf)
    bad_result = result["bad"]
    assert bad_result.status is TaskStatus.ERROR and bad_result.error is not None
    assert (bad_result.error.code, bad_result.error.message) == (
        ErrorCode.TOOL_ERROR,
        f"{type(exception).__name__}: {exception}",
    )
    assert result["ok"].output == "fine"


@pytest.mark.parametrize("executor", EXECUTORS)
async def test_an_on_event_that_raises_stops_the_run_and_surfaces_unwrapped(
    executor: type[EagerExecutor], autojump_clock: trio.testing.MockClock
) -> None:
    seen: list[object] = []

    def on_event(event: object) -> None:
        seen.append(event)
        if isinstance(event, TaskFinished) and event.task_id == "quick":
            raise KeyError("the dashboard broke")

    wf = workflow(("quick", 1.0, ()), ("slow", 10.0, ()), ("after", 1.0, ("quick",)))
    with pytest.raises(KeyError, match="the dashboard broke"):
        async with executor(SERVERS).open_run(wf, on_event=on_event) as run:
            pass
    assert trio.current_time() == 1.0  # slow was cancelled, not waited for
    result = run.result.results  # the result is there all the same
    reason = "cancelled: on_event raised KeyError: 'the dashboard broke'"
    assert [(r.status, r.error.message if r.error else None) for r in result] == [
        (TaskStatus.SUCCESS, None),
        (TaskStatus.CANCELLED, reason),
        (TaskStatus.CANCELLED, reason),
    ]
    assert isinstance(seen[-1], TaskFinished)  # nothing more went to the callback once it raised


@pytest.mark.parametrize("executor", EXECUTORS)
async def test_the_result_read_long_after_the_run_keeps_the_run_s_end(
    executor: type[EagerExecutor], autojump_clock: trio.testing.MockClock
) -> None:
    async with executor(SERVERS).open_run(workflow(("a", 1.0, ()), ("b", 0.5, ("a",)))) as run:
        pass
    await trio.sleep(10.0)  # the result is read 10 s after the run ended
    result = run.result
    assert result.wall_time == 1.5
    assert result.speedup == 1.0
    assert result.counts == {TaskStatus.SUCCESS: 2, TaskStatus.ERROR: 0, TaskStatus.SKIPPED: 0, TaskStatus.CANCELLED: 0}


async def test_a_stopped_run_s_events_from_start_to_result(autojump_clock: trio.testing.MockClock) -> None:
    events: list[Event] = []
    wf = workflow(("slow", 10.0, ()), ("after", 1.0, ("slow",)))
    async with trio.open_nursery() as nursery, EagerExecutor(SERVERS).open_run(wf, on_event=events.append) as run:

        async def stop_later() -> None:
            await trio.sleep(2.0)
            run.stop("enough")

        nursery.start_soon(stop_later)
    lines = [json.dumps(e.to_dict()) for e in events]  # a JSON-lines stream of the run: one line of code
    cancelled = {"code": "cancelled", "message": "cancelled: enough"}
    assert [json.loads(line) for line in lines[:3]] == [
        {"event": "TaskBegan", "task_id": "slow", "time": 0.0},
        {"event": "TaskStarted", "task_id": "slow", "attempt": 1, "time": 0.0},
        {"event": "TaskStopped", "task_id": "slow", "time": 2.0, "reason": "enough"},
    ]
    assert [(type(e).__name__, e.task_id) for e in events[3:]] == [
        ("TaskStopped", "after"),
        ("TaskSkipped", "after"),  # waiting on slow: cancelled at once
        ("TaskCallEnded", "slow"),  # the call under way ends when its trio task is cancelled
        ("TaskFinished", "slow"),
    ]
    cancelled = {"code": "cancelled", "message": "cancelled: enough"}
    skipped = json.loads(lines[4])
    assert (skipped["cause"], skipped["result"]["status"], skipped["result"]["error"]) == (None, "cancelled", cancelled)
    ended = {"event": "TaskCallEnded", "task_id": "slow", "attempt": 1, "time": 2.0, "error": cancelled}
    assert json.loads(lines[5]) == ended
    assert run.result.stop_reason == "enough"
    assert run.result.counts[TaskStatus.CANCELLED] == 2


async def test_stop_when_cancelled_turns_the_caller_s_cancellation_into_a_stop(
    autojump_clock: trio.testing.MockClock,
) -> None:
    wf = workflow(("quick", 1.0, ()), ("slow", 10.0, ()))
    run = None
    with trio.move_on_after(2.0):  # the caller gives up at 2 s
        async with trio.open_nursery() as outside:
            with trio.CancelScope(shield=True):  # the run is shielded: it is stopped, not torn down
                async with EagerExecutor(SERVERS).open_run(wf) as run:
                    outside.start_soon(run.stop_when_cancelled, "the caller gave up")
            outside.cancel_scope.cancel()
    assert run is not None
    result = run.result
    assert result.wall_time == 2.0
    assert [(r.status, r.error and r.error.message) for r in result.results] == [
        (TaskStatus.SUCCESS, None),
        (TaskStatus.CANCELLED, "cancelled: the caller gave up"),
    ]


async def _signal_at(seconds: float, signum: signal.Signals) -> None:
    await trio.sleep(seconds)
    os.kill(os.getpid(), signum)


async def test_stop_on_signals_turns_the_first_signal_into_a_stop_and_the_second_ends_the_block(
    autojump_clock: trio.testing.MockClock,
) -> None:
    wf = workflow(("quick", 1.0, ()), ("slow", 10.0, ()), ("after", 1.0, ("slow",)))
    told: list[str] = []
    run: Run | None = None
    async with open_signal_stop() as signals, trio.open_nursery() as nursery:
        async with EagerExecutor(SERVERS).open_run(wf) as run:
            run.stop_on_signals(signals, also=told.append)
            nursery.start_soon(_signal_at, 1.5, signal.SIGTERM)
        # The run has ended: a first signal now would only be recorded; this is a second one.
        reached = False
        nursery.start_soon(_signal_at, 1.0, signal.SIGINT)
        await trio.sleep(5.0)
        reached = True
    assert not reached  # the second signal ended the block at once, at 2.5
    assert trio.current_time() == 2.5
    assert signals.signals == [signal.SIGTERM, signal.SIGINT]
    assert told == ["interrupted by SIGTERM"]
    result = run.result
    assert result.wall_time == 1.5 and result.stop_reason == "interrupted by SIGTERM"
    assert [(r.status, r.error and r.error.message) for r in result.results] == [
        (TaskStatus.SUCCESS, None),
        (TaskStatus.CANCELLED, "cancelled: interrupted by SIGTERM"),
        (TaskStatus.CANCELLED, "cancelled: interrupted by SIGTERM"),
    ]


async def test_a_signal_before_any_run_watched_ends_the_block_and_one_after_is_recorded(
    autojump_clock: trio.testing.MockClock,
) -> None:
    reached = False
    async with open_signal_stop() as signals:
        assert isinstance(signals, SignalStop) and not signals.ran
        await _signal_at(1.0, signal.SIGINT)
        await trio.sleep(1.0)
        reached = True
    assert not reached and signals.first is signal.SIGINT and trio.current_time() == 1.0
    async with open_signal_stop() as signals:
        async with EagerExecutor(SERVERS).open_run(workflow(("a", 1.0, ()))) as run:
            run.stop_on_signals(signals)
        await _signal_at(1.0, signal.SIGINT)
        await trio.sleep(1.0)
        reached = True
    assert reached and signals.signals == [signal.SIGINT] and trio.current_time() == 4.0
    assert run.result.ok and run.result.stop_reason is None


async def test_stop_after_the_run_ended_changes_nothing(autojump_clock: trio.testing.MockClock) -> None:
    events: list[Event] = []
    async with EagerExecutor(SERVERS).open_run(workflow(("a", 1.0, ())), on_event=events.append) as run:
        pass
    run.stop("too late")
    assert run.result.ok and run.result.stop_reason is None
    assert not any(isinstance(e, TaskStopped) for e in events)


class _Watched(TaskRecord):
    """A task record that notes every move of its phase (the core makes it by this name, patched in)."""

    __slots__ = ()
    moves: ClassVar[set[tuple[Phase, Phase]]] = set()

    @property  # type: ignore[override]
    def phase(self) -> Phase:
        return TaskRecord.phase.__get__(self)  # type: ignore[attr-defined,no-any-return]

    @phase.setter
    def phase(self, new: Phase) -> None:
        try:
            old = TaskRecord.phase.__get__(self)  # type: ignore[attr-defined]
        except AttributeError:  # made: every task starts WAITING
            assert new is Phase.WAITING
        else:
            _Watched.moves.add((old, new))
        TaskRecord.phase.__set__(self, new)  # type: ignore[attr-defined]


async def test_every_move_of_real_runs_is_a_row_of_the_table(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, autojump_clock: trio.testing.MockClock
) -> None:
    monkeypatch.setattr(core_run, "TaskRecord", _Watched)
    calls: dict[str, int] = {}
    runs: list[Run] = []

    async def flaky(key: str, seconds: float) -> str:
        calls[key] = calls.get(key, 0) + 1
        if (key, calls[key]) == ("b", 2):
            # Stopped as b's second call starts (d waits), not at a time: the journal's
            # writes run in threads, and the virtual clock may jump while they do.
            runs[-1].stop("enough")
        await trio.sleep(seconds)
        if calls[key] == 1:
            raise ConnectionError("again")
        return key

    async def approve(task: Task, arguments: dict[str, Any]) -> bool | str:
        await trio.sleep(0.5)
        return task.id != "refused" or "no"

    plan = Workflow.from_dict(
        {
            "tasks": [
                {"id": "a", "tool": "f:flaky", "arguments": {"key": "a", "seconds": 1.0}, "approval": True},
                {"id": "refused", "tool": "f:flaky", "arguments": {"key": "r", "seconds": 1.0}, "approval": True},
                {"id": "b", "tool": "f:flaky", "arguments": {"key": "b", "seconds": 5.0}, "depends_on": ["a"]},
                {"id": "c", "tool": "f:flaky", "arguments": {"key": "c", "seconds": 1.0}, "depends_on": ["refused"]},
                {"id": "d", "tool": "f:flaky", "arguments": {"key": "d", "seconds": 1.0}, "depends_on": ["b"]},
            ]
        }
    )
    servers = {"f": LocalTools({"flaky": flaky})}
    for executor in (EagerExecutor, LayeredExecutor):
        calls.clear()
        limited = executor(
            servers, server_limits={"f": 1}, retries=1, retry_jitter=0.0, approve=approve, journal=tmp_path / "j.db"
        )
        async with limited.open_run(plan, run_name=executor.__name__) as run:
            runs.append(run)
        assert {r.task_id: r.status.value for r in run.result.results} == {
            "a": "success", "refused": "skipped", "b": "cancelled", "c": "skipped", "d": "cancelled"
        }
    allowed = {(phase, to) for (phase, _), targets in TRANSITIONS.items() for to in targets}
    assert _Watched.moves <= allowed, _Watched.moves - allowed
    assert len(_Watched.moves) >= 12  # the runs went most ways through the table


async def test_run_progress_is_the_core_s_snapshot_read_as_events_come(autojump_clock: trio.testing.MockClock) -> None:
    wf = workflow(("a", 1.0, ()), ("b", 3.0, ()), ("c", 1.0, ("a",)))
    seen: list[tuple[str, int, int, tuple[str, ...]]] = []
    handle: list[Run] = []  # the run, once open_run gives it (events may come before)

    def on_event(event: Event) -> None:
        if handle and isinstance(event, TaskFinished):
            now = handle[0].progress
            seen.append((event.task_id, now.ended, now.total, now.first_under_way))

    async with EagerExecutor(SERVERS).open_run(wf, on_event=on_event) as run:
        handle.append(run)
        assert run.progress.under_way == 0  # the calls start in their own trio tasks
        await trio.sleep(0.5)
        assert sorted(run.progress.first_under_way) == ["a", "b"] and run.progress.under_way == 2  # trio's order
    # c is ready when a ends, under way once its own trio task starts its call
    assert seen == [("a", 1, 3, ("b",)), ("c", 2, 3, ("b",)), ("b", 3, 3, ())]
    assert run.progress.counts == run.result.counts


async def test_a_result_of_every_status_loads_back_from_its_json(autojump_clock: trio.testing.MockClock) -> None:
    async def work(seconds: float, fail: bool = False) -> dict[str, float]:
        await trio.sleep(seconds)
        if fail:
            raise RuntimeError(f"failed after {seconds:g}")
        return {"slept": seconds}

    wf = Workflow.from_dict(
        {
            "tasks": [
                {"id": "quick", "tool": "s:work", "arguments": {"seconds": 1}},
                {"id": "fails", "tool": "s:work", "arguments": {"seconds": 1, "fail": True}, "retries": 1},
                {"id": "skipped", "tool": "s:work", "arguments": {"seconds": 1}, "depends_on": ["fails"]},
                {"id": "slow", "tool": "s:work", "arguments": {"seconds": 10}},
                {"id": "after", "tool": "s:work", "arguments": {"seconds": 1}, "depends_on": ["slow"]},
            ]
        }
    )
    async with trio.open_nursery() as nursery, EagerExecutor({"s": LocalTools({"work": work})}).open_run(wf) as run:

        async def stop_later() -> None:
            await trio.sleep(3.5)
            run.stop("the user pressed stop")

        nursery.start_soon(stop_later)
    result = run.result
    assert {r.task_id: r.status.value for r in result.results} == {
        "quick": "success", "fails": "error", "skipped": "skipped", "slow": "cancelled", "after": "cancelled",
    }  # fmt: skip
    assert len(result["fails"].timeline) == 2  # retried: a timeline of its own
    written = json.loads(json.dumps(result.to_dict()))
    assert written["stop_reason"] == "the user pressed stop"
    assert written["counts"] == {"success": 1, "error": 1, "skipped": 1, "cancelled": 2}
    loaded = ExecutionResult.from_dict(written)
    assert loaded == result
    assert loaded.to_dict() == written
    assert (loaded.stop_reason, loaded.errors, loaded["fails"].timeline) == (
        "the user pressed stop", result.errors, result["fails"].timeline
    )
    assert all(type(r.status) is TaskStatus for r in loaded.results)


def test_data_that_is_not_a_result_is_refused_with_every_problem() -> None:
    wf = Workflow.from_dict({"tasks": [{"id": "a", "tool": "s:t"}]})
    good = {
        "strategy": "eager",
        "wall_time": 1.0,
        "results": [{"task_id": "a", "tool": "s:t", "status": "success", "output": 1, "attempts": 1}],
        "counts": {"success": 1},
        "workflow": wf.to_dict(),
    }
    assert ExecutionResult.from_dict(good)["a"].output == 1
    # The counts are the results' (as ok, speedup...), not what the data says of them.
    assert ExecutionResult.from_dict({**good, "counts": {"error": 7}}).counts[TaskStatus.ERROR] == 0
    result = good["results"][0]
    bad = {**good, "strategy": "greedy", "results": [{**result, "status": "done"}, {**result, "extra": 1}]}
    with pytest.raises(ValueError) as exc:
        ExecutionResult.from_dict(bad)
    message = str(exc.value).removeprefix("not an execution result: ")
    assert message.split("; ") == [
        "expected one of 'success', 'error', 'skipped', 'cancelled', got string 'done' @ result.results[0].status",
        "unknown key 'extra' (accepted: task_id, tool, status, output, error, started_at, finished_at, attempts, "
        "timeline, reused, duration) @ result.results[1]",
        "expected 'eager' or 'layered', got string 'greedy' @ result.strategy",
    ]
    with pytest.raises(ValueError, match=r"^not an execution result: no 'workflow', and none was given @ result$"):
        ExecutionResult.from_dict({k: v for k, v in good.items() if k != "workflow"})
    other = Workflow.from_dict({"tasks": [{"id": "b", "tool": "s:t"}]})
    with pytest.raises(ValueError, match=r"^not an execution result of its workflow: the results are of tasks 'a', "):
        ExecutionResult.from_dict(good, workflow=other)
    with pytest.raises(ValueError, match=r"^not an execution result: expected an object, got array$"):
        ExecutionResult.from_dict([])
