from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given

from dagexec import (
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
