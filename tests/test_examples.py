"""The examples under docs/, the README's and the built-in demo run as documented."""

from __future__ import annotations

import re
import runpy
import subprocess
import sys

import pytest
import trio.testing

from dagexec import EagerExecutor, LayeredExecutor, Workflow
from dagexec._demo import DEMO_WORKFLOW, demo_servers

from .helpers import EXAMPLES, README, ROOT, code_blocks, starts


def test_quickstart_example() -> None:
    out = subprocess.run(
        [sys.executable, str(EXAMPLES / "quickstart.py")],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    layered, eager = (line.split() for line in out.splitlines())
    assert (layered[0], eager[0]) == ("layered:", "eager:")
    assert layered[-3:] == eager[-3:] == ["NEWS", "RESULT", "1"]
    # Real time: only what no machine can beat. Layered runs the slow search
    # (0.3 s), then the shout (0.1 s); eager cannot end before the slow search.
    # The order that makes eager faster is checked below, in virtual time.
    assert float(layered[1]) >= 0.4
    assert float(eager[1]) >= 0.3


async def test_quickstart_shouts_while_the_slow_search_runs(autojump_clock: trio.testing.MockClock) -> None:
    example = runpy.run_path(str(EXAMPLES / "quickstart.py"))  # not as __main__: nothing runs
    workflow, servers = example["workflow"], example["servers"]
    layered = await LayeredExecutor(servers).execute(workflow)
    eager = await EagerExecutor(servers).execute(workflow)
    # Layered waits for the slow search (0.3 s) before shouting; eager shouts as
    # soon as the fast one (0.1 s) is done, while the slow search still runs.
    # (The shout itself is a thread: real time, so only the starts are exact.)
    assert starts(layered) == {"slow": 0.0, "fast": 0.0, "loud": 0.3}
    assert starts(eager) == {"slow": 0.0, "fast": 0.0, "loud": 0.1}
    assert eager["slow"].finished_at == pytest.approx(0.3, abs=1e-9)
    assert layered["loud"].output == eager["loud"].output == "NEWS RESULT 1"


async def test_demo_makespans_in_virtual_time(autojump_clock: trio.testing.MockClock) -> None:
    workflow = Workflow.from_dict(DEMO_WORKFLOW)
    layered = await LayeredExecutor(demo_servers()).execute(workflow)
    eager = await EagerExecutor(demo_servers()).execute(workflow)
    assert layered.ok and eager.ok
    # Layered: the sum of each layer's slowest call, 1 + 1 + 1 + 0.5 + 0.1;
    # eager: the critical path, web 0.3 -> page1 1.0 -> sum1 0.4 -> report 0.5 -> notify 0.1.
    assert layered.wall_time == pytest.approx(3.6, abs=1e-9)
    assert eager.wall_time == pytest.approx(2.3, abs=1e-9)
    assert eager.wall_time == pytest.approx(eager.critical_path_time, abs=1e-9)


def test_readme_python_example_runs() -> None:
    (code,) = code_blocks(README, "python")
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    assert out.splitlines() == [
        "page success {'url': 'https://example.org', 'text': 'hello from https://example.org'}",
        "loud success HELLO FROM HTTPS://EXAMPLE.ORG",
    ]


def test_readme_workflow_is_valid() -> None:
    (block,) = code_blocks(README, "json")
    workflow = Workflow.from_json(block)
    assert workflow.generations == [["utc"], ["paris"]]


def test_the_readme_set_up_commands_hold() -> None:
    # Every editable install is strict: a plain directory on the path, which mypy finds
    # (setuptools' default for this layout is an import hook, which mypy cannot follow).
    commands = [line.strip() for line in README.read_text().splitlines() if "pip install -e" in line]
    assert len(commands) == 3
    for command in commands:
        assert re.search(r"pip install -e '\.\[\w+\]' --config-settings editable_mode=strict( |$)", command), command
    # CI runs the README's test command, exactly.
    (test_command,) = [c for c in commands if "[test]" in c]
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert ci[-1] == test_command
