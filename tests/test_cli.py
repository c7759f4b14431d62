"""The command line: its output and exit status.

What a command prints and returns is tested in this process (``cli``); a
subprocess (``dagexec``, ``on_a_terminal``, ``subprocess``) only where signals,
a terminal, the process's own exit or its children are the point.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
import trio

from dagexec import check_journal

from .helpers import (
    ENV,
    EXAMPLES,
    RAW,
    ROOT,
    TOOLBOX,
    cli,
    dagexec,
    journal_fills_up,
    journal_held,
    on_a_terminal,
    processes_with,
    read_only_journal,
    serving_http,
    toolbox_servers,
    wf,
    write,
)


def test_demo_compares_layered_and_eager() -> None:
    out = cli("demo", "--speed", "5")
    assert out.returncode == 0, out.stderr
    assert "comparison" in out.stdout
    assert "layered timeline" in out.stdout and "eager timeline" in out.stdout
    for task in ("web", "arxiv", "news", "page1", "paper", "sum3", "entities", "report", "notify"):
        assert task in out.stdout
    assert "as fast as layered" in out.stdout


def test_demo_json(tmp_path: Path) -> None:
    out = cli("demo", "--speed", "2", "--json", str(tmp_path / "demo.json"))
    assert out.returncode == 0, out.stderr
    data = json.loads((tmp_path / "demo.json").read_text())
    assert set(data) == {"layered", "eager"}
    for strategy in ("layered", "eager"):
        assert [r["status"] for r in data[strategy]["results"]] == ["success"] * 12
        assert data[strategy]["generations"] == [
            ["web", "arxiv", "news"], ["page1", "page2", "paper", "entities"], ["sum1", "sum2", "sum3"], ["report"],
            ["notify"],
        ]  # fmt: skip
    # Real time, so orders only (the makespans, exactly, are in test_examples, in virtual time).
    # Layered holds each layer until the one before has ended...
    layered = {r["task_id"]: r for r in data["layered"]["results"]}
    gens = data["layered"]["generations"]
    for before, after in zip(gens, gens[1:], strict=False):
        assert max(layered[b]["finished_at"] for b in before) <= min(layered[a]["started_at"] for a in after)
    # ...eager does not: sum2 (third layer; web 0.3 s, then page2 0.2 s) starts
    # while arxiv (first layer, 1 s) still runs, half a second (at speed 1) before it ends.
    eager = {r["task_id"]: r for r in data["eager"]["results"]}
    assert eager["sum2"]["started_at"] < eager["arxiv"]["finished_at"]


@pytest.mark.parametrize("strategy", ["eager", "layered"])
def test_run_the_time_example(strategy: str, tmp_path: Path) -> None:
    out = cli(
        "run", "time-workflow.json", "--servers", "servers.json", "--strategy", strategy,
        "--json", str(tmp_path / "out.json"),
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert f"{strategy} run: tasks" in out.stdout
    assert out.stdout.count("success") >= 4
    assert f"{strategy} timeline" in out.stdout
    data = json.loads((tmp_path / "out.json").read_text())
    assert data["strategy"] == strategy
    assert data["ok"] is True
    results = {r["task_id"]: r for r in data["results"]}
    assert results["paris"]["output"]["target"]["timezone"] == "Europe/Paris"
    assert results["new_york"]["output"]["target"]["timezone"] == "America/New_York"


def test_validate_prints_structure() -> None:
    out = cli("validate", "time-workflow.json")
    assert out.returncode == 0, out.stderr
    assert "valid: 4 tasks in 2 layers" in out.stdout
    assert "utc, tokyo" in out.stdout
    assert "paris, new_york" in out.stdout
    assert "longest chain (2 tasks)" in out.stdout


def test_compare_the_time_example() -> None:
    out = cli("compare", "time-workflow.json", "--servers", "servers.json")
    assert out.returncode == 0, out.stderr
    assert "comparison" in out.stdout
    assert "layered timeline" in out.stdout and "eager timeline" in out.stdout


def test_failed_tasks_exit_1_and_every_status_is_shown(tmp_path: Path) -> None:
    workflow = write(
        tmp_path / "wf.json",
        {
            "tasks": [
                {"id": "ok", "tool": "box:echo", "arguments": {"text": "fine"}},
                {"id": "bad", "tool": "box:fail", "arguments": {"message": "nope"}},
                {"id": "after", "tool": "box:echo", "arguments": {"text": "$OUTPUT[bad].result"}},
            ]
        },
    )
    out = dagexec("run", workflow, "--servers", toolbox_servers(tmp_path))  # a process: its exit status is 1
    assert out.returncode == 1, out.stderr
    assert "tool_error" in out.stdout and "dependency_failed" in out.stdout
    assert "1 success, 1 error, 1 skipped" in out.stdout


def test_server_dying_mid_call_still_prints_every_status(tmp_path: Path) -> None:
    marker = f"marker-{uuid.uuid4()}"
    workflow = write(
        tmp_path / "wf.json",
        {
            "tasks": [
                {"id": "long", "tool": "box:sleep", "arguments": {"seconds": 30}},
                {"id": "die", "tool": "box:die", "arguments": {"after": 0.3}},
                {"id": "next", "tool": "box:echo", "arguments": {"text": "x"}, "depends_on": ["die"]},
            ]
        },
    )
    out = cli("run", workflow, "--servers", toolbox_servers(tmp_path, marker), timeout=60)
    assert out.returncode == 1, out.stderr
    assert out.stdout.count("server_error: ") == 2
    assert "dependency_failed" in out.stdout
    assert "2 error, 1 skipped" in out.stdout
    assert processes_with(marker) == []


@pytest.mark.parametrize(
    ("files", "args", "message"),
    [
        ({}, ["validate", "missing.json"], "error: cannot read workflow 'missing.json': No such file or directory"),
        (
            {"wf.json": "{nope"},
            ["validate", "wf.json"],
            "error: invalid plan (1 problem):\n  plan: not valid JSON: Expecting property name enclosed in double quotes",
        ),
        (
            {"wf.json": {"tasks": [{"id": "a", "tool": "s:t", "depends_on": ["a"]}]}},
            ["validate", "wf.json"],
            "error: invalid plan (1 problem):\n  task 'a': depends_on[0]: tasks form a cycle: a -> a (the task depends on itself)",
        ),
        (
            {"wf.json": {"tasks": [{"id": "a", "tool": "s:t", "depends_on": "b"}]}},
            ["validate", "wf.json"],
            "error: invalid plan (1 problem):\n  task 'a': depends_on: expected an array, got string 'b'",
        ),
        (
            {"wf.json": {"tasks": [{"id": "a", "tool": "web:get"}]}},
            ["run", "wf.json", "--servers", "SERVERS"],
            "error: invalid plan (1 problem):\n  task 'a': tool: unknown server 'web' (servers: box)",
        ),
        (
            {"wf.json": {"tasks": [{"id": "a", "tool": "box:nope"}]}},
            ["run", "wf.json", "--servers", "SERVERS"],
            "error: invalid plan (1 problem):\n  task 'a': tool: unknown tool 'box:nope'",
        ),
        (
            {"wf.json": {"tasks": []}, "s.json": {"mcpServers": {"x": {"command": "dagexec-nope"}}}},
            ["run", "wf.json", "--servers", "s.json"],
            "error: server 'x' did not start: command 'dagexec-nope' not found",
        ),
        (
            {"wf.json": {"tasks": []}, "s.json": {"mcpServers": {"x": {"command": 5}}}},
            ["run", "wf.json", "--servers", "s.json"],
            "expected a string, got number 5 @ mcpServers.x.command",
        ),
        (
            {"wf.json": {"tasks": []}},
            ["run", "wf.json", "--servers", "nope.json"],
            "error: invalid servers config:",
        ),
        (
            {"wf.json": {"tasks": []}, "s.json": {"mcpServers": {"cpu": {"dask": {"tools": "m:t", "local": {"n_workers": 0}}}}}},
            ["run", "wf.json", "--servers", "s.json"],
            "n_workers must be >= 1, not 0 @ mcpServers.cpu.dask.local",
        ),
    ],
)
def test_unusable_input_exits_2_with_a_clear_line(
    tmp_path: Path, files: dict[str, Any], args: list[str], message: str
) -> None:
    for name, content in files.items():
        (tmp_path / name).write_text(content if isinstance(content, str) else json.dumps(content))
    servers = toolbox_servers(tmp_path)
    out = cli(*(servers if a == "SERVERS" else a for a in args), cwd=tmp_path)
    assert out.returncode == 2
    assert message in out.stderr
    assert "Traceback" not in out.stderr + out.stdout
    assert len(out.stderr.strip().splitlines()) <= 3


def deep_arguments(depth: int) -> str:
    return '{"tasks": [{"id": "a", "tool": "s:t", "arguments": {"x": ' + "[" * (depth - 1) + "]" * (depth - 1) + "}}]}"


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (deep_arguments(5000), "plan: JSON nested too deeply to read"),
        (deep_arguments(101), "task 'a': arguments.x: nested deeper than 100 levels"),
        (
            '{"tasks": [{"id": "a", "tool": "s:t", "arguments": {"q": "$OUTPUT[a[0]].x"}}]}',
            "task 'a': arguments.q: malformed reference '$OUTPUT[a[0]].x': $OUTPUT[ must be followed by a task id "
            "and ] (write $$OUTPUT[ for the text $OUTPUT[)",
        ),
        (
            '{"tasks": [{"id": "a[0]", "tool": "s:t"}]}',
            "task 'a[0]': id 'a[0]' must not hold '[' or ']': no $OUTPUT[...] reference could name it",
        ),
    ],
)
def test_a_workflow_too_deep_or_with_a_malformed_reference_exits_2(tmp_path: Path, text: str, problem: str) -> None:
    (tmp_path / "wf.json").write_text(text)
    out = cli("validate", "wf.json", cwd=tmp_path)
    assert (out.returncode, out.stdout) == (2, "")
    # Long lines wrap at the terminal's width: compare the words.
    assert out.stderr.split() == f"error: invalid plan (1 problem): {problem}".split()


def test_bad_arguments_exit_2() -> None:
    out = cli("run", "time-workflow.json")
    assert out.returncode == 2
    assert "--servers" in out.stderr
    out = cli("demo", "--speed", "0")
    assert out.returncode == 2
    assert "must be > 0" in out.stderr


def _wait_for(path: Path, proc: subprocess.Popen[str], seconds: float = 60) -> None:
    """Wait until ``path`` exists (a marker a tool writes when its call starts)."""
    deadline = time.monotonic() + seconds
    while not path.exists():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.05)


def _alive(pid: int) -> bool:
    try:
        return "State:\tZ" not in Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False


@pytest.mark.parametrize(
    ("command", "sig"),
    [("run", signal.SIGTERM), ("run", signal.SIGINT), ("compare", signal.SIGTERM), ("run -", signal.SIGTERM)],
)
def test_a_signal_stops_the_run_prints_every_status_and_closes_the_server(
    tmp_path: Path, command: str, sig: signal.Signals
) -> None:
    marker = f"marker-{uuid.uuid4()}"
    started = tmp_path / "started"
    tasks = [
        {"id": "quick", "tool": "box:echo", "arguments": {"text": "hi"}},
        # long waits for quick, so the signal (sent once long has started) always comes after quick's end.
        {"id": "long", "tool": "box:sleep_marked", "arguments": {"path": str(started), "seconds": 120},
         "depends_on": ["quick"]},
        {"id": "after", "tool": "box:echo", "arguments": {"text": "x"}, "depends_on": ["long"]},
    ]  # fmt: skip
    servers = toolbox_servers(tmp_path, marker)
    out_json = str(tmp_path / "out.json")
    journal = tmp_path / "run.db"
    if command == "run -":  # the plan on standard input, which stays open
        args = ["run", "-", "--servers", servers, "--json", out_json, "--journal", str(journal), "--run-name", "streamed"]
    elif command == "run":
        args = ["run", write(tmp_path / "wf.json", {"tasks": tasks}), "--servers", servers, "--json", out_json]
        args += ["--journal", str(journal)]
    else:
        args = ["compare", write(tmp_path / "wf.json", {"tasks": tasks}), "--servers", servers, "--json", out_json]
    proc = subprocess.Popen(
        [sys.executable, "-m", "dagexec", *args],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV,
    )  # fmt: skip
    assert proc.stdin is not None
    if command == "run -":
        proc.stdin.write("".join(json.dumps(task) + "\n" for task in tasks))
        proc.stdin.flush()
    _wait_for(started, proc)
    server_pids = processes_with(marker)
    assert len(server_pids) == 1
    proc.send_signal(sig)
    try:
        stdout, stderr = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 128 + sig.value, stderr
    assert stderr.splitlines() == [
        f"{sig.name} received: stopping the run (a second signal ends at once)",
        f"interrupted by {sig.name}: the run was stopped and its servers closed",
    ]
    assert "Traceback" not in stdout
    # The table of what finished: the run that was under way, and no other.
    data = json.loads(Path(out_json).read_text())
    if command == "compare":  # layered runs first; eager never started
        assert "layered run: tasks" in stdout and "eager" not in stdout
        assert list(data) == ["layered"]
        results = data["layered"]["results"]
    else:
        assert "eager run: tasks" in stdout and "layered" not in stdout
        assert data["strategy"] == "eager"
        results = data["results"]
    assert f"cancelled: interrupted by {sig.name}" in stdout
    assert "1 success, 2 cancelled" in stdout
    assert [(r["task_id"], r["status"], r["error"] and r["error"]["message"]) for r in results] == [
        ("quick", "success", None),
        ("long", "cancelled", f"cancelled: interrupted by {sig.name}"),
        ("after", "cancelled", f"cancelled: interrupted by {sig.name}"),
    ]
    assert not any(_alive(pid) for pid in server_pids)
    if command != "compare":  # the journal holds what finished, and is whole
        with contextlib.closing(sqlite3.connect(journal)) as db:
            assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
            assert db.execute("SELECT task_id, status FROM finished").fetchall() == [("quick", "success")]


def test_a_second_signal_while_stopping_ends_at_once(tmp_path: Path) -> None:
    marker = f"marker-{uuid.uuid4()}"
    started = tmp_path / "started"
    workflow = write(
        tmp_path / "wf.json",
        {"tasks": [{"id": "long", "tool": "box:sleep_marked", "arguments": {"path": str(started), "seconds": 120}}]},
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "dagexec", "run", workflow, "--servers", toolbox_servers(tmp_path, marker)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV,
    )  # fmt: skip
    _wait_for(started, proc)
    server_pids = processes_with(marker)
    proc.send_signal(signal.SIGINT)
    proc.send_signal(signal.SIGTERM)
    try:
        stdout, stderr = proc.communicate(timeout=30)
    finally:
        proc.kill()
    # Two signals sent back to back may reach the handlers in either order: the exit
    # status is the first one's, whichever it was.
    assert proc.returncode in (130, 143), stderr
    first, second = ("SIGINT", "SIGTERM") if proc.returncode == 130 else ("SIGTERM", "SIGINT")
    assert stderr.splitlines() == [
        f"{first} received: stopping the run (a second signal ends at once)",
        f"interrupted by {first}, then {second}: stopped at once, the servers closed",
    ]
    assert "Traceback" not in stdout
    assert len(server_pids) == 1 and not _alive(server_pids[0])


def test_a_signal_before_the_run_started_ends_at_once(tmp_path: Path) -> None:
    marker = f"marker-{uuid.uuid4()}"
    silent = {"command": sys.executable, "args": ["-c", "import time; time.sleep(120)", marker]}  # never answers
    servers = write(tmp_path / "servers.json", {"mcpServers": {"silent": silent}})
    workflow = write(tmp_path / "wf.json", {"tasks": [{"id": "a", "tool": "silent:anything"}]})
    proc = subprocess.Popen(
        [sys.executable, "-m", "dagexec", "run", workflow, "--servers", servers],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while not (server_pids := processes_with(marker)):
        assert proc.poll() is None and time.monotonic() < deadline
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    try:
        stdout, stderr = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 143, stderr
    assert (stdout, stderr) == ("", "interrupted by SIGTERM before the run started\n")
    assert len(server_pids) == 1 and not _alive(server_pids[0])


def test_scheduling_flags(tmp_path: Path) -> None:
    workflow = write(
        tmp_path / "wf.json",
        {"tasks": [{"id": f"s{i}", "tool": "box:sleep", "arguments": {"seconds": 0.3}} for i in range(3)]
         + [{"id": "hang", "tool": "box:hang"}]},
    )  # fmt: skip
    out = cli(
        "run", workflow, "--servers", toolbox_servers(tmp_path), "--server-limit", "box=1",
        "--task-timeout", "1", "--retries", "1", "--json", str(tmp_path / "out.json"),
    )  # fmt: skip
    assert out.returncode == 1, out.stderr
    data = {r["task_id"]: r for r in json.loads((tmp_path / "out.json").read_text())["results"]}
    assert data["hang"]["error"]["code"] == "timeout"
    assert data["hang"]["attempts"] == 2
    spans = sorted((a["started_at"], a["finished_at"]) for r in data.values() for a in r["timeline"])
    assert all(end <= next_start + 1e-6 for (_, end), (next_start, _) in zip(spans, spans[1:], strict=False))


def test_fail_fast_and_deadline_flags(tmp_path: Path) -> None:
    workflow = write(
        tmp_path / "wf.json",
        {"tasks": [{"id": "bad", "tool": "box:fail", "arguments": {"message": "x"}},
                   {"id": "long", "tool": "box:sleep", "arguments": {"seconds": 20}}]},
    )  # fmt: skip
    servers = toolbox_servers(tmp_path)
    out = cli("run", workflow, "--servers", servers, "--fail-fast")
    assert out.returncode == 1
    assert "cancelled: task 'bad' failed first (fail_fast)" in out.stdout
    assert "cancelled: cancelled" not in out.stdout  # the code, then the reason: said once
    out = cli("run", workflow, "--servers", servers, "--timeout", "1.5")
    assert out.returncode == 1
    assert "cancelled: the run's deadline of 1.5 s passed" in out.stdout


@pytest.mark.parametrize(
    ("flag", "message"),
    [
        (["--max-concurrency", "0"], "must be >= 1"),
        (["--server-limit", "box"], "expected NAME=N"),
        (["--task-timeout", "-1"], "must be > 0"),
        (["--retries", "x"], "not a whole number"),
    ],
)
def test_bad_flags_exit_2(flag: list[str], message: str) -> None:
    out = cli("run", "time-workflow.json", "--servers", "servers.json", *flag)
    assert out.returncode == 2
    assert message in out.stderr


def test_plan_streamed_on_stdin(tmp_path: Path) -> None:
    lines = [
        {"id": "a", "tool": "box:sleep", "arguments": {"seconds": 0.2, "value": "first"}},
        "not json",
        {"id": "b", "tool": "box:echo", "arguments": {"text": "x"}, "depends_on": ["later"]},
        {"id": "c", "tool": "box:echo", "arguments": {"text": "$OUTPUT[a].value"}},
        "[" * 100_000 + "]" * 100_000,
        {"id": "d", "tool": "box:echo", "arguments": {"text": "$OUTPUT[a"}},
    ]
    text = "\n".join(line if isinstance(line, str) else json.dumps(line) for line in lines) + "\n"
    out = cli("run", "-", "--servers", toolbox_servers(tmp_path), "--json", str(tmp_path / "out.json"), input=text)
    assert out.returncode == 2  # some lines were refused
    assert "error: line 2: not valid JSON" in out.stderr
    assert "error: line 3: invalid plan (1 problem):\n  task 'b': depends_on[0]: unknown task 'later'" in out.stderr
    assert "error: line 5: JSON nested too deeply to read" in out.stderr
    assert (
        "error: line 6: invalid plan (1 problem): task 'd': arguments.text: malformed reference '$OUTPUT[a': "
        "$OUTPUT[ must be followed by a task id and ] (write $$OUTPUT[ for the text $OUTPUT[)"
    ) in " ".join(out.stderr.split())
    results = {r["task_id"]: r for r in json.loads((tmp_path / "out.json").read_text())["results"]}
    assert set(results) == {"a", "c"}
    assert results["c"]["output"] == {"result": "first"}
    assert "Traceback" not in out.stderr


def test_streamed_plan_needs_eager_and_a_terminal_for_approval(tmp_path: Path) -> None:
    servers = toolbox_servers(tmp_path)
    out = cli("run", "-", "--servers", servers, "--strategy", "layered", input="")
    assert out.returncode == 2 and "layers need the whole plan up front" in out.stderr
    # A process in a session of its own: no controlling terminal, which this process may have.
    out = subprocess.run(
        [sys.executable, "-m", "dagexec", "run", "-", "--servers", servers, "--approve"],
        input="", capture_output=True, text=True, env=ENV, timeout=60, start_new_session=True,
    )  # fmt: skip
    assert out.returncode == 2 and "needs a terminal" in out.stderr


def test_interactive_approval(tmp_path: Path) -> None:
    workflow = write(
        tmp_path / "wf.json",
        {"tasks": [
            {"id": "src", "tool": "box:echo", "arguments": {"text": "resolved value"}},
            {"id": "ok", "tool": "box:echo", "arguments": {"text": "$OUTPUT[src].result"}, "approval": True},
            {"id": "no", "tool": "box:echo", "arguments": {"text": "x"}, "depends_on": ["ok"], "approval": True},
        ]},
    )  # fmt: skip
    out = cli("run", workflow, "--servers", toolbox_servers(tmp_path), "--approve", input="y\nn\n")
    assert out.returncode == 1, out.stderr
    assert "approve task ok calling box:echo with:" in out.stdout
    assert 'approve task ok calling box:echo with:\n  "text": "resolved value"\ngo ahead?' in out.stdout  # resolved
    assert "rejected: refused at the prompt" in out.stdout
    assert out.stdout.count("go ahead? [y/N]") == 2


def test_the_prompt_shows_every_argument_by_name_and_nothing_acts_on_the_terminal(tmp_path: Path) -> None:
    """Padding cannot push the next argument out of the prompt, and markup or escapes in a value are only text."""
    text = "[bold red]a friendly note[/] \x1b[2J" + " " * 2000
    workflow = write(tmp_path / "wf.json", {"tasks": [
        {"id": "note", "tool": "box:echo", "arguments": {"text": text, "path": "/root/.ssh/authorized_keys"},
         "approval": True},
    ]})  # fmt: skip
    out = cli("run", workflow, "--servers", toolbox_servers(tmp_path), "--approve", input="n\n")
    assert out.returncode == 1, out.stderr
    assert (
        "approve task note calling box:echo with:\n"
        '  "text": "[bold red]a friendly note[/] \\u001b[2J\u27e82,000 spaces\u27e9"\n'
        '  "path": "/root/.ssh/authorized_keys"\n'
        "go ahead? [y/N] "
    ) in out.stdout
    assert "\x1b" not in out.stdout


@pytest.mark.parametrize("plan_on_stdin", [False, True])
def test_ctrl_c_at_the_approval_prompt_exits_130_at_once(tmp_path: Path, plan_on_stdin: bool) -> None:
    marker = f"marker-{uuid.uuid4()}"
    tasks = [
        {"id": "first", "tool": "box:echo", "arguments": {"text": "hi"}},
        {"id": "ask", "tool": "box:pid", "depends_on": ["first"], "approval": True},
    ]
    servers = toolbox_servers(tmp_path, marker)
    out_json = str(tmp_path / "out.json")
    plan = "-" if plan_on_stdin else write(tmp_path / "wf.json", {"tasks": tasks})
    args = ["run", plan, "--servers", servers, "--approve", "--json", out_json]
    with on_a_terminal(*args, stdin=subprocess.PIPE if plan_on_stdin else None) as terminal:
        proc = terminal.proc
        if plan_on_stdin:  # the plan's lines, and standard input stays open
            assert proc.stdin is not None
            proc.stdin.write("".join(json.dumps(task) + "\n" for task in tasks).encode())
            proc.stdin.flush()
        assert terminal.read_until("y/N", 60), terminal.text()
        server_pids = processes_with(marker)
        assert len(server_pids) == 1
        terminal.type(b"\x03")  # Ctrl-C, typed at the prompt: the terminal sends SIGINT
        sent = time.monotonic()
        terminal.read_until("\0", 10)  # until the terminal closes
        proc.wait(timeout=max(0.1, 10 - (time.monotonic() - sent)))
        waited = time.monotonic() - sent
    output = terminal.text()
    assert proc.returncode == 130, output
    assert waited < 10
    assert "Traceback" not in output
    assert "SIGINT received: stopping the run (a second signal ends at once)" in output
    assert "interrupted by SIGINT: the run was stopped and its servers closed" in output
    assert "approve task ask calling box:pid with:" in output
    results = {r["task_id"]: r for r in json.loads(Path(out_json).read_text())["results"]}
    assert results["first"]["status"] == "success"
    # The call was never made: the task ended at the prompt, cancelled.
    ask = results["ask"]
    assert (ask["status"], ask["error"]["message"], ask["attempts"], ask["timeline"]) == (
        "cancelled", "cancelled: interrupted by SIGINT", 0, []
    )
    assert not any(_alive(pid) for pid in server_pids)


def test_journal_flag(tmp_path: Path) -> None:
    workflow = write(
        tmp_path / "wf.json",
        {"tasks": [{"id": "p", "tool": "box:pid"}, {"id": "e", "tool": "box:echo", "arguments": {"text": "x"}}]},
    )
    servers = toolbox_servers(tmp_path)
    journal = str(tmp_path / "run.db")
    first = cli("run", workflow, "--servers", servers, "--journal", journal, "--json", str(tmp_path / "1.json"))
    second = cli("run", workflow, "--servers", servers, "--journal", journal, "--json", str(tmp_path / "2.json"))
    assert first.returncode == second.returncode == 0
    assert "(reused)" not in first.stdout and second.stdout.count("success (reused)") == 2
    one, two = (json.loads((tmp_path / f"{n}.json").read_text())["results"] for n in (1, 2))
    assert one[0]["output"] == two[0]["output"]  # the same server pid: the call was not made again
    assert [r["reused"] for r in two] == [True, True]
    bad = cli("run", workflow, "--servers", servers, "--journal", str(tmp_path))
    assert bad.returncode == 2 and "cannot open the journal" in bad.stderr


def test_a_full_journal_stops_the_run_with_one_line_and_writes_every_status(tmp_path: Path) -> None:
    journal, out_json = tmp_path / "run.db", tmp_path / "out.json"
    trio.run(check_journal, journal)
    # Three chains of ten echoes of a page each: calls are in flight when the journal is full.
    workflow = write(tmp_path / "wf.json", {"tasks": [
        {"id": f"t{i}", "tool": "box:echo", "arguments": {"text": f"{i}" + "x" * 3000},
         "depends_on": [f"t{i - 3}"] if i >= 3 else []}
        for i in range(30)
    ]})  # fmt: skip
    args = ["--servers", toolbox_servers(tmp_path), "--journal", str(journal), "--json", str(out_json)]
    with journal_fills_up(pages=5):
        out = cli("run", workflow, *args)
    assert out.returncode == 1, out.stderr
    [line] = out.stderr.splitlines()
    assert line.startswith(f"error: the journal failed, the run was stopped: cannot write the journal '{journal}': ")
    statuses = [r["status"] for r in json.loads(out_json.read_text())["results"]]
    assert len(statuses) == 30 and set(statuses) == {"success", "cancelled"}


def one_line(text: str) -> str:
    """Output with rich's wrapping undone: words joined by single spaces."""
    return " ".join(text.split())


@pytest.mark.parametrize("problem", ["unwritable", "in use"])
def test_a_journal_that_cannot_be_used_stops_the_run_before_any_server_starts(tmp_path: Path, problem: str) -> None:
    started = tmp_path / "server-started"
    box = {"command": "sh", "args": ["-c", f'touch "{started}"; exec "{sys.executable}" "{TOOLBOX}"']}
    servers = write(tmp_path / "servers.json", {"mcpServers": {"box": box}})
    workflow = write(tmp_path / "wf.json", {"tasks": [{"id": "e", "tool": "box:echo", "arguments": {"text": "x"}}]})
    if problem == "unwritable":
        journal = read_only_journal(tmp_path / "run.db")
        out = cli("run", workflow, "--servers", servers, "--journal", str(journal))
        expected = f"error: cannot write the journal '{journal}': attempt to write a readonly database"
    else:
        journal = tmp_path / "run.db"
        with journal_held(journal) as holder:
            out = cli("run", workflow, "--servers", servers, "--journal", str(journal))
        expected = f"error: journal '{journal}' is in use by another process (pid {holder.pid})"
    assert out.returncode == 2, out.stderr
    assert one_line(out.stderr) == expected
    assert not started.exists()  # checked before the servers start: no call made, no result lost


def test_run_names_keep_plans_apart_in_one_journal(tmp_path: Path) -> None:
    servers = toolbox_servers(tmp_path)
    tasks = [{"id": "p", "tool": "box:pid"}, {"id": "e", "tool": "box:echo", "arguments": {"text": "x"}}]
    workflow = write(tmp_path / "nightly.json", {"tasks": tasks})
    journal = str(tmp_path / "run.db")

    first = cli("run", workflow, "--servers", servers, "--journal", journal)
    other = cli("run", workflow, "--servers", servers, "--journal", journal, "--run-name", "other")
    again = cli("run", workflow, "--servers", servers, "--journal", journal)
    assert first.returncode == other.returncode == again.returncode == 0
    assert "(reused)" not in first.stdout + other.stdout  # run "other" has no rows yet
    assert again.stdout.count("success (reused)") == 2  # run "nightly": the file's stem
    with closing(sqlite3.connect(journal)) as db:
        names = db.execute("SELECT run_name, task_id FROM finished ORDER BY run_name, task_id").fetchall()
    assert names == [("nightly", "e"), ("nightly", "p"), ("other", "e"), ("other", "p")]

    # A plan on standard input has no file name: it needs one to use a journal.
    lines = "".join(json.dumps(task) + "\n" for task in tasks)
    streamed = ["run", "-", "--servers", servers, "--journal", journal]
    refused = cli(*streamed, input=lines)
    assert refused.returncode == 2
    assert one_line(refused.stderr) == (
        "error: --journal with a plan on standard input needs --run-name: "
        "a plan that comes on standard input has no file name to keep its journal rows apart"
    )
    named = cli(*streamed, "--run-name", "nightly", input=lines)
    assert named.returncode == 0, named.stderr
    assert named.stdout.count("success (reused)") == 2

    unused = cli("run", workflow, "--servers", servers, "--run-name", "nightly")
    assert unused.returncode == 2 and one_line(unused.stderr) == "error: --run-name needs --journal"


def test_a_bad_journal_row_runs_its_task_again_with_a_warning(tmp_path: Path) -> None:
    workflow = write(
        tmp_path / "wf.json",
        {"tasks": [{"id": "p", "tool": "box:pid"}, {"id": "e", "tool": "box:echo", "arguments": {"text": "x"}}]},
    )
    servers = toolbox_servers(tmp_path)
    journal = str(tmp_path / "run.db")
    assert cli("run", workflow, "--servers", servers, "--journal", journal).returncode == 0
    with closing(sqlite3.connect(journal)) as db, db:
        db.execute("UPDATE finished SET output = 'not json' WHERE task_id = 'e'")

    out = cli("run", workflow, "--servers", servers, "--journal", journal)
    assert out.returncode == 0, out.stderr
    assert one_line(out.stderr) == (
        f"warning: journal '{journal}': the output recorded for task 'e' of run 'wf' is not usable "
        "(not JSON: Expecting value: line 1 column 1 (char 0)); the task runs again"
    )
    assert out.stdout.count("success (reused)") == 1  # p; e ran again


@pytest.mark.slow  # a Dask cluster
def test_run_with_a_dask_entry_beside_an_mcp_server(tmp_path: Path) -> None:
    servers = write(
        tmp_path / "servers.json",
        {"mcpServers": {
            "box": {"command": sys.executable, "args": [TOOLBOX]},
            "cpu": {"dask": {"local": {"n_workers": 1}, "tools": "tests.dask_tools:TOOLS"}},
        }},
    )  # fmt: skip
    workflow = write(
        tmp_path / "wf.json",
        {"tasks": [
            {"id": "loud", "tool": "cpu:shout", "arguments": {"text": "from the cluster"}},
            {"id": "echo", "tool": "box:echo", "arguments": {"text": "$OUTPUT[loud]"}},
        ]},
    )  # fmt: skip
    env = {**ENV, "PYTHONPATH": str(ROOT)}  # tests.dask_tools, for dagexec and the workers
    out = subprocess.run(
        [sys.executable, "-m", "dagexec", "run", workflow, "--servers", servers, "--json", str(tmp_path / "o.json")],
        capture_output=True, text=True, env=env, timeout=180, cwd=tmp_path,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    results = {r["task_id"]: r for r in json.loads((tmp_path / "o.json").read_text())["results"]}
    assert results["echo"]["output"] == {"result": "FROM THE CLUSTER"}


# -- checked before the first call ---------------------------------------------------------


def _hidden_matplotlib(tmp_path: Path) -> dict[str, str]:
    """An environment in which ``import matplotlib`` fails, as it does without the plot extra."""
    shadow = tmp_path / "shadow" / "matplotlib"
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text("raise ImportError('No module named matplotlib')\n")
    return {**ENV, "PYTHONPATH": str(shadow.parent)}


@pytest.mark.parametrize("command", ["run", "compare"])
@pytest.mark.parametrize(
    ("flag", "value", "message"),
    [
        (
            "--json",
            "missing/out.json",
            "error: cannot write the results 'missing/out.json': no such directory 'missing'",
        ),
        ("--json", ".", "error: cannot write the results '.': it is a directory"),
        ("--plot", "missing/out.svg", "error: cannot write the picture 'missing/out.svg': no such directory 'missing'"),
        ("--plot", "out.nope", "error: cannot draw the picture 'out.nope': unknown format 'nope' (known: "),
        ("--plot", "out", "error: cannot draw the picture 'out': no suffix to tell its format (known: "),
        (
            "--plot",
            "out.svg",
            "error: cannot draw the picture 'out.svg': dagexec.plot needs the plot extra: pip install 'dagexec[plot]'",
        ),
    ],
)
def test_json_and_plot_are_checked_before_any_server_starts(
    tmp_path: Path, command: str, flag: str, value: str, message: str
) -> None:
    started, called = tmp_path / "server-started", tmp_path / "called"
    box = {"command": "sh", "args": ["-c", f'touch "{started}"; exec "{sys.executable}" "{TOOLBOX}"']}
    servers = write(tmp_path / "servers.json", {"mcpServers": {"box": box}})
    workflow = write(tmp_path / "wf.json", {"tasks": [
        {"id": "effect", "tool": "box:sleep_marked", "arguments": {"path": str(called), "seconds": 0}},
    ]})  # fmt: skip
    args = [command, workflow, "--servers", servers, flag, value]
    if value == "out.svg":  # a process: this one has matplotlib imported, or may have
        out = dagexec(*args, cwd=tmp_path, env=_hidden_matplotlib(tmp_path))
    else:
        out = cli(*args, cwd=tmp_path)
    assert (out.returncode, out.stdout) == (2, ""), out.stderr
    assert out.stderr.startswith(message), out.stderr
    assert len(out.stderr.splitlines()) == 1
    assert not started.exists() and not called.exists()  # no server started, no call made


def test_demo_checks_json_and_plot_before_it_runs(tmp_path: Path) -> None:
    out = cli("demo", "--json", "missing/demo.json", cwd=tmp_path)
    assert (out.returncode, out.stdout) == (2, "")
    assert out.stderr == "error: cannot write the results 'missing/demo.json': no such directory 'missing'\n"
    out = cli("demo", "--plot", "demo.doc", cwd=tmp_path)
    assert (out.returncode, out.stdout) == (2, "")
    assert out.stderr.startswith("error: cannot draw the picture 'demo.doc': unknown format 'doc' (known: ")


def test_a_plot_is_written_in_a_format_matplotlib_knows(tmp_path: Path) -> None:
    out = cli("demo", "--speed", "20", "--plot", "demo.svg", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "demo.svg").read_text().lstrip().startswith("<?xml")


def test_version() -> None:
    out = cli("--version")
    assert (out.returncode, out.stdout, out.stderr) == (0, "dagexec 0.1.0\n", "")
    import dagexec as package

    assert package.__version__ == "0.1.0"


def test_validate_with_servers_checks_every_tool_against_them(tmp_path: Path) -> None:
    marker = f"marker-{uuid.uuid4()}"
    servers = toolbox_servers(tmp_path, marker)
    good = write(tmp_path / "good.json", {"tasks": [
        {"id": "a", "tool": "box:echo", "arguments": {"text": "x"}},
        {"id": "b", "tool": "box:pid", "depends_on": ["a"], "approval": True},  # run asks; validate need not
    ]})  # fmt: skip
    out = cli("validate", good, "--servers", servers)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines()[0] == "valid: 2 tasks in 2 layers"
    assert out.stdout.splitlines()[-1] == (
        f"checked against {servers}: every task's tool is listed by its server, "
        "and its arguments fit the schemas the tools publish"
    )
    # The arguments are checked against the tools' schemas (echo takes a string
    # "text"), every problem at once; --no-schema-check leaves them unchecked.
    typo = write(tmp_path / "typo.json", {"tasks": [
        {"id": "a", "tool": "box:echo", "arguments": {"text": 3}},
        {"id": "b", "tool": "box:echo", "arguments": {"txt": "x"}},
    ]})  # fmt: skip
    out = cli("validate", typo, "--servers", servers)
    assert (out.returncode, out.stdout) == (2, "")
    assert out.stderr == (
        "error: invalid plan (2 problems):\n"
        "  task 'a': arguments.text: expected a string, got the number 3\n"
        "  task 'b': arguments.text: missing (required)\n"
    )
    out = cli("validate", typo, "--servers", servers, "--no-schema-check")
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines()[-1] == f"checked against {servers}: every task's tool is listed by its server"
    bad = write(tmp_path / "bad.json", {"tasks": [
        {"id": "a", "tool": "box:echo", "arguments": {"text": "x"}},
        {"id": "b", "tool": "box:nope"},
        {"id": "c", "tool": "box:gone"},
    ]})  # fmt: skip
    out = cli("validate", bad, "--servers", servers)
    assert (out.returncode, out.stdout) == (2, "")
    # Every task's problem, each with the server's tools (the first twelve).
    box = "(server 'box' has: as_json, die, echo, env, fail, hang, meet, pid, plain, refuse, sleep, sleep_marked and 2 more)"
    assert out.stderr == (
        "error: invalid plan (2 problems):\n"
        f"  task 'b': tool: unknown tool 'box:nope' {box}\n"
        f"  task 'c': tool: unknown tool 'box:gone' {box}\n"
    )
    unknown = write(tmp_path / "unknown.json", {"tasks": [{"id": "a", "tool": "web:get"}]})
    out = cli("validate", unknown, "--servers", servers)
    assert (out.returncode, out.stdout, out.stderr) == (
        2, "", "error: invalid plan (1 problem):\n  task 'a': tool: unknown server 'web' (servers: box)\n"
    )
    # Without --servers, no server is started and the tools are not checked.
    out = cli("validate", bad)
    assert out.returncode == 0 and out.stdout.startswith("valid: 3 tasks in 1 layer\n")
    assert "checked against" not in out.stdout
    assert processes_with(marker) == []


def test_validate_reports_a_server_that_does_not_start_as_run_does(tmp_path: Path) -> None:
    workflow = write(tmp_path / "wf.json", {"tasks": [{"id": "a", "tool": "x:t"}]})
    servers = write(tmp_path / "s.json", {"mcpServers": {"x": {"command": "dagexec-nope"}}})
    for command in ("validate", "run"):
        out = cli(command, workflow, "--servers", servers)
        assert (out.returncode, out.stdout) == (2, "")
        assert out.stderr == "error: server 'x' did not start: command 'dagexec-nope' not found\n"


@pytest.mark.parametrize("command", ["validate", "run", "compare"])
def test_start_timeout(tmp_path: Path, command: str) -> None:
    slow = {"command": "sh", "args": ["-c", f'sleep 2; exec "{sys.executable}" "{TOOLBOX}"']}
    servers = write(tmp_path / "servers.json", {"mcpServers": {"slow": slow}})
    workflow = write(tmp_path / "wf.json", {"tasks": [{"id": "a", "tool": "slow:echo", "arguments": {"text": "x"}}]})
    out = cli(command, workflow, "--servers", servers, "--start-timeout", "0.5")
    assert (out.returncode, out.stdout) == (2, "")
    assert out.stderr == "error: server 'slow' did not start: no answer within 0.5 s\n"
    if command == "run":  # the same start for all three: one slow success is enough
        out = cli(command, workflow, "--servers", servers, "--start-timeout", "60")
        assert out.returncode == 0, out.stderr
    out = cli(command, workflow, "--servers", servers, "--start-timeout", "0")
    assert out.returncode == 2 and "argument --start-timeout: must be > 0: '0'" in out.stderr


# -- output a person can trust -------------------------------------------------------------

#: Sequences a terminal acts on: clear the screen, set the window's title, move the cursor
#: (CSI in its one-byte C1 form), reset the terminal. Rich itself writes none of them.
CLEAR, TITLE, MOVE, RESET = "\x1b[2J", "\x1b]0;pwned\x07", "\x9b5;5H", "\x1bc"
EVIL_ID = f"evil{MOVE}{RESET}"  # no [ or ] in an id


@pytest.mark.parametrize("approve", [False, True])
def test_control_sequences_from_ids_errors_and_outputs_show_escaped_on_a_terminal(
    tmp_path: Path, approve: bool
) -> None:
    payload = CLEAR + TITLE + MOVE + RESET
    workflow = write(tmp_path / "wf.json", {"tasks": [
        {"id": EVIL_ID, "tool": "box:echo", "arguments": {"text": payload}, "approval": approve},
        {"id": "bad", "tool": "box:fail", "arguments": {"message": payload + "red"}},
        {"id": "slow", "tool": "box:sleep", "arguments": {"seconds": 0.5}, "depends_on": [EVIL_ID]},
    ]})  # fmt: skip
    args = ["run", workflow, "--servers", toolbox_servers(tmp_path), *(["--approve"] if approve else [])]
    with on_a_terminal(*args, env={**ENV, "COLUMNS": "250"}) as terminal:
        if approve:
            assert terminal.read_until("y/N", 60), terminal.text()
            terminal.type(b"y\n")
        terminal.read_until("\0", 60)  # until the terminal closes
        terminal.proc.wait(timeout=30)
    raw_output = terminal.seen.decode(errors="replace")
    for sequence in (CLEAR, TITLE[:4], MOVE, RESET):
        assert sequence not in raw_output  # nothing from outside acts on the terminal
    output = terminal.text()  # without rich's own styles
    assert terminal.proc.returncode == 1, output
    shown_id = "evil\\x9b5;5H\\x1bc"
    assert f"│ {shown_id} │ box:echo  │ success" in output
    # The output went through JSON (\u escapes; C1 as \x); the error as it came.
    assert '{"result": "\\u001b[2J\\u001b]0;pwned\\u0007\\u009b5;5H\\u001bc"}' in output
    assert "tool_error: Error executing tool fail: \\x1b[2J\\x1b]0;pwned\\x07\\x9b5;5H\\x1bcred" in output
    assert f" {shown_id} " in output.split("eager timeline")[1]  # the timeline's rows
    assert f"({shown_id} -> slow); 2 success, 1 error" in output  # the critical path
    if approve:
        assert f"approve task {shown_id} calling box:echo with:" in output
        assert '"text": "\\u001b[2J\\u001b]0;pwned\\u0007\\u009b5;5H\\u001bc"' in output  # as JSON escapes it


def test_serve_without_its_extra_says_what_to_install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """As ``run`` does without the mcp extra: one line, exit 2 (not an internal error)."""
    # The mcp SDK not installed: importing it fails, and dagexec.serve is imported afresh.
    monkeypatch.delitem(sys.modules, "dagexec.serve", raising=False)
    monkeypatch.setitem(sys.modules, "mcp_types", None)
    monkeypatch.setitem(sys.modules, "mcp", None)
    out = cli("serve", "--servers", toolbox_servers(tmp_path))
    assert (out.returncode, out.stdout) == (2, "")
    # Which of the SDK's modules is imported first is the gateway's business: either names what is missing.
    hint = r"error: serve needs the serve extra: pip install 'dagexec\[serve\]' \((mcp|mcp_types) is missing\)\n"
    assert re.fullmatch(hint, out.stderr)


def test_a_servers_stderr_in_an_error_line_shows_escaped(tmp_path: Path) -> None:
    noisy = {"command": "sh", "args": ["-c", "printf 'boom\\033[2J\\033]0;pwned\\007\\n' >&2; exit 1"]}
    servers = write(tmp_path / "s.json", {"mcpServers": {"noisy": noisy}})
    out = cli("run", write(tmp_path / "wf.json", {"tasks": []}), "--servers", servers)
    assert (out.returncode, out.stdout) == (2, "")
    assert out.stderr == (
        "error: server 'noisy' did not start: it exited with code 1; "
        "its stderr ended with: boom\\x1b[2J\\x1b]0;pwned\\x07\n"
    )


@pytest.mark.parametrize("verbose", [False, True])
def test_the_sdks_log_records_of_a_bad_http_reply_are_a_line_each(tmp_path: Path, verbose: bool) -> None:
    workflow = write(tmp_path / "wf.json", {"tasks": [{"id": "bad", "tool": "h:garbage", "arguments": {"text": "x"}}]})
    with serving_http(RAW) as (url, _):
        servers = write(tmp_path / "s.json", {"mcpServers": {"h": {"url": url}}})
        out = cli("run", workflow, "--servers", servers, *(["-v"] if verbose else []))
    assert out.returncode == 1, out.stderr
    assert "tool_error: error reply -32700: Failed to parse JSON response" in out.stdout
    record = "mcp.client.streamable_http: Error parsing JSON response"
    if verbose:  # in full: the traceback
        lines = out.stderr.splitlines()
        assert lines[:2] == [f"ERROR {record}", "Traceback (most recent call last):"]
        assert len(lines) > 10
    else:
        assert out.stderr == (
            f"error: {record} (ValidationError: 1 validation error for "
            "union[JSONRPCRequest,JSONRPCNotification,JSONRPCResponse,JSONRPCError])\n"
        )


@pytest.mark.parametrize("verbose", [False, True])
def test_a_garbage_line_on_a_servers_stdout_logs_nothing(tmp_path: Path, verbose: bool) -> None:
    workflow = write(tmp_path / "wf.json", {"tasks": [{"id": "ok", "tool": "s:garbage", "arguments": {"text": "x"}}]})
    servers = write(tmp_path / "s.json", {"mcpServers": {"s": {"command": sys.executable, "args": [RAW]}}})
    out = cli("run", workflow, "--servers", servers, *(["-v"] if verbose else []))
    assert (out.returncode, out.stderr) == (0, "")  # the stray line is skipped: no record, no traceback
    assert '│ ok   │ s:garbage │ success │' in out.stdout


def test_long_lines_are_not_wrapped_when_piped(tmp_path: Path) -> None:
    servers = toolbox_servers(tmp_path)
    unknown = write(tmp_path / "unknown.json", {"tasks": [{"id": "a" * 200, "tool": "nope:t"}]})
    out = cli("run", unknown, "--servers", servers)
    assert out.returncode == 2
    assert out.stderr == f"error: invalid plan (1 problem):\n  task '{'a' * 200}': tool: unknown server 'nope' (servers: box)\n"
    message = "a long message " + "x" * 300
    failing = write(tmp_path / "wf.json", {"tasks": [{"id": "bad", "tool": "box:fail", "arguments": {"message": message}}]})
    out = cli("run", failing, "--servers", servers)
    assert out.returncode == 1
    assert f"│ tool_error: Error executing tool fail: {message} │" in out.stdout


def test_wording_of_small_and_empty_workflows(tmp_path: Path) -> None:
    one = write(tmp_path / "one.json", {"tasks": [{"id": "a", "tool": "box:echo", "arguments": {"text": "x"}}]})
    out = cli("validate", one)
    assert out.returncode == 0
    lines = out.stdout.splitlines()
    assert (lines[0], lines[-1]) == ("valid: 1 task in 1 layer", "longest chain (1 task): a")
    empty = write(tmp_path / "empty.json", {"tasks": []})
    out = cli("validate", empty)
    assert (out.returncode, out.stdout) == (0, "valid, but empty: the workflow has no tasks\n")
    servers = toolbox_servers(tmp_path)
    out = cli("run", empty, "--servers", servers)
    assert (out.returncode, out.stdout, out.stderr) == (0, "eager: the workflow has no tasks: nothing ran\n", "")
    out = cli("compare", empty, "--servers", servers)
    assert (out.returncode, out.stdout, out.stderr) == (0, "the workflow has no tasks: nothing ran\n", "")


def test_a_task_that_needs_approval_without_approve_says_to_pass_it(tmp_path: Path) -> None:
    started = tmp_path / "server-started"
    box = {"command": "sh", "args": ["-c", f'touch "{started}"; exec "{sys.executable}" "{TOOLBOX}"']}
    servers = write(tmp_path / "servers.json", {"mcpServers": {"box": box}})
    tasks = [
        {"id": "a", "tool": "box:echo", "arguments": {"text": "x"}},
        {"id": "gated", "tool": "box:pid", "approval": True},
    ]
    needs = (
        "task 'gated': approval: the task needs approval before its call: pass --approve to be asked at the "
        "terminal (or --approve-all to be asked before every call)"
    )
    out = cli("run", write(tmp_path / "wf.json", {"tasks": tasks}), "--servers", servers)
    assert (out.returncode, out.stdout, out.stderr) == (2, "", f"error: {needs}\n")
    assert not started.exists()  # said before any server started
    # A plan on standard input: that line is refused, the others run.
    streamed = cli("run", "-", "--servers", servers, input="".join(json.dumps(task) + "\n" for task in tasks))
    assert streamed.returncode == 2
    assert streamed.stderr == f"error: line 2: {needs}\n"
    assert "│ a    │ box:echo │ success │" in streamed.stdout


def test_summaries_say_what_speedup_is_relative_to_and_timelines_have_an_axis(tmp_path: Path) -> None:
    workflow = write(tmp_path / "wf.json", {"tasks": [
        {"id": "a", "tool": "box:sleep", "arguments": {"seconds": 0.2}},
        {"id": "b", "tool": "box:sleep", "arguments": {"seconds": 0.2}, "depends_on": ["a"]},
    ]})  # fmt: skip
    servers = toolbox_servers(tmp_path)
    figures = (
        r"\d+\.\d{3}s wall%s, \d+\.\d\dx as fast as one call at a time \(\d+\.\d{3}s of calls\); "
        r"critical path \d+\.\d{3}s \(a -> b\); 2 success"
    )
    eager = cli("run", workflow, "--servers", servers)
    assert eager.returncode == 0, eager.stderr
    assert re.fullmatch("eager: " + figures % "", eager.stdout.splitlines()[-1])  # no layers: it ran eager
    layered = cli("run", workflow, "--servers", servers, "--strategy", "layered")
    assert re.fullmatch("layered: " + figures % " in 2 layers", layered.stdout.splitlines()[-1])
    # The time axis under the bars: ticks at 0, the quarters and the end, with their seconds.
    lines = eager.stdout.splitlines()
    axis = next(i for i, line in enumerate(lines) if line.startswith(" seconds "))
    assert lines[axis] == " seconds │ ┬" + "───────────┬" * 2 + "────────────┬" + "───────────┬ "
    wall = float(re.match(r"eager: (\d+\.\d{3})s wall", lines[-1]).group(1))  # type: ignore[union-attr]
    labels = lines[axis + 1].split("│")[1].split()
    assert labels[0] == "0" and abs(float(labels[-1]) - wall) < 0.01 and len(labels) == 5
    compared = cli("compare", workflow, "--servers", servers)
    assert compared.returncode == 0, compared.stderr
    rows = {line.split()[1]: line.split("│") for line in compared.stdout.splitlines() if line.startswith("│ ")}
    assert rows["layered"][3].strip() == "2" and rows["eager"][3].strip() == "-"  # layers: of the layered run
    assert "*speedup: how many times as fast as one call at a time (the calls' total time / the wall time)" in (
        compared.stdout
    )
    assert re.search(r"eager is \d+\.\d\dx as fast as layered \(wall time\)", compared.stdout)


def test_validate_summarizes_a_large_workflow(tmp_path: Path) -> None:
    # 100 layers of 1,000 tasks: task k of layer l waits for task k of layer l - 1.
    tasks = [
        {"id": f"t{layer}_{k}", "tool": "box:echo", **({"depends_on": [f"t{layer - 1}_{k}"]} if layer else {})}
        for layer in range(100)
        for k in range(1000)
    ]
    workflow = write(tmp_path / "big.json", {"tasks": tasks})
    out = cli("validate", workflow, timeout=60)  # a few seconds; drawing every row took 30-45 s
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0] == "valid: 100000 tasks in 100 layers"
    assert len(lines) < 200
    first = ", ".join(f"t0_{k}" for k in range(20))
    assert re.search(rf"^│  1 │ {first} \(\+980 more\) +│$", out.stdout, re.MULTILINE)
    assert "the first 50 of 100 layers" in lines and "the first 50 of 100000 tasks" in lines
    chain = [f"t{layer}_0" for layer in range(100)]
    assert lines[-1] == f"longest chain (100 tasks): {' -> '.join(chain[:20])} -> ... -> {' -> '.join(chain[-20:])}"


async def test_picture_titles_say_what_speedup_is_and_give_layers_only_to_a_layered_run(autojump_clock: Any) -> None:
    from dagexec import EagerExecutor, LayeredExecutor, LocalTools
    from dagexec.plot import timeline_figure

    async def nap(seconds: float) -> float:
        import trio

        await trio.sleep(seconds)
        return seconds

    workflow = wf(
        {"id": "a", "tool": "s:nap", "arguments": {"seconds": 1}},
        {"id": "b", "tool": "s:nap", "arguments": {"seconds": 3}},
        {"id": "c", "tool": "s:nap", "arguments": {"seconds": 1}, "depends_on": ["a"]},
    )
    servers = {"s": LocalTools({"nap": nap})}
    runs = [await LayeredExecutor(servers).execute(workflow), await EagerExecutor(servers).execute(workflow)]
    titles = [axes.get_title(loc="left") for axes in timeline_figure(runs).axes]
    assert titles == [
        "layered: 4.00 s in 2 layers, 1.25x as fast as one call at a time",
        "eager: 3.00 s, 1.67x as fast as one call at a time",
    ]


def test_piped_output_keeps_whole_outputs_and_a_terminal_cuts_them(tmp_path: Path) -> None:
    text = "word " * 40  # 200 characters: a terminal's table cuts it, a pipe keeps it whole
    workflow = write(tmp_path / "wf.json", {"tasks": [{"id": "e", "tool": "box:echo", "arguments": {"text": text}}]})
    args = ["run", workflow, "--servers", toolbox_servers(tmp_path)]
    piped = dagexec(*args)
    assert piped.returncode == 0, piped.stderr
    assert json.dumps({"result": text}) in piped.stdout
    with on_a_terminal(*args, env={**ENV, "COLUMNS": "250"}) as terminal:
        terminal.read_until("\0", 60)  # until the terminal closes
        terminal.proc.wait(timeout=30)
    shown = terminal.text()
    assert terminal.proc.returncode == 0, shown
    assert json.dumps({"result": text})[:57] + "..." in shown
    assert text not in shown


async def test_live_progress_shows_the_run_s_own_counts_as_events_come(autojump_clock: Any) -> None:
    import io

    import trio
    from rich.console import Console

    from dagexec import EagerExecutor, Event, LocalTools, TaskFinished, Workflow
    from dagexec.cli._render import LiveProgress

    async def sleep(seconds: float) -> float:
        await trio.sleep(seconds)
        return seconds

    wf = Workflow.from_dict(
        {"tasks": [{"id": f"t{i}", "tool": "s:sleep", "arguments": {"seconds": i + 1}} for i in range(9)]}
    )
    progress = LiveProgress(Console(file=io.StringIO()), len(wf.tasks), "eager", live=False)
    bar = progress._progress.tasks[0]
    shown: list[tuple[float, str]] = []

    def on_event(event: Event) -> None:
        progress.on_event(event)
        if isinstance(event, TaskFinished):
            shown.append((bar.completed, bar.fields["running"]))

    async with EagerExecutor({"s": LocalTools({"sleep": sleep})}).open_run(wf, on_event=on_event) as run:
        progress.follow(run)
    # All start at 0, in trio's order: six ids of the eight still running, then how many more.
    first_names, more = shown[0][1].removeprefix("running: ").rsplit(" ", 1)
    assert shown[0][0] == 1 and more == "+2"
    assert len(set(first_names.split(", ")) & {f"t{i}" for i in range(1, 9)}) == 6
    assert shown[6][0] == 7 and sorted(shown[6][1].removeprefix("running: ").split(", ")) == ["t7", "t8"]
    assert shown[8] == (9, "")
    assert bar.total == 9


# -- for programs: the result and events as JSON, a plan on stdin, the tools and the journal ------


def test_json_dash_writes_the_result_to_stdout_and_the_rest_to_stderr(tmp_path: Path) -> None:
    servers = toolbox_servers(tmp_path)
    plan = write(tmp_path / "wf.json", {"tasks": [{"id": "a", "tool": "box:echo", "arguments": {"text": "hi"}}]})
    out = cli("run", plan, "--servers", servers, "--json", "-")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)  # nothing else on stdout
    assert [(r["task_id"], r["output"]) for r in data["results"]] == [("a", {"result": "hi"})]
    assert "eager run: tasks" in out.stderr and "1 success" in out.stderr


def test_a_standard_output_closed_by_its_reader_ends_a_command_with_141_not_an_internal_error(tmp_path: Path) -> None:
    """``dagexec schema | head -1``, ``dagexec run ... --events - | head -1``: the reader goes away (here, at once)."""
    servers = toolbox_servers(tmp_path)
    plan = write(
        tmp_path / "wf.json",
        {
            "tasks": [
                {"id": "a", "tool": "box:echo", "arguments": {"text": "hi"}},
                {"id": "b", "tool": "box:echo", "arguments": {"text": "x"}, "depends_on": ["a"]},
            ]
        },
    )
    reader, closed = os.pipe()
    os.close(reader)  # every write to `closed` fails: EPIPE

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "dagexec", *args],
            stdin=subprocess.DEVNULL,
            stdout=closed,
            stderr=subprocess.PIPE,
            text=True,
            env=ENV,
            cwd=EXAMPLES,
            timeout=120,
        )

    try:
        schema, events = run("schema"), run("run", plan, "--servers", servers, "--events", "-")
    finally:
        os.close(closed)
    assert (schema.returncode, schema.stderr) == (141, "")
    assert events.returncode == 141, events.stderr
    assert "2 success" in events.stderr  # the run went on to its end
    assert "standard output was closed by its reader" in events.stderr
    assert "internal error" not in events.stderr


def test_demo_json_dash_writes_both_results_to_stdout_and_no_file(tmp_path: Path) -> None:
    out = cli("demo", "--speed", "20", "--json", "-", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert set(json.loads(out.stdout)) == {"layered", "eager"}  # nothing else on stdout
    assert "comparison" in out.stderr
    assert list(tmp_path.iterdir()) == []  # no file named "-"


def test_events_as_json_lines_to_a_file_or_stdout(tmp_path: Path) -> None:
    servers = toolbox_servers(tmp_path)
    plan = write(
        tmp_path / "wf.json",
        {
            "tasks": [
                {"id": "a", "tool": "box:echo", "arguments": {"text": "hi"}},
                {"id": "b", "tool": "box:fail", "arguments": {"message": "no"}, "depends_on": ["a"]},
                {"id": "c", "tool": "box:echo", "arguments": {"text": "x"}, "depends_on": ["b"]},
            ]
        },
    )
    to_file = cli("run", plan, "--servers", servers, "--events", str(tmp_path / "events.jsonl"))
    assert to_file.returncode == 1
    assert "eager run: tasks" in to_file.stdout  # people's output stays on stdout
    to_stdout = cli("run", plan, "--servers", servers, "--events", "-")
    assert to_stdout.returncode == 1
    assert "eager run: tasks" in to_stdout.stderr
    for text in ((tmp_path / "events.jsonl").read_text(), to_stdout.stdout):
        events = [json.loads(line) for line in text.splitlines()]
        assert [(e["event"], e.get("task_id") or e["result"]["task_id"]) for e in events] == [
            ("TaskBegan", "a"), ("TaskStarted", "a"), ("TaskCallEnded", "a"), ("TaskFinished", "a"),
            ("TaskBegan", "b"), ("TaskStarted", "b"), ("TaskCallEnded", "b"), ("TaskFinished", "b"),
            ("TaskSkipped", "c"),
        ]  # fmt: skip


def test_json_and_events_cannot_both_have_stdout_and_an_events_file_is_checked_first(tmp_path: Path) -> None:
    servers = write(tmp_path / "servers.json", {"mcpServers": {"box": {"command": "/no/such/server"}}})
    plan = write(tmp_path / "wf.json", {"tasks": [{"id": "a", "tool": "box:echo"}]})
    both = cli("run", plan, "--servers", servers, "--json", "-", "--events", "-")
    assert (both.returncode, both.stdout) == (2, "")
    assert both.stderr == (
        "error: --json - and --events - cannot both write to standard output: give one of them a file\n"
    )
    missing = cli("run", plan, "--servers", servers, "--events", str(tmp_path / "no" / "e.jsonl"))
    assert missing.returncode == 2
    assert missing.stderr.startswith("error: cannot write the events ")  # before the server fails to start


@pytest.mark.parametrize("lines", [False, True])
def test_validate_reads_a_plan_on_stdin(lines: bool) -> None:
    tasks = [{"id": "a", "tool": "s:t"}, {"id": "b", "tool": "s:t", "depends_on": ["a"]}]
    text = "\n".join(json.dumps(t) for t in tasks) + "\n" if lines else json.dumps({"tasks": tasks})
    out = cli("validate", "-", input=text)
    assert out.returncode == 0, out.stderr
    assert "valid: 2 tasks in 2 layers" in out.stdout


def test_validate_refuses_stdin_that_is_no_plan() -> None:
    out = cli("validate", "-", input='{"tasks": [}\n')
    assert out.returncode == 2
    assert out.stderr.startswith("error: cannot read the workflow on standard input: not valid JSON: ")
    lines = cli("validate", "-", input='{"id": "a", "tool": "s:t"}\n{"id": \n')
    assert lines.returncode == 2
    assert "nor JSON lines (line 2: " in lines.stderr
    bad = cli("validate", "-", input='{"tasks": [{"id": "a"}]}')
    assert bad.returncode == 2
    assert bad.stderr.startswith("error: invalid plan (1 problem):\n  task 'a': tool: ")


def test_tools_lists_each_tool_with_its_arguments_and_json_gives_their_schemas(tmp_path: Path) -> None:
    servers = toolbox_servers(tmp_path)
    out = cli("tools", "--servers", servers)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    at = lines.index("box:sleep: Sleep, then answer with structured content.")
    assert lines[at + 1 : at + 4] == ["  seconds (number, required)", "  value (string)", "  returns: object"]
    assert lines[lines.index("box:plain: Answer with unstructured text content only.") + 2] == "box:refuse: " + (
        "Answer with a JSON-RPC error reply (not an error result) of this code."
    )  # no output schema: no "returns"
    assert lines[-1] == "14 tools on 1 server"
    listed = json.loads(cli("tools", "--servers", servers, "--json").stdout)
    by_tool = {item["tool"]: item for item in listed}
    assert by_tool["box:echo"]["input_schema"]["required"] == ["text"]
    assert by_tool["box:echo"]["output_schema"]["properties"] == {"result": {"title": "Result", "type": "string"}}
    assert by_tool["box:plain"]["output_schema"] is None


def test_schema_with_servers_is_limited_to_their_tools(tmp_path: Path) -> None:
    out = cli("schema", "--servers", toolbox_servers(tmp_path))
    assert out.returncode == 0, out.stderr
    schema = json.loads(out.stdout)
    tools = [branch["properties"]["tool"]["const"] for branch in schema["properties"]["tasks"]["items"]["anyOf"]]
    assert "box:echo" in tools and len(tools) == 14
    general = cli("schema")
    assert json.loads(general.stdout)["properties"]["tasks"]["items"]["properties"]["tool"]["pattern"]


def test_journal_show_prints_each_run_and_refuses_what_is_no_journal(tmp_path: Path) -> None:
    servers = toolbox_servers(tmp_path)
    journal = str(tmp_path / "run.db")
    plan = write(
        tmp_path / "nightly.json",
        {
            "tasks": [
                {"id": "ok", "tool": "box:echo", "arguments": {"text": "fine"}},
                {"id": "bad", "tool": "box:fail", "arguments": {"message": "nope"}},
            ]
        },
    )
    assert cli("run", plan, "--servers", servers, "--journal", journal).returncode == 1
    shown = cli("journal", "show", journal)
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.startswith("run nightly: 2 tasks, last opened ")
    assert re.search(r"tool_error: .*\bnope\b", shown.stdout)  # the SDK's own words around "nope" are its own
    [run] = json.loads(cli("journal", "show", journal, "--json").stdout)
    assert {t["task_id"]: t["status"] for t in run["tasks"]} == {"ok": "success", "bad": "error"}
    assert all(t["started_at"] <= t["finished_at"] for t in run["tasks"])
    missing = cli("journal", "show", str(tmp_path / "none.db"))
    assert (missing.returncode, missing.stderr) == (
        2, f"error: cannot read the journal '{tmp_path / 'none.db'}': no such file\n"
    )  # fmt: skip
