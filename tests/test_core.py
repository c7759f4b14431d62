"""The pure run core, driven by plain synchronous calls as a driver would make them.

No trio here: each test plays the driver, telling the core what happened and
reading what to do next from each record's phase.
"""

from __future__ import annotations

import random
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dagexec import (
    ErrorCode,
    ExecutorOptions,
    NoSuchToolError,
    RunProgress,
    ServerError,
    Task,
    TaskError,
    TaskFinished,
    TaskRetrying,
    TaskSkipped,
    TaskStarted,
    TaskStatus,
    ToolCallError,
    WorkflowError,
)
from dagexec._core import (
    RACES,
    TRANSITIONS,
    Phase,
    RetryPolicy,
    RunCore,
    Slots,
    TaskRecord,
    TransitionError,
    task_error,
)

from .strategies import DrawnDag, dags


def task(tid: str, *deps: str, **fields: Any) -> Task:
    return Task(id=tid, tool=fields.pop("tool", "s:t"), depends_on=deps, **fields)


async def _approver(task: Task, arguments: dict[str, Any]) -> bool:
    raise AssertionError("the core asks no one: its test plays the driver")  # pragma: no cover


def core_of(*tasks: Task, retry: RetryPolicy | None = None, approval: str = "off", **options: Any) -> RunCore:
    """A core of ``tasks``; options as the executor's (``retry`` and ``approval`` as the core reads them)."""
    names = ("task_timeout", "fail_fast")
    chosen = {name: options.pop(name) for name in names if name in options}
    if retry is not None:
        chosen.update(
            retries=retry.retries,
            retry_delay=retry.wait_initial,
            retry_max_delay=retry.wait_max,
            retry_jitter=retry.wait_jitter,
        )
    if approval != "off":
        chosen.update(approve=_approver, approve_all=approval == "all")
    core = RunCore(ExecutorOptions(**chosen), **options)
    for t in tasks:
        core.add(t, 0.0)
    return core


def ids(records: list[TaskRecord]) -> list[str]:
    return [r.task.id for r in records]


def start(core: RunCore, now: float = 0.0) -> list[str]:
    """Begin every ready task and start the call of those that call now."""
    ready = core.take_ready()
    for record in ready:
        core.begin(record, now)
        if record.phase is Phase.CALL:
            core.call_started(record, now)
    return ids(ready)


def end(core: RunCore, tid: str, now: float, output: Any = None, error: BaseException | None = None) -> None:
    core.call_ended(core.records[tid], now, output, error)


def status(core: RunCore) -> dict[str, str]:
    return {tid: r.result.status.value if r.result else r.phase.value for tid, r in core.records.items()}


def diamond(**options: Any) -> RunCore:
    return core_of(task("a"), task("b", "a"), task("c", "a"), task("d", "b", "c"), **options)


# -- dependencies ----------------------------------------------------------------------------


def test_tasks_become_ready_as_their_dependencies_succeed() -> None:
    core = diamond()
    assert start(core) == ["a"]
    assert start(core) == []
    assert core.records["d"].phase is Phase.WAITING
    end(core, "a", 1.0, output={"x": 1})
    assert start(core, 1.0) == ["b", "c"]
    end(core, "c", 2.0)
    assert start(core, 2.0) == []
    end(core, "b", 3.0)
    assert start(core, 3.0) == ["d"]
    assert core.unfinished and core.in_flight == 1
    end(core, "d", 4.0, output="done")
    assert not core.unfinished and core.in_flight == 0
    a, d = core.results(["a", "d"])
    assert (a.status, a.output, a.started_at, a.finished_at, a.attempts) == (TaskStatus.SUCCESS, {"x": 1}, 0.0, 1.0, 1)
    assert (d.output, d.started_at, d.finished_at) == ("done", 3.0, 4.0)


def test_a_failure_skips_every_descendant_and_nothing_else() -> None:
    core = core_of(task("a"), task("b", "a"), task("c", "b"), task("d", "c"), task("e"), task("f", "e", "c"))
    assert start(core) == ["a", "e"]
    end(core, "a", 1.0, error=RuntimeError("boom"))
    assert status(core) == {"a": "error", "b": "skipped", "c": "skipped", "d": "skipped", "e": "call", "f": "skipped"}
    for tid in "bcdf":  # the cause is the failed ancestor, not the skipped parent
        error = core.records[tid].result.error  # type: ignore[union-attr]
        assert error == TaskError(ErrorCode.DEPENDENCY_FAILED, "depends on 'a', which ended error (tool_error)")
    a = core.records["a"].result
    assert a is not None and a.error == TaskError(ErrorCode.TOOL_ERROR, "RuntimeError: boom")
    end(core, "e", 2.0)
    assert not core.unfinished


def test_a_failure_at_the_head_of_a_long_chain_skips_it_all_without_recursion() -> None:
    n = 20_000
    core = core_of(task("t0"), *(task(f"t{i}", f"t{i - 1}") for i in range(1, n)))
    start(core)
    end(core, "t0", 1.0, error=RuntimeError("x"))
    assert not core.unfinished
    assert core.records[f"t{n - 1}"].result.status is TaskStatus.SKIPPED  # type: ignore[union-attr]


def test_all_done_waits_for_every_dependency_whatever_its_status() -> None:
    core = core_of(task("ok"), task("bad"), task("child", "bad"), task("cleanup", "ok", "child", trigger="all_done"))
    start(core)
    end(core, "bad", 1.0, error=RuntimeError("x"))
    assert start(core, 1.0) == []  # cleanup still waits for ok
    end(core, "ok", 2.0)
    assert start(core, 2.0) == ["cleanup"]


def test_tasks_added_while_others_run() -> None:
    core = core_of(task("a"))
    assert start(core) == ["a"]
    core.add(task("b", "a"), 0.5)
    core.add(task("c"), 0.5)
    assert start(core, 0.5) == ["c"]
    end(core, "a", 1.0)
    core.add(task("after-a", "a"), 1.5)  # its only dependency already succeeded: ready at once
    assert start(core, 1.5) == ["b", "after-a"]


def test_a_task_added_after_a_dependency_failed_is_skipped_at_once() -> None:
    core = core_of(task("a"), task("b", "a"))
    start(core)
    end(core, "a", 1.0, error=ServerError("gone"))
    core.add(task("late", "b"), 2.0)
    late = core.records["late"].result
    assert late is not None and late.status is TaskStatus.SKIPPED
    assert late.error == TaskError(ErrorCode.DEPENDENCY_FAILED, "depends on 'a', which ended error (server_error)")


def test_duplicate_dependencies_count_once() -> None:
    core = core_of(task("a"), task("b", "a", "a"))
    start(core)
    end(core, "a", 1.0)
    assert start(core, 1.0) == ["b"]


@pytest.mark.parametrize(
    ("tasks", "message"),
    [
        ([task("a"), task("a")], "duplicate task ids: 'a'"),
        ([task("b", "a")], "task 'b': depends_on names unknown task 'a'"),
        ([task("c", "c")], "tasks form a cycle: c -> c"),
    ],
)
def test_misuse_raises_the_errors_a_run_reports(tasks: list[Task], message: str) -> None:
    with pytest.raises(WorkflowError, match=f"^{message}$"):
        core_of(*tasks)


def test_results_before_every_task_finished_is_an_error() -> None:
    core = core_of(task("a"))
    with pytest.raises(ValueError, match=r"^1 tasks of the run are unfinished$"):
        core.results(["a"])


@given(dags(), st.randoms(use_true_random=False))
def test_random_completion_orders(dag: DrawnDag, rnd: random.Random) -> None:
    """Whatever order calls end in: each starts after its dependencies succeeded, failures skip descendants."""
    core = core_of(*(task(tid, *dag.deps[tid]) for tid in dag.ids))
    succeeded: set[str] = set()
    running: list[str] = []
    now = 0.0
    while True:
        for tid in start(core, now):
            assert succeeded.issuperset(dag.deps[tid])
            running.append(tid)
        if not running:
            break
        tid = running.pop(rnd.randrange(len(running)))
        now += 1
        if tid in dag.failing:
            end(core, tid, now, error=RuntimeError("x"))
        else:
            end(core, tid, now)
            succeeded.add(tid)
    assert not core.unfinished
    skipped = dag.descendants(dag.failing)
    expected = {tid: "skipped" if tid in skipped else "error" if tid in dag.failing else "success" for tid in dag.ids}
    assert status(core) == expected


# -- calls, retries and errors ---------------------------------------------------------------


def test_retries_wait_and_keep_a_timeline() -> None:
    policy = RetryPolicy(retries=2, wait_initial=1.0, wait_jitter=0.0)
    core = core_of(task("f"), retry=policy, events=True)
    start(core)
    f = core.records["f"]
    end(core, "f", 0.5, error=RuntimeError("one"))
    assert (f.phase, f.wait) == (Phase.BACKOFF, 1.0)
    core.backoff_over(f, 1.5)
    assert f.phase is Phase.CALL
    core.call_started(f, 1.5)
    end(core, "f", 2.0, error=RuntimeError("two"))
    assert f.wait == 2.0
    core.backoff_over(f, 4.0)
    core.call_started(f, 4.0)
    end(core, "f", 4.5, output="third time")
    result = f.result
    assert result is not None and result.ok and result.attempts == 3
    assert [(a.started_at, a.finished_at, a.error and a.error.code) for a in result.timeline] == [
        (0.0, 0.5, ErrorCode.TOOL_ERROR),
        (1.5, 2.0, ErrorCode.TOOL_ERROR),
        (4.0, 4.5, None),
    ]
    events = core.events or []
    assert [type(e).__name__ for e in events] == [
        "TaskBegan",
        "TaskStarted", "TaskCallEnded", "TaskRetrying",
        "TaskStarted", "TaskCallEnded", "TaskRetrying",
        "TaskStarted", "TaskCallEnded", "TaskFinished",
    ]  # fmt: skip
    assert events[3] == TaskRetrying("f", 1, result.timeline[0].error, 1.0, 0.5)  # type: ignore[arg-type]


def test_no_retry_for_unknown_tools_nor_past_the_task_s_own_retries() -> None:
    core = core_of(task("u"), task("own", retries=0), retry=RetryPolicy(retries=5))
    start(core)
    end(core, "u", 1.0, error=NoSuchToolError("no tool 'u'"))
    end(core, "own", 1.0, error=RuntimeError("x"))
    assert status(core) == {"u": "error", "own": "error"}


def test_timeouts_name_the_task_s_own_limit_else_the_run_s() -> None:
    core = core_of(task("own", timeout=0.5), task("default"), task_timeout=2.0)
    assert core.call_timeout(core.records["own"].task) == 0.5
    assert core.call_timeout(core.records["default"].task) == 2.0
    start(core)
    core.call_timed_out(core.records["own"], 0.5)
    assert core.records["own"].result.error == TaskError(ErrorCode.TIMEOUT, "no answer within 0.5 s")  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("wait_initial", "wait_max", "attempt", "expected"),
    [(1.0, 30.0, 1, 1.0), (1.0, 30.0, 3, 4.0), (1.0, 30.0, 6, 30.0), (0.5, 30.0, 5_000, 30.0), (1e300, 7.0, 2, 7.0)],
)
def test_retry_waits_double_up_to_the_cap_and_never_overflow(
    wait_initial: float, wait_max: float, attempt: int, expected: float
) -> None:
    policy = RetryPolicy(wait_initial=wait_initial, wait_max=wait_max, wait_jitter=0.5)
    assert policy.wait(attempt, 0.0) == expected
    assert policy.wait(attempt, 0.999) == pytest.approx(expected * (1 - 0.5 * 0.999))


def test_a_task_with_two_thousand_retries_runs_them_all() -> None:
    core = core_of(task("f", retries=2_000), retry=RetryPolicy(wait_initial=0.0))
    start(core)
    f = core.records["f"]
    for attempt in range(1, 2_001):
        end(core, "f", float(attempt), error=RuntimeError("again"))
        core.backoff_over(f, 0.0)
        core.call_started(f, float(attempt))
    end(core, "f", 2_001.0, output="ok")
    assert f.result is not None and f.result.ok and f.result.attempts == 2_001


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("retries", -1, "retries must be >= 0"),
        ("retries", 1.5, "retries must be an int, not float"),
        ("wait_initial", -1.0, "wait_initial must be >= 0"),
        ("wait_max", float("nan"), "wait_max must be >= 0"),
        ("wait_jitter", 1.5, "wait_jitter must be between 0 and 1"),
    ],
)
def test_retry_policy_checks_its_numbers(field: str, value: Any, message: str) -> None:
    with pytest.raises((ValueError, TypeError), match=f"^{message}$"):
        RetryPolicy(**{field: value})


class QuotaError(ToolCallError):
    code = "quota_exceeded"  # type: ignore[assignment]  # a code of the tool's own


@pytest.mark.parametrize(
    ("exception", "code", "message"),
    [
        (ServerError("link broke"), ErrorCode.SERVER_ERROR, "link broke"),
        (NoSuchToolError("no tool 'x'"), ErrorCode.UNKNOWN_TOOL, "no tool 'x'"),
        (QuotaError("100 calls a day"), ErrorCode.TOOL_ERROR, "quota_exceeded: 100 calls a day"),
        (KeyError("k"), ErrorCode.TOOL_ERROR, "KeyError: 'k'"),
    ],
)
def test_how_exceptions_become_errors(exception: BaseException, code: ErrorCode, message: str) -> None:
    assert task_error(exception) == TaskError(code, message)


# -- approval --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("verdict", "phase", "message"),
    [
        (True, Phase.CALL, None),
        (False, Phase.DONE, "refused"),
        ("not on a Friday", Phase.DONE, "not on a Friday"),
        (1, Phase.DONE, "refused (the approver answered 1)"),
        (RuntimeError("no tty"), Phase.DONE, "the approver failed: RuntimeError: no tty"),
    ],
)
def test_the_approver_s_verdicts(verdict: object, phase: Phase, message: str | None) -> None:
    core = core_of(task("gated", approval=True), task("free"), task("after", "gated"), approval="flagged")
    ready = core.take_ready()
    for record in ready:
        core.begin(record, 0.0)
    gated, free = ready
    assert (gated.phase, free.phase) == (Phase.APPROVE, Phase.CALL)
    core.approved(gated, 2.0, verdict)
    assert gated.phase is phase
    if message is not None:
        assert gated.result is not None and gated.result.status is TaskStatus.SKIPPED
        assert gated.result.error == TaskError(ErrorCode.REJECTED, message)
        assert gated.result.started_at == 2.0
        after = core.records["after"].result
        assert after is not None and after.error is not None
        assert after.error.message == "depends on 'gated', which ended skipped (rejected)"


def test_approve_all_asks_for_every_task() -> None:
    core = core_of(task("a"), task("b"), approval="all")
    ready = core.take_ready()
    for record in ready:
        core.begin(record, 0.0)
    assert [r.phase for r in ready] == [Phase.APPROVE, Phase.APPROVE]


# -- slots -------------------------------------------------------------------------------------


def test_calls_wait_for_a_slot_best_rank_first_and_free_it_when_they_end() -> None:
    slots = Slots(1)
    ranks = {"short": (-1.0,), "long": (-5.0,)}
    core = core_of(task("short"), task("long"), slots=slots, rank=lambda t: ranks[t.id])
    core.owner = "run"
    for record in core.take_ready():
        core.begin(record, 0.0)
    assert status(core) == {"short": "slot", "long": "slot"}
    granted = slots.grant()
    assert [(owner, r.task.id) for owner, r in granted] == [("run", "long")]  # type: ignore[attr-defined]
    long = core.records["long"]
    core.granted(long, 0.0)
    core.call_started(long, 0.0)
    assert slots.grant() == []
    assert slots.statistics().in_use == 1 and slots.statistics().waiting == 1
    end(core, "long", 5.0)
    assert slots.statistics().in_use == 0
    assert [r.task.id for _, r in slots.grant()] == ["short"]  # type: ignore[attr-defined]


def test_runs_sharing_slots_keep_one_ranking_and_one_limit() -> None:
    slots = Slots(None, {"db": 1})
    first = core_of(task("a", tool="db:q", estimate=1), task("b", tool="web:get"), slots=slots)
    second = core_of(task("c", tool="db:q", estimate=9), slots=slots)
    first.owner, second.owner = "first", "second"
    for core in (first, second):
        for record in core.take_ready():
            core.begin(record, 0.0)
    granted = [(owner, r.task.id) for owner, r in slots.grant()]  # type: ignore[attr-defined]
    # web is not limited; of the two db calls, the run whose call ranks first wins.
    assert sorted(granted) == [("first", "b"), ("second", "c")]
    assert slots.statistics().in_use_by_server == {"db": 1}


def test_a_retry_waits_again_for_a_slot_and_holds_none_meanwhile() -> None:
    slots = Slots(1)
    core = core_of(task("f"), retry=RetryPolicy(retries=1, wait_jitter=0.0), slots=slots)
    f = core.take_ready()[0]
    core.begin(f, 0.0)
    ((_, _),) = slots.grant()
    core.granted(f, 0.0)
    core.call_started(f, 0.0)
    end(core, "f", 1.0, error=RuntimeError("x"))
    assert f.phase is Phase.BACKOFF and slots.statistics().in_use == 0
    core.backoff_over(f, 0.0)
    assert f.phase is Phase.SLOT and slots.statistics().waiting == 1


def test_slots_misuse() -> None:
    slots = Slots(1)
    slots.push(None, "k", "s", ())
    with pytest.raises(ValueError, match=r"^call 'k' is already waiting$"):
        slots.push(None, "k", "s", ())
    slots.withdraw("k")
    slots.withdraw("k")  # a no-op once gone
    assert slots.grant() == []


# -- stopping ----------------------------------------------------------------------------------


def test_stop_cancels_what_waits_and_leaves_calls_under_way_to_their_report() -> None:
    slots = Slots(1)
    core = core_of(task("running"), task("queued"), task("later", "running"), slots=slots, events=True)
    for record in core.take_ready():
        core.begin(record, 0.0)
    (_, running), = slots.grant()
    core.granted(running, 0.0)  # type: ignore[arg-type]
    core.call_started(running, 0.0)  # type: ignore[arg-type]
    core.stop("enough", 1.0)
    assert status(core) == {"running": "call", "queued": "cancelled", "later": "cancelled"}
    assert slots.statistics().waiting == 0
    core.interrupted(running, 1.0)  # type: ignore[arg-type]
    assert not core.unfinished and slots.statistics().in_use == 0
    results = {r.task_id: r for r in core.results(["running", "queued", "later"])}
    assert {tid: r.error for tid, r in results.items()} == {
        tid: TaskError(ErrorCode.CANCELLED, "cancelled: enough") for tid in ("running", "queued", "later")
    }
    assert (results["running"].started_at, results["running"].finished_at) == (0.0, 1.0)
    assert results["queued"].started_at is None
    finals = [e for e in core.events or [] if isinstance(e, TaskFinished | TaskSkipped)]
    assert [(type(e).__name__, e.result.task_id) for e in finals] == [
        ("TaskSkipped", "queued"), ("TaskSkipped", "later"), ("TaskFinished", "running")
    ]  # fmt: skip


def test_a_call_that_ended_as_the_run_stopped_keeps_its_real_result_and_starts_nothing() -> None:
    core = core_of(task("a"), task("b", "a"), task("c"))
    start(core)
    core.stop("stopped", 1.0)
    end(core, "a", 1.0, output="made it")  # its end raced the stop
    core.interrupted(core.records["a"], 1.0)  # then its cancellation arrives: a no-op
    core.interrupted(core.records["c"], 1.0)
    assert status(core) == {"a": "success", "b": "cancelled", "c": "cancelled"}
    assert core.records["a"].result.output == "made it"  # type: ignore[union-attr]
    assert start(core) == []


def test_a_failed_call_after_a_stop_is_not_retried() -> None:
    core = core_of(task("a"), retry=RetryPolicy(retries=3))
    start(core)
    core.stop("stopped", 1.0)
    end(core, "a", 1.0, error=RuntimeError("x"))
    assert status(core) == {"a": "error"}


def test_fail_fast_skips_the_failure_s_descendants_and_cancels_the_rest() -> None:
    core = core_of(task("bad"), task("child", "bad"), task("other"), task("waits", "other"), fail_fast=True)
    start(core)
    end(core, "bad", 1.0, error=RuntimeError("x"))
    assert core.stop_reason == "task 'bad' failed first (fail_fast)"
    assert status(core) == {"bad": "error", "child": "skipped", "other": "call", "waits": "cancelled"}
    core.add(task("late"), 2.0)
    assert status(core)["late"] == "cancelled"


def test_begin_after_a_stop_is_a_no_op() -> None:
    core = core_of(task("a"), task("b"))
    ready = core.take_ready()
    core.stop("stopped", 0.0)
    for record in ready:
        core.begin(record, 0.0)
    assert status(core) == {"a": "cancelled", "b": "cancelled"}


# -- the journal -------------------------------------------------------------------------------


def test_a_journaled_success_is_reused_and_new_calls_are_recorded_first() -> None:
    seen: list[tuple[str, str, str]] = []

    def reusable(task_id: str, tool: str, digest: str) -> tuple[bool, Any]:
        seen.append((task_id, tool, digest))
        return (True, {"from": "journal"}) if task_id == "old" else (False, None)

    core = core_of(task("old"), task("new"), reusable=reusable, events=True)
    start(core, 0.25)
    old, new = core.records["old"], core.records["new"]
    assert old.result is not None and old.result.reused and old.result.output == {"from": "journal"}
    end(core, "new", 1.0, output=[1, 2])
    assert new.phase is Phase.RECORD and new.result is None  # not finished until its row is committed
    task_id, tool, digest, status_, output, started, error = core.journal_row(new)
    assert (task_id, tool, status_, output, started, error) == ("new", "s:t", "success", [1, 2], 0.25, None)
    assert digest == seen[1][2] and len(digest) == 64
    core.recorded(new, 1.5)
    assert new.result is not None and new.result.finished_at == 1.5
    first_two = [type(e).__name__ for e in (core.events or [])[:2]]
    assert first_two == ["TaskBegan", "TaskFinished"]  # reused: finished at once, never called
    assert not any(isinstance(e, TaskStarted) and e.task_id == "old" for e in core.events or [])


def test_a_task_added_beside_a_running_and_a_failed_dependency_stays_skipped() -> None:
    core = core_of(task("running"), task("bad"))
    start(core)
    end(core, "bad", 1.0, error=RuntimeError("x"))
    core.add(task("late", "running", "bad"), 1.5)
    end(core, "running", 2.0)
    assert start(core, 2.0) == []
    assert status(core) == {"running": "success", "bad": "error", "late": "skipped"}
    assert not core.unfinished


def test_a_stop_leaves_a_call_whose_journal_row_is_being_written_to_finish() -> None:
    core = core_of(task("written"), task("next", "written"), reusable=lambda *key: (False, None))
    start(core)
    end(core, "written", 1.0, output="done")
    written = core.records["written"]
    assert written.phase is Phase.RECORD
    core.stop("stopped", 1.5)
    assert written.phase is Phase.RECORD  # the driver's shielded write goes on
    core.recorded(written, 2.0)
    assert status(core) == {"written": "success", "next": "cancelled"}
    assert written.result is not None and (written.result.output, written.result.finished_at) == ("done", 2.0)


# -- transitions as data ---------------------------------------------------------------------


def test_a_report_the_table_does_not_allow_raises_naming_task_phase_and_report() -> None:
    core = core_of(task("a"), task("b", "a"))
    start(core)
    a, b = core.records["a"], core.records["b"]
    with pytest.raises(TransitionError, match=r"^task 'a': no transition from call on recorded$") as caught:
        core.recorded(a, 1.0)  # a driver bug: no journal row was asked for
    assert (caught.value.task_id, caught.value.phase, caught.value.report) == ("a", Phase.CALL, "recorded")
    with pytest.raises(TransitionError, match=r"^task 'b': no transition from waiting on call_started to call$"):
        core.call_started(b, 1.0)  # b is not ready: its dependency is under way
    with pytest.raises(TransitionError, match=r"^task 'a': no transition from call on granted to call$"):
        core.granted(a, 1.0)  # no slots: nothing was pushed to wait for one
    assert (a.phase, b.phase) == (Phase.CALL, Phase.WAITING)  # a refused report changes nothing


def test_the_races_of_a_driver_are_rows_and_are_ignored() -> None:
    core = core_of(task("a"), task("b"), retry=RetryPolicy(retries=1, wait_initial=1.0, wait_jitter=0.0))
    start(core)
    a, b = core.records["a"], core.records["b"]
    end(core, "a", 1.0, error=RuntimeError("again"))
    assert a.phase is Phase.BACKOFF
    core.stop("enough", 1.5)  # ends a (waiting to retry), not b (its call under way)
    core.interrupted(b, 1.5)
    core.backoff_over(a, 2.0)  # each a row of RACES: ignored
    end(core, "b", 2.0, output=1)
    core.interrupted(a, 2.0)
    assert status(core) == {"a": "cancelled", "b": "cancelled"}
    assert {(Phase.DONE, "backoff_over"), (Phase.DONE, "call_ended"), (Phase.DONE, "interrupted")} <= set(RACES)


def test_every_phase_but_done_has_a_way_out_and_every_row_leads_somewhere_known() -> None:
    sources = {phase for phase, _ in TRANSITIONS}
    assert sources == set(Phase) - {Phase.DONE}
    assert all(targets and set(targets) <= set(Phase) for targets in TRANSITIONS.values())
    assert not set(TRANSITIONS) & set(RACES)  # a report is either a transition or a race, never both


# -- progress: counted by the core, read by the consumers -----------------------------------


def test_progress_counts_by_status_and_lists_the_tasks_under_way_in_start_order() -> None:
    core = core_of(task("a"), task("b"), task("c", "a"), task("d", "c"), task("e", "b"), events=True)
    assert core.progress() == RunProgress(
        total=5, counts=dict.fromkeys(TaskStatus, 0), under_way=0, first_under_way=()
    )
    start(core)
    assert (core.progress().under_way, core.progress().first_under_way) == (2, ("a", "b"))
    assert core.progress(shown=1).first_under_way == ("a",)
    end(core, "a", 1.0, error=RuntimeError("boom"))  # c and d are skipped with it, in the same batch
    now = core.progress()
    assert now.counts == {TaskStatus.SUCCESS: 0, TaskStatus.ERROR: 1, TaskStatus.SKIPPED: 2, TaskStatus.CANCELLED: 0}
    assert (now.ended, now.under_way, now.first_under_way) == (3, 1, ("b",))
    assert core.events is not None
    ends = [(e.task_id, e.ended) for e in core.events if isinstance(e, TaskFinished | TaskSkipped)]
    assert ends == [("a", 1), ("c", 2), ("d", 3)]  # each end carries the core's count at that end
    end(core, "b", 2.0)
    start(core, 2.0)
    assert core.progress().first_under_way == ("e",)
    end(core, "e", 3.0)
    assert core.progress() == RunProgress(
        total=5,
        counts={TaskStatus.SUCCESS: 2, TaskStatus.ERROR: 1, TaskStatus.SKIPPED: 2, TaskStatus.CANCELLED: 0},
        under_way=0,
        first_under_way=(),
    )
