"""The documentation builds with warnings as errors, and every example in it runs."""

from __future__ import annotations

import html
import json
import re
import runpy
import subprocess
import sys
from pathlib import Path

import jsonschema
import jsonschema_rs
import pytest
import trio.testing

from dagexec import EagerExecutor, ExecutionResult, PlanError, Workflow
from dagexec.bench import PARTS
from dagexec.servers import load_config

from .helpers import DOCS, EXAMPLES, cli, code_blocks, dagexec, max_in_flight, starts


@pytest.mark.slow
def test_sphinx_build_has_no_warnings(tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html", str(DOCS), str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    for page in ("index", "quickstart", "concepts", "workflows", "mcp", "controls", "live", "scaling", "failures", "cli",
                 "serve", "benchmarks", "api", "typed"):  # fmt: skip
        assert (tmp_path / f"{page}.html").exists(), page
    concepts = (tmp_path / "concepts.html").read_text()
    assert "demo-timelines.svg" in concepts
    assert "limited-timelines.svg" in concepts
    assert list(tmp_path.glob("_images/demo-timelines*.svg"))
    # The concepts page states the figures its example script measures, and each
    # picture's title names what ran it.
    f = runpy.run_path(str(EXAMPLES / "priority.py"))["figures"]()
    text = " ".join(re.sub(r"<[^>]+>", "", concepts).split()).replace("\u2019", "'")
    assert f"the run takes {f['fifo']:.1f} s. Critical-path priority" in text
    assert f"the run takes {f['critical_path']:.1f} s, the plan's critical path" in text
    assert (
        f"finished first on {f['sooner']} of them, at the same time on {f['plans'] - f['sooner'] - f['later']}, "
        f"and later on {f['later']} (by at most {f['worst_loss'] * 100:.0f} %). Its mean makespan is "
        f"{f['mean_critical_path']:.3f} times the lower bound, against {f['mean_fifo']:.3f} for first come"
    ) in text
    titles = {
        "demo": ["layered, one layer after another: 3.6 s", "eager, each task once its dependencies are done: 2.3 s"],
        "limited": [
            'first come, first served (priority="fifo"), 2 calls at most: 4.5 s',
            "critical-path priority (the default), 2 calls at most: 3.5 s",
        ],
    }
    for picture, expected in titles.items():
        (svg,) = tmp_path.glob(f"_images/{picture}-timelines*.svg")
        assert re.findall(r">((?:layered|eager|first|critical)[^<]*)</text>", svg.read_text()) == expected
    api = (tmp_path / "api.html").read_text()
    assert "max_concurrency" in api and "open_servers" in api
    # The reference shows only public names (the build above resolves each, with
    # no exception for dagexec's own).
    shown = html.unescape(re.sub(r"<[^>]+>", " ", api))
    assert re.findall(r"dagexec\._\w+|\b_[A-Z]\w*|\bDriver\b|Literal\['(?:eager|all_success)", shown) == []
    bench = (tmp_path / "benchmarks.html").read_text()
    assert "Scheduler overhead" in bench and "Real MCP latency" in bench
    # The text quotes the committed report's figures, not numbers typed in once.
    report = json.loads((DOCS / "benchmarks.json").read_text())
    # The concepts page too: the plans part's and the branches part's, and the demo plan's drawing.
    (executable,) = [s for s in report["plans"]["sets"] if s["name"] == "nestful-executable"]
    (row,) = [r for r in executable["rows"] if r["sigma"] == 1.0]
    assert f"layered, {row['layered_mean']:.3f} ({row['layered_p95']:.3f} at the 95th percentile" in text
    assert f"layered takes {report['branches']['layered_over_eager']:.2f} times as long" in text
    assert list(tmp_path.glob("_images/demo-plan*.svg"))
    (random10k,) = [r for r in report["overhead"] if (r["family"], r["tasks"]) == ("random", 10_000)]
    gateway = report["gateway"]
    text = html.unescape(re.sub(r"<[^>]+>", "", bench))
    assert f"about {round(random10k['tasks_per_second'], -3):,.0f} tasks/s" in text
    assert f"P95 is {(gateway['p95'] - gateway['ideal']) * 1000:.0f} ms over" in text
    assert "|" not in re.sub(r"<table.*?</table>", "", bench, flags=re.DOTALL).split("How to read them")[1]
    # Each benchmark table fits furo's content column (46em: about 58 characters of
    # cells at the widest, padding included; the one table that overflowed it had
    # 86), and a legend under it says what each heading means.
    found = re.findall(r"(<table.*?</table>)\s*</div>\s*<ul class=\"simple\">(.*?)</ul>", bench, re.DOTALL)
    assert found and len(found) == bench.count("<table")
    for table, legend in found:
        rows = [
            [html.unescape(re.sub(r"<[^>]+>", "", cell)).strip() for cell in re.findall(r"<t[hd].*?</t[hd]>", tr, re.S)]
            for tr in re.findall(r"<tr.*?</tr>", table, re.DOTALL)
        ]
        widest = [max(len(word) for row in rows for word in row[i].split()) for i in range(len(rows[0]))]
        assert sum(widest) <= 58, rows[0]
        explained = ", ".join(re.findall(r"<strong>(.*?)</strong>", html.unescape(legend)))
        for heading in rows[0][1:]:
            assert heading in explained or heading == "tasks", heading


@pytest.mark.parametrize(
    "example",
    [
        "controls.py",
        "mcp_time.py",
        "streaming.py",
        "approval.py",
        "journal.py",
        "stopping.py",
        "priority.py",
        "typed.py",
        "events.py",
        "local_outputs.py",
        pytest.param("scaling.py", marks=pytest.mark.slow),  # a Dask cluster
    ],
)
def test_example_scripts_run(example: str) -> None:
    out = subprocess.run([sys.executable, str(EXAMPLES / example)], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    if example == "controls.py":
        lines = out.stdout.splitlines()
        assert lines[:2] == [
            "retrying flaky (attempt 1 failed: ConnectionError: try again)",
            "retrying flaky (attempt 2 failed: ConnectionError: try again)",
        ]
        assert "slow     error    attempts=1 timeout: no answer within 0.3 s" in lines
        assert "flaky    success  attempts=3 " in lines
        assert "cleanup  success  attempts=1 " in lines
    elif example == "streaming.py":
        # Real time: the outputs, and starts no earlier than the plan allows (the
        # exact starts are checked in virtual time below).
        found = re.findall(r"^(\w+): started at (\d+\.\d) s, (.*)$", out.stdout, re.MULTILINE)
        assert [(name, output) for name, _, output in found] == [
            ("news", "['trio: first hit', 'trio: second hit']"),
            ("papers", "['DAG scheduling: first hit', 'DAG scheduling: second hit']"),
            ("summary", "2 hits summarized"),
        ]
        news, papers, summary = (float(start) for _, start, _ in found)
        assert news <= papers <= summary and papers >= 0.2 and summary >= 0.4
    elif example == "approval.py":
        assert out.stdout.splitlines() == [
            "note success A short note on eager DAGs.",
            "inside success sent to team@example.com",
            "outside skipped someone@elsewhere.org is outside the company",
        ]
    elif example == "journal.py":
        assert out.stdout.splitlines() == [
            "first run: {'a': 'success', 'b': 'success', 'flaky': 'error'} calls: 3",
            "second run: {'a': 'reused', 'b': 'reused', 'flaky': 'success'}",
            "calls: 4",
        ]
    elif example == "stopping.py":
        assert out.stdout.splitlines() == [
            "quick  success   slept 0.01 s",
            "slow   cancelled cancelled: SIGTERM received",
            "after  cancelled cancelled: SIGTERM received",
        ]
    elif example == "priority.py":
        # Virtual time: exact, and the same on any machine.
        assert out.stdout.splitlines() == [
            "fifo: 4.5 s, starts weather and calendar",
            "critical_path: 3.5 s, starts weather and search",
            "lower bound: 3.5 s",
            "150 random plans, mean makespan / lower bound: critical_path 1.007, fifo 1.040",
            "critical_path finished first on 51, later on 2 (by at most 4 %), at the same time on 97",
        ]
    elif example == "scaling.py":
        assert out.stdout == "primes: 103988\n"
    elif example in ("typed.py", "events.py", "local_outputs.py"):
        # What the page shows is what the script prints.
        assert out.stdout == (EXAMPLES / example.replace(".py", ".out")).read_text()
    else:
        assert out.stdout.startswith("tools: convert_time, get_current_time\n")
        assert re.search(r"noon UTC in Paris: \d{4}-\d\d-\d\dT13:00:00\+01:00|T14:00:00\+02:00", out.stdout)


async def test_streaming_example_in_virtual_time(
    autojump_clock: trio.testing.MockClock, capsys: pytest.CaptureFixture[str]
) -> None:
    example = runpy.run_path(str(EXAMPLES / "streaming.py"))  # not as __main__: nothing runs
    await example["main"]()
    # news is added at once; papers after the planner thinks 0.2 s; summary after
    # another 0.2 s, when news (0.3 s) is already done.
    assert capsys.readouterr().out.splitlines() == [
        "news: started at 0.0 s, ['trio: first hit', 'trio: second hit']",
        "papers: started at 0.2 s, ['DAG scheduling: first hit', 'DAG scheduling: second hit']",
        "summary: started at 0.4 s, 2 hits summarized",
    ]


def test_priority_example_in_virtual_time() -> None:
    example = runpy.run_path(str(EXAMPLES / "priority.py"))  # not as __main__: nothing runs
    runs = example["compare"]()
    # First come, first served: the lookups in the order listed, then the chain of
    # three 1 s calls, then the brief; one slot idles along the chain.
    assert starts(runs["fifo"]) == {
        "weather": 0.0, "calendar": 0.0, "stocks": 0.5, "news": 0.5,
        "search": 1.0, "paper": 2.0, "summary": 3.0, "brief": 4.0,
    }  # fmt: skip
    # Critical-path priority: the chain at once, the lookups in the other slot.
    assert starts(runs["critical_path"]) == {
        "weather": 0.0, "calendar": 0.5, "stocks": 1.0, "news": 1.5,
        "search": 0.0, "paper": 1.0, "summary": 2.0, "brief": 3.0,
    }  # fmt: skip
    assert max_in_flight(runs["fifo"]) == max_in_flight(runs["critical_path"]) == 2
    assert runs["fifo"].wall_time == pytest.approx(4.5, abs=1e-9)
    assert runs["critical_path"].wall_time == pytest.approx(3.5, abs=1e-9)
    assert example["lower_bound"](example["plan"], 2) == 3.5


def rst_blocks(language: str) -> list[tuple[str, str]]:
    return [(page.name, block) for page in sorted(DOCS.glob("*.rst")) for block in code_blocks(page, language)]


def test_no_python_block_escapes_the_tests() -> None:
    # Python examples are files under docs/examples, included and run by the tests.
    assert rst_blocks("python") == []


@pytest.mark.parametrize(("page", "text"), rst_blocks("json"), ids=lambda v: str(v)[:30])
def test_json_examples_are_valid(page: str, text: str) -> None:
    data = json.loads(text)
    if "tasks" in data:
        Workflow.from_dict(data)
    else:
        assert set(load_config(data)) == set(data["mcpServers"])


@pytest.mark.parametrize("path", sorted((DOCS / "examples").glob("*.json")), ids=lambda p: p.name)
def test_example_files_are_valid(path: Path) -> None:
    data = json.loads(path.read_text())
    if path.name == "plan-mistakes.json":  # the command line page's plan with mistakes, on purpose
        with pytest.raises(PlanError):
            Workflow.from_dict(data)
    elif "tasks" in data:
        Workflow.from_dict(data)
    else:
        load_config(path)


def test_the_cli_pages_plan_with_three_mistakes_is_fixed_from_one_report() -> None:
    # docs/cli.rst: one report names a misspelled tool, an unknown field and a reference
    # to a misspelled task, against mcp-server-time, each with the name meant.
    before = dagexec("validate", "plan-mistakes.json", "--servers", "servers.json")
    assert (before.returncode, before.stdout) == (2, ""), before.stderr
    assert before.stderr == (EXAMPLES / "plan-mistakes.out").read_text()
    problems = before.stderr.splitlines()[1:]
    assert [p.split(":")[0] for p in problems] == ["  task 'now'", "  task 'tokyo'", "  task 'noon'"]
    assert ["did you mean" in p for p in problems] == [True, True, True]
    after = dagexec("validate", "plan-fixed.json", "--servers", "servers.json")
    assert (after.returncode, after.stderr) == (0, "")
    assert after.stdout == (EXAMPLES / "plan-fixed.out").read_text()
    ran = dagexec("run", "plan-fixed.json", "--servers", "servers.json")
    assert ran.returncode == 0, ran.stderr
    assert "3 success" in ran.stdout


#: What changes from one run of the planner's loop to the next: times, and the time of day mcp-server-time tells.
_VARYING = [
    (re.compile(r'"(wall_time|speedup|critical_path_time|started_at|finished_at|duration|time|opened_at)": [-0-9.e]+'),
     r'"\1": 0'),
    (re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d"), "<datetime>"),
    (re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC"), "<when>"),
    (re.compile(r"(Mon|Tues|Wednes|Thurs|Fri|Satur|Sun)day"), "<day>"),
    (re.compile(r"\b\d+\.\d{3}s\b"), "0.000s"),
]  # fmt: skip


def normalised(text: str) -> str:
    for pattern, replacement in _VARYING:
        text = pattern.sub(replacement, text)
    return text


def test_the_cli_pages_planner_loop_runs_as_shown(tmp_path: Path) -> None:
    # docs/cli.rst: tools, schema, validate -, run --json - --events, journal show, on mcp-server-time.
    for name in ("servers.json", "planner-plan.json"):
        (tmp_path / name).write_text((EXAMPLES / name).read_text())
    plan = (EXAMPLES / "planner-plan.json").read_text()

    tools = cli("tools", "--servers", "servers.json", cwd=tmp_path)
    assert (tools.returncode, tools.stderr) == (0, "")
    assert tools.stdout == (EXAMPLES / "planner-tools.out").read_text()
    listed = cli("tools", "--servers", "servers.json", "--json", cwd=tmp_path)
    by_tool = {item["tool"]: item for item in json.loads(listed.stdout)}
    assert by_tool["time:get_current_time"]["output_schema"]["required"] == [
        "timezone", "datetime", "day_of_week", "is_dst"
    ]  # fmt: skip

    schema = cli("schema", "--servers", "servers.json", cwd=tmp_path)
    assert schema.returncode == 0, schema.stderr
    limited = json.loads(schema.stdout)
    jsonschema.Draft202012Validator.check_schema(limited)
    assert jsonschema_rs.validator_for(limited).is_valid(json.loads(plan))
    wrong = json.loads(plan)
    wrong["tasks"][1]["arguments"]["time"] = 12
    assert not jsonschema_rs.validator_for(limited).is_valid(wrong)

    valid = cli("validate", "-", "--servers", "servers.json", cwd=tmp_path, input=plan)
    assert (valid.returncode, valid.stderr) == (0, "")
    assert valid.stdout == (EXAMPLES / "planner-validate.out").read_text()

    ran = cli(
        "run", "planner-plan.json", "--servers", "servers.json", "--journal", "planner.db",
        "--json", "-", "--events", "events.jsonl", cwd=tmp_path,
    )  # fmt: skip
    assert ran.returncode == 0, ran.stderr
    assert "2 success" in ran.stderr  # the table and figures, for people, on stderr
    assert normalised(ran.stdout) == normalised((EXAMPLES / "planner-result.out").read_text())
    result = ExecutionResult.from_dict(json.loads(ran.stdout))
    assert result.ok and result.workflow == Workflow.from_json(plan)
    events = (tmp_path / "events.jsonl").read_text()
    assert normalised(events) == normalised((EXAMPLES / "planner-events.out").read_text())

    shown = cli("journal", "show", "planner.db", cwd=tmp_path)
    assert (shown.returncode, shown.stderr) == (0, "")
    assert normalised(shown.stdout) == normalised((EXAMPLES / "planner-journal.out").read_text())
    [run] = json.loads(cli("journal", "show", "planner.db", "--json", cwd=tmp_path).stdout)
    assert [(t["task_id"], t["status"]) for t in run["tasks"]] == [("now", "success"), ("tokyo", "success")]
    # The journal's times are those of the run's calls: each task's start, as the result has it.
    assert [t["started_at"] for t in run["tasks"]] == [r.started_at for r in result.results]


def test_the_cli_page_lists_every_bench_part() -> None:
    page = (DOCS / "cli.rst").read_text()
    assert [part for part in PARTS if f"``{part}``" not in page] == []


class TimeTools:
    """mcp-server-time's tool list, for a report that needs no server process."""

    tool_names = frozenset({"get_current_time", "convert_time"})

    async def call_tool(self, name: str, arguments: dict[str, object]) -> object:
        raise AssertionError("a plan that is refused makes no call")  # pragma: no cover


def test_the_workflows_pages_report_is_what_dagexec_writes() -> None:
    (report,) = code_blocks(DOCS / "workflows.rst", "text")
    plan = {
        "tasks": [
            {"id": "now", "tool": "time:get_curent_time", "arguments": {"timezone": "Europe/Paris"}},
            {"id": "tokyo", "tool": "time:convert_time", "args": {}, "depends_on": "now"},
        ]
    }
    with pytest.raises(PlanError) as info:
        EagerExecutor({"time": TimeTools()}).check_plan(plan)
    assert str(info.value) + "\n" == report


def _rst_table(text: str, heading: str) -> dict[tuple[str, str], str]:
    """The rows of the three-column table of ``text`` whose header starts with ``heading``, by first two cells."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(heading))
    rows = {}
    for line in lines[start + 2 :]:
        if line.startswith("="):
            break
        phase, report, rest = re.split(r"\s{2,}", line, maxsplit=2)
        rows[(phase, report)] = rest
    return rows


def test_the_design_page_shows_the_transition_table_as_the_core_has_it() -> None:
    from dagexec._core import RACES, TRANSITIONS

    page = (DOCS / "design.rst").read_text()
    shown = _rst_table(page, "phase    report             next phases")
    assert shown == {(p.name, r): ", ".join(t.name for t in ts) for (p, r), ts in TRANSITIONS.items()}
    races = _rst_table(page, "phase  report        why it may come")
    assert races == {(p.name, r): why for (p, r), why in RACES.items()}
