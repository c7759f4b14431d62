"""The MCP transport against servers that misbehave: stray bytes, error replies, lost calls, leftover processes.

Real servers over real stdio and HTTP: the SDK toolbox, and a raw JSON-RPC
script (``tests/servers/raw.py``) that misbehaves on purpose.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
import trio

from dagexec import EagerExecutor, ErrorCode, LocalTools, TaskError, TaskStatus
from dagexec.servers import open_servers

from .helpers import ENV, RAW, TOOLBOX, processes_with, raw, serving_http, toolbox, wf, write


def ending(result: Any) -> dict[str, tuple[TaskStatus, Any]]:
    """Each task's status, and its output or its error."""
    return {r.task_id: (r.status, r.output if r.error is None else r.error) for r in result.results}


# -- bytes that are not UTF-8 --------------------------------------------------------------


@pytest.mark.parametrize(
    ("noise", "expected"),
    [
        ("line", (TaskStatus.SUCCESS, "hi")),
        ("prefix", (TaskStatus.SUCCESS, "hi")),
        ("between", (TaskStatus.SUCCESS, "hi")),
        ("suffix", (TaskStatus.SUCCESS, "hi")),
        (
            "inside",
            (
                TaskStatus.ERROR,
                TaskError(ErrorCode.SERVER_ERROR, "server 'r' lost the call: its reply was not valid UTF-8"),
            ),
        ),
        ("only", (TaskStatus.ERROR, TaskError(ErrorCode.TIMEOUT, "no answer within 1 s"))),
    ],
)
async def test_a_byte_that_is_not_utf8_costs_at_most_its_message(noise: str, expected: tuple[Any, Any]) -> None:
    # Noise around a reply (on its own line, before it, between its tokens, after it) is
    # dropped and the reply counts; inside the reply's text it lost that call; instead of
    # a reply it is a call with no answer, which its timeout ends. Either way the
    # server goes on answering, and so does every other server.
    workflow = wf(
        {"id": "noisy", "tool": "r:noisy", "arguments": {"text": "hi", "noise": noise}, "timeout": 1},
        {"id": "after", "tool": "r:echo", "arguments": {"text": "still here"}, "depends_on": ["noisy"],
         "trigger": "all_done"},
        {"id": "other", "tool": "box:echo", "arguments": {"text": "elsewhere"}},
    )  # fmt: skip
    with trio.fail_after(60):
        async with open_servers({"mcpServers": {"r": raw(), "box": toolbox()}}) as servers:
            result = await EagerExecutor(servers).execute(workflow)
    assert ending(result) == {
        "noisy": expected,
        "after": (TaskStatus.SUCCESS, "still here"),
        "other": (TaskStatus.SUCCESS, {"result": "elsewhere"}),
    }


# -- error replies and failed transports ---------------------------------------------------


@pytest.mark.parametrize(
    ("script", "over"),
    [
        (TOOLBOX, "stdio"),
        (TOOLBOX, "http"),
        (RAW, "stdio"),
        (RAW, "http"),
        # The SDK's client leaves its SSE readers to the garbage collector when it closes, and trio's
        # finalizer reports each as unraisable: the client's, not dagexec's (see test_serve's HTTP test).
        pytest.param(
            RAW, "http-sse", marks=pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
        ),
    ],
    ids=["sdk-stdio", "sdk-http", "raw-stdio", "raw-http", "raw-http-sse"],
)
async def test_an_error_reply_of_code_32000_is_the_tool_failing(script: str, over: str) -> None:
    # -32000 is many servers' generic error, and the SDK's code for a closed connection.
    workflow = wf(
        {"id": "busy", "tool": "s:refuse", "arguments": {"code": -32000, "message": "busy, try later"}},
        {"id": "other", "tool": "s:refuse", "arguments": {"code": -32099, "message": "no quota"}},
        {"id": "next", "tool": "s:echo", "arguments": {"text": "fine"}, "depends_on": ["busy"], "trigger": "all_done"},
    )
    with trio.fail_after(60):
        if over == "stdio":
            entry = {"command": sys.executable, "args": [script]}
            async with open_servers({"mcpServers": {"s": entry}}) as servers:
                result = await EagerExecutor(servers).execute(workflow)
        else:
            with serving_http(script, over) as (url, _):
                async with open_servers({"mcpServers": {"s": {"url": url}}}) as servers:
                    result = await EagerExecutor(servers).execute(workflow)
    assert ending(result) == {
        "busy": (TaskStatus.ERROR, TaskError(ErrorCode.TOOL_ERROR, "error reply -32000: busy, try later")),
        "other": (TaskStatus.ERROR, TaskError(ErrorCode.TOOL_ERROR, "error reply -32099: no quota")),
        "next": (TaskStatus.SUCCESS, {"result": "fine"} if script == TOOLBOX else "fine"),
    }


async def test_a_dropped_response_stream_fails_its_call_and_the_server_goes_on() -> None:
    workflow = wf(
        {"id": "drop", "tool": "h:drop"},
        {"id": "next", "tool": "h:echo", "arguments": {"text": "fine"}, "depends_on": ["drop"], "trigger": "all_done"},
    )
    with trio.fail_after(60), serving_http(RAW) as (url, _):
        async with open_servers({"mcpServers": {"h": {"url": url}}}) as servers:
            result = await EagerExecutor(servers).execute(workflow)
    drop = result["drop"]
    assert drop.status is TaskStatus.ERROR and drop.error is not None
    assert drop.error.code is ErrorCode.SERVER_ERROR
    assert drop.error.message.startswith("server 'h' lost the call: ")  # then the SDK's own words for the drop
    assert ending(result)["next"] == (TaskStatus.SUCCESS, "fine")


async def test_a_closed_connection_fails_the_calls_in_flight_and_later_ones() -> None:
    # Over stdio: the server exits in the middle of two calls.
    workflow = wf(
        {"id": "long", "tool": "box:sleep", "arguments": {"seconds": 30}},
        {"id": "die", "tool": "box:die", "arguments": {"after": 0.3}},
        {"id": "later", "tool": "box:echo", "arguments": {"text": "x"}, "depends_on": ["die"], "trigger": "all_done"},
    )
    with trio.fail_after(30):
        async with open_servers({"mcpServers": {"box": toolbox()}}) as servers:
            result = await EagerExecutor(servers).execute(workflow)
    exited = TaskError(ErrorCode.SERVER_ERROR, "server 'box' failed: it exited with code 3")
    assert ending(result) == {
        "long": (TaskStatus.ERROR, exited),
        "die": (TaskStatus.ERROR, exited),
        "later": (TaskStatus.ERROR, exited),
    }


async def test_an_http_server_that_dies_fails_the_call_in_flight_as_a_server_error() -> None:
    with serving_http(TOOLBOX) as (url, proc):

        async def kill() -> str:
            await trio.sleep(1.0)  # the long call is in flight by now
            proc.kill()
            return "killed"

        workflow = wf(
            {"id": "long", "tool": "h:sleep", "arguments": {"seconds": 30}},
            {"id": "kill", "tool": "py:kill"},
        )
        with trio.fail_after(60):
            async with open_servers({"mcpServers": {"h": {"url": url}}}) as servers:
                result = await EagerExecutor({**servers, "py": LocalTools({"kill": kill})}).execute(workflow)
    assert ending(result) == {
        "long": (TaskStatus.ERROR, TaskError(ErrorCode.SERVER_ERROR, "server 'h' failed: the connection closed")),
        "kill": (TaskStatus.SUCCESS, "killed"),
    }


# -- processes a server started ------------------------------------------------------------


async def spawn_two(servers: Any) -> list[int]:
    """Have server ``r`` start two sleeping children, one of them in a session of its own."""
    return [await servers["r"].call_tool("spawn", {"escape": escape}) for escape in (False, True)]


async def test_processes_a_server_started_end_with_the_run() -> None:
    marker = f"marker-{uuid.uuid4()}"
    with trio.fail_after(60):
        async with open_servers({"mcpServers": {"r": raw(marker)}}) as servers:
            spawned = await spawn_two(servers)
            assert len(processes_with(marker)) == 3  # the server and its two children
            assert set(spawned) < set(processes_with(marker))
    assert processes_with(marker) == []


async def test_processes_a_server_started_end_when_the_run_is_cancelled() -> None:
    marker = f"marker-{uuid.uuid4()}"
    with trio.fail_after(60), trio.CancelScope() as scope:
        async with open_servers({"mcpServers": {"r": raw(marker)}}) as servers:
            spawned = await spawn_two(servers)
            assert set(spawned) < set(processes_with(marker))
            async with trio.open_nursery() as nursery:
                nursery.start_soon(EagerExecutor(servers).execute, wf({"id": "never", "tool": "r:drop"}))
                await trio.sleep(0.5)  # the call that never answers is in flight
                scope.cancel()
    assert scope.cancelled_caught
    assert processes_with(marker) == []


def test_processes_a_server_started_end_when_the_cli_is_interrupted(tmp_path: Path) -> None:
    marker = f"marker-{uuid.uuid4()}"
    workflow = write(
        tmp_path / "wf.json",
        {"tasks": [{"id": "a", "tool": "r:spawn"}, {"id": "b", "tool": "r:spawn", "arguments": {"escape": True}},
                   {"id": "never", "tool": "r:drop", "depends_on": ["a", "b"]}]},
    )  # fmt: skip
    servers = write(tmp_path / "servers.json", {"mcpServers": {"r": raw(marker)}})
    proc = subprocess.Popen(
        [sys.executable, "-m", "dagexec", "run", workflow, "--servers", servers],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=ENV,
    )
    deadline = time.monotonic() + 30
    while len(processes_with(marker)) < 3 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert len(processes_with(marker)) == 3  # the server and its two children
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr
    assert processes_with(marker) == []
