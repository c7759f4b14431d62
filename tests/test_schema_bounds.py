"""The schema check is sound and bounded: hostile and broken schemas, budgets, values checked as JSON."""

from __future__ import annotations

import collections
import enum
import sys
import threading
from pathlib import Path
from typing import Annotated, Any, ClassVar

import pytest
import trio
from pydantic import Field
from typing_extensions import TypedDict  # pydantic reads typing.TypedDict only from Python 3.12

from dagexec import (
    EagerExecutor,
    ErrorCode,
    InvalidArgumentsError,
    LocalTools,
    SchemaWarning,
    ServerError,
    TaskStatus,
    ToolSchemas,
)
from dagexec._schemas import MAX_BRANCHES, SchemaCheck
from dagexec.bench.hostile import NESTED_DEPTH, nested_output
from dagexec.mcp import MCPToolServer
from dagexec.servers import open_servers

from .helpers import ENV, dagexec, wf, write

HOSTILE = {"command": sys.executable, "args": [str(Path(__file__).parent / "servers" / "hostile.py")], "env": ENV}
DEEP = ".".join(["next"] * NESTED_DEPTH)


class Published:
    """A tool server of its own that publishes the schemas it is given (the ListsSchemas protocol)."""

    tool_schemas: ClassVar[dict[str, ToolSchemas]] = {}

    def __init__(self, **schemas: ToolSchemas) -> None:
        self.tool_schemas = schemas  # type: ignore[misc]

    async def call_tool(self, name: str, arguments: dict[str, Any]) -> Any:
        return {"ok": True}


def refused(executor: EagerExecutor, *tasks: dict[str, Any]) -> list[str]:
    with pytest.raises(InvalidArgumentsError) as exc:
        executor.check(wf(*tasks).tasks)
    return [str(p) for p in exc.value.problems]


# -- a real server's hostile schemas ---------------------------------------------------------


async def test_hostile_schemas_of_a_real_server_are_ignored_or_checked_in_bounds() -> None:
    with pytest.warns(SchemaWarning) as warned:
        async with open_servers({"mcpServers": {"h": HOSTILE}}) as servers:
            executor = EagerExecutor(servers)
            plan = [
                {"id": "p", "tool": "h:pattern", "arguments": {"text": "a" * 28 + "!"}},
                {"id": "e", "tool": "h:nested"},
                {"id": "t", "tool": "h:take", "arguments": {"value": f"$OUTPUT[e].{DEEP}.value"}},
                {"id": "u", "tool": "h:take", "arguments": {"value": f"$OUTPUT[e].{DEEP}.nope"}},
                {"id": "m", "tool": "h:missing", "arguments": {"x": 1}},  # its schema is ignored: not checked
                {"id": "r", "tool": "h:remote", "arguments": {"x": 1}},
            ]
            assert refused(executor, *plan) == [
                "task 'p': arguments.text: expected a string matching '^(a+)+$', "
                "got the string 'aaaaaaaaaaaaaaaaaaaaaaaaaaaa!'",
                f"task 'u': arguments.value: $OUTPUT[e].{DEEP}.nope: $OUTPUT[e].{DEEP} "
                "has no property 'nope' (its properties: value)",
            ]
            # The tools whose schemas do not compile run as tools without a schema.
            result = await executor.execute(wf(plan[4], plan[5]))
            assert [r.status for r in result.results] == [TaskStatus.SUCCESS, TaskStatus.SUCCESS]
    # One warning for each, when the server listed its tools, naming the server and the tool.
    assert sorted((w.message.server, w.message.tool, w.message.which) for w in warned) == [  # type: ignore[union-attr]
        ("h", "missing", "input"),
        ("h", "remote", "input"),
    ]
    assert "is not fetched" in str(next(w.message for w in warned if w.message.tool == "remote"))  # type: ignore[union-attr]


def test_a_broken_schema_is_one_warning_and_the_exit_codes_of_a_plan_without_it(tmp_path: Path) -> None:
    servers = write(tmp_path / "servers.json", {"mcpServers": {"h": HOSTILE}})
    plan = write(tmp_path / "plan.json", {"tasks": [{"id": "m", "tool": "h:missing", "arguments": {"x": "anything"}}]})
    for command in ("validate", "run"):
        out = dagexec(command, plan, "--servers", servers, cwd=tmp_path)
        assert out.returncode == 0, out.stderr
        warnings = [line for line in out.stderr.splitlines() if line.startswith("warning: ")]
        named = [line.split(":")[1] for line in warnings]
        assert named == [" server 'h', tool 'missing'", " server 'h', tool 'remote'"]
        assert "Traceback" not in out.stderr


# -- references through nested alternatives --------------------------------------------------


@pytest.mark.parametrize("depth", [NESTED_DEPTH, 30])
def test_nested_alternatives_are_followed_without_expanding_them(depth: int) -> None:
    # 3**30 alternatives if expanded one by one: this ends only if they are not.
    check = SchemaCheck(
        {"s": {"nested": ToolSchemas(output=nested_output(depth)), "take": ToolSchemas(input={"type": "object"})}}
    )
    deep = ".".join(["next"] * depth)
    tasks = wf(
        {"id": "e", "tool": "s:nested"},
        {"id": "ok", "tool": "s:take", "arguments": {"v": f"$OUTPUT[e].{deep}.value", "a": "$OUTPUT[e].next.a"}},
        {"id": "no", "tool": "s:take", "arguments": {"v": f"$OUTPUT[e].{deep}.value.x"}},
    ).tasks
    by_id = {t.id: t for t in tasks}
    problems = check.plan_problems(tasks, by_id.get)
    assert [(p.task_id, p.problem.rsplit(": ", 1)[1]) for p in problems] == [
        ("no", f"$OUTPUT[e].{deep}.value is a string, which has no key 'x'")
    ]


def test_too_many_alternatives_read_as_anything() -> None:
    wide = {"anyOf": [{"type": "object", "properties": {f"k{i}": {"type": "string"}}} for i in range(MAX_BRANCHES + 1)]}
    check = SchemaCheck({"s": {"wide": ToolSchemas(output=wide), "take": ToolSchemas(input={"type": "object"})}})
    tasks = wf({"id": "w", "tool": "s:wide"}, {"id": "t", "tool": "s:take", "arguments": {"v": "$OUTPUT[w].zzz"}}).tasks
    assert check.plan_problems(tasks, {t.id: t for t in tasks}.get) == []
    narrow = {"anyOf": wide["anyOf"][:3]}
    check = SchemaCheck({"s": {"wide": ToolSchemas(output=narrow), "take": ToolSchemas(input={"type": "object"})}})
    assert len(check.plan_problems(tasks, {t.id: t for t in tasks}.get)) == 1


# -- the budget ------------------------------------------------------------------------------


def test_a_plan_whose_check_passes_its_budget_is_refused_naming_task_argument_and_tool() -> None:
    server = Published(take=ToolSchemas(input={"type": "object", "properties": {"big": {"type": "string"}}}))
    executor = EagerExecutor({"s": server}, check_budget=1e-9)  # type: ignore[dict-item]
    problems = refused(executor, {"id": "a", "tool": "s:take", "arguments": {"small": 1, "big": "x" * 100}})
    assert problems == [
        "task 'a': arguments.big: not checked: the check of the plan passed its budget of 1e-09 s at this task "
        "(tool 's:take'); the tasks after it were not checked either"
    ]
    EagerExecutor({"s": server}).check(wf({"id": "a", "tool": "s:take", "arguments": {"big": "x"}}).tasks)
    with pytest.raises(ValueError, match="check_budget must be > 0"):
        EagerExecutor({"s": server}, check_budget=0)  # type: ignore[dict-item]


def test_the_command_line_takes_a_check_budget(tmp_path: Path) -> None:
    servers = write(tmp_path / "servers.json", {"mcpServers": {"h": HOSTILE}})
    plan = write(tmp_path / "plan.json", {"tasks": [{"id": "t", "tool": "h:take", "arguments": {"value": "v"}}]})
    out = dagexec("validate", plan, "--servers", servers, "--check-budget", "0.000000001", cwd=tmp_path)
    assert out.returncode == 2, out.stderr
    assert "task 't': arguments.value: not checked: the check of the plan passed its budget" in out.stderr
    out = dagexec("validate", plan, "--servers", servers, "--check-budget", "0", cwd=tmp_path)
    assert out.returncode == 2 and "must be > 0" in out.stderr


# -- resolved values, checked as the JSON they become ------------------------------------------


class Level(enum.IntEnum):
    HIGH = 9


class Need(TypedDict):
    a: int


def capped(n: Annotated[int, Field(le=3)]) -> int:
    return n


def needs(d: Need) -> int:
    return d["a"]


@pytest.mark.parametrize(
    ("produced", "tool", "expected"),
    [
        (Level.HIGH, "capped", "arguments.n: expected at most 3, got the number 9"),
        (collections.Counter(b=1), "needs", "arguments.d.a: missing (required)"),
    ],
)
async def test_subclasses_cannot_slip_past_the_check_before_the_call(produced: Any, tool: str, expected: str) -> None:
    servers = {"py": LocalTools({"make": lambda: produced, "capped": capped, "needs": needs})}
    argument = "n" if tool == "capped" else "d"
    result = await EagerExecutor(servers).execute(
        wf({"id": "p", "tool": "py:make"}, {"id": "c", "tool": f"py:{tool}", "arguments": {argument: "$OUTPUT[p]"}})
    )
    consumer = result.results[1]
    assert consumer.error is not None
    assert (consumer.error.code, consumer.error.message) == (ErrorCode.INVALID_ARGUMENTS, expected)


async def test_resolved_values_go_to_mcp_servers_as_json() -> None:
    produced = collections.OrderedDict(value="v")
    with pytest.warns(SchemaWarning):  # the server's broken schemas, as it lists its tools
        opened = open_servers({"mcpServers": {"h": HOSTILE}})
        servers = await opened.__aenter__()
    try:
        servers = {**servers, "py": LocalTools({"make": lambda: produced, "level": lambda: Level.HIGH})}
        result = await EagerExecutor(servers).execute(
            wf(
                {"id": "p", "tool": "py:make"},
                {"id": "l", "tool": "py:level"},
                {"id": "t", "tool": "h:take", "arguments": {"value": "$OUTPUT[p].value", "n": "$OUTPUT[l]"}},
            )
        )
    finally:
        await opened.__aexit__(None, None, None)
    assert result.results[2].output == {"ok": True, "arguments": {"value": "v", "n": 9}}


# -- when schemas compile ----------------------------------------------------------------------


async def test_schemas_compile_as_tools_are_listed_and_not_when_a_gateway_server_starts_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from dagexec import _schemas
    from dagexec.serve import RestartingServer
    from dagexec.servers import StdioServerConfig

    compiled: list[Any] = []
    compile_ = _schemas._compile
    monkeypatch.setattr(_schemas, "_compile", lambda schema: compiled.append(schema) or compile_(schema))
    wider = {**HOSTILE, "env": {**ENV, "HOSTILE_WIDE": "201"}}  # lists a wide schema of its own when it starts
    with pytest.warns(SchemaWarning) as warned:
        async with open_servers({"mcpServers": {"h": HOSTILE}}) as servers, trio.open_nursery() as nursery:
            # Compiled as the server listed its tools, before any executor: the broken ones warned of.
            assert sorted((w.message.tool, w.message.which) for w in warned) == [  # type: ignore[union-attr]
                ("missing", "input"),
                ("remote", "input"),
            ]
            first = servers["h"]
            assert isinstance(first, MCPToolServer)
            entry = StdioServerConfig(command=sys.executable, args=tuple(wider["args"]), env=wider["env"])
            server = RestartingServer("h", entry, first, nursery, start_timeout=30)
            with pytest.raises(ServerError):
                await server.call_tool("exit", {})
            compiled.clear()
            before = len(warned)
            output = await server.call_tool("take", {"value": "v"})  # started again: it lists its tools again
            # Its new wide schema, its broken ones: nothing compiled on the gateway's loop, nothing warned.
            assert (output["ok"], compiled, len(warned)) == (True, [], before)
            assert len(server.tool_schemas["wide"].input["properties"]) == 200  # the first start's, checked
            nursery.cancel_scope.cancel()


# -- the compiled validators' cache -----------------------------------------------------------


def test_validators_are_shared_by_content_and_the_cache_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    from dagexec import _schemas

    first = _schemas.compiled({"type": "object", "properties": {"a": {"type": "integer"}}})
    again = _schemas.compiled({"properties": {"a": {"type": "integer"}}, "type": "object"})  # another dict, same JSON
    assert again is first and first.validator is not None
    monkeypatch.setattr(_schemas, "CACHE_SIZE", 3)
    for n in range(10):
        _schemas.compiled({"maxLength": n})
    assert len(_schemas._by_content) <= 3 and len(_schemas._by_identity) <= 3
    monkeypatch.setattr(_schemas, "CACHE_BYTES", 100)
    _schemas.compiled({"description": "x" * 500})  # larger than the budget alone: kept, alone
    assert len(_schemas._by_content) == 1 and len(_schemas._by_identity) == 1


# -- the gateway -------------------------------------------------------------------------------


async def test_the_gateway_checks_a_large_plan_in_a_worker_thread() -> None:
    from dagexec.serve import CHECK_IN_LOOP, Gateway

    def add(a: int, b: int) -> int:
        return a + b

    gateway = Gateway({"py": LocalTools({"add": add})})
    executor = gateway.executor
    threads: list[int] = []
    problems = executor.problems

    def watched(tasks: Any, **options: Any) -> Any:
        threads.append(threading.get_ident())
        return problems(tasks, **options)

    executor.problems = watched  # type: ignore[method-assign]
    large = {
        "tasks": [{"id": f"t{i}", "tool": "py:add", "arguments": {"a": i, "b": 1}} for i in range(CHECK_IN_LOOP + 1)]
    }
    small = {"tasks": [{"id": "t", "tool": "py:add", "arguments": {"a": "x", "b": 1}}]}
    answers = [await gateway.run_workflow(large), await gateway.run_workflow(small)]
    assert [a.is_error for a in answers] == [False, True]
    assert "task 't': arguments.a: expected an integer, got the string 'x'" in answers[1].content[0].text  # type: ignore[union-attr]
    main = threading.get_ident()
    assert threads[0] != main and threads[1] == main
