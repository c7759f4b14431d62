from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given

from dagexec import (
    MAX_ARGUMENT_DEPTH,
    CycleError,
    DuplicateTaskError,
    SchemaError,
    Task,
    UnknownDependencyError,
    Workflow,
    WorkflowError,
)

from .helpers import wf
from .strategies import DrawnDag, dags

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
        ([], "expected a JSON object, got list @ workflow"),
        ({}, "required field missing @ workflow.tasks"),
        ({"tasks": "abc"}, "expected a list, got str 'abc' @ workflow.tasks"),
        ({"tasks": [], "extra": 1}, "extra fields found (extra) @ workflow"),
        ({"tasks": [5]}, "expected an object, got int 5 @ workflow.tasks[0]"),
        ({"tasks": [{"tool": "s:t"}]}, "required field missing @ workflow.tasks[0].id"),
        ({"tasks": [{"id": 5, "tool": "s:t"}]}, "expected a string, got int 5 @ workflow.tasks[0].id"),
        ({"tasks": [{"id": "a"}]}, "required field missing @ workflow.tasks[0].tool (task 'a')"),
        (
            {"tasks": [{"id": "a", "tool": "s:t", "depends_on": "b"}]},
            "expected a list, got str 'b' @ workflow.tasks[0].depends_on (task 'a')",
        ),
        (
            {"tasks": [{"id": "a", "tool": "s:t", "depends_on": [1]}]},
            "expected a string, got int 1 @ workflow.tasks[0].depends_on[0] (task 'a')",
        ),
        (
            {"tasks": [{"id": "a", "tool": "s:t", "arguments": [1]}]},
            "expected an object, got list [1] @ workflow.tasks[0].arguments (task 'a')",
        ),
        (
            {"tasks": [{"id": "a", "tool": "s:t", "retry": 1}]},
            "extra fields found (retry) @ workflow.tasks[0] (task 'a')",
        ),
        ({"tasks": [{"id": "", "tool": "s:t"}]}, "id must not be empty @ workflow.tasks[0]"),
        (
            {"tasks": [{"id": "a", "tool": "upper"}]},
            "tool 'upper' is not of the form 'server:tool' @ workflow.tasks[0] (task 'a')",
        ),
        (
            {"tasks": [{"id": "a", "tool": ":upper"}]},
            "tool ':upper' is not of the form 'server:tool' @ workflow.tasks[0] (task 'a')",
        ),
        (
            {"tasks": [{"id": "a", "tool": "s:"}]},
            "tool 's:' is not of the form 'server:tool' @ workflow.tasks[0] (task 'a')",
        ),
        (
            {"tasks": [{"id": "a", "tool": "s:t", "estimate": float("nan")}]},
            "estimate must be a finite number >= 0, not nan @ workflow.tasks[0] (task 'a')",
        ),
        (
            {"tasks": [{"id": "a", "tool": "s:t", "estimate": float("inf")}]},
            "estimate must be a finite number >= 0, not inf @ workflow.tasks[0] (task 'a')",
        ),
        (
            {"tasks": [{"id": "a", "tool": "s:t", "estimate": -1}]},
            "estimate must be a finite number >= 0, not -1.0 @ workflow.tasks[0] (task 'a')",
        ),
        # A huge or deep value is shown short, never in full.
        ({"tasks": [{"id": "x" * 100, "tool": ["s:t"] * 50}]}, (
            "expected a string, got list ['s:t', 's:t', 's:t', 's:t', 's:t', 's:t', ...] "
            f"@ workflow.tasks[0].tool (task '{'x' * 100}')"
        )),
    ],
)
def test_schema_errors_name_the_field(data: Any, problem: str) -> None:
    with pytest.raises(SchemaError) as info:
        Workflow.from_dict(data)
    assert problem in info.value.problems
    assert problem in str(info.value)


def test_schema_errors_list_every_problem() -> None:
    with pytest.raises(SchemaError) as info:
        wf({"id": 1, "tool": "s:t"}, {"id": "b", "tool": "s:t", "depends_on": "x"})
    assert info.value.problems == (
        "expected a string, got int 1 @ workflow.tasks[0].id",
        "expected a list, got str 'x' @ workflow.tasks[1].depends_on (task 'b')",
    )


def test_invalid_json_is_a_schema_error() -> None:
    with pytest.raises(SchemaError, match=r"not valid JSON: Expecting value: line 1 column 1"):
        Workflow.from_json("nope")


def test_numbers_json_does_not_have_are_refused_where_they_make_no_sense() -> None:
    # Python's parser reads NaN and Infinity; an estimate must still be a finite number.
    with pytest.raises(SchemaError) as info:
        Workflow.from_json('{"tasks": [{"id": "a", "tool": "s:t", "estimate": NaN},'
                           ' {"id": "b", "tool": "s:t", "estimate": Infinity}]}')  # fmt: skip
    assert info.value.problems == (
        "estimate must be a finite number >= 0, not nan @ workflow.tasks[0] (task 'a')",
        "estimate must be a finite number >= 0, not inf @ workflow.tasks[1] (task 'b')",
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
    assert info.value.problems == ("nested deeper than 100 levels @ workflow.tasks[1].arguments.data (task 'b')",)
    with pytest.raises(ValueError, match=r"^nested deeper than 100 levels @ arguments\.data$"):
        Task(id="b", tool="s:t", arguments=arguments)


def test_json_too_deep_for_the_parser_is_a_schema_error() -> None:
    text = '{"tasks": [{"id": "a", "tool": "s:t", "arguments": {"x": ' + "[" * 100_000 + "]" * 100_000 + "}}]}"
    with pytest.raises(SchemaError) as info:
        Workflow.from_json(text)
    assert info.value.problems == ("JSON nested too deeply to read",)


def test_a_deep_value_in_the_wrong_place_is_shown_short() -> None:
    with pytest.raises(SchemaError) as info:
        wf({"id": nested(5000, 1), "tool": "s:t"})
    assert info.value.problems == ("expected a string, got dict {'a': [{'a': [...]}]} @ workflow.tasks[0].id",)


@pytest.mark.parametrize("task_id", ["a[0]", "a]", "[", "x]y[z"])
def test_ids_a_reference_cannot_name_are_refused(task_id: str) -> None:
    with pytest.raises(SchemaError) as info:
        wf({"id": task_id, "tool": "s:t"})
    assert info.value.problems == (
        f"id {task_id!r} must not hold '[' or ']': no $OUTPUT[...] reference could name it "
        f"@ workflow.tasks[0] (task {task_id!r})",
    )


MALFORMED = "$OUTPUT[ must be followed by a task id and ] (write $$OUTPUT[ for the text $OUTPUT[)"


@pytest.mark.parametrize(
    ("arguments", "problem"),
    [
        ({"q": "$OUTPUT[a[0]].x"}, f"malformed reference '$OUTPUT[a[0]].x': {MALFORMED} @ workflow.tasks[1].arguments.q"),
        ({"q": "$OUTPUT["}, f"malformed reference '$OUTPUT[': {MALFORMED} @ workflow.tasks[1].arguments.q"),
        ({"q": "$OUTPUT[]"}, f"malformed reference '$OUTPUT[]': {MALFORMED} @ workflow.tasks[1].arguments.q"),
        (
            {"q": ["fine", {"a b": "ok $OUTPUT[a] then $OUTPUT[a and the rest of a long sentence"}]},
            f"malformed reference '$OUTPUT[a and the rest of a long sentenc...': {MALFORMED} "
            "@ workflow.tasks[1].arguments.q[1]['a b']",
        ),
        ({"q": "$OUTPUT[$OUTPUT[a]]"}, f"malformed reference '$OUTPUT[$OUTPUT[a]]': {MALFORMED} @ workflow.tasks[1].arguments.q"),
    ],
)
def test_malformed_references_name_the_task_and_the_argument(arguments: dict[str, Any], problem: str) -> None:
    with pytest.raises(SchemaError) as info:
        wf({"id": "a", "tool": "s:t"}, {"id": "b", "tool": "s:t", "arguments": arguments})
    assert info.value.problems == (f"{problem} (task 'b')",)


def test_a_task_alone_names_its_id_and_the_argument() -> None:
    with pytest.raises(SchemaError) as info:
        Task.from_dict({"id": "b", "tool": "s:t", "arguments": {"q": "$OUTPUT[a"}})
    assert info.value.problems == (f"malformed reference '$OUTPUT[a': {MALFORMED} @ task.arguments.q (task 'b')",)


def test_an_escaped_marker_is_text_not_a_reference() -> None:
    arguments = {"q": "literal $$OUTPUT[nowhere].x", "r": ["$$OUTPUT["]}
    (task,) = wf({"id": "b", "tool": "s:t", "arguments": arguments}).tasks
    assert (task.references, task.dependencies) == ((), ())
    assert task.to_dict()["arguments"] == arguments  # kept as written: the run unescapes it


# -- across tasks --------------------------------------------------------------------------


def test_duplicate_ids() -> None:
    with pytest.raises(DuplicateTaskError, match=r"^duplicate task ids: 'a', 'b'$") as info:
        wf(*({"id": tid, "tool": "s:t"} for tid in ["a", "b", "a", "c", "b"]))
    assert info.value.task_ids == ("a", "b")


def test_unknown_dependency() -> None:
    with pytest.raises(
        UnknownDependencyError, match=r"^task 'b': depends_on names unknown task 'zz'$"
    ) as info:
        wf({"id": "a", "tool": "s:t"}, {"id": "b", "tool": "s:t", "depends_on": ["a", "zz"]})
    assert (info.value.task_id, info.value.dependency, info.value.field) == ("b", "zz", "depends_on")


def test_reference_to_unknown_task() -> None:
    with pytest.raises(
        UnknownDependencyError,
        match=r"^task 'b': arguments \(\$OUTPUT\[zz\]\.x\) names unknown task 'zz'$",
    ):
        wf({"id": "b", "tool": "s:t", "arguments": {"q": "$OUTPUT[zz].x"}})


def test_self_loop_in_depends_on() -> None:
    with pytest.raises(CycleError, match=r"^tasks form a cycle: a -> a$") as info:
        wf({"id": "a", "tool": "s:t", "depends_on": ["a"]})
    assert info.value.cycle == ("a", "a")


def test_self_loop_through_a_reference() -> None:
    with pytest.raises(CycleError, match=r"^tasks form a cycle: a -> a$"):
        wf({"id": "a", "tool": "s:t", "arguments": {"x": "$OUTPUT[a]"}})


def test_cycle_names_its_tasks() -> None:
    with pytest.raises(CycleError) as info:
        wf(
            {"id": "ok", "tool": "s:t"},
            {"id": "a", "tool": "s:t", "depends_on": ["c", "ok"]},
            {"id": "b", "tool": "s:t", "depends_on": ["a"]},
            {"id": "c", "tool": "s:t", "arguments": {"x": "$OUTPUT[b]"}},
        )
    cycle = info.value.cycle
    assert cycle[0] == cycle[-1]
    assert sorted(cycle[:-1]) == ["a", "b", "c"]
    # Each step follows a real dependency edge.
    edges = {("c", "a"), ("a", "b"), ("b", "c")}
    assert all(step in edges for step in zip(cycle, cycle[1:], strict=False))
    assert str(info.value) == "tasks form a cycle: " + " -> ".join(cycle)


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
    with pytest.raises(SchemaError, match=r"expected a list, got str 'x' @ task.depends_on"):
        Task.from_dict({"id": "a", "tool": "s:t", "depends_on": "x"})
