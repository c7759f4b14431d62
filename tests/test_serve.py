"""``dagexec serve``: dagexec as an MCP server, driven by the SDK's real client over real stdio."""

from __future__ import annotations

import enum
import hashlib
import json
import platform
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import httpx2
import jsonschema
import mcp_types
import pytest
import trio
import trio.testing
from mcp import Client, StdioServerParameters
from mcp.client.streamable_http import streamable_http_client

from dagexec import DagexecError, LocalTools, SchemaError, ServerError, Workflow, check_journal, workflow_schema
from dagexec.serve import open_gateway, proxy_names

from .helpers import ENV, EXAMPLES, announced, dagexec, journal_fills_up, processes_with, sleep, t, toolbox, write

# -- the schema ----------------------------------------------------------------------------

TASK = {"id": "a", "tool": "s:t"}

#: Documents whose shape is right: the schema and Workflow.from_dict accept them.
ACCEPTED: list[Any] = [
    {"tasks": []},
    {"tasks": [TASK]},
    {"tasks": [{"id": "a:b c", "tool": "s:t:u", "arguments": {"x": [1, {"y": None}]}, "depends_on": []}]},
    {"tasks": [TASK, {"id": "b", "tool": "s:t", "depends_on": ["a"], "trigger": "all_done"}]},
    {"tasks": [{**TASK, "timeout": 0.5, "retries": 0, "estimate": 0, "approval": True}]},
    {"tasks": [{**TASK, "timeout": None, "retries": None, "trigger": "all_success", "estimate": 3}]},
    {"tasks": [{**TASK, "tool": "s:multi\nline"}]},
]

#: Documents of the wrong shape: both refuse them.
REFUSED: list[Any] = [
    [],
    "tasks",
    {},
    {"tasks": {}},
    {"tasks": [], "name": "x"},
    {"tasks": ["a"]},
    {"tasks": [{"id": "a"}]},
    {"tasks": [{"tool": "s:t"}]},
    {"tasks": [{**TASK, "id": ""}]},
    {"tasks": [{**TASK, "id": "a[0]"}]},
    {"tasks": [{**TASK, "id": 1}]},
    {"tasks": [{**TASK, "tool": "st"}]},
    {"tasks": [{**TASK, "tool": ":t"}]},
    {"tasks": [{**TASK, "tool": "s:"}]},
    {"tasks": [{**TASK, "arguments": []}]},
    {"tasks": [{**TASK, "depends_on": "b"}]},
    {"tasks": [{**TASK, "depends_on": [1]}]},
    {"tasks": [{**TASK, "timeout": 0}]},
    {"tasks": [{**TASK, "timeout": "1"}]},
    {"tasks": [{**TASK, "timeout": True}]},
    {"tasks": [{**TASK, "retries": -1}]},
    {"tasks": [{**TASK, "retries": 1.5}]},
    {"tasks": [{**TASK, "retries": True}]},
    {"tasks": [{**TASK, "trigger": "any"}]},
    {"tasks": [{**TASK, "trigger": None}]},
    {"tasks": [{**TASK, "estimate": -1}]},
    {"tasks": [{**TASK, "estimate": None}]},
    {"tasks": [{**TASK, "approval": "yes"}]},
    {"tasks": [{**TASK, "approval": None}]},
    {"tasks": [{**TASK, "extra": 1}]},
]


def _schema_accepts(document: Any) -> bool:
    return jsonschema.Draft202012Validator(workflow_schema()).is_valid(document)


def _shape_accepted(document: Any) -> bool:
    """Whether ``Workflow.from_dict`` finds the document's shape right (graph checks aside)."""
    try:
        Workflow.from_dict(document)
    except SchemaError:
        return False
    except DagexecError:  # a graph problem: the shape was right
        return True
    return True


def test_schema_is_a_valid_draft_2020_12_schema() -> None:
    jsonschema.Draft202012Validator.check_schema(workflow_schema())


@pytest.mark.parametrize("document", ACCEPTED)
def test_schema_and_from_dict_accept_the_same_documents(document: Any) -> None:
    assert (_schema_accepts(document), _shape_accepted(document)) == (True, True)


@pytest.mark.parametrize("document", REFUSED)
def test_schema_and_from_dict_refuse_the_same_documents(document: Any) -> None:
    assert (_schema_accepts(document), _shape_accepted(document)) == (False, False)


def test_schema_leaves_the_graph_to_from_dict() -> None:
    """A cycle, a duplicate id, an unknown dependency: the schema cannot see them; from_dict refuses them."""
    for document, message in [
        (
            {"tasks": [{"id": "a", "tool": "s:t", "depends_on": ["a"]}]},
            "invalid plan (1 problem):\n  task 'a': depends_on[0]: tasks form a cycle: a -> a (the task depends on itself)",
        ),
        ({"tasks": [TASK, TASK]}, "invalid plan (1 problem):\n  task 'a': id: used by 2 tasks (tasks[0], tasks[1])"),
        (
            {"tasks": [{**TASK, "arguments": {"x": "$OUTPUT[b]"}}]},
            "invalid plan (1 problem):\n  task 'a': arguments: $OUTPUT[b] names unknown task 'b'",
        ),
    ]:
        assert _schema_accepts(document)
        with pytest.raises(DagexecError) as caught:
            Workflow.from_dict(document)
        assert str(caught.value) == message


def test_schema_command_prints_the_schema() -> None:
    done = dagexec("schema")
    assert (done.returncode, done.stderr) == (0, "")
    assert json.loads(done.stdout) == workflow_schema()


# -- the gateway over stdio ----------------------------------------------------------------


def _servers(tmp_path: Path, marker: str = "") -> str:
    return write(tmp_path / "servers.json", {"mcpServers": {"box": toolbox(marker)}})


@asynccontextmanager
async def gateway(
    servers: str, *, mode: str = "legacy", options: dict[str, Any] | None = None, **client_options: Any
) -> AsyncIterator[Client]:
    """The gateway in this process, as ``dagexec serve`` opens it, and the SDK's client on its server object.

    The client talks to the gateway's server in memory (``mode="legacy"``: the
    initialize handshake, in which the server may ask the client questions);
    ``options`` go to the gateway (``server_limits``, ``approve_all``...).
    What only a process shows (stdio framing, flags, signals, exit status) is
    tested with :func:`gateway_process` and the tests at the end.
    """
    async with open_gateway(servers, **(options or {})) as opened, Client(
        opened.server, mode=mode, **client_options
    ) as client:
        yield client


@asynccontextmanager
async def gateway_process(servers: str, *args: str, **client_options: Any) -> AsyncIterator[Client]:
    """A real ``dagexec serve ARGS`` process, and the SDK's client connected to it over stdio (legacy mode)."""
    params = StdioServerParameters(
        command=sys.executable, args=["-m", "dagexec", "serve", "--servers", servers, *args], env=ENV, cwd=EXAMPLES
    )
    async with Client(params, mode="legacy", **client_options) as client:
        yield client


def _text(result: Any) -> list[str]:
    return [block.text for block in result.content]


async def test_gateway_offers_run_workflow_with_the_schema_and_every_tool(tmp_path: Path) -> None:
    async with gateway(_servers(tmp_path)) as client:
        tools = (await client.list_tools()).tools
    assert [tool.name for tool in tools] == ["run_workflow", *(f"box__{name}" for name in BOX_TOOLS)]
    assert tools[0].input_schema == workflow_schema()
    lines = tools[0].description.splitlines()
    assert lines[2] == "Tools (server:tool (arguments, ? = optional): what it does):"
    assert lines[3:] == [
        "- box:sleep (seconds, value?): Sleep, then answer with structured content.",
        "- box:meet (group, size, value?, timeout?): Answer only once ``size`` calls of ``group`` are in flight "
        "at once: proof that calls overlap.",
        "- box:sleep_marked (path, seconds): Create the file ``path`` -- proof that the call started -- then sleep.",
        '- box:watched (path, seconds): Write "started" to the file ``path``, sleep, then "finished" -- or '
        '"cancelled" if the call was cancelled.',
        '- box:echo (text): Answer with the text (structured as {"result": text}).',
        "- box:plain (text): Answer with unstructured text content only.",
        "- box:as_json (n): Answer with unstructured content that is JSON text.",
        "- box:fail (message): Fail with a tool error (an error result).",
        "- box:refuse (code, message): Answer with a JSON-RPC error reply (not an error result) of this code.",
        "- box:die (after?): Kill this server's own process in the middle of the call.",
        "- box:hang (): Never answer.",
        '- box:env (name): The value of this server\'s environment variable ``name`` ("" if unset).',
        "- box:trace_context (): The trace the call arrived in, as the server sees it (the W3C trace context in "
        "the request's ``_meta``).",
        "- box:pid (): This server's process id.",
    ]


BOX_TOOLS = [
    "sleep",
    "meet",
    "sleep_marked",
    "watched",
    "echo",
    "plain",
    "as_json",
    "fail",
    "refuse",
    "die",
    "hang",
    "env",
    "trace_context",
    "pid",
]

PLAN = {
    "tasks": [
        {"id": "a", "tool": "box:echo", "arguments": {"text": "hi"}},
        {"id": "b", "tool": "box:echo", "arguments": {"text": "$OUTPUT[a].result!"}},
        {"id": "c", "tool": "box:fail", "arguments": {"message": "no"}},
        {"id": "d", "tool": "box:echo", "arguments": {"text": "$OUTPUT[c].result"}},
        {"id": "p", "tool": "box:pid"},
    ]
}


async def test_gateway_runs_plans_on_servers_started_once(tmp_path: Path) -> None:
    async with gateway(_servers(tmp_path)) as client:
        first = await client.call_tool("run_workflow", PLAN)
        second = await client.call_tool("run_workflow", PLAN)
    data = first.structured_content
    assert first.is_error is False
    # The same JSON as `dagexec run --json`, as structured content and as the second text block.
    assert json.loads(_text(first)[1]) == data
    assert set(data) == {
        "strategy", "ok", "wall_time", "speedup", "parallelization_layers", "generations", "critical_path",
        "critical_path_time", "results", "errors", "counts", "stop_reason",
    }  # fmt: skip
    assert (data["strategy"], data["ok"], data["errors"]) == ("eager", False, ["c", "d"])
    outcomes = {r["task_id"]: (r["status"], r["output"], r["error"]) for r in data["results"]}
    pid = outcomes.pop("p")[1]
    assert outcomes == {
        "a": ("success", {"result": "hi"}, None),
        "b": ("success", {"result": "hi!"}, None),
        "c": ("error", None, {"code": "tool_error", "message": "Error executing tool fail: no"}),
        "d": (
            "skipped",
            None,
            {"code": "dependency_failed", "message": "depends on 'c', which ended error (tool_error)"},
        ),
    }
    summary = _text(first)[0].splitlines()
    assert summary[0].startswith("5 tasks: 3 success, 1 error, 1 skipped; ")
    assert summary[1:] == [
        "task 'c' error: tool_error: Error executing tool fail: no",
        "task 'd' skipped: dependency_failed: depends on 'c', which ended error (tool_error)",
    ]
    # Every request shares the servers: the same process answered both runs.
    assert isinstance(pid["result"], int)
    assert [r["output"] for r in second.structured_content["results"] if r["task_id"] == "p"] == [pid]


#: The toolbox's tools, as a problem lists them (the first twelve).
BOX = "(server 'box' has: as_json, die, echo, env, fail, hang, meet, pid, plain, refuse, sleep, sleep_marked and 2 more)"


async def test_gateway_refuses_invalid_plans_and_runs_nothing(tmp_path: Path) -> None:
    marker = tmp_path / "started"
    first = {"id": "first", "tool": "box:sleep_marked", "arguments": {"path": str(marker), "seconds": 0}}
    bad_plans = {
        "a cycle": (
            {"tasks": [first, {"id": "x", "tool": "box:echo", "depends_on": ["y"]},
                       {"id": "y", "tool": "box:echo", "depends_on": ["x"]}]},
            # Every problem, of every kind: the cycle, and the arguments the tools' schemas require.
            "invalid plan (3 problems):\n  task 'x': depends_on: tasks form a cycle: x -> y -> x\n"
            "  task 'x': arguments.text: missing (required)\n  task 'y': arguments.text: missing (required)",
        ),
        "an unknown tool": (
            {"tasks": [first, {"id": "x", "tool": "box:nope"}]},
            f"invalid plan (1 problem):\n  task 'x': tool: unknown tool 'box:nope' {BOX}",
        ),
        "an unknown server": (
            {"tasks": [first, {"id": "x", "tool": "web:get"}]},
            "invalid plan (1 problem):\n  task 'x': tool: unknown server 'web' (servers: box)",
        ),
        "a bad reference": (
            {"tasks": [first, {"id": "x", "tool": "box:echo", "arguments": {"text": "$OUTPUT[zz]"}}]},
            "invalid plan (1 problem):\n  task 'x': arguments: $OUTPUT[zz] names unknown task 'zz'",
        ),
        "arguments that do not fit the tools' schemas": (
            {"tasks": [first, {"id": "x", "tool": "box:echo", "arguments": {"text": 3}},
                       {"id": "y", "tool": "box:sleep", "arguments": {"value": "$OUTPUT[x].nope"}}]},
            "invalid plan (3 problems):\n"
            "  task 'x': arguments.text: expected a string, got the number 3\n"
            "  task 'y': arguments.seconds: missing (required)\n"
            "  task 'y': arguments.value: $OUTPUT[x].nope: the output of 'box:echo' has no property 'nope' (its properties: result)",
        ),
        "a bad shape": (
            {"tasks": [first, {"id": "x", "tool": "box:echo", "depends_on": "y", "approval": "no"}]},
            "invalid plan (2 problems):\n  task 'x': depends_on: expected an array, got string 'y'\n"
            "  task 'x': approval: expected true or false, got string 'no'",
        ),
    }  # fmt: skip
    async with gateway(_servers(tmp_path)) as client:
        answers = {name: await client.call_tool("run_workflow", plan) for name, (plan, _) in bad_plans.items()}
        unknown = await client.call_tool("run", {})
        deep: Any = "x"
        for _ in range(101):
            deep = [deep]
        bad_direct = await client.call_tool("box__echo", {"text": deep})
    for name, (_, message) in bad_plans.items():
        assert (answers[name].is_error, _text(answers[name])) == (True, [message]), name
    assert answers["a cycle"].structured_content == {
        "ok": False,
        "problems": [
            "task 'x': depends_on: tasks form a cycle: x -> y -> x",
            "task 'x': arguments.text: missing (required)",
            "task 'y': arguments.text: missing (required)",
        ],
    }  # fmt: skip
    assert answers["arguments that do not fit the tools' schemas"].structured_content["problems"] == [
        "task 'x': arguments.text: expected a string, got the number 3",
        "task 'y': arguments.seconds: missing (required)",
        "task 'y': arguments.value: $OUTPUT[x].nope: the output of 'box:echo' has no property 'nope' (its properties: result)",
    ]
    assert answers["a bad shape"].structured_content["problems"] == [
        "task 'x': depends_on: expected an array, got string 'y'",
        "task 'x': approval: expected true or false, got string 'no'",
    ]
    assert (unknown.is_error, _text(unknown)) == (True, ["unknown tool 'run'"])
    assert (bad_direct.is_error, _text(bad_direct)) == (
        True,
        [
            "invalid plan (1 problem):\n  task 'box__echo': arguments.text: nested deeper than 100 levels"
        ],
    )
    assert not marker.exists()


# -- proxied tools -------------------------------------------------------------------------


def test_proxied_names_fit_what_clients_accept() -> None:
    long = "t" * 70
    assert proxy_names([("box", "echo"), ("s", long), ("a", "b__c"), ("a__b", "c"), ("my.server", "get time")]) == {
        "box__echo": ("box", "echo"),
        "s__" + "t" * 52 + "_19320402": ("s", long),
        "a__b__c_35001e10": ("a", "b__c"),
        "a__b__c_ce06b84b": ("a__b", "c"),
        "my_server__get_time_2eb30152": ("my.server", "get time"),
    }
    # Stable: a tool's name does not depend on the others.
    assert proxy_names([("s", long)]) == {"s__" + "t" * 52 + "_19320402": ("s", long)}


def test_a_shortened_name_never_takes_another_tool_s_natural_name() -> None:
    # "a:b.c" is shortened to "a__b_c_" and 8 digits of its hash; "a:b_c_<those digits>" would be that by nature.
    digits = hashlib.sha256(b"a:b.c").hexdigest()[:8]
    twin = f"b_c_{digits}"
    own = hashlib.sha256(f"a:{twin}".encode()).hexdigest()[:8]
    names = proxy_names([("a", "b.c"), ("a", twin), ("a", "get_12345678"), ("a", "get_1234567")])
    assert names == {
        f"a__b_c_{digits}": ("a", "b.c"),
        f"a__{twin}_{own}": ("a", twin),
        "a__get_12345678_" + hashlib.sha256(b"a:get_12345678").hexdigest()[:8]: ("a", "get_12345678"),
        "a__get_1234567": ("a", "get_1234567"),
    }
    # Each name is the tool's own, whichever of them comes first or alone.
    assert proxy_names([("a", twin), ("a", "b.c")]) == {
        f"a__{twin}_{own}": ("a", twin),
        f"a__b_c_{digits}": ("a", "b.c"),
    }
    assert proxy_names([("a", twin)]) == {f"a__{twin}_{own}": ("a", twin)}


def test_two_tools_whose_hashes_share_8_digits_get_more_digits() -> None:
    # Long names alike in their first 55 characters: only the hash tells them apart. Find two
    # whose hashes begin alike (a birthday search over 8 hex digits: some 10^5 tries).
    seen: dict[str, str] = {}
    for i in range(2_000_000):
        tool = "t" * 60 + str(i)
        digits = hashlib.sha256(f"s:{tool}".encode()).hexdigest()[:8]
        if digits in seen:
            one, two = seen[digits], tool
            break
        seen[digits] = tool
    else:
        raise AssertionError("no two hashes alike in 8 digits")
    names = proxy_names([("s", one), ("s", two), ("s", "t" * 70)])
    assert sorted(names.values()) == sorted([("s", one), ("s", two), ("s", "t" * 70)])
    long_one, long_two = (hashlib.sha256(f"s:{tool}".encode()).hexdigest()[:16] for tool in (one, two))
    assert names[f"s__{'t' * 44}_{long_one}"] == ("s", one)
    assert names[f"s__{'t' * 44}_{long_two}"] == ("s", two)
    assert all(len(name) <= 64 for name in names)


async def test_two_tools_that_once_shared_a_name_are_both_reachable() -> None:
    from dagexec.serve import Gateway

    digits = hashlib.sha256(b"a:b.c").hexdigest()[:8]

    async def dotted() -> str:
        return "dotted"

    async def twin() -> str:
        return "twin"

    gateway_ = Gateway({"a": ListedTools({"b.c": dotted, f"b_c_{digits}": twin})})
    names = [tool.name for tool in gateway_.tools][1:]
    assert len(names) == 2
    answers = [(await gateway_.call(name, {})).content[0] for name in names]
    assert sorted(block.text for block in answers if isinstance(block, mcp_types.TextContent)) == ["dotted", "twin"]


async def test_gateway_offers_each_downstream_tool_directly(tmp_path: Path) -> None:
    async with gateway(_servers(tmp_path)) as client:
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}
        echoed = await client.call_tool("box__echo", {"text": "$OUTPUT[x] stays text"})
        plain = await client.call_tool("box__plain", {"text": "hello"})
        failed = await client.call_tool("box__fail", {"message": "no"})
    echo = tools["box__echo"]
    assert echo.description == 'box:echo through dagexec: Answer with the text (structured as {"result": text}).'
    assert (list(echo.input_schema["properties"]), echo.input_schema["required"]) == (["text"], ["text"])
    assert (echoed.is_error, echoed.structured_content) == (False, {"result": "$OUTPUT[x] stays text"})
    assert _text(echoed) == ['{"result": "$OUTPUT[x] stays text"}']
    assert (plain.is_error, plain.structured_content, _text(plain)) == (False, None, ["hello"])
    assert (failed.is_error, _text(failed)) == (True, ["tool_error: Error executing tool fail: no"])


class ListedTools(LocalTools):
    """Local tools that list their names, as an MCP server does: the gateway proxies them."""

    def __init__(self, tools: dict[str, Any]) -> None:
        super().__init__(tools)
        self.tool_names = frozenset(tools)


async def test_proxied_calls_and_plans_share_the_limits(autojump_clock: trio.testing.MockClock) -> None:
    from dagexec.serve import Gateway

    gateway_ = Gateway({"sim": ListedTools({"sleep": sleep})}, server_limits={"sim": 1})
    assert [tool.name for tool in gateway_.tools] == ["run_workflow", "sim__sleep"]
    ends: dict[str, float] = {}

    async def direct(key: str) -> None:
        result = await gateway_.call("sim__sleep", {"seconds": 1, "value": key})
        assert result.structured_content == {"slept": 1, "value": key}
        ends[key] = trio.current_time()

    async def plan() -> None:
        result = await gateway_.call("run_workflow", {"tasks": [t("p", 1)]})
        assert result.structured_content["ok"] is True
        ends["plan"] = trio.current_time()

    async with trio.open_nursery() as nursery:
        nursery.start_soon(direct, "one")
        nursery.start_soon(direct, "two")
        nursery.start_soon(plan)
    # One call at a time on sim, whoever asks: three calls of 1 s end at 1, 2 and 3.
    assert sorted(ends.values()) == [1, 2, 3]


# -- limits, options and a long life --------------------------------------------------------


async def test_two_runs_at_once_share_the_server_limit(tmp_path: Path) -> None:
    """Two calls that can only succeed together: under box=1 for the whole gateway, they never are together."""

    def plan(value: str) -> dict[str, Any]:
        meet = {"group": "g", "size": 2, "value": value, "timeout": 2}
        return {"tasks": [{"id": "m", "tool": "box:meet", "arguments": meet}]}

    async with gateway(_servers(tmp_path), options={"server_limits": {"box": 1}}) as client:
        results: dict[str, Any] = {}

        async def run(value: str) -> None:
            results[value] = (await client.call_tool("run_workflow", plan(value))).structured_content["results"][0]

        async with trio.open_nursery() as nursery:
            nursery.start_soon(run, "a")
            nursery.start_soon(run, "b")
    # The first to get the slot waits alone and fails; the second then finds the first's arrival counted.
    outcomes = sorted((r["status"], r["error"] and r["error"]["message"]) for r in results.values())
    assert outcomes == [
        ("error", "Error executing tool meet: only 1 of 2 calls of 'g' met within 2 s"),
        ("success", None),
    ]


async def test_a_dead_server_fails_its_tasks_and_starts_again(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    from dagexec.serve import open_gateway

    marker = f"serve-restart-{time.monotonic_ns()}"
    config = {"mcpServers": {"box": toolbox(marker)}}

    def pid_of(answer: Any) -> Any:
        return answer.structured_content["results"][0]["output"]["result"]

    with caplog.at_level("WARNING", logger="dagexec.serve"):
        async with open_gateway(config) as gateway_:
            first = await gateway_.call("run_workflow", {"tasks": [{"id": "p", "tool": "box:pid"}]})
            died = await gateway_.call("run_workflow", {"tasks": [{"id": "d", "tool": "box:die"}]})
            again = await gateway_.call("run_workflow", {"tasks": [{"id": "p", "tool": "box:pid"}]})
            direct = await gateway_.call("box__pid", {})
            assert len(processes_with(marker)) == 1  # the dead one is gone, the new one runs
    [error] = [r["error"] for r in died.structured_content["results"]]
    assert error["code"] == "server_error"
    assert error["message"].startswith("server 'box' failed: ")
    assert pid_of(again) != pid_of(first)
    assert direct.structured_content == {"result": pid_of(again)}
    messages = [record.getMessage() for record in caplog.records]
    assert len(messages) == 2
    assert messages[0].startswith("server 'box' failed (")
    assert messages[0].endswith("): its calls under way failed; it starts again for the next call")
    assert messages[1] == "server 'box' started again"
    assert processes_with(marker) == []


async def test_a_server_that_does_not_start_again_is_tried_later_and_later(caplog: pytest.LogCaptureFixture) -> None:
    from dagexec.mcp import MCPToolServer
    from dagexec.serve import RestartingServer
    from dagexec.servers import StdioServerConfig, open_servers

    broken = StdioServerConfig(command=sys.executable, args=["-c", "raise SystemExit(1)"])
    with caplog.at_level("WARNING", logger="dagexec.serve"):
        async with open_servers({"mcpServers": {"box": toolbox()}}) as servers, trio.open_nursery() as nursery:
            first = servers["box"]
            assert isinstance(first, MCPToolServer)
            box = RestartingServer("box", broken, first, nursery, start_timeout=10)
            failures = []
            waits = []
            for tool in ("die", "pid", "pid", "pid"):
                started = trio.current_time()
                with pytest.raises(ServerError) as caught:
                    await box.call_tool(tool, {})
                waits.append(trio.current_time() - started)
                failures.append(str(caught.value))
            nursery.cancel_scope.cancel()
    assert failures[0] == "server 'box' failed: it exited with code 3"
    assert failures[1:] == ["server 'box' is gone: it exited with code 3; it did not start again"] * 3
    assert [r.getMessage() for r in caplog.records[1:]] == [
        f"server 'box' did not start again: server 'box' did not start: it exited with code 1; "
        f"next try in {delay} s at the earliest"
        for delay in ("0.5", "1", "2")
    ]
    # Each call after a failed start waited for its turn: 0.5 s, then 1 s (never less).
    assert (waits[2] >= 0.45, waits[3] >= 0.95) == (True, True)


async def test_a_journal_keeps_each_plan_under_its_own_name(tmp_path: Path) -> None:
    from dagexec.serve import open_gateway

    journal = tmp_path / "gateway.db"
    one = {"tasks": [{"id": "p", "tool": "box:pid"}]}
    other = {"tasks": [{"id": "p", "tool": "box:pid"}, {"id": "e", "tool": "box:echo", "arguments": {"text": "x"}}]}

    def reused(answer: Any) -> list[bool]:
        return [r["reused"] for r in answer.structured_content["results"]]

    async with open_gateway({"mcpServers": {"box": toolbox()}}, journal=str(journal)) as gateway_:
        first = await gateway_.call("run_workflow", one)
        second = await gateway_.call("run_workflow", {"tasks": [{"tool": "box:pid", "id": "p"}]})  # the same plan
        third = await gateway_.call("run_workflow", other)
        direct = [await gateway_.call("box__echo", {"text": "y"}) for _ in range(2)]
        slow = {"tasks": [{"id": "s", "tool": "box:sleep", "arguments": {"seconds": 0.5}}]}
        twice: list[Any] = []

        async def send() -> None:
            twice.append(await gateway_.call("run_workflow", slow))

        async with trio.open_nursery() as nursery:
            nursery.start_soon(send)
            nursery.start_soon(send)
    assert (reused(first), reused(second), reused(third)) == ([False], [True], [False, False])
    assert second.structured_content["results"][0]["output"] == first.structured_content["results"][0]["output"]
    assert [d.structured_content for d in direct] == [{"result": "y"}, {"result": "y"}]
    # The same plan twice at once: the second is refused, as its run name is in use.
    [refused] = [answer for answer in twice if answer.is_error]
    slow_name = (
        "plan-"
        + hashlib.sha256(json.dumps(Workflow.from_dict(slow).to_dict(), sort_keys=True).encode()).hexdigest()[:16]
    )
    assert _text(refused) == [
        f"the plan cannot run now, nothing ran: journal {str(journal)!r} is in use by another run named "
        f"{slow_name!r} in this process"
    ]
    with sqlite3.connect(journal) as db:
        names = sorted(name for (name,) in db.execute("SELECT DISTINCT run_name FROM finished"))
    db.close()
    assert [name.split("-")[0] for name in names].count("plan") == 3
    assert [name.split("-")[0] for name in names].count("call") == 2


#: Three chains of ten echoes of a page each: a full journal stops the run with calls in flight.
FILLING = {"tasks": [
    {"id": f"t{i}", "tool": "box:echo", "arguments": {"text": f"{i}" + "x" * 3000}, "depends_on": [f"t{i - 3}"][: i // 3]}
    for i in range(30)
]}  # fmt: skip


async def test_a_full_journal_is_a_normal_answer_that_says_so(tmp_path: Path) -> None:
    journal = tmp_path / "gateway.db"
    await check_journal(journal)
    with journal_fills_up(pages=5):
        async with gateway(_servers(tmp_path), options={"journal": str(journal)}) as client:
            answer = await client.call_tool("run_workflow", FILLING)
    assert answer.is_error is False
    data = answer.structured_content
    failed = f"the journal failed, the run was stopped: cannot write the journal {str(journal)!r}: "
    assert data["journal_error"].startswith(failed)
    assert _text(answer)[0].startswith(failed)  # the summary's first line
    assert json.loads(_text(answer)[1]) == data
    statuses = [r["status"] for r in data["results"]]
    assert len(statuses) == 30 and set(statuses) == {"success", "cancelled"}
    assert data["ok"] is False


# -- approval ------------------------------------------------------------------------------

APPROVAL_PLAN = {
    "tasks": [
        {"id": "free", "tool": "box:echo", "arguments": {"text": "a"}},
        {"id": "gated", "tool": "box:echo", "arguments": {"text": "$OUTPUT[free].result"}, "approval": True},
    ]
}


def _answering(action: str, asked: list[str]) -> Any:
    async def answer(context: Any, params: mcp_types.ElicitRequestParams) -> mcp_types.ElicitResult:
        asked.append(params.message)
        return mcp_types.ElicitResult(action=action, content={} if action == "accept" else None)

    return answer


@pytest.mark.parametrize(
    ("action", "outcome"),
    [
        ("accept", ("success", {"result": "a"}, None)),
        ("decline", ("skipped", None, {"code": "rejected", "message": "declined by the person"})),
        ("cancel", ("skipped", None, {"code": "rejected", "message": "the person cancelled the question"})),
    ],
)
async def test_approval_asks_the_person_through_the_client(tmp_path: Path, action: str, outcome: Any) -> None:
    asked: list[str] = []
    async with gateway(_servers(tmp_path), elicitation_callback=_answering(action, asked)) as client:
        result = await client.call_tool("run_workflow", APPROVAL_PLAN)
    assert asked == ["""dagexec: may task 'gated' call box:echo with {"text": "a"}?"""]
    by_id = {r["task_id"]: (r["status"], r["output"], r["error"]) for r in result.structured_content["results"]}
    assert by_id == {"free": ("success", {"result": "a"}, None), "gated": outcome}


async def test_the_question_shows_every_argument_however_long_the_one_before(tmp_path: Path) -> None:
    """A value padded past any length cut leaves the next argument in view: each is shown by its name."""
    note = "a friendly note" + " " * 2000
    plan = {"tasks": [{"id": "note", "tool": "box:echo", "arguments": {"text": note, "path": "/root/.ssh/authorized_keys"},
                       "approval": True}]}  # fmt: skip
    asked: list[str] = []
    async with gateway(_servers(tmp_path), elicitation_callback=_answering("decline", asked)) as client:
        await client.call_tool("run_workflow", plan)
    assert asked == [
        "dagexec: may task 'note' call box:echo with "
        '{"text": "a friendly note\u27e82,000 spaces\u27e9", "path": "/root/.ssh/authorized_keys"}?'
    ]


async def test_approve_all_asks_before_every_call(tmp_path: Path) -> None:
    asked: list[str] = []
    answer = _answering("accept", asked)
    async with gateway(_servers(tmp_path), options={"approve_all": True}, elicitation_callback=answer) as client:
        result = await client.call_tool("box__echo", {"text": "b"})
    assert asked == ["""dagexec: may task 'box__echo' call box:echo with {"text": "b"}?"""]
    assert result.structured_content == {"result": "b"}


async def test_a_serve_process_over_stdio_takes_its_flags_asks_and_runs(tmp_path: Path) -> None:
    """The process twin of the in-memory tests: stdio framing, --approve-all and --server-limit, a plan, a question."""
    asked: list[str] = []
    async with gateway_process(
        _servers(tmp_path), "--approve-all", "--server-limit", "box=1", elicitation_callback=_answering("accept", asked)
    ) as client:
        tools = (await client.list_tools()).tools
        result = await client.call_tool("run_workflow", PLAN)
        meets = {"tasks": [{"id": m, "tool": "box:meet", "arguments": {"group": "g", "size": 2, "timeout": 0.2}}
                           for m in ("m1", "m2")]}  # fmt: skip
        limited = await client.call_tool("run_workflow", meets)
    assert [tool.name for tool in tools] == ["run_workflow", *(f"box__{name}" for name in BOX_TOOLS)]
    assert (result.structured_content["ok"], result.structured_content["errors"]) == (False, ["c", "d"])
    meet = '{"group": "g", "size": 2, "timeout": 0.2}'
    assert sorted(asked) == [
        """dagexec: may task 'a' call box:echo with {"text": "hi"}?""",
        """dagexec: may task 'b' call box:echo with {"text": "hi!"}?""",
        """dagexec: may task 'c' call box:fail with {"message": "no"}?""",
        f"dagexec: may task 'm1' call box:meet with {meet}?",
        f"dagexec: may task 'm2' call box:meet with {meet}?",
        "dagexec: may task 'p' call box:pid with {}?",
    ]
    # box=1: of two calls that can only succeed together, the first waits alone and fails.
    assert sorted(r["status"] for r in limited.structured_content["results"]) == ["error", "success"]


@pytest.mark.parametrize("mode", ["legacy", "auto"])
async def test_a_plan_that_needs_approval_is_refused_when_the_client_cannot_ask(tmp_path: Path, mode: str) -> None:
    """Without elicitation (legacy), or on the 2026-07-28 protocol, where a server may not send requests (auto)."""
    marker = tmp_path / "started"
    plan = {
        "tasks": [
            {"id": "first", "tool": "box:sleep_marked", "arguments": {"path": str(marker), "seconds": 0}},
            {"id": "gated", "tool": "box:echo", "arguments": {"text": "x"}, "approval": True},
        ]
    }
    asked: list[str] = []
    callback = _answering("accept", asked) if mode == "auto" else None
    async with gateway(_servers(tmp_path), mode=mode, elicitation_callback=callback) as client:
        result = await client.call_tool("run_workflow", plan)
    assert (result.is_error, _text(result)) == (
        True,
        [
            "invalid plan (1 problem):\n  task 'gated': approval: the task needs approval, and the client cannot ask "
            "the person (it offers no elicitation on this connection)"
        ],
    )
    assert (asked, marker.exists()) == ([], False)


# -- progress and cancellation ------------------------------------------------------------


async def test_gateway_reports_each_task_as_progress(tmp_path: Path) -> None:
    chain = {
        "tasks": [
            {"id": "a", "tool": "box:echo", "arguments": {"text": "hi"}},
            {"id": "b", "tool": "box:echo", "arguments": {"text": "$OUTPUT[a].result"}},
            {"id": "c", "tool": "box:fail", "arguments": {"message": "no"}, "depends_on": ["b"]},
            {"id": "d", "tool": "box:echo", "arguments": {"text": "$OUTPUT[c].result"}},
        ]
    }
    reports: list[tuple[float, float | None, str | None]] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        reports.append((progress, total, message))

    async with gateway(_servers(tmp_path)) as client:
        result = await client.call_tool("run_workflow", chain, progress_callback=on_progress)
        silent = await client.call_tool("run_workflow", chain)  # no progress token: no notification
        with trio.fail_after(10):  # the client hands each notification to its own task
            while len(reports) < 4:
                await trio.sleep(0.01)
    assert (result.is_error, silent.is_error) == (False, False)
    assert sorted(reports) == [(1, 4, "a: success"), (2, 4, "b: success"), (3, 4, "c: error"), (4, 4, "d: skipped")]


def _lines_of(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


async def test_a_cancelled_request_stops_its_run_and_the_gateway_serves_on(tmp_path: Path) -> None:
    one, two = tmp_path / "one.log", tmp_path / "two.log"
    plan = {
        "tasks": [
            {"id": "one", "tool": "box:watched", "arguments": {"path": str(one), "seconds": 60}},
            {"id": "two", "tool": "box:watched", "arguments": {"path": str(two), "seconds": 60}},
            {"id": "after", "tool": "box:echo", "arguments": {"text": "$OUTPUT[one].result"}},
        ]
    }
    async with gateway(_servers(tmp_path)) as client:
        with trio.CancelScope() as scope:

            async def cancel_once_started() -> None:
                with trio.fail_after(30):
                    while not (_lines_of(one) and _lines_of(two)):
                        await trio.sleep(0.02)
                scope.cancel()

            async with trio.open_nursery() as nursery:
                nursery.start_soon(cancel_once_started)
                await client.call_tool("run_workflow", plan)
        assert scope.cancelled_caught
        # Both calls in flight were cancelled downstream (not left to run their 60 s).
        with trio.fail_after(10):
            while not (len(_lines_of(one)) == 2 and len(_lines_of(two)) == 2):
                await trio.sleep(0.02)
        assert (_lines_of(one), _lines_of(two)) == (["started", "cancelled"], ["started", "cancelled"])
        # And the gateway serves on.
        again = await client.call_tool(
            "run_workflow", {"tasks": [{"id": "x", "tool": "box:echo", "arguments": {"text": "ok"}}]}
        )
    assert [r["output"] for r in again.structured_content["results"]] == [{"result": "ok"}]


async def test_a_cancelled_run_ends_every_task_through_the_core_stop(autojump_clock: trio.testing.MockClock) -> None:
    """In-process, in virtual time: the caller's cancellation is Run.stop, so every task still reports its end."""
    from dagexec.serve import Gateway

    gateway_ = Gateway({"sim": LocalTools({"sleep": sleep})})
    reports: list[tuple[float, float | None, str | None]] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        reports.append((progress, total, message))

    plan = {"tasks": [t("quick", 1), t("slow", 10), t("next", 1, "slow")]}
    with trio.move_on_after(5):
        await gateway_.run_workflow(plan, progress=on_progress)
    assert trio.current_time() == 5
    assert reports == [(1, 3, "quick: success"), (2, 3, "next: cancelled"), (3, 3, "slow: cancelled")]


# -- HTTP, and who may call it ---------------------------------------------------------------

INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}},
}


@contextmanager
def serving_gateway_http(
    tmp_path: Path, marker: str, *args: str, token: str | None = "s3cret"
) -> Iterator[tuple[str, str, subprocess.Popen[str]]]:
    """``dagexec serve --http 127.0.0.1:0``; yield the URL it says it serves at, that line, and its process.

    The process is stopped after, if it still runs.
    """
    env = {**ENV, "DAGEXEC_TOKEN": token} if token else {k: v for k, v in ENV.items() if k != "DAGEXEC_TOKEN"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "dagexec", "serve", "--servers", _servers(tmp_path, marker),
         "--http", "127.0.0.1:0", *args],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    try:
        url, said = announced(proc, r"serving MCP at (http://[^\s,]+)", stream="stderr")
        yield url, said, proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=30)


async def _post(url: str, headers: dict[str, str]) -> int:
    async with httpx2.AsyncClient() as http:
        response = await http.post(
            url,
            json=INITIALIZE,
            headers={"accept": "application/json, text/event-stream", **headers},
        )
    return response.status_code


async def test_serve_max_sessions_closes_the_longest_idle_session_for_a_new_one(tmp_path: Path) -> None:
    marker = f"serve-sessions-{time.monotonic_ns()}"
    headers = {"accept": "application/json, text/event-stream", "authorization": "Bearer s3cret"}
    with serving_gateway_http(tmp_path, marker, "--max-sessions", "1", "--session-idle", "60") as (url, _, _):
        async with httpx2.AsyncClient() as http:
            opened = [(await http.post(url, json=INITIALIZE, headers=headers)).headers["mcp-session-id"] for _ in "ab"]
            ping = {"jsonrpc": "2.0", "id": 2, "method": "ping"}
            pinged = [
                (await http.post(url, json=ping, headers={**headers, "mcp-session-id": session})).status_code
                for session in opened
            ]
    assert pinged == [404, 200]


# Upstream cause: the mcp SDK's streamable HTTP client (mcp.client.streamable_http) leaves
# its SSE readers, async generators of httpx2/httpcore2, to the garbage collector when it
# closes, and trio's finalizer reports each as unraisable. That is the client's, not the
# gateway's. The filter names the category alone (the generators' class names change
# between releases of those libraries), and only for this test.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
async def test_gateway_over_http_checks_the_token_host_and_origin(tmp_path: Path) -> None:
    marker = f"serve-http-{time.monotonic_ns()}"
    with serving_gateway_http(tmp_path, marker, "--allow-origin", "https://app.example") as (url, said, proc):
        bearer = {"authorization": "Bearer s3cret"}
        statuses = {
            "no token": await _post(url, {}),
            "a wrong token": await _post(url, {"authorization": "Bearer guess"}),
            "the token": await _post(url, bearer),
            "a foreign origin": await _post(url, {**bearer, "origin": "https://evil.example"}),
            "an allowed origin": await _post(url, {**bearer, "origin": "https://app.example"}),
            "a foreign host": await _post(url, {**bearer, "host": "evil.example"}),
            "localhost": await _post(url.replace("127.0.0.1", "localhost"), bearer),
        }
        async with (
            httpx2.AsyncClient(headers=bearer) as http,
            Client(streamable_http_client(url, http_client=http), mode="legacy") as client,
        ):
            reports: list[Any] = []

            async def on_progress(progress: float, total: float | None, message: str | None) -> None:
                reports.append((progress, total, message))

            result = await client.call_tool("run_workflow", PLAN, progress_callback=on_progress)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    assert statuses == {
        "no token": 401,
        "a wrong token": 401,
        "the token": 200,
        "a foreign origin": 403,
        "an allowed origin": 200,
        "a foreign host": 421,
        "localhost": 200,
    }
    assert result.structured_content["errors"] == ["c", "d"]
    assert proc.returncode == 143
    assert f"serving MCP at {url}, with a bearer token (DAGEXEC_TOKEN)" in said
    assert err.splitlines()[-1] == "interrupted by SIGTERM: the gateway stopped and its servers closed"
    assert processes_with(marker) == []


async def test_gateway_over_http_on_loopback_may_go_without_a_token(tmp_path: Path) -> None:
    marker = f"serve-http-open-{time.monotonic_ns()}"
    with serving_gateway_http(tmp_path, marker, token=None) as (url, _, _):
        assert (await _post(url, {}), await _post(url, {"origin": "https://evil.example"})) == (200, 403)


def test_a_gateway_on_a_public_address_needs_a_token(tmp_path: Path) -> None:
    marker = f"serve-public-{time.monotonic_ns()}"
    env = {k: v for k, v in ENV.items() if k != "DAGEXEC_TOKEN"}
    done = subprocess.run(
        [sys.executable, "-m", "dagexec", "serve", "--servers", _servers(tmp_path, marker), "--http", "0.0.0.0:8765"],
        capture_output=True, text=True, env=env, timeout=60, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert (done.returncode, done.stdout) == (2, "")
    assert " ".join(done.stderr.split()) == (  # the line may wrap
        "error: serving on '0.0.0.0', not a loopback address, needs a token: set DAGEXEC_TOKEN "
        "(every request must then send Authorization: Bearer <token>)"
    )
    assert processes_with(marker) == []


# -- the process ---------------------------------------------------------------------------


def _start(tmp_path: Path, marker: str) -> subprocess.Popen[str]:
    """``dagexec serve`` as a desktop client starts it, once its downstream server runs."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "dagexec", "serve", "--servers", _servers(tmp_path, marker)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while not processes_with(marker):
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the downstream server did not start within 60 s"
        time.sleep(0.05)
    return proc


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_serve_stops_on_a_signal_with_its_servers(tmp_path: Path, signum: signal.Signals) -> None:
    marker = f"serve-{signum.name}-{time.monotonic_ns()}"
    proc = _start(tmp_path, marker)
    time.sleep(0.5)  # serving by now, most likely; either way a signal must stop it cleanly
    proc.send_signal(signum)
    out, err = proc.communicate(timeout=30)
    assert (proc.returncode, out) == (128 + signum.value, "")
    assert err.splitlines()[-1] == f"interrupted by {signum.name}: the gateway stopped and its servers closed"
    assert processes_with(marker) == []


def test_serve_ends_when_the_client_closes_its_end(tmp_path: Path) -> None:
    marker = f"serve-eof-{time.monotonic_ns()}"
    proc = _start(tmp_path, marker)
    out, err = proc.communicate("", timeout=30)
    assert (proc.returncode, out) == (0, "")
    assert err.splitlines() == ["dagexec serve: 1 server, 14 tools; serving MCP on stdio"]
    assert processes_with(marker) == []


async def test_typed_plans_offer_run_workflow_a_schema_limited_to_the_tools(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dagexec.serve import Gateway, _surface

    async def shout(text: str, times: int = 1) -> str:
        return text.upper() * times

    servers = {"words": LocalTools({"shout": shout})}

    async def offered(**options: Any) -> dict[str, Any]:
        async with Client(Gateway(servers, **options).server) as client:
            listed = await client.list_tools()
        (run,) = [tool for tool in listed.tools if tool.name == "run_workflow"]
        return run.input_schema

    assert await offered() == workflow_schema()  # the general schema, unless asked
    typed = await offered(typed_plans=True)
    assert typed == workflow_schema({"words:shout": LocalTools({"shout": shout}).tool_schemas["shout"]})
    good = {"tasks": [{"id": "a", "tool": "words:shout", "arguments": {"text": "hi", "times": 2}}]}
    referring = {"tasks": [*good["tasks"], {"id": "b", "tool": "words:shout", "arguments": {"text": "$OUTPUT[a]"}}]}
    jsonschema.validate(good, typed)
    jsonschema.validate(referring, typed)
    for bad in (
        {"tasks": [{"id": "a", "tool": "words:whisper", "arguments": {"text": "hi"}}]},  # no such tool
        {"tasks": [{"id": "a", "tool": "words:shout", "arguments": {"text": 3}}]},  # not a string
        {"tasks": [{"id": "a", "tool": "words:shout", "arguments": {}}]},  # text is required
    ):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(bad, typed)
    # Too large to list: the general schema, with a warning saying why.
    monkeypatch.setattr(_surface, "TYPED_LIMIT", 100)
    with caplog.at_level("WARNING", logger="dagexec.serve"):
        assert await offered(typed_plans=True) == workflow_schema()
    assert "the one limited to the tools is" in caplog.text


def test_serve_takes_typed_plans() -> None:
    from dagexec.cli._parser import build_parser

    assert build_parser().parse_args(["serve", "--servers", "s.json", "--typed-plans"]).typed_plans is True
    assert build_parser().parse_args(["serve", "--servers", "s.json"]).typed_plans is False


# -- memory ----------------------------------------------------------------------------------


async def test_only_a_large_plan_gives_its_memory_back_once_answered(monkeypatch: pytest.MonkeyPatch) -> None:
    """In-process: a plan of TRIM_AFTER tasks or more starts giving memory back after its answer; a smaller one not."""
    from dagexec.serve import Gateway, _gateway, _memory

    started: list[int] = []

    async def give_back() -> None:
        started.append(len(started))

    monkeypatch.setattr(_gateway, "give_back_memory", give_back)
    gateway_ = Gateway({"sim": LocalTools({"sleep": sleep})})
    for tasks in (_memory.TRIM_AFTER - 1, _memory.TRIM_AFTER):
        answer = await gateway_.run_workflow({"tasks": [t(f"t{i}", 0) for i in range(tasks)]})
        assert answer.structured_content is not None and answer.structured_content["ok"]
        assert started == []  # not before the answer is returned, to be written
        await trio.testing.wait_all_tasks_blocked()
    assert started == [0]


async def test_memory_is_given_back_by_malloc_trim_in_a_worker_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    import threading

    from dagexec.serve import _memory

    threads: list[threading.Thread] = []
    monkeypatch.setattr(_memory, "TRIM_DELAY", 0)
    monkeypatch.setattr(_memory, "_malloc_trim", lambda: threads.append(threading.current_thread()))
    await _memory.give_back_memory()
    assert len(threads) == 1 and threads[0] is not threading.main_thread()


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="malloc_trim is glibc's")
def test_malloc_trim_is_found_on_glibc() -> None:
    from dagexec.serve import _memory

    trim = _memory._find_malloc_trim()
    assert trim is not None and trim() in (0, 1)  # 1: some memory was given back


class Color(enum.Enum):
    RED = "red"


@pytest.mark.parametrize(
    "data",
    [
        {"a": [1, 2.5, None, True, "x"], "b": {"c": {"d": []}}},
        {"a": (1, (2, "x")), "b": [{"c": (3,)}]},
        {"keys": {1: "a", False: "b", None: "c", 2.5: "d"}},
        {"values": [Color.RED, frozenset(), object, float("inf")]},
        ("a", [Color.RED]),
    ],
)
def test_json_ready_is_the_json_round_trip(data: Any) -> None:
    from dagexec.serve._results import json_ready

    assert json.dumps(json_ready(data)) == json.dumps(json.loads(json.dumps(data, default=repr)))


def test_json_ready_keeps_data_that_is_json_already_rather_than_copying_it() -> None:
    from dagexec.serve._results import json_ready

    output = {"rows": [{"id": i, "name": f"n{i}"} for i in range(3)]}
    data = {"results": [{"output": output}, {"output": (1, 2)}]}
    ready = json_ready(data)
    assert ready["results"][0]["output"] is output and ready["results"][1]["output"] == [1, 2]
    assert json_ready(output) is output
