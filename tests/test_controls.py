"""Scheduling controls: limits with priority, timeouts, retries, triggers, fail-fast, deadlines."""

from __future__ import annotations

import random
from collections import Counter
from typing import Any

import attrs
import pytest
import trio
import trio.testing
from hypothesis import given

from dagexec import (
    Attempt,
    EagerExecutor,
    ErrorCode,
    ExecutionResult,
    ExecutorOptions,
    LayeredExecutor,
    LocalTools,
    Task,
    TaskError,
    TaskFinished,
    TaskRetrying,
    TaskSkipped,
    TaskStarted,
    TaskStatus,
    Workflow,
)

from .helpers import SIM, calls, max_in_flight, named, outcome, run_in_virtual_time, sleep, starts, t, wf
from .strategies import DrawnDag, limited_runs, random_dag

EXECUTORS = [EagerExecutor, LayeredExecutor]


def make_servers(calls: Counter[str] | None = None) -> dict[str, LocalTools]:
    """Servers ``sim`` and ``other``, each with ``sleep``, ``flaky`` (counted in ``calls``) and ``hang``."""
    calls = Counter() if calls is None else calls

    async def flaky(key: str, failures: int, seconds: float = 0.1) -> int:
        calls[key] += 1
        await trio.sleep(seconds)
        if calls[key] <= failures:
            raise RuntimeError(f"call {calls[key]} fails")
        return calls[key]

    async def hang() -> None:
        await trio.sleep_forever()

    tools = LocalTools({"sleep": sleep, "flaky": flaky, "hang": hang})
    return {"sim": tools, "other": tools}


# -- limits and priority -------------------------------------------------------------------


@pytest.mark.parametrize("executor", EXECUTORS)
async def test_max_concurrency(executor: type[EagerExecutor], autojump_clock: trio.testing.MockClock) -> None:
    workflow = wf(*(t(f"t{i}", 1.0) for i in range(10)))
    result = await executor(make_servers(), max_concurrency=3).execute(workflow)
    assert result.ok
    assert max_in_flight(result) == 3
    assert result.wall_time == pytest.approx(4.0)  # ceil(10 / 3) rounds of 1 s


@pytest.mark.parametrize("executor", EXECUTORS)
async def test_server_limits(executor: type[EagerExecutor], autojump_clock: trio.testing.MockClock) -> None:
    workflow = wf(*(t(f"s{i}", 1.0) for i in range(4)), *(t(f"o{i}", 1.0, tool="other:sleep") for i in range(4)))
    result = await executor(make_servers(), server_limits={"sim": 1}).execute(workflow)
    assert max_in_flight(result, "sim") == 1
    assert max_in_flight(result, "other") == 4
    # A full server never holds back another server's calls.
    assert all(result[f"o{i}"].started_at == 0 for i in range(4))
    assert result.wall_time == pytest.approx(4.0)


async def test_longest_remaining_path_goes_first(autojump_clock: trio.testing.MockClock) -> None:
    workflow = wf(
        t("short", 1.0),
        t("head", 1.0),
        t("tail", 1.0, "head", estimate=5),
        t("other", 1.0, estimate=2),
    )
    result = await EagerExecutor(make_servers(), max_concurrency=1).execute(workflow)
    # remaining: head 1+5=6, other 2, short 1, then tail (5) beats the waiting other (2)
    assert starts(result) == {"head": 0.0, "tail": 1.0, "other": 2.0, "short": 3.0}


async def test_ties_go_in_workflow_order(autojump_clock: trio.testing.MockClock) -> None:
    workflow = wf(t("c", 1.0), t("a", 1.0), t("b", 1.0))
    result = await EagerExecutor(make_servers(), max_concurrency=1).execute(workflow)
    assert starts(result) == {"c": 0.0, "a": 1.0, "b": 2.0}


async def test_fifo_is_first_come_first_served(autojump_clock: trio.testing.MockClock) -> None:
    workflow = wf(t("short", 1.0), t("head", 1.0), t("tail", 1.0, "head", estimate=5))
    result = await EagerExecutor(make_servers(), max_concurrency=1, priority="fifo").execute(workflow)
    assert starts(result) == {"short": 0.0, "head": 1.0, "tail": 2.0}


async def test_a_retry_delay_holds_no_slot(autojump_clock: trio.testing.MockClock) -> None:
    calls: Counter[str] = Counter()
    workflow = wf(
        {"id": "flaky", "tool": "sim:flaky", "arguments": {"key": "f", "failures": 1, "seconds": 1.0}},
        t("other", 1.0),
    )
    executor = EagerExecutor(
        make_servers(calls), max_concurrency=1, retries=1, retry_delay=5.0, retry_jitter=0.0
    )
    result = await executor.execute(workflow)
    flaky = result["flaky"]
    assert flaky.ok and flaky.attempts == 2
    assert [(a.started_at, a.finished_at) for a in flaky.timeline] == [(0.0, 1.0), (6.0, 7.0)]
    assert result["other"].started_at == 1.0  # ran while flaky waited out its delay


# -- timeouts and retries ------------------------------------------------------------------


@pytest.mark.parametrize("executor", EXECUTORS)
async def test_timeout_ends_the_call_at_the_limit(
    executor: type[EagerExecutor], autojump_clock: trio.testing.MockClock
) -> None:
    workflow = wf(t("slow", 2.0), t("own", 2.0, timeout=1.5), t("quick", 0.2), t("after", 0.1, "slow"))
    result = await executor(make_servers(), task_timeout=0.5).execute(workflow)
    slow = result["slow"]
    assert slow.status is TaskStatus.ERROR and slow.error is not None
    assert (slow.error.code, slow.error.message) == (ErrorCode.TIMEOUT, "no answer within 0.5 s")
    assert slow.finished_at == pytest.approx(0.5)
    assert result["own"].finished_at == pytest.approx(1.5)
    assert result["quick"].ok
    assert result["after"].status is TaskStatus.SKIPPED


@pytest.mark.parametrize("executor", EXECUTORS)
async def test_retries_until_success(executor: type[EagerExecutor], autojump_clock: trio.testing.MockClock) -> None:
    calls: Counter[str] = Counter()
    events: list[object] = []
    workflow = wf({"id": "f", "tool": "sim:flaky", "arguments": {"key": "f", "failures": 2}})
    result = await executor(make_servers(calls), retries=2, retry_delay=1.0, retry_jitter=0.0).execute(
        workflow, on_event=events.append
    )
    f = result["f"]
    assert f.ok and f.output == 3
    assert f.attempts == 3 == calls["f"]
    assert [a.error.code if a.error else None for a in f.timeline] == [
        ErrorCode.TOOL_ERROR,
        ErrorCode.TOOL_ERROR,
        None,
    ]
    # Exponential backoff: 1 s, then 2 s, between 0.1 s calls.
    assert [(round(a.started_at, 9), round(a.finished_at, 9)) for a in f.timeline] == [
        (0.0, 0.1),
        (1.1, 1.2),
        (3.2, 3.3),
    ]
    retrying = [e for e in events if isinstance(e, TaskRetrying)]
    assert [(e.attempt, e.delay, e.error.message) for e in retrying] == [
        (1, 1.0, "RuntimeError: call 1 fails"),
        (2, 2.0, "RuntimeError: call 2 fails"),
    ]
    assert [e.attempt for e in events if isinstance(e, TaskStarted)] == [1, 2, 3]


async def test_task_retries_override_and_exhaust(autojump_clock: trio.testing.MockClock) -> None:
    calls: Counter[str] = Counter()
    workflow = wf(
        {"id": "few", "tool": "sim:flaky", "arguments": {"key": "few", "failures": 5}, "retries": 1},
        {"id": "timeouts", "tool": "sim:hang", "timeout": 0.5, "retries": 2},
    )
    result = await EagerExecutor(make_servers(calls), retries=9, retry_jitter=0.0).execute(workflow)
    assert (result["few"].status, result["few"].attempts, calls["few"]) == (TaskStatus.ERROR, 2, 2)
    assert result["timeouts"].attempts == 3
    assert result["timeouts"].error is not None and result["timeouts"].error.code is ErrorCode.TIMEOUT


async def test_jitter_stays_within_bounds(autojump_clock: trio.testing.MockClock) -> None:
    events: list[object] = []
    workflow = wf({"id": "f", "tool": "sim:flaky", "arguments": {"key": "f", "failures": 4, "seconds": 0}})
    await EagerExecutor(make_servers(), retries=4, retry_delay=1.0, retry_max_delay=3.0).execute(
        workflow, on_event=events.append
    )
    delays = [e.delay for e in events if isinstance(e, TaskRetrying)]
    assert len(delays) == 4
    for delay, ceiling in zip(delays, [1.0, 2.0, 3.0, 3.0], strict=True):
        assert ceiling / 2 <= delay <= ceiling


async def test_no_retry_after_reference_error_or_unknown_tool(autojump_clock: trio.testing.MockClock) -> None:
    workflow = wf(
        t("src", 0.1),
        {"id": "ref", "tool": "sim:sleep", "arguments": {"seconds": "$OUTPUT[src].missing"}},
        {"id": "unknown", "tool": "sim:nope"},
    )
    result = await EagerExecutor(make_servers(), retries=3).execute(workflow)
    assert result["ref"].error is not None and result["ref"].error.code is ErrorCode.REFERENCE_ERROR
    assert result["ref"].attempts == 0
    assert result["ref"].started_at == pytest.approx(0.1)  # it failed when it became ready
    assert result["unknown"].error is not None and result["unknown"].error.code is ErrorCode.UNKNOWN_TOOL
    assert result["unknown"].attempts == 1


# -- triggers ------------------------------------------------------------------------------


@pytest.mark.parametrize("executor", EXECUTORS)
async def test_all_done_runs_after_failures(executor: type[EagerExecutor], autojump_clock: trio.testing.MockClock) -> None:
    workflow = wf(
        t("ok", 1.0),
        t("bad", 0.5, arguments={"fail": True}),
        t("skipped", 0.1, "bad"),
        t("cleanup", 0.1, "ok", "bad", "skipped", trigger="all_done"),
        {
            "id": "report",
            "tool": "sim:sleep",
            "arguments": {"seconds": "$OUTPUT[bad].slept"},  # a number, as the output schema says
            "trigger": "all_done",
        },
        t("after_cleanup", 0.1, "cleanup"),
    )
    result = await executor(make_servers()).execute(workflow)
    assert result["skipped"].status is TaskStatus.SKIPPED
    assert result["cleanup"].ok
    assert result["cleanup"].started_at == pytest.approx(1.0)
    assert result["after_cleanup"].ok
    report = result["report"]
    assert report.error is not None
    assert report.error.code is ErrorCode.REFERENCE_ERROR
    assert report.error.message == "$OUTPUT[bad]: task 'bad' did not succeed (it ended error)"


# -- fail-fast and deadlines ---------------------------------------------------------------


@pytest.mark.parametrize("executor", EXECUTORS)
async def test_fail_fast(executor: type[EagerExecutor], autojump_clock: trio.testing.MockClock) -> None:
    events: list[object] = []
    workflow = wf(
        t("long", 5.0),
        t("bad", 1.0, arguments={"fail": True}),
        t("child", 1.0, "bad"),
        t("later", 1.0, "long"),
        t("queued", 1.0),
    )
    result = await executor(make_servers(), fail_fast=True, max_concurrency=2).execute(
        workflow, on_event=events.append
    )
    assert result.wall_time == pytest.approx(1.0)
    status = {r.task_id: (r.status, r.error.code if r.error else None) for r in result.results}
    assert status == {
        "long": (TaskStatus.CANCELLED, ErrorCode.CANCELLED),
        "bad": (TaskStatus.ERROR, ErrorCode.TOOL_ERROR),
        "child": (TaskStatus.SKIPPED, ErrorCode.DEPENDENCY_FAILED),
        "later": (TaskStatus.CANCELLED, ErrorCode.CANCELLED),
        "queued": (TaskStatus.CANCELLED, ErrorCode.CANCELLED),
    }
    for tid in ("long", "later", "queued"):
        assert result[tid].error.message == "cancelled: task 'bad' failed first (fail_fast)"  # type: ignore[union-attr]
    assert result["long"].started_at == 0 and result["long"].finished_at == pytest.approx(1.0)
    assert result["long"].timeline[0].error is not None
    assert result["later"].started_at is None
    assert result["queued"].started_at is None  # it waited for a slot
    final = [e.result.task_id for e in events if isinstance(e, TaskFinished | TaskSkipped)]
    assert sorted(final) == sorted(r.task_id for r in result.results)


@pytest.mark.parametrize("executor", EXECUTORS)
async def test_deadline_returns_every_status(executor: type[EagerExecutor], autojump_clock: trio.testing.MockClock) -> None:
    workflow = wf(t("a", 1.0), t("b", 3.0), t("c", 1.0, "a"), t("d", 1.0, "c"), t("e", 5.0, "b"))
    result = await executor(make_servers()).execute(workflow, timeout=2.5)
    assert result.wall_time == pytest.approx(2.5)
    assert {r.task_id: r.status for r in result.results} == {
        "a": TaskStatus.SUCCESS,
        "b": TaskStatus.CANCELLED,
        "c": TaskStatus.SUCCESS if executor is EagerExecutor else TaskStatus.CANCELLED,
        "d": TaskStatus.CANCELLED,
        "e": TaskStatus.CANCELLED,
    }
    for r in result.errors:
        assert r.error is not None
        assert r.error.message == "cancelled: the run's deadline of 2.5 s passed"


async def test_callers_cancellation_propagates_with_limits(autojump_clock: trio.testing.MockClock) -> None:
    workflow = wf(*(t(f"t{i}", 10.0) for i in range(5)))
    with trio.move_on_after(3) as scope:
        await EagerExecutor(make_servers(), max_concurrency=2, retries=3).execute(workflow)
    assert scope.cancelled_caught
    assert trio.current_time() == pytest.approx(3.0)


# -- streamed runs under limits ------------------------------------------------------------


async def test_a_streamed_run_ranks_waiting_tasks_by_their_own_estimate(
    autojump_clock: trio.testing.MockClock,
) -> None:
    tasks = [
        t("first", 1.0),
        t("head", 1.0, estimate=1),
        t("other", 1.0, estimate=2),
        t("tail", 1.0, "head", estimate=5),
    ]
    async with EagerExecutor(make_servers(), max_concurrency=1).open_run() as run:
        for task in tasks:
            run.add(task)
    # Streamed: a task's successors are not known while it waits, so "other"
    # (estimate 2) goes before "head" (1), although "tail" (5) follows head.
    assert starts(run.result) == {"first": 0.0, "other": 1.0, "head": 2.0, "tail": 3.0}
    assert max_in_flight(run.result) == 1
    # The same tasks as one workflow: ranked by their longest remaining path.
    whole = await EagerExecutor(make_servers(), max_concurrency=1).execute(wf(*tasks))
    assert starts(whole) == {"head": 0.0, "tail": 1.0, "other": 2.0, "first": 3.0}


async def test_a_streamed_run_keeps_server_limits_and_fifo(autojump_clock: trio.testing.MockClock) -> None:
    executor = EagerExecutor(make_servers(), server_limits={"sim": 1}, priority="fifo")
    async with executor.open_run() as run:
        run.add(t("s0", 1.0))
        run.add(t("small", 1.0, estimate=1))
        run.add(t("big", 1.0, estimate=9))  # fifo: its estimate does not count
        await trio.sleep(0.5)
        for i in range(3):
            run.add(t(f"o{i}", 1.0, tool="other:sleep"))
    result = run.result
    assert starts(result) == {"s0": 0.0, "small": 1.0, "big": 2.0, "o0": 0.5, "o1": 0.5, "o2": 0.5}
    assert (max_in_flight(result, "sim"), max_in_flight(result, "other")) == (1, 3)
    assert result.wall_time == pytest.approx(3.0)


# -- stops and cancellation ----------------------------------------------------------------


@pytest.mark.parametrize("executor", EXECUTORS)
async def test_a_retry_waiting_for_a_slot_is_cancelled_by_the_deadline(
    executor: type[EagerExecutor], autojump_clock: trio.testing.MockClock
) -> None:
    counted: Counter[str] = Counter()
    workflow = wf(
        {"id": "flaky", "tool": "sim:flaky", "arguments": {"key": "f", "failures": 1, "seconds": 1.0}},
        t("long", 10.0),
    )
    options = {"max_concurrency": 1, "retries": 1, "retry_delay": 1.0, "retry_jitter": 0.0}
    result = await executor(make_servers(counted), **options).execute(workflow, timeout=3.0)
    # flaky fails at 1 s and frees the slot; long takes it; flaky's retry waits
    # for it from 2 s until the deadline, at 3 s, cancels both.
    deadline = TaskError(ErrorCode.CANCELLED, "cancelled: the run's deadline of 3 s passed")
    assert outcome(result["flaky"]) == (TaskStatus.CANCELLED, deadline, 0.0, 3.0, 1)
    assert calls(result["flaky"]) == [Attempt(0.0, 1.0, TaskError(ErrorCode.TOOL_ERROR, "RuntimeError: call 1 fails"))]
    assert outcome(result["long"]) == (TaskStatus.CANCELLED, deadline, 1.0, 3.0, 1)
    assert counted["f"] == 1
    assert result.wall_time == pytest.approx(3.0)


async def test_the_callers_cancellation_reaches_a_retry_waiting_for_a_slot(
    autojump_clock: trio.testing.MockClock,
) -> None:
    counted: Counter[str] = Counter()
    events: list[object] = []
    workflow = wf(
        {"id": "flaky", "tool": "sim:flaky", "arguments": {"key": "f", "failures": 1, "seconds": 1.0}},
        t("long", 10.0),
    )
    executor = EagerExecutor(make_servers(counted), max_concurrency=1, retries=1, retry_delay=1.0, retry_jitter=0.0)
    with trio.move_on_after(3) as scope:
        await executor.execute(workflow, on_event=events.append)
    assert scope.cancelled_caught
    assert trio.current_time() == pytest.approx(3.0)
    assert counted["f"] == 1  # the retry never got its slot
    # Every task still reaches a final event as the run unwinds: flaky, which waited
    # for its retry's slot, then long, whose call the cancellation interrupted.
    assert named(events) == [
        ("TaskStarted", "flaky"),
        ("TaskRetrying", "flaky"),
        ("TaskStarted", "long"),
        ("TaskFinished", "flaky"),
        ("TaskFinished", "long"),
    ]
    finals = {e.result.task_id: e.result for e in events if isinstance(e, TaskFinished)}
    assert {tid: (r.status, r.finished_at) for tid, r in finals.items()} == {
        "flaky": (TaskStatus.CANCELLED, 3.0),
        "long": (TaskStatus.CANCELLED, 3.0),
    }


async def test_an_approved_task_waiting_for_a_slot_is_cancelled_by_fail_fast(
    autojump_clock: trio.testing.MockClock,
) -> None:
    asked: list[tuple[str, float]] = []
    events: list[object] = []

    async def approve(task: Task, arguments: dict[str, Any]) -> bool:
        asked.append((task.id, trio.current_time()))
        await trio.sleep(1.0)
        return True

    workflow = wf(
        t("busy", 10.0),
        t("gated", 1.0, approval=True),
        t("bad", 2.0, tool="other:sleep", arguments={"fail": True}),
    )
    executor = EagerExecutor(make_servers(), server_limits={"sim": 1}, fail_fast=True, approve=approve)
    result = await executor.execute(workflow, on_event=events.append)
    # busy holds sim's one slot; gated is approved at 1 s and waits for it; bad
    # (on the other server) fails at 2 s and stops the run.
    stopped = TaskError(ErrorCode.CANCELLED, "cancelled: task 'bad' failed first (fail_fast)")
    assert [name for name, _ in asked] == ["gated"]
    assert outcome(result["busy"]) == (TaskStatus.CANCELLED, stopped, 0.0, 2.0, 1)
    assert outcome(result["gated"]) == (TaskStatus.CANCELLED, stopped, None, None, 0)  # it never got to call
    failed = TaskError(ErrorCode.TOOL_ERROR, "RuntimeError: failed after 2.0")
    assert outcome(result["bad"]) == (TaskStatus.ERROR, failed, 0.0, 2.0, 1)
    assert [e.result.task_id for e in events if isinstance(e, TaskSkipped)] == ["gated"]
    assert sorted(e.task_id for e in events if isinstance(e, TaskStarted)) == ["bad", "busy"]
    assert result.wall_time == pytest.approx(2.0)


async def test_the_callers_cancellation_as_an_approval_comes_through(autojump_clock: trio.testing.MockClock) -> None:
    go = trio.Event()
    called: list[str] = []
    events: list[object] = []

    async def approve(task: Task, arguments: dict[str, Any]) -> bool:
        await go.wait()
        return True

    async def act() -> str:
        called.append("act")
        return "acted"

    with trio.CancelScope() as outer:

        async def decide() -> str:
            await trio.sleep(1.0)
            go.set()  # the approval comes through...
            outer.cancel()  # ...as the caller gives up, in the same instant
            return "decided"

        tools = LocalTools({"decide": decide, "act": act})
        executor = EagerExecutor({"s": tools}, max_concurrency=1, approve=approve)
        workflow = wf({"id": "decide", "tool": "s:decide"}, {"id": "act", "tool": "s:act", "approval": True})
        await executor.execute(workflow, on_event=events.append)
    # act got its slot, and the cancellation, before it could call its tool.
    assert outer.cancelled_caught
    assert trio.current_time() == pytest.approx(1.0)
    assert called == []
    assert named(events) == [("TaskStarted", "decide"), ("TaskFinished", "decide"), ("TaskSkipped", "act")]
    act = next(e.result for e in events if isinstance(e, TaskSkipped))
    assert outcome(act) == (
        TaskStatus.CANCELLED, TaskError(ErrorCode.CANCELLED, "cancelled: the run was cancelled"), None, None, 0
    )


@pytest.mark.parametrize("executor", EXECUTORS)
async def test_a_retried_task_cancelled_mid_call_records_the_cut_call(
    executor: type[EagerExecutor], autojump_clock: trio.testing.MockClock
) -> None:
    counted: Counter[str] = Counter()
    workflow = wf({"id": "flaky", "tool": "sim:flaky", "arguments": {"key": "f", "failures": 1, "seconds": 1.0}})
    run = executor(make_servers(counted), retries=3, retry_delay=1.0, retry_jitter=0.0)
    result = await run.execute(workflow, timeout=2.5)
    # The first call fails at 1 s; the second starts at 2 s and would succeed at
    # 3 s, but the deadline cuts it at 2.5 s.
    deadline = TaskError(ErrorCode.CANCELLED, "cancelled: the run's deadline of 2.5 s passed")
    assert outcome(result["flaky"]) == (TaskStatus.CANCELLED, deadline, 0.0, 2.5, 2)
    assert calls(result["flaky"]) == [
        Attempt(0.0, 1.0, TaskError(ErrorCode.TOOL_ERROR, "RuntimeError: call 1 fails")),
        Attempt(2.0, 2.5, deadline),
    ]
    assert counted["f"] == 2


@pytest.mark.parametrize("executor", EXECUTORS)
async def test_a_call_that_answers_as_fail_fast_stops_the_run_keeps_its_answer(
    executor: type[EagerExecutor], autojump_clock: trio.testing.MockClock
) -> None:
    answered = trio.Event()

    async def answer() -> str:
        await answered.wait()
        return "made it"

    async def fail_and_answer() -> None:
        await trio.sleep(1.0)
        answered.set()  # the other call's answer is in, in the same instant...
        raise RuntimeError("no")  # ...as this failure stops the run

    tools = LocalTools({"answer": answer, "fail": fail_and_answer, "sleep": sleep})
    events: list[object] = []
    workflow = wf(
        {"id": "good", "tool": "s:answer"},
        {"id": "bad", "tool": "s:fail"},
        t("after_good", 1.0, "good", tool="s:sleep"),
        t("long", 5.0, tool="s:sleep"),
    )
    result = await executor({"s": tools}, fail_fast=True).execute(workflow, on_event=events.append)
    stopped = TaskError(ErrorCode.CANCELLED, "cancelled: task 'bad' failed first (fail_fast)")
    # The stop lands while good finishes: its answer stands, and nothing after it starts.
    assert outcome(result["good"]) == (TaskStatus.SUCCESS, None, 0.0, 1.0, 1)
    assert result["good"].output == "made it"
    failed = TaskError(ErrorCode.TOOL_ERROR, "RuntimeError: no")
    assert outcome(result["bad"]) == (TaskStatus.ERROR, failed, 0.0, 1.0, 1)
    assert outcome(result["after_good"]) == (TaskStatus.CANCELLED, stopped, None, None, 0)
    assert outcome(result["long"]) == (TaskStatus.CANCELLED, stopped, 0.0, 1.0, 1)
    finals = [e.result.task_id for e in events if isinstance(e, TaskFinished | TaskSkipped)]
    assert sorted(finals) == ["after_good", "bad", "good", "long"]  # one final event each
    assert result.wall_time == pytest.approx(1.0)


@pytest.mark.parametrize("executor", EXECUTORS)
async def test_a_call_that_outlives_the_deadline_keeps_its_answer(
    executor: type[EagerExecutor], autojump_clock: trio.testing.MockClock
) -> None:
    async def commit() -> str:
        with trio.CancelScope(shield=True):  # a call that cannot be interrupted
            await trio.sleep(2.0)
        return "committed"

    tools = LocalTools({"commit": commit, "sleep": sleep})
    workflow = wf(
        {"id": "commit", "tool": "s:commit"},
        t("after", 1.0, "commit", tool="s:sleep"),
        t("long", 5.0, tool="s:sleep"),
    )
    result = await executor({"s": tools}).execute(workflow, timeout=1.0)
    deadline = TaskError(ErrorCode.CANCELLED, "cancelled: the run's deadline of 1 s passed")
    assert outcome(result["commit"]) == (TaskStatus.SUCCESS, None, 0.0, 2.0, 1)
    assert result["commit"].output == "committed"
    assert outcome(result["after"]) == (TaskStatus.CANCELLED, deadline, None, None, 0)
    assert outcome(result["long"]) == (TaskStatus.CANCELLED, deadline, 0.0, 1.0, 1)
    assert result.wall_time == pytest.approx(2.0)  # the run waits for every call to end


async def test_the_first_stop_gives_the_reason(autojump_clock: trio.testing.MockClock) -> None:
    events: list[object] = []
    with pytest.raises(KeyError, match="planner broke"):
        async with EagerExecutor(make_servers()).open_run(timeout=1.0, on_event=events.append) as run:
            run.add(t("a", 5.0))
            await trio.sleep(2.0)  # the deadline stops the run at 1 s...
            run.add(t("late", 1.0))
            raise KeyError("planner broke")  # ...and this stops it again, at 2 s
    assert trio.current_time() == pytest.approx(2.0)
    finals = {e.result.task_id: outcome(e.result) for e in events if isinstance(e, TaskFinished | TaskSkipped)}
    deadline = TaskError(ErrorCode.CANCELLED, "cancelled: the run's deadline of 1 s passed")
    assert finals == {
        "a": (TaskStatus.CANCELLED, deadline, 0.0, 1.0, 1),
        "late": (TaskStatus.CANCELLED, deadline, None, None, 0),
    }


@pytest.mark.parametrize(
    ("executor", "limit"),
    [
        (EagerExecutor, 1),
        (LayeredExecutor, 1),
        (EagerExecutor, None),
        (LayeredExecutor, None),
    ],
)
def test_no_task_starts_after_a_reference_error_stops_the_run(executor: type[EagerExecutor], limit: int | None) -> None:
    called: list[str] = []
    events: list[object] = []

    async def work(name: str, seconds: float = 1.0) -> dict[str, str]:
        called.append(name)
        await trio.sleep(seconds)
        return {"name": name}

    workflow = wf(
        {"id": "src", "tool": "w:work", "arguments": {"name": "src"}},
        {"id": "ref", "tool": "w:work", "arguments": {"name": "$OUTPUT[src].missing"}},
        {"id": "ok", "tool": "w:work", "arguments": {"name": "ok"}, "depends_on": ["src"]},
    )
    run = executor({"w": LocalTools({"work": work})}, fail_fast=True, max_concurrency=limit)
    result = run_in_virtual_time(lambda: run.execute(workflow, on_event=events.append))
    # src ends at 1 s; ref and ok are ready together; ref's reference fails and stops the run.
    reference = TaskError(ErrorCode.REFERENCE_ERROR, "$OUTPUT[src].missing: $OUTPUT[src] has no key 'missing'")
    stopped = TaskError(ErrorCode.CANCELLED, "cancelled: task 'ref' failed first (fail_fast)")
    assert outcome(result["src"]) == (TaskStatus.SUCCESS, None, 0.0, 1.0, 1)
    assert outcome(result["ref"]) == (TaskStatus.ERROR, reference, 1.0, 1.0, 0)
    assert called == ["src"]
    assert outcome(result["ok"]) == (TaskStatus.CANCELLED, stopped, None, None, 0)
    assert [e.task_id for e in events if isinstance(e, TaskStarted)] == ["src"]
    assert result.wall_time == pytest.approx(1.0)


# -- options -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "error", "message"),
    [
        ({"max_concurrency": 0}, ValueError, "max_concurrency must be >= 1"),
        ({"max_concurrency": 1.5}, TypeError, "max_concurrency must be an int, not float"),
        ({"server_limits": {"sim": 0}}, ValueError, "server_limits['sim'] must be >= 1"),
        ({"task_timeout": 0}, ValueError, "task_timeout must be > 0"),
        ({"retries": -1}, ValueError, "retries must be >= 0"),
        ({"retries": 1.0}, TypeError, "retries must be an int, not float"),
        ({"retries": True}, TypeError, "retries must be an int, not bool"),
        ({"retry_delay": -0.5}, ValueError, "retry_delay must be >= 0"),
        ({"retry_max_delay": -1}, ValueError, "retry_max_delay must be >= 0"),
        ({"retry_jitter": 2}, ValueError, "retry_jitter must be between 0 and 1"),
        ({"priority": "lifo"}, ValueError, "priority must be 'critical_path' or 'fifo', not 'lifo'"),
    ],
)
def test_bad_options(options: dict[str, Any], error: type[Exception], message: str) -> None:
    for make in (lambda: EagerExecutor(make_servers(), **options), lambda: ExecutorOptions(**options)):
        with pytest.raises(error) as info:
            make()  # the executor's keyword arguments are checked by the options value, the one place
        assert str(info.value) == message


async def test_one_options_value_serves_executors_and_their_runs(autojump_clock: trio.testing.MockClock) -> None:
    options = ExecutorOptions(max_concurrency=1, retries=2, retry_delay=1.0, retry_jitter=0.0)
    same = EagerExecutor(make_servers(), max_concurrency=1, retries=2, retry_delay=1.0, retry_jitter=0.0)
    assert same.options == options
    for kind in (EagerExecutor, LayeredExecutor):
        executor = kind.from_options(make_servers(), options)
        assert executor.options is options
        result = await executor.execute(wf(t("a", 1.0), t("b", 1.0)))
        assert result.wall_time == 2.0  # one slot: the options' limit
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        options.retries = 3  # type: ignore[misc]


async def test_bad_run_timeout() -> None:
    with pytest.raises(ValueError, match=r"^timeout must be > 0$"):
        await EagerExecutor(make_servers()).execute(wf(t("a")), timeout=0)


@pytest.mark.parametrize(
    ("field", "message"),
    [
        ({"timeout": 0}, "task 'a': timeout must be > 0, not 0.0"),
        ({"retries": -2}, "task 'a': retries must be >= 0, not -2"),
        ({"retries": 1.5}, "task 'a': retries: expected an integer, got number 1.5"),
        ({"trigger": "any"}, "task 'a': trigger must be 'all_success' or 'all_done', not 'any'"),
        ({"estimate": "big"}, "task 'a': estimate: expected a number, got string 'big'"),
    ],
)
def test_bad_task_fields(field: dict[str, Any], message: str) -> None:
    from dagexec import SchemaError

    with pytest.raises(SchemaError) as info:
        wf({"id": "a", "tool": "sim:sleep", **field})
    assert tuple(map(str, info.value.problems)) == (message,)


def test_task_fields_round_trip() -> None:
    data = {"tasks": [{"id": "a", "tool": "s:t", "arguments": {}, "depends_on": [], "timeout": 2.5, "retries": 1,
                       "trigger": "all_done", "estimate": 3.0}]}  # fmt: skip
    assert Workflow.from_dict(data).to_dict() == data


# -- random DAGs under a limit -------------------------------------------------------------


def run_limited(dag: DrawnDag, k: int, priority: str) -> ExecutionResult:
    data = dag.workflow_dict()
    for task in data["tasks"]:
        task["estimate"] = task["arguments"]["seconds"]

    async def main() -> ExecutionResult:
        executor = EagerExecutor(SIM, max_concurrency=k, priority=priority)
        return await executor.execute(Workflow.from_dict(data))

    return run_in_virtual_time(main)


def lower_bound(dag: DrawnDag, k: int) -> float:
    return max(dag.critical_path_time(), sum(dag.durations.values()) / k)


@given(limited_runs())
def test_limited_makespan_respects_the_bounds(drawn: tuple[DrawnDag, int]) -> None:
    dag, k = drawn
    for priority in ("critical_path", "fifo"):
        result = run_limited(dag, k, priority)
        assert result.ok
        assert max_in_flight(result) <= k
        assert result.wall_time >= lower_bound(dag, k) - 1e-9
        # Any list schedule is within twice the lower bound (Graham).
        assert result.wall_time <= 2 * lower_bound(dag, k) + 1e-9


def test_critical_path_priority_is_on_average_no_worse_than_fifo(record_property: Any) -> None:
    rnd = random.Random(20261128)
    ratios: dict[str, list[float]] = {"critical_path": [], "fifo": []}
    for _ in range(150):
        dag = random_dag(rnd)
        k = rnd.randint(1, 4)
        for priority, found in ratios.items():
            found.append(run_limited(dag, k, priority).wall_time / lower_bound(dag, k))
    means = {priority: sum(found) / len(found) for priority, found in ratios.items()}
    record_property("mean_ratio_to_lower_bound", means)
    print(f"\nmean makespan / lower bound over 150 random DAGs: {means}")
    assert means["critical_path"] <= means["fifo"]
    assert means["critical_path"] >= 1.0
