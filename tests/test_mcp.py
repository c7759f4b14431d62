"""Real MCP servers over real stdio and HTTP: mcp-server-time and the test toolbox."""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import trio

from dagexec import (
    EagerExecutor,
    ErrorCode,
    LayeredExecutor,
    LocalTools,
    ServerConfigError,
    ServerStartError,
    TaskStatus,
    UnknownToolError,
)
from dagexec.servers import load_config, open_servers

from .helpers import TIME, TOOLBOX, processes_with, serving_http, toolbox, wf


async def test_mcp_server_time_over_stdio() -> None:
    workflow = wf(
        {"id": "now", "tool": "time:get_current_time", "arguments": {"timezone": "UTC"}},
        {
            "id": "tokyo",
            "tool": "time:convert_time",
            "arguments": {
                "source_timezone": "$OUTPUT[now].timezone",
                "time": "12:00",
                "target_timezone": "Asia/Tokyo",
            },
        },
    )
    with trio.fail_after(60):
        async with open_servers({"mcpServers": {"time": TIME}}) as servers:
            assert "get_current_time" in servers["time"].tool_names
            result = await EagerExecutor(servers).execute(workflow)
    assert result.ok, result.errors
    assert result["now"].output["timezone"] == "UTC"
    assert result["tokyo"].output["target"]["timezone"] == "Asia/Tokyo"
    assert result["tokyo"].output["target"]["datetime"].endswith("T21:00:00+09:00")


async def test_outputs_errors_and_concurrency_over_one_session() -> None:
    # Five calls that each answer only once all five are in flight at the server.
    workflow = wf(
        *({"id": f"s{i}", "tool": "box:meet", "arguments": {"group": "five", "size": 5, "value": f"v{i}"}}
          for i in range(5)),
        {"id": "echo", "tool": "box:echo", "arguments": {"text": "$OUTPUT[s0].value"}},
        {"id": "plain", "tool": "box:plain", "arguments": {"text": "not json"}},
        {"id": "json", "tool": "box:as_json", "arguments": {"n": 2}},
        {"id": "walk", "tool": "box:echo", "arguments": {"text": "item $OUTPUT[json].items.1"}},
        {"id": "fail", "tool": "box:fail", "arguments": {"message": "bad input"}},
        {"id": "bad_args", "tool": "box:echo", "arguments": {"wrong": 1}},
    )
    with trio.fail_after(60):
        async with open_servers({"mcpServers": {"box": toolbox()}}) as servers:
            # Unchecked, so that bad_args reaches the server, which refuses it itself.
            result = await EagerExecutor(servers, check_schemas=False).execute(workflow)
    # The five calls ran side by side over the one session: each answered, so all met.
    assert [result[f"s{i}"].output for i in range(5)] == [{"value": f"v{i}", "met": 5} for i in range(5)]
    assert result["echo"].output == {"result": "v0"}
    assert result["plain"].output == "not json"
    assert result["json"].output == {"n": 2, "items": [0, 1]}
    assert result["walk"].output == {"result": "item 1"}
    fail = result["fail"]
    assert fail.status is TaskStatus.ERROR and fail.error is not None
    assert fail.error.code is ErrorCode.TOOL_ERROR
    assert "bad input" in fail.error.message
    assert result["bad_args"].error is not None
    assert result["bad_args"].error.code is ErrorCode.TOOL_ERROR


async def test_unlisted_tool_is_rejected_before_anything_runs() -> None:
    workflow = wf({"id": "p", "tool": "box:pid"}, {"id": "x", "tool": "box:no_such_tool"})
    async with open_servers({"mcpServers": {"box": toolbox()}}) as servers:
        for executor in (EagerExecutor, LayeredExecutor):
            with pytest.raises(UnknownToolError) as info:
                await executor(servers).execute(workflow)
            (problem,) = info.value.problems
            assert str(problem).startswith("task 'x': tool: unknown tool 'box:no_such_tool' (server 'box' has: ")
            assert info.value.missing == {"x": "box:no_such_tool"}


async def test_server_dying_mid_call_fails_its_calls_and_nothing_else() -> None:
    workflow = wf(
        {"id": "long", "tool": "box:sleep", "arguments": {"seconds": 30}},
        {"id": "die", "tool": "box:die", "arguments": {"after": 0.3}},
        {"id": "later", "tool": "box:echo", "arguments": {"text": "x"}, "depends_on": ["local"]},
        {"id": "local", "tool": "py:wait"},
        {"id": "now", "tool": "time:get_current_time", "arguments": {"timezone": "UTC"}},
        {"id": "child", "tool": "py:wait", "depends_on": ["die"]},
    )

    async def wait() -> str:
        await trio.sleep(1.0)
        return "waited"

    with trio.fail_after(30):
        async with open_servers({"mcpServers": {"box": toolbox(), "time": TIME}}) as mcp_servers:
            servers = {**mcp_servers, "py": LocalTools({"wait": wait})}
            result = await EagerExecutor(servers).execute(workflow)
    codes = {r.task_id: (r.status, r.error.code if r.error else None) for r in result.results}
    assert codes == {
        "long": (TaskStatus.ERROR, ErrorCode.SERVER_ERROR),
        "die": (TaskStatus.ERROR, ErrorCode.SERVER_ERROR),
        "later": (TaskStatus.ERROR, ErrorCode.SERVER_ERROR),  # called after the server died
        "local": (TaskStatus.SUCCESS, None),
        "now": (TaskStatus.SUCCESS, None),
        "child": (TaskStatus.SKIPPED, ErrorCode.DEPENDENCY_FAILED),
    }
    assert result.wall_time < 10  # the 30 s call did not hold the run


async def test_server_processes_are_gone_after_exit() -> None:
    marker = f"marker-{uuid.uuid4()}"
    async with open_servers({"mcpServers": {"a": toolbox(marker), "b": toolbox(marker)}}) as servers:
        pids = [await servers[name].call_tool("pid", {}) for name in ("a", "b")]
        assert len(processes_with(marker)) == 2
        assert sorted(processes_with(marker)) == sorted(p["result"] for p in pids)
    assert processes_with(marker) == []


async def test_cancellation_stops_every_server() -> None:
    marker = f"marker-{uuid.uuid4()}"
    workflow = wf({"id": "h", "tool": "box:hang"})
    with trio.move_on_after(3) as scope:
        async with open_servers({"mcpServers": {"box": toolbox(marker)}}) as servers:
            await EagerExecutor(servers).execute(workflow)
    assert scope.cancelled_caught
    assert processes_with(marker) == []


@pytest.mark.parametrize(
    ("entry", "cause"),
    [
        ({"command": "dagexec-no-such-command"}, "command 'dagexec-no-such-command' not found"),
        (
            {"command": sys.executable, "args": ["-c", "import sys; print('boom', file=sys.stderr); sys.exit(1)"]},
            "boom",
        ),
        ({"url": "http://127.0.0.1:9/mcp"}, "ConnectError"),
    ],
)
async def test_a_server_that_cannot_start_is_named_and_the_others_are_stopped(
    entry: dict[str, Any], cause: str
) -> None:
    marker = f"marker-{uuid.uuid4()}"
    with trio.fail_after(60), pytest.raises(ServerStartError) as info:
        async with open_servers({"mcpServers": {"good": toolbox(marker), "broken": entry}}):
            pytest.fail("the block must not run")
    assert info.value.server == "broken"
    assert str(info.value).startswith("server 'broken' did not start: ")
    assert cause in str(info.value)
    assert processes_with(marker) == []


@pytest.mark.parametrize(
    ("config", "problem"),
    [
        ({}, 'expected an object with an "mcpServers" (or "servers") object @ config'),
        ({"mcpServers": {"x": []}}, "expected an object, got array [] @ mcpServers.x"),
        (
            {"mcpServers": {"x": {"args": []}}},
            "needs one of 'command' (a server over stdio), 'url' (streamable HTTP, or SSE with \"type\": \"sse\") "
            "or 'dask' (tools on a Dask cluster) @ mcpServers.x",
        ),
        (
            {"mcpServers": {"x": {"command": "a", "url": "b"}}},
            "needs one of 'command' (a server over stdio), 'url' (streamable HTTP, or SSE with \"type\": \"sse\") "
            "or 'dask' (tools on a Dask cluster) @ mcpServers.x",
        ),
        (
            {"mcpServers": {"x": {"command": "a", "args": "-m x"}}},
            "expected an array, got string '-m x' @ mcpServers.x.args",
        ),
        ({"mcpServers": {"x": {"command": "a", "env": {"A": 1}}}}, "expected a string, got number 1 @ mcpServers.x.env['A']"),
        (
            {"mcpServers": {"x": {"url": "u", "bogus": 1}}},
            "unknown key 'bogus' (accepted: url, headers, timeout, type, disabled, transportType, serverUrl, "
            "autoApprove, alwaysAllow, disabledTools, watchPaths, dev, gallery, version) @ mcpServers.x",
        ),
    ],
)
def test_config_errors_name_the_key(config: Any, problem: str) -> None:
    with pytest.raises(ServerConfigError) as info:
        load_config(config)
    assert problem in info.value.problems


def test_config_file_errors(tmp_path: Path) -> None:
    with pytest.raises(ServerConfigError, match=r"cannot read '.*missing.json': No such file or directory"):
        load_config(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{nope")
    with pytest.raises(ServerConfigError, match=r"bad.json' is not valid JSON"):
        load_config(bad)
    good = tmp_path / "good.json"
    good.write_text('{"mcpServers": {"t": {"command": "python", "args": ["-m", "mcp_server_time"]}}}')
    (entry,) = load_config(good).values()
    assert (entry.command, entry.args) == ("python", ("-m", "mcp_server_time"))
    deep = tmp_path / "deep.json"
    deep.write_text('{"mcpServers": {"t": {"command": "a", "args": ' + "[" * 100_000 + "]" * 100_000 + "}}}")
    with pytest.raises(ServerConfigError) as info:
        load_config(deep)
    assert info.value.problems == (f"{str(deep)!r} is nested too deeply to read as JSON",)


# -- streamable HTTP -----------------------------------------------------------------------


@pytest.fixture
def http_toolbox() -> Iterator[str]:
    with serving_http(TOOLBOX) as (url, _):
        yield url


async def test_streamable_http_server(http_toolbox: str) -> None:
    workflow = wf(
        {"id": "a", "tool": "web:sleep", "arguments": {"seconds": 0.2, "value": "over http"}},
        {"id": "b", "tool": "web:echo", "arguments": {"text": "$OUTPUT[a].value"}},
        {"id": "c", "tool": "web:fail", "arguments": {"message": "nope"}},
    )
    config = {"mcpServers": {"web": {"url": http_toolbox, "headers": {"X-Test": "1"}}}}
    with trio.fail_after(60):
        async with open_servers(config) as servers:
            result = await EagerExecutor(servers).execute(workflow)
    assert result["b"].output == {"result": "over http"}
    assert result["c"].error is not None and result["c"].error.code is ErrorCode.TOOL_ERROR


def test_no_test_left_a_server_behind() -> None:
    # Every marker above is unique; this guards against a leak of the plain toolbox. Only this
    # process's children: other test processes (pytest-xdist's workers) run toolboxes of their own.
    leftovers = [pid for pid in processes_with(TOOLBOX, parent=os.getpid()) if pid != os.getpid()]
    assert leftovers == []


async def test_a_tool_that_never_answers_is_ended_by_its_timeout() -> None:
    workflow = wf(
        {"id": "hang", "tool": "box:hang", "timeout": 1.0},
        *({"id": f"s{i}", "tool": "box:sleep", "arguments": {"seconds": 0.1}} for i in range(3)),
        {"id": "after", "tool": "box:echo", "arguments": {"text": "still here"}, "depends_on": ["hang"],
         "trigger": "all_done"},
    )  # fmt: skip
    with trio.fail_after(30):
        async with open_servers({"mcpServers": {"box": toolbox()}}) as servers:
            result = await EagerExecutor(servers).execute(workflow)
    hang = result["hang"]
    assert hang.status is TaskStatus.ERROR and hang.error is not None
    assert (hang.error.code, hang.error.message) == (ErrorCode.TIMEOUT, "no answer within 1 s")
    assert hang.duration is not None and 1.0 - 1e-6 <= hang.duration < 10  # ended by its timeout, not later
    # The other calls on the same session were not held back: they ended while it hung...
    for i in range(3):
        s = result[f"s{i}"]
        assert s.output == {"slept": 0.1, "value": ""}
        assert s.finished_at is not None and hang.finished_at is not None and s.finished_at < hang.finished_at
    # ...and the session still works after the abandoned call.
    assert result["after"].output == {"result": "still here"}
