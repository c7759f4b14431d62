"""The documentation builds with warnings as errors, and every example in it runs."""

from __future__ import annotations

import json
import re
import runpy
import subprocess
import sys
from pathlib import Path

import pytest
import trio.testing

from dagexec import Workflow
from dagexec.servers import load_config

from .helpers import DOCS, EXAMPLES, code_blocks


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
                 "serve", "benchmarks", "api"):  # fmt: skip
        assert (tmp_path / f"{page}.html").exists(), page
    concepts = (tmp_path / "concepts.html").read_text()
    assert "demo-timelines.svg" in concepts
    assert "limited-timelines.svg" in concepts
    assert list(tmp_path.glob("_images/demo-timelines*.svg"))
    api = (tmp_path / "api.html").read_text()
    assert "max_concurrency" in api and "open_servers" in api
    bench = (tmp_path / "benchmarks.html").read_text()
    assert "Scheduler overhead" in bench and "Real MCP latency" in bench


@pytest.mark.parametrize(
    "example",
    [
        "controls.py",
        "mcp_time.py",
        "streaming.py",
        "approval.py",
        "journal.py",
        "stopping.py",
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
    elif example == "scaling.py":
        assert out.stdout == "primes: 103988\n"
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
    if "tasks" in data:
        Workflow.from_dict(data)
    else:
        load_config(path)
