"""``dagexec bench --part plans``: the converter of published plans, the vendored sets, and exact virtual-time runs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from dagexec.bench import (
    VENDORED_SETS,
    PlansFileError,
    bench_branches,
    bench_plans,
    draw_durations,
    makespans,
    read_plans,
    vendored_sets,
)
from dagexec.bench._plan_sets import NotAPlan, plan_graph
from dagexec.bench._plans import timed_workflow
from dagexec.cli import main

from .helpers import dagexec, write

NESTFUL = {
    "input": "Find flights from New York to London and hotels in London.",
    "output": [
        {"name": "SearchAirport", "arguments": {"query": "New York"}, "label": "var1"},
        {"name": "SearchAirport", "arguments": {"query": "London"}, "label": "var2"},
        {"name": "FlightSearch", "arguments": {"from": "$var1.skyId$", "to": "$var2.skyId$"}, "label": "var3"},
        {"name": "SearchLocation", "arguments": {"query": "London"}, "label": "var4"},
        {"name": "SearchHotels", "arguments": {"geo": ["near $var4.geoId$"]}, "label": "var5"},
        {"name": "var_result", "arguments": {"flights": "$var3$", "hotels": "$var5$"}},
    ],
}

TASKBENCH = {
    "id": "16988029",
    "type": "dag",
    "instruction": "a user's request",
    "task_nodes": [
        {"task": "borrow_book_online", "arguments": [{"name": "book", "value": "x"}]},
        {"task": "attend_meeting_online", "arguments": []},
        {"task": "daily_bill_payment", "arguments": []},
        {"task": "share_by_social_network", "arguments": []},
    ],
    "task_links": [
        {"source": "borrow_book_online", "target": "attend_meeting_online"},
        {"source": "borrow_book_online", "target": "daily_bill_payment"},
        {"source": "attend_meeting_online", "target": "share_by_social_network"},
        {"source": "daily_bill_payment", "target": "share_by_social_network"},
    ],
}


def shape(tasks: list[dict[str, Any]]) -> dict[str, tuple[str, list[str]]]:
    return {t["id"]: (t["tool"], t["depends_on"]) for t in tasks}


def test_a_nestful_sequence_becomes_its_calls_and_their_references() -> None:
    kind, tasks = plan_graph(NESTFUL)
    assert kind == "nestful"
    assert shape(tasks) == {
        "var1": ("nestful:SearchAirport", []),
        "var2": ("nestful:SearchAirport", []),
        "var3": ("nestful:FlightSearch", ["var1", "var2"]),
        "var4": ("nestful:SearchLocation", []),
        "var5": ("nestful:SearchHotels", ["var4"]),  # a reference inside a longer string, in a list
    }  # var_result, the answer, is no call
    assert all(set(t) == {"id", "tool", "depends_on"} for t in tasks)  # no arguments, no prompt


def test_a_nestful_label_given_twice_names_the_later_call() -> None:
    record = {
        "output": [
            {"name": "a", "arguments": {}, "label": "var1"},
            {"name": "b", "arguments": {"x": "$var1$"}, "label": "var2"},
            {"name": "c", "arguments": {"x": "$var1.y$"}, "label": "var2"},
            {"name": "d", "arguments": {"x": "$var2.z$"}, "label": "var3"},
        ]
    }
    assert shape(plan_graph(record)[1]) == {
        "var1": ("nestful:a", []),
        "var2": ("nestful:b", ["var1"]),
        "call2": ("nestful:c", ["var1"]),
        "var3": ("nestful:d", ["call2"]),
    }


def test_nestfuls_later_labels_read_the_same() -> None:
    record = {"output": [{"name": "a", "arguments": {}, "label": "var_1"},
                         {"name": "b", "arguments": {"x": "$var_1.result$"}, "label": "var_2"}]}  # fmt: skip
    assert shape(plan_graph(record)[1]) == {"var_1": ("nestful:a", []), "var_2": ("nestful:b", ["var_1"])}


def test_a_nestful_reference_to_no_earlier_call_is_not_a_plan() -> None:
    record = {"output": [{"name": "a", "arguments": {"x": "$var2.y$"}, "label": "var1"}]}
    with pytest.raises(NotAPlan, match=r"^call 0 \(a\) reads \$var2\$, which no earlier call is$"):
        plan_graph(record)


def test_a_taskbench_sample_becomes_its_nodes_and_links() -> None:
    kind, tasks = plan_graph(TASKBENCH)
    assert kind == "taskbench-dag"
    assert shape(tasks) == {
        "borrow_book_online": ("taskbench:borrow_book_online", []),
        "attend_meeting_online": ("taskbench:attend_meeting_online", ["borrow_book_online"]),
        "daily_bill_payment": ("taskbench:daily_bill_payment", ["borrow_book_online"]),
        "share_by_social_network": (
            "taskbench:share_by_social_network",
            ["attend_meeting_online", "daily_bill_payment"],
        ),
    }


def test_a_dagexec_workflow_keeps_the_dependencies_its_references_imply() -> None:
    record = {"tasks": [{"id": "a", "tool": "s:x"}, {"id": "b", "tool": "s:y", "arguments": {"v": "$OUTPUT[a].v"}}]}
    assert shape(plan_graph(record)[1]) == {"a": ("s:x", []), "b": ("s:y", ["a"])}


@pytest.mark.parametrize(
    ("record", "reason"),
    [
        ({"task_nodes": [{"task": "a"}], "task_links": [{"source": "a", "target": "b"}]},
         "link 0 names 'b', which is no node"),
        ({"task_nodes": [{"task": "a"}, {"task": "a"}], "task_links": []},
         "nodes 'a' appear twice: links could not tell them apart"),
        ({"task_nodes": [{"task": "a"}, {"task": "b"}],
          "task_links": [{"source": "a", "target": "b"}, {"source": "b", "target": "a"}]},
         "task 'a': depends_on: tasks form a cycle: "),
        ({"output": [{"name": "var_result", "arguments": {}}]}, "no tool call"),
        ({"question": "?"}, "neither a dagexec workflow"),
        ([1, 2], "not a JSON object"),
    ],
)  # fmt: skip
def test_records_that_are_not_plans_say_why(record: Any, reason: str) -> None:
    with pytest.raises(NotAPlan) as caught:
        plan_graph(record)
    assert str(caught.value).startswith(reason)


def test_a_file_of_taskbench_lines_is_a_set_per_type_and_keeps_what_it_skipped(tmp_path: Path) -> None:
    chain = {"id": "c1", "type": "chain", "task_nodes": [{"task": "a"}, {"task": "b"}],
             "task_links": [{"source": "a", "target": "b"}]}  # fmt: skip
    broken = {"id": "x9", "type": "dag", "task_nodes": [{"task": "a"}], "task_links": [{"source": "a", "target": "q"}]}
    path = tmp_path / "data.json"
    path.write_text("\n".join(json.dumps(r) for r in (TASKBENCH, chain, broken)) + "\n")
    dag, chains = read_plans(path)
    assert (dag.name, [p["id"] for p in dag.plans]) == ("data-dag", ["16988029"])
    assert (chains.name, [p["id"] for p in chains.plans]) == ("data-chain", ["c1"])
    assert dag.skipped == ("record 2 (x9): link 0 names 'q', which is no node",)
    [(_, workflow)] = dag.workflows()
    assert workflow.generations == [["borrow_book_online"], ["attend_meeting_online", "daily_bill_payment"],
                                    ["share_by_social_network"]]  # fmt: skip


def test_files_that_hold_no_plans_are_refused(tmp_path: Path) -> None:
    missing = tmp_path / "none.json"
    with pytest.raises(PlansFileError, match=r"^cannot read plans '.*none\.json': No such file or directory$"):
        read_plans(missing)
    with pytest.raises(PlansFileError, match=r"^cannot read plans '.*bad\.json': neither JSON nor JSON lines$"):
        (tmp_path / "bad.json").write_text("[1,")
        read_plans(tmp_path / "bad.json")
    lines = tmp_path / "lines.json"
    lines.write_text('{"tasks": []}\n{oops\n')
    with pytest.raises(PlansFileError, match=r"^cannot read plans '.*lines\.json': line 2 is not JSON: "):
        read_plans(lines)
    empty = tmp_path / "empty.json"
    empty.write_text('[{"question": "?"}]')
    refused = r"^cannot read plans '.*empty\.json': no plan in it: record 0 \(0\): neither"
    with pytest.raises(PlansFileError, match=refused):
        read_plans(empty)


def test_the_vendored_sets_are_nestfuls_plans_as_graphs_only() -> None:
    sets = vendored_sets()
    assert [(s.name, len(s.plans), s.skipped) for s in sets] == [
        ("nestful-executable", 85, ()),
        ("nestful-sgd", 46, ()),
        ("nestful-glaive", 169, ()),
    ]
    assert tuple(s.name for s in sets) == VENDORED_SETS
    for plan_set in sets:
        for plan in plan_set.plans:
            assert all(set(task) == {"id", "tool", "depends_on"} for task in plan["tasks"])
        assert len(plan_set.workflows()) == len(plan_set.plans)  # each a valid workflow
    notice = (Path(read_plans.__code__.co_filename).parent / "plans" / "NOTICE").read_text()
    assert "053cbde0446dddd31e8293f179085e1b39ab79b5" in notice and "Apache License 2.0" in notice


def test_durations_are_seeded_lognormal_draws() -> None:
    plan = {"id": "p", "tasks": [{"id": i, "tool": "s:t", "depends_on": []} for i in "ab"]}
    assert draw_durations(plan, 1.0, 0) == draw_durations(plan, 1.0, 0)
    assert draw_durations(plan, 1.0, 0) != draw_durations(plan, 1.0, 1)
    assert draw_durations(plan, 1.0, 0) != draw_durations(plan, 1.5, 0)
    assert all(d > 0 for d in draw_durations(plan, 1.5, 3).values())


async def test_makespans_in_virtual_time_are_exact(autojump_clock: Any) -> None:
    # a (1 s) -> c (1 s); b (3 s) alone: eager 3 s, layered 3 + 1 s, all the work 5 s.
    plan = {"id": "p", "tasks": [{"id": "a", "tool": "s:t", "depends_on": []},
                                 {"id": "b", "tool": "s:t", "depends_on": []},
                                 {"id": "c", "tool": "s:t", "depends_on": ["a"]}]}  # fmt: skip
    times = await makespans(timed_workflow(plan, {"a": 1.0, "b": 3.0, "c": 1.0}))
    assert times == {
        "eager": 3.0,
        "layered": 4.0,
        "one at a time": 5.0,
        # Two at once: a and b start, c once a is done: 3 s either way.
        "2/fifo": 3.0,
        "2/critical_path": 3.0,
        "4/fifo": 3.0,
        "4/critical_path": 3.0,
    }


def test_the_plans_part_on_a_small_set(tmp_path: Path) -> None:
    chain = {"id": "chain", "tasks": [{"id": "a", "tool": "s:t"}, {"id": "b", "tool": "s:t", "depends_on": ["a"]}]}
    sets = read_plans(write(tmp_path / "mine.json", {"plans": [TASKBENCH, chain]}) and tmp_path / "mine.json")
    report = bench_plans(True, sets)
    assert (report["sigmas"], report["draws"], report["limits"]) == ([0.5, 1.0, 1.5], 1, [2, 4])
    by_name = {s["name"]: s for s in report["sets"]}
    assert set(by_name) == {"mine", "mine-dag"}
    mine = by_name["mine"]
    assert (mine["plans"], mine["parallel"], mine["tasks_max"]) == (1, 0, 2)
    for row in mine["rows"]:  # a chain: every way of running it takes all the work
        assert row["layered_max"] == pytest.approx(1.0) and row["one_at_a_time"] == pytest.approx(1.0)
        assert row["layered_slower_plans"] == 0
    dag = by_name["mine-dag"]
    assert (dag["plans"], dag["parallel"]) == (1, 1)
    for row in dag["rows"]:
        assert row["eager_equals_critical_path"] is True
        assert row["eager_max"] == pytest.approx(1.0, abs=1e-9)
        assert 1.0 - 1e-9 <= row["layered_mean"] <= row["layered_max"] <= row["one_at_a_time"] + 1e-9
        # A diamond's layers are its own stages: no barrier holds a call back.
        assert row["layered_slower_plans"] == 0 and row["layered_max"] == pytest.approx(1.0)
        assert {(r["limit"], r["priority"]) for r in row["limited"]} == {
            (k, p) for k in (2, 4) for p in ("fifo", "critical_path")
        }


def test_dagexec_bench_part_plans_quick(tmp_path: Path) -> None:
    out = tmp_path / "plans.json"
    run = dagexec("bench", "--part", "plans", "--quick", "--json", str(out))
    assert run.returncode == 0, run.stderr
    assert "7. published plans, virtual time" in run.stdout
    report = json.loads(out.read_text())
    assert set(report) == {"quick", "machine", "plans"}
    sets = report["plans"]["sets"]
    assert [(s["name"], s["plans"], s["of"]) for s in sets] == [
        ("nestful-executable", 10, 85),
        ("nestful-sgd", 10, 46),
        ("nestful-glaive", 10, 169),
    ]
    assert all(row["eager_equals_critical_path"] for s in sets for row in s["rows"])


def test_dagexec_bench_plans_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    mine = write(tmp_path / "mine.jsonl", TASKBENCH)
    assert main(["bench", "--quick", "--plans", mine]) == 0
    out = capsys.readouterr().out
    assert "dagexec bench --quick: plans..." in out
    assert "mine-dag" in out and "nestful" not in out
    (tmp_path / "nothing.json").write_text("[]")
    assert main(["bench", "--quick", "--plans", str(tmp_path / "nothing.json")]) == 2
    found = capsys.readouterr()
    assert found.out == ""
    assert found.err.strip().endswith("nothing.json': no plan in it")
    assert main(["bench", "--quick", "--part", "makespan", "--plans", mine]) == 2
    assert capsys.readouterr().err.strip() == "error: --plans is for the plans part: add --part plans"


@pytest.mark.slow  # a real MCP server: some seconds to start and run
def test_dependent_branches_on_a_real_mcp_server() -> None:
    report = bench_branches(True, scale=0.05)
    assert (report["runs"], report["tasks"], report["layers"], report["scale"]) == (2, 12, 5, 0.05)
    eager, layered = report["rows"]
    assert (eager["strategy"], layered["strategy"]) == ("eager", "layered")
    # Virtual time: the demo's 2.3 s and 3.6 s, scaled. A real run takes at least as long.
    assert eager["virtual"] == pytest.approx(2.3 * 0.05) and layered["virtual"] == pytest.approx(3.6 * 0.05)
    assert eager["p50"] >= eager["virtual"] and layered["p50"] >= layered["virtual"]
