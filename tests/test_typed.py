"""Typed plans: every call checked against its tool's schemas, before the run and before each call."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar, Literal

import attrs
import pydantic
import pytest
import trio
from typing_extensions import TypedDict

from dagexec import (
    ArgumentProblem,
    EagerExecutor,
    ErrorCode,
    Event,
    InvalidArgumentsError,
    LayeredExecutor,
    LocalTools,
    SchemaWarning,
    Task,
    TaskStarted,
    TaskStatus,
    ToolSchemas,
)
from dagexec._core import Phase, RunCore
from dagexec.servers import open_servers

from .helpers import EXAMPLES, TIME, TYPED, cli, wf, write

EXECUTORS = [EagerExecutor, LayeredExecutor]


def problems(exc: pytest.ExceptionInfo[InvalidArgumentsError]) -> list[str]:
    """The problems an error names, one line each, as its message shows them."""
    message = str(exc.value)
    head, *lines = message.split("\n")
    count = len(exc.value.problems)
    assert head == f"invalid plan ({count} problem{'s' if count != 1 else ''}):"
    assert lines == [f"  {p}" for p in exc.value.problems]
    return [str(p) for p in exc.value.problems]


# -- before the run: mcp-server-time --------------------------------------------------------

#: A plan a model got wrong: a number for a timezone, a misspelled field, a
#: forgotten argument, and a boolean where a time goes.
WRONG_TIME_PLAN = wf(
    {"id": "now", "tool": "time:get_current_time", "arguments": {"timezone": 0}},
    {
        "id": "tokyo",
        "tool": "time:convert_time",
        "arguments": {"source_timezone": "$OUTPUT[now].tz", "target_timezone": "Asia/Tokyo"},
    },
    {
        "id": "dst",
        "tool": "time:convert_time",
        "arguments": {
            "source_timezone": "$OUTPUT[now].timezone",
            "time": "$OUTPUT[now].is_dst",
            "target_timezone": "Asia/Tokyo",
        },
    },
)

WRONG_TIME_PROBLEMS = [
    "task 'now': arguments.timezone: expected a string, got the number 0",
    "task 'tokyo': arguments.source_timezone: $OUTPUT[now].tz: the output of 'time:get_current_time' "
    "has no property 'tz' (its properties: datetime, day_of_week, is_dst, timezone)",
    "task 'tokyo': arguments.time: missing (required)",
    "task 'dst': arguments.time: expected a string, and $OUTPUT[now].is_dst is a boolean "
    "(the output schema of 'time:get_current_time')",
]


async def test_mcp_server_time_plan_is_refused_with_every_problem() -> None:
    with trio.fail_after(60):
        async with open_servers({"mcpServers": {"time": TIME}}) as servers:
            for executor in EXECUTORS:
                with pytest.raises(InvalidArgumentsError) as exc:
                    await executor(servers).execute(WRONG_TIME_PLAN)
                assert problems(exc) == WRONG_TIME_PROBLEMS
                assert exc.value.problems[0] == ArgumentProblem(
                    "now", "arguments.timezone", "expected a string, got the number 0"
                )
                with pytest.raises(InvalidArgumentsError):
                    async with executor(servers).open_run(WRONG_TIME_PLAN):
                        pytest.fail("the block of a refused plan runs")  # pragma: no cover
            # The opt-out: the plan goes to the server, which refuses the first call itself.
            result = await EagerExecutor(servers, check_schemas=False).execute(WRONG_TIME_PLAN)
    assert result["now"].error is not None
    assert result["now"].error.code is ErrorCode.TOOL_ERROR
    assert {result[t].status for t in ("tokyo", "dst")} == {TaskStatus.SKIPPED}


async def test_mcp_server_time_publishes_its_schemas() -> None:
    async with open_servers({"mcpServers": {"time": TIME}}) as servers:
        schemas = servers["time"].tool_schemas  # type: ignore[attr-defined]
    assert set(schemas) == {"get_current_time", "convert_time"}
    now = schemas["get_current_time"]
    assert now.input["required"] == ["timezone"]
    assert now.output["properties"]["is_dst"]["type"] == "boolean"
    # convert_time's output holds its TimeResult twice, in $defs.
    assert schemas["convert_time"].output["properties"]["target"] == {"$ref": "#/$defs/TimeResult"}


# -- before the run: nested $defs -----------------------------------------------------------


async def test_nested_schemas_literals_and_references() -> None:
    workflow = wf(
        {"id": "b", "tool": "typed:box", "arguments": {"label": "b"}},
        # Literals deep in a $defs model, a missing nested field, a value outside the enum.
        {"id": "a", "tool": "typed:area", "arguments": {"box": {"corner": {"x": 0, "y": "zero"}}, "unit": "km2"}},
        # A whole object where a number goes.
        {"id": "s", "tool": "typed:scale", "arguments": {"box": "$OUTPUT[b]", "factor": "$OUTPUT[b].size"}},
        # A field that Point (in $defs) does not have.
        {
            "id": "s2",
            "tool": "typed:scale",
            "arguments": {"box": {"corner": "$OUTPUT[b].corner", "size": "$OUTPUT[b].size.z"}, "factor": 2},
        },
        # A number (through two $refs) where a string goes.
        {"id": "l", "tool": "typed:box", "arguments": {"label": "$OUTPUT[b].corner.x"}},
        # A reference inside a longer string is a string.
        {"id": "w", "tool": "typed:box", "arguments": {"label": "w", "width": "w=$OUTPUT[b].size.x"}},
        # A key into a string.
        {"id": "d", "tool": "typed:box", "arguments": {"label": "$OUTPUT[b].label.first"}},
    )
    async with open_servers({"mcpServers": {"typed": TYPED}}) as servers:
        with pytest.raises(InvalidArgumentsError) as exc:
            await EagerExecutor(servers).execute(workflow)
    assert problems(exc) == [
        "task 'a': arguments.box.corner.y: expected a number, got the string 'zero'",
        "task 'a': arguments.box.size: missing (required)",
        "task 'a': arguments.unit: expected one of 'm2', 'cm2', got the string 'km2'",
        "task 's': arguments.factor: expected a number, and $OUTPUT[b].size is an object "
        "(the output schema of 'typed:box')",
        "task 's2': arguments.box.size: $OUTPUT[b].size.z: $OUTPUT[b].size has no property 'z' "
        "(its properties: x, y)",
        "task 'l': arguments.label: expected a string, and $OUTPUT[b].corner.x is a number "
        "(the output schema of 'typed:box')",
        "task 'w': arguments.width: expected a number, got the string 'w=$OUTPUT[b].size.x'",
        "task 'd': arguments.label: $OUTPUT[b].label.first: $OUTPUT[b].label is a string, "
        "which has no key 'first'",
    ]


async def test_a_well_typed_plan_through_defs_runs() -> None:
    workflow = wf(
        {"id": "b", "tool": "typed:box", "arguments": {"label": "b"}},
        {"id": "a", "tool": "typed:area", "arguments": {"box": "$OUTPUT[b]", "unit": "cm2"}},
        {
            "id": "s",
            "tool": "typed:scale",
            "arguments": {"box": {"corner": "$OUTPUT[b].corner", "size": "$OUTPUT[b].size"}, "factor": 2},
        },
        {"id": "n", "tool": "typed:box", "arguments": {"label": "$OUTPUT[a].unit", "width": "$OUTPUT[s].size.x"}},
    )
    async with open_servers({"mcpServers": {"typed": TYPED}}) as servers:
        result = await EagerExecutor(servers).execute(workflow)
    assert result.ok, result.errors
    assert result["a"].output == {"area": 60000.0, "unit": "cm2"}
    assert result["n"].output == {
        "corner": {"x": 0.0, "y": 0.0},
        "size": {"x": 4.0, "y": 3.0},
        "label": "cm2",
    }


# -- while the run goes on ------------------------------------------------------------------


@pytest.mark.parametrize("executor", EXECUTORS)
async def test_output_without_schema_is_checked_before_the_call(executor: type[EagerExecutor], tmp_path: Path) -> None:
    marker = tmp_path / "called"
    workflow = wf(
        {"id": "u", "tool": "typed:untyped", "arguments": {"value": "three"}},
        {"id": "m", "tool": "typed:mark", "arguments": {"path": str(marker), "size": "$OUTPUT[u].value"}},
        {"id": "after", "tool": "typed:box", "arguments": {"label": "$OUTPUT[m].result"}},
    )
    events: list[Event] = []
    async with open_servers({"mcpServers": {"typed": TYPED}}) as servers:
        result = await executor(servers).execute(workflow, on_event=events.append)
    assert result["u"].output == {"value": "three"}
    m = result["m"]
    assert (m.status, m.error.code if m.error else None) == (TaskStatus.ERROR, ErrorCode.INVALID_ARGUMENTS)
    assert m.error is not None and m.error.message == "arguments.size: expected a number, got the string 'three'"
    assert m.attempts == 0
    assert not marker.exists()
    assert [e.task_id for e in events if isinstance(e, TaskStarted)] == ["u"]
    after = result["after"]
    assert after.status is TaskStatus.SKIPPED and after.error is not None
    assert after.error.message == "depends on 'm', which ended error (invalid_arguments)"


async def test_a_streamed_task_is_checked_against_the_tasks_added_before_it() -> None:
    bad = {"id": "s", "tool": "typed:scale", "arguments": {"box": "$OUTPUT[b]", "factor": "$OUTPUT[b].label"}}
    async with open_servers({"mcpServers": {"typed": TYPED}}) as servers, EagerExecutor(servers).open_run() as run:
        run.add({"id": "b", "tool": "typed:box", "arguments": {"label": "b"}})
        with pytest.raises(InvalidArgumentsError) as exc:
            run.add(bad)
        run.add({"id": "a", "tool": "typed:area", "arguments": {"box": "$OUTPUT[b]"}})
    assert problems(exc) == [
        "task 's': arguments.factor: expected a number, and $OUTPUT[b].label is a string "
        "(the output schema of 'typed:box')"
    ]
    assert [r.task_id for r in run.result.results] == ["b", "a"]
    assert run.result["a"].output == {"area": 6.0, "unit": "m2"}


# -- LocalTools and the opt-out -------------------------------------------------------------


def add(a: int, b: int) -> int:
    return a + b


def unit(name: Literal["c", "f"], value: float = 0.0) -> str:
    return f"{value}{name}"


def unannotated(a, b):  # type: ignore[no-untyped-def]
    return a + b


async def noop() -> None:
    return None


def spread(first: int, *rest: int) -> int:
    return first + sum(rest)



def test_local_tools_derive_input_schemas_from_type_hints() -> None:
    tools = LocalTools(
        {"add": add, "unit": unit, "raw": unannotated, "noop": noop, "upper": str.upper, "spread": spread}
    )
    assert dict(tools.tool_schemas) == {
        "add": ToolSchemas(
            input={
                "additionalProperties": False,
                "properties": {"a": {"title": "A", "type": "integer"}, "b": {"title": "B", "type": "integer"}},
                "required": ["a", "b"],
                "type": "object",
            },
            output={"type": "integer"},
        ),
        "unit": ToolSchemas(
            input={
                "additionalProperties": False,
                "properties": {
                    "name": {"enum": ["c", "f"], "title": "Name", "type": "string"},
                    "value": {"default": 0.0, "title": "Value", "type": "number"},
                },
                "required": ["name"],
                "type": "object",
            },
            output={"type": "string"},
        ),
        # No input schema (*rest), but an output schema: what it returns is known.
        "spread": ToolSchemas(output={"type": "integer"}),
    }


async def test_local_tools_plans_are_checked_and_unannotated_tools_are_not() -> None:
    servers = {"py": LocalTools({"add": add, "unit": unit, "raw": unannotated})}
    workflow = wf(
        {"id": "sum", "tool": "py:add", "arguments": {"a": 1, "b": 2, "c": 3}},
        {"id": "u", "tool": "py:unit", "arguments": {"name": "k", "value": "$OUTPUT[sum]"}},
        {"id": "raw", "tool": "py:raw", "arguments": {"a": 1, "c": 2}},
    )
    with pytest.raises(InvalidArgumentsError) as exc:
        await EagerExecutor(servers).execute(workflow)
    assert problems(exc) == [
        "task 'sum': arguments.c: not an argument of 'py:add' (its arguments: a, b)",
        "task 'u': arguments.name: expected one of 'c', 'f', got the string 'k'",
    ]
    # Unchecked, the same plan reaches the functions, which fail on their own.
    result = await EagerExecutor(servers, check_schemas=False).execute(workflow)
    assert [(r.task_id, r.error.code if r.error else None) for r in result.results] == [
        ("sum", ErrorCode.TOOL_ERROR),
        ("u", ErrorCode.DEPENDENCY_FAILED),
        ("raw", ErrorCode.TOOL_ERROR),
    ]


# -- LocalTools' output schemas, from return annotations --------------------------------------


class PointDict(TypedDict):
    x: int
    y: int


@dataclasses.dataclass
class PointData:
    x: int
    y: int


@attrs.frozen
class PointAttrs:
    x: int
    y: int


class PointModel(pydantic.BaseModel):
    x: int
    y: int


@dataclasses.dataclass
class Holder:
    thing: Any


@attrs.frozen
class Polygon:
    corners: list[PointAttrs]
    label: str | None = None


POINT_SCHEMA = {
    "properties": {"x": {"title": "X", "type": "integer"}, "y": {"title": "Y", "type": "integer"}},
    "required": ["x", "y"],
    "type": "object",
}

POINTS: dict[str, Callable[[], Any]] = {
    "typed_dict": lambda: PointDict(x=1, y=2),
    "dataclass": lambda: PointData(1, 2),
    "attrs": lambda: PointAttrs(1, 2),
    "pydantic": lambda: PointModel(x=1, y=2),
}
POINT_TYPES: dict[str, type] = {
    "typed_dict": PointDict, "dataclass": PointData, "attrs": PointAttrs, "pydantic": PointModel
}  # fmt: skip


def returning(kind: str) -> Callable[[], Any]:
    """A tool of no argument whose return annotation is the point of ``kind``."""
    make = POINTS[kind]

    def point() -> Any:
        return make()

    point.__annotations__["return"] = POINT_TYPES[kind]
    return point


def anything() -> Any:
    return {"c": 1}


def nothing() -> None:
    return None


def unsaid():  # type: ignore[no-untyped-def]
    return {"c": 1}


@pytest.mark.parametrize("kind", sorted(POINTS))
def test_local_tools_derive_output_schemas_from_return_annotations(kind: str) -> None:
    [schemas] = LocalTools({"point": returning(kind)}).tool_schemas.values()
    assert schemas.input is None  # no parameter: nothing to check
    assert schemas.output == {**POINT_SCHEMA, "title": POINT_TYPES[kind].__name__}


def test_return_annotations_that_say_nothing_give_no_output_schema() -> None:
    tools = LocalTools({"anything": anything, "nothing": nothing, "unsaid": unsaid, "upper": str.upper})
    assert dict(tools.tool_schemas) == {}


def test_nested_attrs_classes_are_described_and_given_as_json() -> None:
    def polygon() -> Polygon:
        return Polygon([PointAttrs(0, 0), PointAttrs(1, 2)])

    tools = LocalTools({"polygon": polygon})
    output = tools.tool_schemas["polygon"].output
    assert output is not None
    corners = {"items": {"$ref": "#/$defs/PointAttrs"}, "title": "Corners", "type": "array"}
    assert output["properties"]["corners"] == corners
    assert output["$defs"]["PointAttrs"] == {**POINT_SCHEMA, "title": "PointAttrs"}
    assert trio.run(tools.call_tool, "polygon", {}) == {"corners": [{"x": 0, "y": 0}, {"x": 1, "y": 2}], "label": None}


@pytest.mark.parametrize("kind", sorted(POINTS))
async def test_a_reference_to_what_a_local_tool_does_not_return_is_refused_before_any_call(kind: str) -> None:
    calls: list[str] = []

    def show(text: str) -> str:
        calls.append(text)
        return text

    servers = {"py": LocalTools({"point": returning(kind), "show": show})}
    wrong = wf(
        {"id": "p", "tool": "py:point"},
        {"id": "s", "tool": "py:show", "arguments": {"text": "$OUTPUT[p].c"}},
        {"id": "n", "tool": "py:show", "arguments": {"text": "$OUTPUT[p].x"}},
    )
    with pytest.raises(InvalidArgumentsError) as exc:
        await EagerExecutor(servers).execute(wrong)
    assert problems(exc) == [
        "task 's': arguments.text: $OUTPUT[p].c: the output of 'py:point' has no property 'c' (its properties: x, y)",
        "task 'n': arguments.text: expected a string, and $OUTPUT[p].x is an integer (the output schema of 'py:point')",
    ]
    assert calls == []
    # What the schema declares is what references read: the output's JSON form.
    right = wf(
        {"id": "p", "tool": "py:point"}, {"id": "s", "tool": "py:show", "arguments": {"text": "at $OUTPUT[p].y"}}
    )
    result = await EagerExecutor(servers).execute(right)
    assert (result["p"].output, result["s"].output) == ({"x": 1, "y": 2}, "at 2")


async def test_an_output_that_does_not_fit_its_annotation_fails_its_task_and_one_that_does_is_taken() -> None:
    def liar() -> PointData:
        return {"x": 1}  # type: ignore[return-value]

    def loose() -> PointData:
        return {"x": 1, "y": "2"}  # type: ignore[return-value]  # as the MCP SDK, a dict that fits is taken

    servers = {"py": LocalTools({"liar": liar, "loose": loose})}
    result = await EagerExecutor(servers).execute(wf({"id": "l", "tool": "py:liar"}, {"id": "o", "tool": "py:loose"}))
    error = result["l"].error
    assert error is not None and error.code is ErrorCode.TOOL_ERROR
    assert error.message.startswith("TypeError: the output does not fit the return annotation PointData: 1 problem, ")
    assert result["o"].output == {"x": 1, "y": 2}


async def test_outputs_without_models_are_handed_on_as_returned() -> None:
    marker = object()

    def mapping() -> dict[str, Any]:
        return {"thing": marker, "pair": (1, 2)}

    def holder() -> Holder:
        return Holder(marker)

    tools = LocalTools({"mapping": mapping, "holder": holder})
    assert tools.tool_schemas["mapping"].output == {"additionalProperties": True, "type": "object"}
    result = await EagerExecutor({"py": tools}).execute(
        wf({"id": "m", "tool": "py:mapping"}, {"id": "h", "tool": "py:holder"})
    )
    assert result["m"].output == {"thing": marker, "pair": (1, 2)}  # no model: unchanged
    assert result["h"].output == {"thing": marker}  # a model made JSON; what has no JSON form kept


# -- the core: a check before the call, owned by the core -----------------------------------


def test_core_fails_a_task_whose_resolved_arguments_do_not_fit_without_a_call() -> None:
    checked: list[str] = []

    def check(task: Task, arguments: dict[str, Any]) -> str | None:
        checked.append(task.id)
        return None if isinstance(arguments.get("n"), int) else f"arguments.n: got {arguments.get('n')!r}"

    core = RunCore(check_arguments=check)
    tasks = wf(
        {"id": "p", "tool": "s:t", "arguments": {"n": 1}},
        {"id": "ok", "tool": "s:t", "arguments": {"n": "$OUTPUT[p].n"}},
        {"id": "bad", "tool": "s:t", "arguments": {"n": "$OUTPUT[p].s"}},
        {"id": "child", "tool": "s:t", "depends_on": ["bad"]},
    ).tasks
    records = {task.id: core.add(task, 0.0) for task in tasks}
    (p,) = core.take_ready()
    core.begin(p, 0.0)
    core.call_started(p, 0.0)
    core.call_ended(p, 1.0, {"n": 2, "s": "two"}, None)
    for record in core.take_ready():
        core.begin(record, 1.0)
    assert checked == ["ok", "bad"]  # p's literal arguments were checked before the run
    assert records["ok"].phase is Phase.CALL
    bad = records["bad"]
    assert bad.phase is Phase.DONE and bad.attempts == 0 and bad.result is not None
    assert bad.result.error is not None
    assert (bad.result.error.code, bad.result.error.message) == (ErrorCode.INVALID_ARGUMENTS, "arguments.n: got 'two'")
    child = records["child"].result
    assert child is not None and child.status is TaskStatus.SKIPPED


# -- the command line -----------------------------------------------------------------------


def test_run_reports_every_problem_and_exits_2_before_anything_runs(tmp_path: Path) -> None:
    marker = tmp_path / "called"
    plan = write(
        tmp_path / "plan.json",
        {
            "tasks": [
                {"id": "m", "tool": "typed:mark", "arguments": {"path": str(marker), "size": 1}},
                {"id": "a", "tool": "typed:area", "arguments": {"box": {"corner": {"x": 0, "y": 0}}, "unit": "km2"}},
            ]
        },
    )
    servers = write(tmp_path / "servers.json", {"mcpServers": {"typed": TYPED}})
    out = cli("run", plan, "--servers", servers)
    assert (out.returncode, out.stdout.strip()) == (2, "")
    assert out.stderr.splitlines() == [
        "error: invalid plan (2 problems):",
        "  task 'a': arguments.box.size: missing (required)",
        "  task 'a': arguments.unit: expected one of 'm2', 'cm2', got the string 'km2'",
    ]
    assert not marker.exists()
    out = cli("run", plan, "--servers", servers, "--no-schema-check")
    assert out.returncode == 1, out.stderr
    assert marker.exists()  # unchecked, the plan ran: the server refused task a itself


# -- the command line------------------------------------------------------------------------


def test_the_docs_plan_is_refused_by_the_command_line_before_anything_runs() -> None:
    # docs/examples: typed-plan.json against servers.json (mcp-server-time), as docs/typed.rst says.
    out = cli("run", "typed-plan.json", "--servers", "servers.json")
    assert (out.returncode, out.stdout.strip()) == (2, "")
    printed = (EXAMPLES / "typed.out").read_text().split("\n")[1:5]
    expected = ["error: invalid plan (4 problems):", *printed]
    # The same lines as the example prints; the terminal may wrap the long ones.
    assert out.stderr.split() == " ".join(expected).split()


def test_a_streamed_task_that_does_not_fit_is_refused_alone(tmp_path: Path) -> None:
    servers = write(tmp_path / "servers.json", {"mcpServers": {"typed": TYPED}})
    lines = [
        {"id": "b", "tool": "typed:box", "arguments": {"label": "b"}},
        {"id": "bad", "tool": "typed:box", "arguments": {"label": "$OUTPUT[b].size"}},
        {"id": "a", "tool": "typed:area", "arguments": {"box": "$OUTPUT[b]"}},
    ]
    out = cli("run", "-", "--servers", servers, input="".join(json.dumps(line) + "\n" for line in lines))
    assert out.returncode == 2
    assert out.stderr.splitlines() == [
        "error: line 2: invalid plan (1 problem):",
        "  task 'bad': arguments.label: expected a string, and $OUTPUT[b].size is an object (the output schema of "
        "'typed:box')",
    ]
    assert "2 success" in out.stdout


# -- any tool server that publishes schemas -------------------------------------------------


class Declared:
    """A tool server of its own that publishes hand-written schemas (the ListsSchemas protocol)."""

    tool_schemas: ClassVar[dict[str, ToolSchemas]] = {
        "make": ToolSchemas(
            output={
                "type": "object",
                "properties": {"n": {"type": "integer"}, "tags": {"type": "array", "items": {"type": "string"}}},
                "additionalProperties": {"type": "number"},
            }
        ),
        "take": ToolSchemas(
            input={
                "type": "object",
                "properties": {
                    "code": {"type": "string", "maxLength": 3},
                    "kind": {"enum": ["a", "b"]},
                    "sizes": {"type": "array", "items": {"type": "number"}},
                    "either": {"oneOf": [{"type": "object", "required": ["x"]}, {"type": "object", "required": ["y"]}]},
                },
                "additionalProperties": False,
            }
        ),
        "broken": ToolSchemas(input={"type": 12}),  # not a schema: not checked
    }

    async def call_tool(self, name: str, arguments: dict[str, Any]) -> Any:
        return {"n": 1, "tags": ["t"], "extra": 2.5}


def test_a_server_of_its_own_publishes_schemas_and_each_rule_holds() -> None:
    with pytest.warns(SchemaWarning) as warned:
        executor = EagerExecutor({"own": Declared()})  # type: ignore[dict-item]
    [warning] = warned
    assert isinstance(warning.message, SchemaWarning)
    assert (warning.message.server, warning.message.tool, warning.message.which) == ("own", "broken", "input")
    assert str(warning.message).startswith("server 'own', tool 'broken': its input schema is ignored (")
    fine = wf(
        {"id": "m", "tool": "own:make"},
        {
            "id": "t",
            "tool": "own:take",
            "arguments": {
                "code": "$$OUTPUT[",  # 8 characters as written, the 7 of $OUTPUT[ as sent: too long either way
                "kind": "$OUTPUT[m].tags.0",  # a string: whether it is in the enum is known only when resolved
                "sizes": [1, "$OUTPUT[m].n", "$OUTPUT[m].anything"],  # integer, and additionalProperties' number
                "either": {"x": "$OUTPUT[m].n"},
            },
        },
        {"id": "b", "tool": "own:broken", "arguments": {"whatever": True}},
    )
    with pytest.raises(InvalidArgumentsError) as exc:
        executor.check(fine.tasks)
    assert problems(exc) == ["task 't': arguments.code: expected at most 3 characters, got 8 (the string '$OUTPUT[')"]
    wrong = wf(
        {"id": "m", "tool": "own:make"},
        {
            "id": "t",
            "tool": "own:take",
            "arguments": {
                "kind": "c",
                "sizes": ["$OUTPUT[m].tags", "$OUTPUT[m].tags.x", "$OUTPUT[m].n.x"],
                "code": "$OUTPUT[m].tags.0 and more",  # a string: its length is known only when resolved
                "other": 1,
            },
        },
    )
    with pytest.raises(InvalidArgumentsError) as exc:
        executor.check(wrong.tasks)
    assert problems(exc) == [
        "task 't': arguments.kind: expected one of 'a', 'b', got the string 'c'",
        "task 't': arguments.other: not an argument of 'own:take' (its arguments: code, either, kind, sizes)",
        "task 't': arguments.sizes[0]: expected a number, and $OUTPUT[m].tags is an array "
        "(the output schema of 'own:make')",
        "task 't': arguments.sizes[1]: $OUTPUT[m].tags.x: $OUTPUT[m].tags is an array, and 'x' is not an index",
        "task 't': arguments.sizes[2]: $OUTPUT[m].n.x: $OUTPUT[m].n is an integer, which has no key 'x'",
    ]
