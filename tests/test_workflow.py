from __future__ import annotations

import json
from typing import Any

import jsonschema
import jsonschema_rs
import pytest
from hypothesis import given

from dagexec import (
    MAX_ARGUMENT_DEPTH,
    CycleError,
    DuplicateTaskError,
    LocalTools,
    PlanError,
    SchemaError,
    Task,
    ToolSchemas,
    UnknownDependencyError,
    Workflow,
    WorkflowError,
    server_tools,
    workflow_schema,
)
from dagexec.servers import open_servers

from .helpers import EXAMPLES, TIME, wf
from .strategies import DrawnDag, dags, json_arguments, json_schemas

SEED_EXAMPLE = """
{"tasks": [
  {"id": "t1", "tool": "fs:read_text_file", "arguments": {"path": "a.txt"}, "depends_on": []},
  {"id": "t2", "tool": "text:upper", "arguments": {"text": "$OUTPUT[t1].content"}, "depends_on": ["t1"]}
]}
"""


def test_seed_format_loads_into_frozen_models() -> None:
    workflow = Workflow.from_json(SEED_EXAMPLE)
    t1, t2 = workflow.tasks
    assert t1 == Task(id="t1", tool="fs:read_text_file", arguments={"path": "a.txt"})
    assert (t2.id, t2.server, t2.tool_name) == ("t2", "text", "upper")
    assert t2.depends_on == ("t1",)
    assert workflow["t2"] is t2
    with pytest.raises(AttributeError):
        t1.id = "x"  # type: ignore[misc]


def test_arguments_and_depends_on_default_to_empty() -> None:
    (task,) = wf({"id": "a", "tool": "s:t"}).tasks
    assert task.arguments == {}
    assert task.depends_on == ()


def test_depends_on_takes_any_sequence_of_ids_but_not_a_string() -> None:
    assert Task(id="a", tool="s:t", depends_on=["b", "c"]).depends_on == ("b", "c")
    assert Task(id="a", tool="s:t", depends_on=("b",)).depends_on == ("b",)
    # A lone string would be split into one-letter ids.
    with pytest.raises(TypeError, match=r"^depends_on must be a list of task ids, not the string 'bc'$"):
        Task(id="a", tool="s:t", depends_on="bc")


def test_to_dict_round_trips() -> None:
    workflow = Workflow.from_json(SEED_EXAMPLE)
    data = workflow.to_dict()
    assert data == json.loads(SEED_EXAMPLE)
    assert Workflow.from_dict(data) == workflow
    assert Workflow.from_json(json.dumps(data)) == workflow


@given(dags())
def test_to_dict_round_trips_random_workflows(dag: DrawnDag) -> None:
    workflow = Workflow.from_dict(dag.workflow_dict())
    assert Workflow.from_dict(workflow.to_dict()) == workflow


@given(dags(failures=False))
def test_generations_match_hand_computed_layers(dag: DrawnDag) -> None:
    assert Workflow.from_dict(dag.workflow_dict()).generations == dag.generations()


def test_generations_of_the_seed_mixed_example() -> None:
    workflow = wf(
        {"id": "t1", "tool": "m:d"},
        {"id": "t2", "tool": "m:d"},
        {"id": "t3", "tool": "m:d", "depends_on": ["t1", "t2"]},
        {"id": "t4", "tool": "m:d", "depends_on": ["t3"]},
        {"id": "t5", "tool": "m:d", "depends_on": ["t3"]},
    )
    assert workflow.generations == [["t1", "t2"], ["t3"], ["t4", "t5"]]


def test_tasks_may_be_listed_before_their_dependencies() -> None:
    workflow = wf({"id": "b", "tool": "s:t", "depends_on": ["a"]}, {"id": "a", "tool": "s:t"})
    assert workflow.generations == [["a"], ["b"]]
    assert [t.id for t in workflow.topological_order()] == ["a", "b"]


def test_reference_implies_dependency() -> None:
    workflow = wf(
        {"id": "a", "tool": "s:t"},
        {"id": "b", "tool": "s:t", "arguments": {"x": {"y": ["pre $OUTPUT[a].k post"]}}},
    )
    assert workflow["b"].depends_on == ()
    assert workflow["b"].dependencies == ("a",)
    assert workflow.generations == [["a"], ["b"]]


# -- shapes and types ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        ([], "plan: expected an object with 'tasks', got array []"),
        ({}, "plan: tasks: required field missing"),
        ({"tasks": "abc"}, "plan: tasks: expected an array, got string 'abc'"),
        ({"tasks": [], "extra": 1}, "plan: unknown key 'extra' (accepted: tasks)"),
        ({"tasks": [5]}, "tasks[0]: expected an object, got number 5"),
        ({"tasks": [{"tool": "s:t"}]}, "tasks[0]: id: required field missing"),
        ({"tasks": [{"id": 5, "tool": "s:t"}]}, "tasks[0]: id: expected a string, got number 5"),
        ({"tasks": [{"id": "a"}]}, "task 'a': tool: required field missing"),
        (
            {"tasks": [{"id": "a", "tool": "s:t", "depends_on": "b"}]},
            "task 'a': depends_on: expected an array, got string 'b'",
        ),
        (
            {"tasks": [{"id": "a", "tool": "s:t", "depends_on": [1]}]},
            "task 'a': depends_on[0]: expected a string, got number 1",
        ),
        (
            {"tasks": [{"id": "a", "tool": "s:t", "arguments": [1]}]},
            "task 'a': arguments: expected an object, got array [1]",
        ),
        (
            {"tasks": [{"id": "a", "tool": "s:t", "retry": 1}]},
            "task 'a': unknown key 'retry'; did you mean 'retries'? (accepted: id, tool, arguments, depends_on, "
            "timeout, retries, trigger, estimate, approval)",
        ),
        ({"tasks": [{"id": "", "tool": "s:t"}]}, "tasks[0]: id must not be empty"),
        (
            {"tasks": [{"id": "a", "tool": "upper"}]},
            "task 'a': tool 'upper' is not of the form 'server:tool'",
        ),
        (
            {"tasks": [{"id": "a", "tool": ":upper"}]},
            "task 'a': tool ':upper' is not of the form 'server:tool'",
        ),
        (
            {"tasks": [{"id": "a", "tool": "s:"}]},
            "task 'a': tool 's:' is not of the form 'server:tool'",
        ),
        (
            {"tasks": [{"id": "a", "tool": "s:t", "estimate": float("nan")}]},
            "task 'a': estimate must be a finite number >= 0, not nan",
        ),
        (
            {"tasks": [{"id": "a", "tool": "s:t", "estimate": float("inf")}]},
            "task 'a': estimate must be a finite number >= 0, not inf",
        ),
        (
            {"tasks": [{"id": "a", "tool": "s:t", "estimate": -1}]},
            "task 'a': estimate must be a finite number >= 0, not -1.0",
        ),
        # A huge or deep value is shown short, never in full.
        ({"tasks": [{"id": "x" * 100, "tool": ["s:t"] * 50}]}, (
            f"task '{'x' * 100}': tool: expected a string, got array ['s:t', 's:t', 's:t', 's:t', 's:t', 's:t', ...]"
        )),
    ],
)
def test_schema_errors_name_the_field(data: Any, problem: str) -> None:
    with pytest.raises(SchemaError) as info:
        Workflow.from_dict(data)
    assert problem in map(str, info.value.problems)
    assert problem in str(info.value)


def test_schema_errors_list_every_problem() -> None:
    with pytest.raises(SchemaError) as info:
        wf({"id": 1, "tool": "s:t"}, {"id": "b", "tool": "s:t", "depends_on": "x"})
    assert tuple(map(str, info.value.problems)) == (
        "tasks[0]: id: expected a string, got number 1",
        "task 'b': depends_on: expected an array, got string 'x'",
    )


def test_invalid_json_is_a_schema_error() -> None:
    with pytest.raises(SchemaError, match=r"not valid JSON: Expecting value: line 1 column 1"):
        Workflow.from_json("nope")


def test_numbers_json_does_not_have_are_refused_where_they_make_no_sense() -> None:
    # Python's parser reads NaN and Infinity; an estimate must still be a finite number.
    with pytest.raises(SchemaError) as info:
        Workflow.from_json('{"tasks": [{"id": "a", "tool": "s:t", "estimate": NaN},'
                           ' {"id": "b", "tool": "s:t", "estimate": Infinity}]}')  # fmt: skip
    assert tuple(map(str, info.value.problems)) == (
        "task 'a': estimate must be a finite number >= 0, not nan",
        "task 'b': estimate must be a finite number >= 0, not inf",
    )


# -- nesting, ids and references -----------------------------------------------------------


def nested(depth: int, leaf: Any) -> Any:
    """``leaf`` inside ``depth`` containers, objects and lists in turn (``depth`` 2: ``{"a": [leaf]}``)."""
    value = leaf
    for level in range(depth, 0, -1):
        value = {"a": value} if level % 2 else [value]
    return value


def test_arguments_may_nest_max_argument_depth_levels() -> None:
    assert MAX_ARGUMENT_DEPTH == 100
    # The arguments object is level 1: the value of "data" holds the other 99.
    deepest = {"data": nested(MAX_ARGUMENT_DEPTH - 1, "$OUTPUT[a].x")}
    workflow = wf({"id": "a", "tool": "s:t"}, {"id": "b", "tool": "s:t", "arguments": deepest})
    assert workflow["b"].dependencies == ("a",)
    assert workflow.to_dict()["tasks"][1]["arguments"] == deepest
    assert Workflow.from_json(json.dumps(workflow.to_dict())) == workflow


@pytest.mark.parametrize("depth", [MAX_ARGUMENT_DEPTH + 1, 990, 100_000])
def test_deeper_arguments_are_a_schema_error_naming_the_task(depth: int) -> None:
    # Found before anything runs, even at a depth that Python's recursion cannot walk.
    arguments = {"n": 1, "data": nested(depth - 1, "$OUTPUT[a]")}
    with pytest.raises(SchemaError) as info:
        wf({"id": "a", "tool": "s:t"}, {"id": "b", "tool": "s:t", "arguments": arguments})
    assert tuple(map(str, info.value.problems)) == ("task 'b': arguments.data: nested deeper than 100 levels",)
    with pytest.raises(ValueError, match=r"^nested deeper than 100 levels @ arguments\.data$"):
        Task(id="b", tool="s:t", arguments=arguments)


def test_json_too_deep_for_the_parser_is_a_schema_error() -> None:
    text = '{"tasks": [{"id": "a", "tool": "s:t", "arguments": {"x": ' + "[" * 100_000 + "]" * 100_000 + "}}]}"
    with pytest.raises(SchemaError) as info:
        Workflow.from_json(text)
    assert tuple(map(str, info.value.problems)) == ("plan: JSON nested too deeply to read",)


def test_a_deep_value_in_the_wrong_place_is_shown_short() -> None:
    with pytest.raises(SchemaError) as info:
        wf({"id": nested(5000, 1), "tool": "s:t"})
    assert tuple(map(str, info.value.problems)) == ("tasks[0]: id: expected a string, got object {'a': [{'a': [...]}]}",)


@pytest.mark.parametrize("task_id", ["a[0]", "a]", "[", "x]y[z"])
def test_ids_a_reference_cannot_name_are_refused(task_id: str) -> None:
    with pytest.raises(SchemaError) as info:
        wf({"id": task_id, "tool": "s:t"})
    assert tuple(map(str, info.value.problems)) == (
        f"task {task_id!r}: id {task_id!r} must not hold '[' or ']': no $OUTPUT[...] reference could name it",
    )


MALFORMED = "$OUTPUT[ must be followed by a task id and ] (write $$OUTPUT[ for the text $OUTPUT[)"


@pytest.mark.parametrize(
    ("arguments", "problem"),
    [
        ({"q": "$OUTPUT[a[0]].x"}, f"task 'b': arguments.q: malformed reference '$OUTPUT[a[0]].x': {MALFORMED}"),
        ({"q": "$OUTPUT["}, f"task 'b': arguments.q: malformed reference '$OUTPUT[': {MALFORMED}"),
        ({"q": "$OUTPUT[]"}, f"task 'b': arguments.q: malformed reference '$OUTPUT[]': {MALFORMED}"),
        (
            {"q": ["fine", {"a b": "ok $OUTPUT[a] then $OUTPUT[a and the rest of a long sentence"}]},
            f"task 'b': arguments.q[1]['a b']: malformed reference '$OUTPUT[a and the rest of a long sentenc...': "
            f"{MALFORMED}",
        ),
        ({"q": "$OUTPUT[$OUTPUT[a]]"}, f"task 'b': arguments.q: malformed reference '$OUTPUT[$OUTPUT[a]]': {MALFORMED}"),
    ],
)
def test_malformed_references_name_the_task_and_the_argument(arguments: dict[str, Any], problem: str) -> None:
    with pytest.raises(SchemaError) as info:
        wf({"id": "a", "tool": "s:t"}, {"id": "b", "tool": "s:t", "arguments": arguments})
    assert tuple(map(str, info.value.problems)) == (problem,)


def test_a_task_alone_names_its_id_and_the_argument() -> None:
    with pytest.raises(SchemaError) as info:
        Task.from_dict({"id": "b", "tool": "s:t", "arguments": {"q": "$OUTPUT[a"}})
    assert tuple(map(str, info.value.problems)) == (f"task 'b': arguments.q: malformed reference '$OUTPUT[a': {MALFORMED}",)


def test_an_escaped_marker_is_text_not_a_reference() -> None:
    arguments = {"q": "literal $$OUTPUT[nowhere].x", "r": ["$$OUTPUT["]}
    (task,) = wf({"id": "b", "tool": "s:t", "arguments": arguments}).tasks
    assert (task.references, task.dependencies) == ((), ())
    assert task.to_dict()["arguments"] == arguments  # kept as written: the run unescapes it


# -- across tasks --------------------------------------------------------------------------


def test_duplicate_ids() -> None:
    with pytest.raises(PlanError) as info:
        wf(*({"id": tid, "tool": "s:t"} for tid in ["a", "b", "a", "c", "b"]))
    assert str(info.value) == (
        "invalid plan (2 problems):\n"
        "  task 'a': id: used by 2 tasks (tasks[0], tasks[2])\n"
        "  task 'b': id: used by 2 tasks (tasks[1], tasks[4])"
    )
    assert {p.kind for p in info.value.problems} == {"duplicate"}


def test_the_model_alone_raises_the_first_problem_as_its_own_error() -> None:
    # Building a Workflow from Task objects checks as before: one error, with its data.
    with pytest.raises(DuplicateTaskError, match=r"^duplicate task ids: 'a'$") as dup:
        Workflow(tasks=[Task(id="a", tool="s:t"), Task(id="a", tool="s:t")])
    assert dup.value.task_ids == ("a",)
    with pytest.raises(UnknownDependencyError, match=r"^task 'b': depends_on names unknown task 'zz'$") as dep:
        Workflow(tasks=[Task(id="b", tool="s:t", depends_on=["zz"])])
    assert (dep.value.task_id, dep.value.dependency, dep.value.field) == ("b", "zz", "depends_on")
    with pytest.raises(CycleError, match=r"^tasks form a cycle: a -> a$") as cycle:
        Workflow(tasks=[Task(id="a", tool="s:t", depends_on=["a"])])
    assert cycle.value.cycle == ("a", "a")


def test_unknown_dependency() -> None:
    with pytest.raises(PlanError) as info:
        wf({"id": "a", "tool": "s:t"}, {"id": "b", "tool": "s:t", "depends_on": ["a", "zz"]})
    assert tuple(map(str, info.value.problems)) == ("task 'b': depends_on[1]: unknown task 'zz'",)
    assert (info.value.problems[0].kind, info.value.problems[0].name) == ("dependency", "zz")


def test_unknown_dependencies_get_the_close_ids() -> None:
    with pytest.raises(PlanError) as info:
        wf(
            {"id": "fetch_page", "tool": "s:t"},
            {"id": "b", "tool": "s:t", "depends_on": ["fetch_pag"], "arguments": {"q": "$OUTPUT[fetchpage].x"}},
        )
    assert tuple(map(str, info.value.problems)) == (
        "task 'b': depends_on[0]: unknown task 'fetch_pag'; did you mean 'fetch_page'?",
        "task 'b': arguments: $OUTPUT[fetchpage].x names unknown task 'fetchpage'; did you mean 'fetch_page'?",
    )


def test_reference_to_unknown_task() -> None:
    with pytest.raises(PlanError, match=r"\n  task 'b': arguments: \$OUTPUT\[zz\]\.x names unknown task 'zz'$"):
        wf({"id": "b", "tool": "s:t", "arguments": {"q": "$OUTPUT[zz].x"}})


def test_self_loop_in_depends_on() -> None:
    with pytest.raises(PlanError, match=r"\n  task 'a': depends_on\[0\]: tasks form a cycle: a -> a \(the task depends on itself\)$"):
        wf({"id": "a", "tool": "s:t", "depends_on": ["a"]})


def test_self_loop_through_a_reference() -> None:
    with pytest.raises(PlanError, match=r"\n  task 'a': arguments: \$OUTPUT\[a\] is the task's own output: tasks form a cycle: a -> a$"):
        wf({"id": "a", "tool": "s:t", "arguments": {"x": "$OUTPUT[a]"}})


def test_cycle_names_its_tasks() -> None:
    with pytest.raises(PlanError) as info:
        wf(
            {"id": "ok", "tool": "s:t"},
            {"id": "a", "tool": "s:t", "depends_on": ["c", "ok"]},
            {"id": "b", "tool": "s:t", "depends_on": ["a"]},
            {"id": "c", "tool": "s:t", "arguments": {"x": "$OUTPUT[b]"}},
        )
    (problem,) = info.value.problems
    assert problem.kind == "cycle"
    cycle = problem.problem.removeprefix("tasks form a cycle: ").split(" -> ")
    assert cycle[0] == cycle[-1]
    assert sorted(cycle[:-1]) == ["a", "b", "c"]
    # Each step follows a real dependency edge.
    edges = {("c", "a"), ("a", "b"), ("b", "c")}
    assert all(step in edges for step in zip(cycle, cycle[1:], strict=False))


def test_every_cycle_is_reported_once() -> None:
    with pytest.raises(PlanError) as info:
        wf(
            {"id": "a", "tool": "s:t", "depends_on": ["b"]},
            {"id": "b", "tool": "s:t", "depends_on": ["a"]},
            {"id": "c", "tool": "s:t", "depends_on": ["d"]},
            {"id": "d", "tool": "s:t", "depends_on": ["c"]},
        )
    assert [str(p) for p in info.value.problems] == [
        "task 'a': depends_on: tasks form a cycle: a -> b -> a",
        "task 'c': depends_on: tasks form a cycle: c -> d -> c",
    ]


def test_one_report_holds_every_problem_of_every_kind_task_by_task() -> None:
    with pytest.raises(PlanError) as info:
        Workflow.from_dict(
            {
                "tasks": [
                    {"id": "a", "tool": "s:t", "args": {}},
                    {"id": "b", "tool": "s:t", "depends_on": ["x", "b"]},
                    {"id": "b", "tool": "s:t"},
                    {"id": "c", "tool": "s:t", "depends_on": ["d"], "retries": "2"},
                    {"id": "d", "tool": "s:t", "depends_on": ["e"]},
                    {"id": "e", "tool": "s:t", "depends_on": ["d"]},
                ],
                "task": [],
            }
        )
    assert type(info.value) is PlanError  # problems of several kinds
    assert str(info.value) == (
        "invalid plan (7 problems):\n"
        "  plan: unknown key 'task'; did you mean 'tasks'? (accepted: tasks)\n"
        "  task 'a': unknown key 'args'; did you mean 'arguments'? (accepted: id, tool, arguments, depends_on, "
        "timeout, retries, trigger, estimate, approval)\n"
        "  task 'b': id: used by 2 tasks (tasks[1], tasks[2])\n"
        "  task 'b': depends_on[0]: unknown task 'x'\n"
        "  task 'b': depends_on[1]: tasks form a cycle: b -> b (the task depends on itself)\n"
        "  task 'c': retries: expected an integer, got string '2'\n"
        "  task 'd': depends_on: tasks form a cycle: d -> e -> d"
    )


def test_every_workflow_error_is_a_value_error() -> None:
    assert issubclass(WorkflowError, ValueError)
    for cls in (SchemaError, DuplicateTaskError, UnknownDependencyError, CycleError):
        assert issubclass(cls, WorkflowError)


def test_longest_chain() -> None:
    workflow = wf(
        {"id": "a", "tool": "s:t"},
        {"id": "b", "tool": "s:t", "depends_on": ["a"]},
        {"id": "c", "tool": "s:t", "depends_on": ["b"]},
        {"id": "d", "tool": "s:t", "depends_on": ["a"]},
    )
    assert workflow.longest_chain() == ["a", "b", "c"]
    heavy_d = {"a": 1.0, "b": 1.0, "c": 1.0, "d": 5.0}
    assert workflow.longest_chain(lambda t: heavy_d[t.id]) == ["a", "d"]


def test_task_from_dict_checks_one_task() -> None:
    assert Task.from_dict({"id": "a", "tool": "s:t"}) == Task(id="a", tool="s:t")
    with pytest.raises(SchemaError, match=r"^invalid plan \(1 problem\):\n  task 'a': depends_on: expected an array, got string 'x'$"):
        Task.from_dict({"id": "a", "tool": "s:t", "depends_on": "x"})


def test_suggestions_are_bounded_by_the_number_of_names() -> None:
    # Compared with at most 1,000 ids: a plan of many tasks with many unknown ids costs no pass over all ids each.
    few = [{"id": f"task_{n}", "tool": "s:t"} for n in range(999)]  # and x: 1,000 ids
    with pytest.raises(PlanError) as info:
        wf(*few, {"id": "x", "tool": "s:t", "depends_on": ["task_7x"]})
    assert "; did you mean 'task_7'" in str(info.value.problems[0])
    many = [{"id": f"task_{n}", "tool": "s:t"} for n in range(1001)]
    with pytest.raises(PlanError) as info:
        wf(*many, {"id": "x", "tool": "s:t", "depends_on": ["task_7x"]})
    assert tuple(map(str, info.value.problems)) == ("task 'x': depends_on[0]: unknown task 'task_7x'",)


# -- the schema of plans limited to some tools ------------------------------------------------


def check_limited(schema: dict[str, Any], plan: Any) -> bool:
    """Whether both jsonschema-rs and the reference library accept a plan (and they agree)."""
    rs = jsonschema_rs.validator_for(schema).is_valid(plan)
    assert jsonschema.Draft202012Validator(schema).is_valid(plan) == rs
    return rs


#: A pydantic-made schema with $defs, and one of draft 7 with definitions, array items and a "#" pointer.
POINT = {
    "$defs": {"P": {"type": "object", "properties": {"x": {"type": "integer"}}, "required": ["x"]}},
    "type": "object",
    "properties": {"at": {"$ref": "#/$defs/P"}, "path": {"type": "array", "items": {"$ref": "#/$defs/P"}}},
    "required": ["at"],
    "additionalProperties": False,
}
DRAFT_7 = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "definitions": {"P": {"type": "string", "enum": ["a", "b"]}},
    "type": "object",
    "properties": {
        "at": {"$ref": "#/definitions/P"},
        "pair": {
            "type": "array",
            "items": [{"type": "integer"}, {"$ref": "#/definitions/P"}],
            "additionalItems": False,
        },
        "again": {"$ref": "#/properties/pair/items/0"},
        "tree": {"type": "object", "properties": {"child": {"$ref": "#"}}},
    },
}
LIMITED_TOOLS = {
    "geo:point": ToolSchemas(input=POINT),
    "old:pick": ToolSchemas(input=DRAFT_7),
    "any:thing": ToolSchemas(),
    "ancient:tool": ToolSchemas(input={"$schema": "http://json-schema.org/draft-04/schema#", "type": "object"}),
}


def test_the_limited_schema_is_a_valid_2020_12_schema_that_both_libraries_compile() -> None:
    schema = workflow_schema(LIMITED_TOOLS)
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema_rs.validator_for(schema)  # compiles: every $ref resolves
    # Each tool's $defs under a name of its own; the draft-7 tool's definitions moved to $defs.
    assert {"geo.point", "geo.point.P", "old.pick", "old.pick.P"} <= set(schema["$defs"])
    branches = schema["properties"]["tasks"]["items"]["anyOf"]
    assert [b["properties"]["tool"] for b in branches] == [
        {"const": "ancient:tool"}, {"const": "any:thing"}, {"const": "geo:point"}, {"const": "old:pick"},
    ]  # fmt: skip
    assert workflow_schema() == workflow_schema(None)  # the general one, unchanged
    assert "$defs" not in workflow_schema()


@pytest.mark.parametrize(
    ("arguments", "accepted"),
    [
        ({"at": {"x": 1}, "path": [{"x": 2}]}, True),
        ({"at": "$OUTPUT[a]"}, True),  # a reference in place of an object
        ({"at": {"x": "$OUTPUT[a].n"}}, True),  # ...of a number, in a $defs schema
        ({"at": {"x": 1}, "path": ["$OUTPUT[a].p", {"x": "at $OUTPUT[a].n"}]}, True),
        ({"at": {"x": "one"}}, False),  # a string that holds no reference
        ({"at": {"y": 1}}, False),
        ({"at": {"x": 1}, "extra": 1}, False),
        ({"at": {"x": 1}, "extra": "$OUTPUT[a]"}, False),  # no argument of that name, reference or not
        ({}, False),
    ],
)
def test_arguments_are_those_of_the_tools_input_schema_or_references(arguments: Any, accepted: bool) -> None:
    plan = {"tasks": [{"id": "a", "tool": "any:thing"}, {"id": "b", "tool": "geo:point", "arguments": arguments}]}
    assert check_limited(workflow_schema(LIMITED_TOOLS), plan) is accepted


@pytest.mark.parametrize(
    ("arguments", "accepted"),
    [
        ({"at": "a", "pair": [1, "b"], "again": 2, "tree": {"child": {"at": "b"}}}, True),
        ({"pair": ["$OUTPUT[x]", "$OUTPUT[x].p"], "again": "$OUTPUT[x].n"}, True),
        ({"at": "c"}, False),
        ({"pair": [1, "b", 3]}, False),  # additionalItems: false, as items after prefixItems
        ({"again": "b"}, False),  # the "#/properties/pair/items/0" pointer, rewritten
        ({"tree": {"child": {"at": "c"}}}, False),  # the "#" pointer: the tool's own arguments
    ],
)
def test_a_draft_7_schema_reads_as_it_did(arguments: Any, accepted: bool) -> None:
    plan = {"tasks": [{"id": "x", "tool": "any:thing"}, {"id": "o", "tool": "old:pick", "arguments": arguments}]}
    assert check_limited(workflow_schema(LIMITED_TOOLS), plan) is accepted


def test_tools_without_a_usable_schema_take_any_arguments_and_other_tools_are_refused() -> None:
    schema = workflow_schema(LIMITED_TOOLS)
    for tool in ("any:thing", "ancient:tool"):
        assert check_limited(schema, {"tasks": [{"id": "a", "tool": tool, "arguments": {"what": [1]}}]})
    assert not check_limited(schema, {"tasks": [{"id": "a", "tool": "geo:other"}]})
    assert not check_limited(schema, {"tasks": [{"id": "a", "tool": "any:thing", "retries": -1}]})
    assert check_limited(workflow_schema({}), {"tasks": []})
    assert not check_limited(workflow_schema({}), {"tasks": [{"id": "a", "tool": "any:thing"}]})


def test_two_tools_with_defs_of_one_name_keep_them_apart() -> None:
    number = {"$defs": {"V": {"type": "number"}}, "type": "object", "properties": {"v": {"$ref": "#/$defs/V"}}}
    text = {"$defs": {"V": {"type": "string"}}, "type": "object", "properties": {"v": {"$ref": "#/$defs/V"}}}
    # Names that read alike once cleaned: "a:b.c" and "a.b:c" are both a.b.c.
    schema = workflow_schema({"a:b.c": ToolSchemas(input=number), "a.b:c": ToolSchemas(input=text)})
    jsonschema.Draft202012Validator.check_schema(schema)

    def plan(tool: str, value: Any) -> dict[str, Any]:
        return {"tasks": [{"id": "t", "tool": tool, "arguments": {"v": value}}]}

    assert [check_limited(schema, plan(tool, v)) for tool in ("a:b.c", "a.b:c") for v in (1, "x")] == [
        True, False, False, True,
    ]  # fmt: skip


async def test_real_plans_against_the_schema_of_mcp_server_time_and_local_tools() -> None:
    def add(a: int, b: int) -> int:
        return a + b

    async with open_servers({"mcpServers": {"time": TIME}}) as servers:
        tools = server_tools({**servers, "py": LocalTools({"add": add})})
    assert sorted(tools) == ["py:add", "time:convert_time", "time:get_current_time"]
    schema = workflow_schema(tools)
    jsonschema.Draft202012Validator.check_schema(schema)
    good = json.loads((EXAMPLES / "time-workflow.json").read_text())
    assert check_limited(schema, good)
    summed = {"tasks": [{"id": "s", "tool": "py:add", "arguments": {"a": 1, "b": "$OUTPUT[s0]"}}]}
    assert check_limited(schema, summed)
    # The plan a model got wrong (docs/typed.rst): a number for a timezone, a forgotten argument.
    assert not check_limited(schema, json.loads((EXAMPLES / "typed-plan.json").read_text()))
    assert not check_limited(schema, {"tasks": [{"id": "s", "tool": "py:add", "arguments": {"a": 1, "b": "2"}}]})


def test_definition_names_that_need_escaping_or_clash_with_a_tool_are_renamed() -> None:
    odd = {
        "$defs": {"a b/c~d": {"type": "integer"}},
        "definitions": {"a b/c~d": {"type": "string"}},
        "type": "object",
        "properties": {"n": {"$ref": "#/$defs/a%20b~1c~0d"}, "s": {"$ref": "#/definitions/a b~1c~0d"}},
    }
    # A tool whose name, cleaned, reads as the definitions of tool "t:x" would (t.x.a_b_c_d).
    tools = {"t:x": ToolSchemas(input=odd), "t.x:a_b_c_d": ToolSchemas(input={"type": "object"})}
    schema = workflow_schema(tools)
    jsonschema.Draft202012Validator.check_schema(schema)
    assert len(schema["$defs"]) == len(set(schema["$defs"])) == 6  # 2 tools, 2 definitions, reference, task

    def plan(arguments: dict[str, Any]) -> dict[str, Any]:
        return {"tasks": [{"id": "a", "tool": "t:x", "arguments": arguments}]}

    assert check_limited(schema, plan({"n": 1, "s": "x"}))
    assert not check_limited(schema, plan({"n": "x"}))
    assert not check_limited(schema, plan({"s": 1}))
    other = {"tasks": [{"id": "b", "tool": "t.x:a_b_c_d", "arguments": {"n": "anything"}}]}
    assert check_limited(schema, other)  # its own arguments schema, not a definition of t:x
    Workflow.from_dict(plan({"n": 1}))


@given(json_schemas(), json_arguments)
def test_literal_arguments_fit_the_limited_schema_exactly_when_they_fit_the_tools(
    schema: dict[str, Any], arguments: Any
) -> None:
    # References aside, a branch's arguments accept what the tool's input schema accepts, no more, no less.
    limited = workflow_schema({"s:t": ToolSchemas(input=schema)})
    plan = {"tasks": [{"id": "a", "tool": "s:t", "arguments": arguments}]}
    fits = jsonschema_rs.validator_for(schema).is_valid(arguments)
    assert check_limited(limited, plan) is fits
