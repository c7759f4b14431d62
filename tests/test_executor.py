from __future__ import annotations

import json
import threading
from typing import Any

import pytest
import trio
import trio.testing

from dagexec import (
    MAX_ARGUMENT_DEPTH,
    EagerExecutor,
    ErrorCode,
    Event,
    LayeredExecutor,
    LocalTools,
    NoSuchToolError,
    PlanError,
    ServerError,
    TaskError,
    TaskFinished,
    TaskSkipped,
    TaskStarted,
    TaskStatus,
    ToolCallError,
    ToolError,
    UnknownServerError,
    UnknownToolError,
)

from .helpers import all_overlap, sleep, t, timeline, wf

EXECUTORS = [EagerExecutor, LayeredExecutor]


def make_tools() -> LocalTools:
    def server_down() -> None:
        raise ServerError("connection reset")

    def flagged() -> None:
        raise ToolError("the tool says no")

    return LocalTools(
        {"sleep": sleep, "server_down": server_down, "flagged": flagged, "echo": lambda **kw: kw}
    )


SERVERS = {"sim": make_tools()}


# -- virtual time --------------------------------------------------------------------------


async def test_five_independent_tasks_take_one_task_time(autojump_clock: trio.testing.MockClock) -> None:
    workflow = wf(*(t(f"t{i}", 0.1) for i in range(1, 6)))
    result = await EagerExecutor(SERVERS).execute(workflow)
    assert result.ok
    assert result.wall_time == pytest.approx(0.1, abs=1e-9)
    assert result.speedup == pytest.approx(5.0)
    assert result.parallelization_layers == 1


@pytest.mark.parametrize("executor", EXECUTORS)
async def test_seed_mixed_example_has_three_layers(
    executor: type[EagerExecutor], autojump_clock: trio.testing.MockClock
) -> None:
    workflow = wf(t("t1", 0.1), t("t2", 0.1), t("t3", 0.1, "t1", "t2"), t("t4", 0.1, "t3"), t("t5", 0.1, "t3"))
    result = await executor(SERVERS).execute(workflow)
    assert result.parallelization_layers == 3
    assert result.generations == [["t1", "t2"], ["t3"], ["t4", "t5"]]
    assert result.wall_time == pytest.approx(0.3, abs=1e-9)
    assert result.strategy == executor.strategy


async def test_eager_does_not_wait_for_unrelated_slow_branch(
    autojump_clock: trio.testing.MockClock,
) -> None:
    # slow (1.0) | fast (0.1) -> after_fast (0.1): after_fast is in layer 2.
    workflow = wf(t("slow", 1.0), t("fast", 0.1), t("after_fast", 0.1, "fast"))
    eager = await EagerExecutor(SERVERS).execute(workflow)
    layered = await LayeredExecutor(SERVERS).execute(workflow)
    assert timeline(eager) == {"slow": (0, 1.0), "fast": (0, 0.1), "after_fast": (0.1, 0.2)}
    assert timeline(layered) == {"slow": (0, 1.0), "fast": (0, 0.1), "after_fast": (1.0, 1.1)}
    assert eager.wall_time == pytest.approx(1.0, abs=1e-9)
    assert layered.wall_time == pytest.approx(1.1, abs=1e-9)
    assert eager.critical_path == ["slow"]
    assert eager.critical_path_time == pytest.approx(1.0)


# -- outputs, references, statuses and codes -----------------------------------------------


@pytest.mark.parametrize("executor", EXECUTORS)
async def test_outputs_flow_through_references(executor: type[EagerExecutor]) -> None:
    workflow = wf(
        {"id": "a", "tool": "sim:echo", "arguments": {"text": "hi", "n": 2}},
        {"id": "b", "tool": "sim:echo", "arguments": {"whole": "$OUTPUT[a]", "n": "$OUTPUT[a].n"}},
        {"id": "c", "tool": "sim:echo", "arguments": {"msg": "$OUTPUT[a].text there, n=$OUTPUT[b].n"}},
    )
    result = await executor(SERVERS).execute(workflow)
    assert result["b"].output == {"whole": {"text": "hi", "n": 2}, "n": 2}
    assert result["c"].output == {"msg": "hi there, n=2"}
    assert [r.status for r in result.results] == [TaskStatus.SUCCESS] * 3
    assert all(r.error is None for r in result.results)


@pytest.mark.parametrize("executor", EXECUTORS)
async def test_an_escaped_marker_reaches_the_tool_as_text(executor: type[EagerExecutor]) -> None:
    workflow = wf(
        # No reference at all: the escape alone is resolved.
        {"id": "a", "tool": "sim:echo", "arguments": {"text": "write $$OUTPUT[t1].x", "list": ["$$OUTPUT["]}},
        {"id": "b", "tool": "sim:echo", "arguments": {"text": "$OUTPUT[a].list.0 and $$OUTPUT[a]", "n": 1}},
    )
    assert workflow["b"].dependencies == ("a",)
    result = await executor(SERVERS).execute(workflow)
    assert result["a"].output == {"text": "write $OUTPUT[t1].x", "list": ["$OUTPUT["]}
    assert result["b"].output == {"text": "$OUTPUT[ and $OUTPUT[a]", "n": 1}


@pytest.mark.parametrize("executor", EXECUTORS)
async def test_arguments_at_the_depth_limit_run(executor: type[EagerExecutor]) -> None:
    deepest: Any = "$OUTPUT[a].text"
    for _ in range(MAX_ARGUMENT_DEPTH - 1):
        deepest = [deepest]
    workflow = wf(
        {"id": "a", "tool": "sim:echo", "arguments": {"text": "hi"}},
        {"id": "b", "tool": "sim:echo", "arguments": {"deep": deepest}},
    )
    result = await executor(SERVERS).execute(workflow)
    assert result.ok
    value = result["b"].output["deep"]
    for _ in range(MAX_ARGUMENT_DEPTH - 1):
        (value,) = value
    assert value == "hi"


async def test_an_output_too_deep_for_text_fails_only_the_task_that_writes_it() -> None:
    deep: Any = 1
    for _ in range(10_000):
        deep = {"a": deep}
    servers = {"sim": LocalTools({"deep": lambda: deep, "echo": lambda **kw: kw})}
    workflow = wf(
        {"id": "a", "tool": "sim:deep"},
        {"id": "text", "tool": "sim:echo", "arguments": {"v": "x $OUTPUT[a] y"}},
        {"id": "whole", "tool": "sim:echo", "arguments": {"v": "$OUTPUT[a]"}},
        {"id": "other", "tool": "sim:echo", "arguments": {"v": 1}},
    )
    result = await EagerExecutor(servers).execute(workflow)
    assert [r.status for r in result.results] == [TaskStatus.SUCCESS, TaskStatus.ERROR, TaskStatus.SUCCESS, TaskStatus.SUCCESS]
    assert result["text"].error == TaskError(
        ErrorCode.REFERENCE_ERROR, "$OUTPUT[a]: the value nests too deeply to write as text"
    )
    assert result["whole"].output["v"] is deep


@pytest.mark.parametrize("executor", EXECUTORS)
async def test_failure_skips_descendants_and_runs_the_rest(executor: type[EagerExecutor]) -> None:
    workflow = wf(
        t("ok1", 0.01),
        t("bad", 0.01, arguments={"fail": True}),
        t("child", 0.01, "bad"),
        t("grandchild", 0.01, "child", "ok1"),
        t("independent", 0.01, "ok1"),
    )
    result = await executor(SERVERS).execute(workflow)
    assert not result.ok
    assert {r.task_id: r.status for r in result.results} == {
        "ok1": TaskStatus.SUCCESS,
        "bad": TaskStatus.ERROR,
        "child": TaskStatus.SKIPPED,
        "grandchild": TaskStatus.SKIPPED,
        "independent": TaskStatus.SUCCESS,
    }
    bad = result["bad"]
    assert bad.error is not None
    assert (bad.error.code, bad.error.message) == (ErrorCode.TOOL_ERROR, "RuntimeError: failed after 0.01")
    for skipped in ("child", "grandchild"):
        error = result[skipped].error
        assert error is not None
        assert error.code is ErrorCode.DEPENDENCY_FAILED
        assert error.message == "depends on 'bad', which ended error (tool_error)"
        assert result[skipped].started_at is None
        assert result[skipped].duration is None
    assert [r.task_id for r in result.errors] == ["bad", "child", "grandchild"]


@pytest.mark.parametrize("executor", EXECUTORS)
@pytest.mark.parametrize(
    ("task", "code", "message"),
    [
        ({"tool": "sim:flagged"}, ErrorCode.TOOL_ERROR, "the tool says no"),
        ({"tool": "sim:server_down"}, ErrorCode.SERVER_ERROR, "connection reset"),
        (
            {"tool": "sim:nope"},
            ErrorCode.UNKNOWN_TOOL,
            "no tool 'nope'; tools: echo, flagged, server_down, sleep",
        ),
        (
            {"tool": "sim:echo", "arguments": {"x": "$OUTPUT[src].missing.key"}},
            ErrorCode.REFERENCE_ERROR,
            "$OUTPUT[src].missing.key: $OUTPUT[src] has no key 'missing'",
        ),
        (
            {"tool": "sim:sleep", "arguments": {"nonsense": 1}},
            ErrorCode.TOOL_ERROR,
            "TypeError: sleep() got an unexpected keyword argument 'nonsense'",
        ),
    ],
)
async def test_error_codes(
    executor: type[EagerExecutor], task: dict[str, Any], code: ErrorCode, message: str
) -> None:
    workflow = wf(
        {"id": "src", "tool": "sim:echo", "arguments": {"present": 1}},
        {"id": "x", **task},
        {"id": "after", "tool": "sim:echo", "depends_on": ["x"]},
    )
    # Unchecked: the tools' own failures are the point (bad arguments reach the tool).
    result = await executor(SERVERS, check_schemas=False).execute(workflow)
    x = result["x"]
    assert x.status is TaskStatus.ERROR
    assert x.error is not None
    assert (x.error.code, x.error.message) == (code, message)
    assert x.started_at is not None and x.finished_at is not None
    assert result["src"].ok
    assert result["after"].status is TaskStatus.SKIPPED


class QuotaError(ToolCallError):
    """A server's own kind of failure, with a code dagexec does not know."""

    code = "quota_exceeded"


@pytest.mark.parametrize("executor", EXECUTORS)
def test_a_tool_call_error_with_a_code_of_its_own_is_a_tool_error(executor: type[EagerExecutor]) -> None:
    def over_quota() -> None:
        raise QuotaError("100 calls a day, all used")

    servers = {"sim": make_tools(), "api": LocalTools({"call": over_quota})}
    workflow = wf(
        {"id": "x", "tool": "api:call"},
        {"id": "after", "tool": "sim:echo", "depends_on": ["x"]},
        {"id": "other", "tool": "sim:echo", "arguments": {"n": 1}},
    )
    result = trio.run(executor(servers).execute, workflow)
    x = result["x"]
    assert x.status is TaskStatus.ERROR and x.error is not None
    assert x.error.code is ErrorCode.TOOL_ERROR
    assert x.error.message == "quota_exceeded: 100 calls a day, all used"  # the server's own code is kept
    assert (result["after"].status, result["after"].error) == (
        TaskStatus.SKIPPED,
        TaskError(ErrorCode.DEPENDENCY_FAILED, "depends on 'x', which ended error (tool_error)"),
    )
    assert (result["other"].status, result["other"].output) == (TaskStatus.SUCCESS, {"n": 1})


def test_error_code_and_status_values() -> None:
    assert {c.value for c in ErrorCode} >= {
        "tool_error",
        "unknown_tool",
        "reference_error",
        "dependency_failed",
        "server_error",
        "timeout",
        "cancelled",
    }
    assert [s.value for s in TaskStatus] == ["success", "error", "skipped", "cancelled"]
    assert TaskStatus.SUCCESS == "success"


@pytest.mark.parametrize("executor", EXECUTORS)
async def test_unknown_servers_are_rejected_before_anything_runs(executor: type[EagerExecutor]) -> None:
    calls: list[str] = []
    servers = {"sim": LocalTools({"record": lambda: calls.append("called")})}
    workflow = wf(
        {"id": "a", "tool": "sim:record"},
        {"id": "b", "tool": "web:fetch"},
        {"id": "c", "tool": "db:query", "depends_on": ["a"]},
    )
    with pytest.raises(UnknownServerError) as info:
        await executor(servers).execute(workflow)
    assert str(info.value) == (
        "invalid plan (2 problems):\n"
        "  task 'b': tool: unknown server 'web' (servers: sim)\n"
        "  task 'c': tool: unknown server 'db' (servers: sim)"
    )
    assert info.value.missing == {"b": "web", "c": "db"}
    assert calls == []


class ListingServer:
    """A server that publishes its tool list, as MCP servers do."""

    tool_names = frozenset({"known"})

    async def call_tool(self, name: str, arguments: dict[str, Any]) -> Any:
        return name


@pytest.mark.parametrize("executor", EXECUTORS)
async def test_tools_missing_from_a_published_list_are_rejected_before_the_run(
    executor: type[EagerExecutor],
) -> None:
    workflow = wf({"id": "a", "tool": "l:known"}, {"id": "b", "tool": "l:unknown"})
    with pytest.raises(UnknownToolError) as info:
        await executor({"l": ListingServer()}).execute(workflow)
    assert tuple(map(str, info.value.problems)) == (
        "task 'b': tool: unknown tool 'l:unknown'; did you mean 'l:known'? (server 'l' has: known)",
    )
    result = await executor({"l": ListingServer()}).execute(wf({"id": "a", "tool": "l:known"}))
    assert result["a"].output == "known"


class ManyTools:
    """A server with many tools, whose list a problem shortens."""

    tool_names = frozenset(f"tool_{n:02}" for n in range(30)) | {"get_current_time"}

    async def call_tool(self, name: str, arguments: dict[str, Any]) -> Any:
        return name


def test_one_report_names_servers_and_tools_with_the_close_names() -> None:
    executor = EagerExecutor({"time": ManyTools(), "sim": make_tools()})
    with pytest.raises(PlanError) as info:
        executor.check_plan(
            {
                "tasks": [
                    {"id": "now", "tool": "time:get_curent_time"},
                    {"id": "x", "tool": "tme:get_current_time", "depends_on": "now"},
                    {"id": "y", "tool": "tme:get_current_time", "depends_on": ["nwo"]},
                ]
            }
        )
    assert str(info.value) == (
        "invalid plan (4 problems):\n"
        "  task 'now': tool: unknown tool 'time:get_curent_time'; did you mean 'time:get_current_time'? "
        "(server 'time' has: get_current_time, tool_00, tool_01, tool_02, tool_03, tool_04, tool_05, tool_06, "
        "tool_07, tool_08, tool_09, tool_10 and 19 more)\n"
        "  task 'x': depends_on: expected an array, got string 'now'\n"
        "  task 'y': depends_on[0]: unknown task 'nwo'; did you mean 'now'?\n"
        "  task 'y': tool: unknown server 'tme'; did you mean 'time'? (servers: sim, time)"
    )
    assert [p.kind for p in info.value.problems] == ["tool", "shape", "dependency", "server"]
    good = executor.check_plan('{"tasks": [{"id": "now", "tool": "time:get_current_time"}]}')
    assert [t.id for t in good.tasks] == ["now"]


async def test_local_tools_unknown_name() -> None:
    with pytest.raises(NoSuchToolError, match=r"^no tool 'x'; tools: echo, flagged, server_down, sleep$"):
        await make_tools().call_tool("x", {})


@pytest.mark.parametrize("executor", EXECUTORS)
async def test_results_in_workflow_order_and_to_dict(executor: type[EagerExecutor]) -> None:
    workflow = wf(t("z", 0.01, "a"), t("a", 0.01), t("m", 0.01, arguments={"fail": True}))
    result = await executor(SERVERS).execute(workflow)
    assert [r.task_id for r in result.results] == ["z", "a", "m"]
    data = result.to_dict()
    assert data["strategy"] == executor.strategy
    assert data["ok"] is False
    assert data["errors"] == ["m"]
    assert data["generations"] == [["a", "m"], ["z"]]
    assert data["parallelization_layers"] == 2
    assert [r["task_id"] for r in data["results"]] == ["z", "a", "m"]
    m = data["results"][2]
    assert m["status"] == "error"
    assert m["error"] == {"code": "tool_error", "message": "RuntimeError: failed after 0.01"}
    assert m["duration"] == pytest.approx(m["finished_at"] - m["started_at"])
    assert data["results"][1]["output"] == {"slept": 0.01, "value": None}
    assert json.loads(json.dumps(data)) == data


async def test_callers_cancellation_propagates(autojump_clock: trio.testing.MockClock) -> None:
    workflow = wf(t("a", 10.0), t("b", 10.0, "a"))
    with trio.move_on_after(5) as scope:
        await EagerExecutor(SERVERS).execute(workflow)
    assert scope.cancelled_caught
    assert trio.current_time() == pytest.approx(5.0)


# -- real time -----------------------------------------------------------------------------


async def test_real_time_five_parallel_sleeps() -> None:
    """The seed's benchmark on the real clock: five 100 ms tools, all in flight at once."""
    workflow = wf(*(t(f"t{i}", 0.1) for i in range(1, 6)))
    result = await EagerExecutor(SERVERS).execute(workflow)
    assert result.ok
    spans = timeline(result).values()
    assert all_overlap(span for span in spans if span is not None)  # each started before any ended
    assert result.wall_time < 1.0  # ten times the work: a wide bound, not a speed claim


async def test_blocking_sync_tools_run_side_by_side() -> None:
    # Each call blocks its thread until all four are blocked at once: they can
    # only return "done" if they ran side by side, never one after the other.
    barrier = threading.Barrier(4, timeout=20)

    def block() -> str:
        barrier.wait()
        return "done"

    workflow = wf(*({"id": f"b{i}", "tool": "sync:block"} for i in range(4)))
    with trio.fail_after(60):
        result = await EagerExecutor({"sync": LocalTools({"block": block})}).execute(workflow)
    assert [(r.status, r.output, r.error) for r in result.results] == [(TaskStatus.SUCCESS, "done", None)] * 4
    spans = timeline(result).values()
    assert all_overlap(span for span in spans if span is not None)


@pytest.mark.parametrize("executor", EXECUTORS)
async def test_events_in_order(executor: type[EagerExecutor], autojump_clock: trio.testing.MockClock) -> None:
    events: list[object] = []
    workflow = wf(t("a", 0.1), t("b", 0.2, arguments={"fail": True}), t("c", 0.1, "b"), t("d", 0.1, "a"))
    result = await executor(SERVERS).execute(workflow, on_event=events.append)
    def key(e: Event) -> tuple[str, str]:
        return (type(e).__name__, e.task_id)

    def at(e: Event) -> float:
        if isinstance(e, TaskFinished | TaskSkipped):
            return e.result.finished_at or result["b"].finished_at or 0.0
        return e.time

    summary = [key(e) for e in events]  # type: ignore[arg-type]
    # Events come in time order; trio may order those of the same instant either way.
    times = [at(e) for e in events]  # type: ignore[arg-type]
    assert times == sorted(times)
    assert sorted(summary) == sorted(
        [(kind, tid) for tid in "abd" for kind in ("TaskBegan", "TaskStarted", "TaskCallEnded", "TaskFinished")]
        + [("TaskSkipped", "c")]
    )
    for tid in "abd":  # each task's own events, in the order of its way
        own = [kind for kind, of in summary if of == tid]
        assert own == ["TaskBegan", "TaskStarted", "TaskCallEnded", "TaskFinished"]
    assert summary.index(("TaskFinished", "b")) + 1 == summary.index(("TaskSkipped", "c"))
    d_start = result["d"].started_at
    assert d_start == pytest.approx(0.1 if executor is EagerExecutor else 0.2)
    started = {e.task_id: e.time for e in events if isinstance(e, TaskStarted)}
    assert started == {tid: result[tid].started_at for tid in started}
    finished = [e.result for e in events if isinstance(e, TaskFinished | TaskSkipped)]
    assert sorted(finished, key=lambda r: r.task_id) == sorted(result.results, key=lambda r: r.task_id)


@pytest.mark.parametrize("executor", EXECUTORS)
@pytest.mark.parametrize("max_concurrency", [None, 2])
async def test_a_finished_run_is_freed_at_once_not_at_the_next_full_collection(
    executor: type[EagerExecutor], max_concurrency: int | None
) -> None:
    """Its core and its driver held each other (the core names the driver to the slots): the run's records then
    lived until Python's next full collection, hundreds of MB after a large plan in a long-lived gateway."""
    import gc

    from dagexec._core.run import RunCore

    workflow = wf(*(t(f"t{i}", 0.01) for i in range(20)), t("last", 0.01, "t0", "t1"))
    gc.collect()
    gc.disable()
    try:
        result = await executor(SERVERS, max_concurrency=max_concurrency).execute(workflow)
        assert result.ok
        assert not [o for o in gc.get_objects() if isinstance(o, RunCore)]
    finally:
        gc.enable()
