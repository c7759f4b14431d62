"""Drawing plans: ``dagexec.to_mermaid``, ``dagexec.to_dot``, ``dagexec.plot.plan_figure`` and ``dagexec graph``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dagexec import Workflow, to_dot, to_mermaid
from dagexec.cli import main

from .helpers import write

PLAN = {
    "tasks": [
        {"id": "a", "tool": "s:x"},
        {"id": "b", "tool": "s:y"},
        {"id": "c", "tool": "s:z", "arguments": {"v": "$OUTPUT[a].v"}, "depends_on": ["b"]},
    ]
}


def test_mermaid() -> None:
    assert to_mermaid(Workflow.from_dict(PLAN)) == (
        "flowchart LR\n"
        '    t0["a<br/>s:x"]\n'
        '    t1["b<br/>s:y"]\n'
        '    t2["c<br/>s:z"]\n'
        "    t1 --> t2\n"
        "    t0 --> t2\n"
    )
    assert to_mermaid(Workflow.from_dict(PLAN), direction="TB").startswith("flowchart TB\n")
    with pytest.raises(ValueError, match=r"^direction must be 'LR', 'TB', 'RL' or 'BT', not 'up'$"):
        to_mermaid(Workflow.from_dict(PLAN), direction="up")


def test_dot() -> None:
    assert to_dot(Workflow.from_dict(PLAN)) == (
        'digraph "plan" {\n'
        "    rankdir=LR;\n"
        "    node [shape=box];\n"
        '    "a" [label="a\\ns:x"];\n'
        '    "b" [label="b\\ns:y"];\n'
        '    "c" [label="c\\ns:z"];\n'
        '    "b" -> "c";\n'
        '    "a" -> "c";\n'
        "}\n"
    )


def test_text_from_the_plan_cannot_break_out_of_its_label() -> None:
    workflow = Workflow.from_dict({"tasks": [{"id": 'x"); click t0 "evil" <b>#\x1b', "tool": 'srv:say "hi"]\\'}]})
    assert to_mermaid(workflow).splitlines()[1] == (
        '    t0["x#34;#41;#59; click t0 #34;evil#34; #60;b#62;#35;#27;<br/>srv:say #34;hi#34;#93;#92;"]'
    )
    assert to_dot(workflow).splitlines()[3] == (
        r'    "x\"); click t0 \"evil\" <b>#\\x1b" [label="x\"); click t0 \"evil\" <b>#\\x1b\nsrv:say \"hi\"]\\"];'
    )


def test_the_plot_extra_draws_a_plan(tmp_path: Path) -> None:
    from dagexec.plot import plan_figure, save_plan

    workflow = Workflow.from_dict(PLAN)
    figure = plan_figure(workflow)
    (axes,) = figure.axes
    assert [t.get_text() for t in axes.get_xticklabels()] == ["layer 1", "layer 2"]
    boxes = sorted(t.get_text() for t in axes.texts if t.get_text())  # the arrows are empty annotations
    assert boxes == ["a\ns:x", "b\ns:y", "c\ns:z"]
    save_plan(workflow, tmp_path / "plan.svg")
    assert "<svg" in (tmp_path / "plan.svg").read_text()


def test_dagexec_graph(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    plan = write(tmp_path / "plan.json", PLAN)
    assert main(["graph", plan]) == 0
    assert capsys.readouterr().out == to_mermaid(Workflow.from_dict(PLAN))
    assert main(["graph", plan, "--format", "dot"]) == 0
    assert capsys.readouterr().out == to_dot(Workflow.from_dict(PLAN))
    assert main(["graph", plan, "-o", str(tmp_path / "plan.gv")]) == 0
    assert (tmp_path / "plan.gv").read_text() == to_dot(Workflow.from_dict(PLAN))
    assert main(["graph", plan, "--output", str(tmp_path / "plan.png")]) == 0
    assert (tmp_path / "plan.png").read_bytes().startswith(b"\x89PNG")
    assert capsys.readouterr().out == ""


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--format", "image"], "error: --format image needs --output FILE (its suffix says which: svg, png, "),
        (["-o", "plan.doc"], "error: cannot draw the picture 'plan.doc': unknown format 'doc' (known: mmd and dot "),
        (["-o", "no/plan.mmd"], "error: cannot write the graph 'no/plan.mmd': No such file or directory"),
    ],
)
def test_dagexec_graph_refuses_what_it_cannot_write(
    args: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "plan.json", PLAN)
    assert main(["graph", "plan.json", *args]) == 2
    assert capsys.readouterr().err.startswith(message)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plan.json"]


def test_dagexec_graph_checks_the_plan(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "cycle.json").write_text(json.dumps({"tasks": [{"id": "a", "tool": "s:x", "depends_on": ["a"]}]}))
    assert main(["graph", str(tmp_path / "cycle.json")]) == 2
    assert "tasks form a cycle: a -> a" in capsys.readouterr().err
