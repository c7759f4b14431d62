"""CPU-bound tools on a real Dask cluster: worker processes on loopback.

Every test that starts a cluster is marked slow.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dask
import pytest
import trio
from distributed import Client, LocalCluster

from dagexec import (
    EagerExecutor,
    ErrorCode,
    LocalTools,
    ServerConfigError,
    ServerStartError,
    TaskStatus,
    UnknownToolError,
)
from dagexec.dask import DaskTools, load_registry
from dagexec.servers import load_config, open_servers

from . import dask_tools
from .helpers import ROOT, announced, processes_with, toolbox, wf


@pytest.fixture(scope="module")
def client() -> Iterator[Client]:
    # A worker that dies fails its calls at once (no re-runs): the tests see KilledWorker.
    with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
        cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0")
        with cluster, Client(cluster) as connected:
            yield connected


@pytest.mark.slow
async def test_mixed_workflow(client: Client) -> None:
    async def draft(topic: str) -> str:
        return f"notes on {topic}"

    workflow = wf(
        {"id": "draft", "tool": "local:draft", "arguments": {"topic": "eager dags"}},
        {"id": "loud", "tool": "cpu:shout", "arguments": {"text": "$OUTPUT[draft]"}},
        {"id": "where", "tool": "cpu:pid"},
        {"id": "echo", "tool": "box:echo", "arguments": {"text": "$OUTPUT[loud] from a worker"}},
    )
    with trio.fail_after(60):
        async with open_servers({"mcpServers": {"box": toolbox()}}) as mcp:
            servers = {**mcp, "local": LocalTools({"draft": draft}), "cpu": DaskTools(client, dask_tools.TOOLS)}
            result = await EagerExecutor(servers).execute(workflow)
    assert result.ok, result.errors
    assert result["echo"].output == {"result": "NOTES ON EAGER DAGS from a worker"}
    assert result["where"].output != os.getpid()  # it ran in a worker process


@pytest.mark.slow
async def test_calls_spread_over_the_workers(client: Client, tmp_path: Path) -> None:
    # Each call waits until two have arrived: on two single-threaded workers, the
    # first two can only both answer if they ran at once, in the two processes.
    workflow = wf(*({"id": f"m{i}", "tool": "cpu:meet", "arguments": {"folder": str(tmp_path), "size": 2}}
                    for i in range(4)))  # fmt: skip
    tools = {"cpu": DaskTools(client, dask_tools.TOOLS)}
    with trio.fail_after(60):
        result = await EagerExecutor(tools).execute(workflow)
    assert result.ok, result.errors
    workers = set(client.run(os.getpid).values())
    assert len(workers) == 2 and os.getpid() not in workers
    assert {r.output for r in result.results} == workers


@pytest.mark.slow
async def test_tool_errors_and_unknown_tools(client: Client) -> None:
    tools = {"cpu": DaskTools(client, dask_tools.TOOLS)}
    result = await EagerExecutor(tools).execute(wf({"id": "f", "tool": "cpu:fail", "arguments": {"message": "bad"}}))
    error = result["f"].error
    assert error is not None and (error.code, error.message) == (ErrorCode.TOOL_ERROR, "ValueError: bad")
    with pytest.raises(UnknownToolError, match=r"^invalid plan \(1 problem\):\n  task 'x': tool: unknown tool 'cpu:nope' \(server 'cpu' has: "):
        await EagerExecutor(tools).execute(wf({"id": "x", "tool": "cpu:nope"}))


def scheduler_tasks(client: Client) -> int:
    """How many calls the scheduler still runs or keeps."""
    count: int = client.run_on_scheduler(lambda dask_scheduler: len(dask_scheduler.tasks))
    return count


@pytest.mark.slow
async def test_timeout_cancels_the_future_on_the_cluster(client: Client) -> None:
    tools = {"cpu": DaskTools(client, dask_tools.TOOLS)}
    workflow = wf(
        {"id": "long", "tool": "cpu:nap", "arguments": {"seconds": 10}, "timeout": 0.5},
        {"id": "short", "tool": "cpu:nap", "arguments": {"seconds": 0.2}},
    )
    with trio.fail_after(30):
        result = await EagerExecutor(tools).execute(workflow)
    long = result["long"]
    assert long.error is not None
    assert (long.error.code, long.error.message) == (ErrorCode.TIMEOUT, "no answer within 0.5 s")
    assert long.duration is not None and 0.5 - 1e-6 <= long.duration < 5  # ended by its timeout (10x), not by the 10 s nap
    assert result["short"].output == 0.2
    deadline = time.monotonic() + 30
    while scheduler_tasks(client) and time.monotonic() < deadline:
        await trio.sleep(0.1)
    assert scheduler_tasks(client) == 0  # the scheduler let go of the cancelled call


@pytest.mark.slow
async def test_a_worker_that_dies_fails_only_its_call(client: Client, tmp_path: Path) -> None:
    tools = {"cpu": DaskTools(client, dask_tools.TOOLS)}
    marker = str(tmp_path / "died")
    workflow = wf(
        {"id": "victim", "tool": "cpu:die_once", "arguments": {"marker": marker}, "retries": 1},
        {"id": "no_retry", "tool": "cpu:die_once", "arguments": {"marker": str(tmp_path / "other")}},
        {"id": "after", "tool": "cpu:shout", "arguments": {"text": "$OUTPUT[victim]"}},
    )
    with trio.fail_after(120):  # killing a worker never hangs the run
        result = await EagerExecutor(tools, retry_delay=0.1).execute(workflow)
    victim = result["victim"]
    assert victim.ok and victim.attempts == 2  # the retry policy applies to server_error
    first = victim.timeline[0].error
    assert first is not None and first.code is ErrorCode.SERVER_ERROR
    assert first.message.startswith("a worker died running the call")
    no_retry = result["no_retry"]
    assert no_retry.status is TaskStatus.ERROR and no_retry.error is not None
    assert no_retry.error.code is ErrorCode.SERVER_ERROR
    assert result["after"].output.startswith("SURVIVED IN ")


@pytest.mark.slow
async def test_dask_entry_in_the_servers_config_with_a_local_cluster() -> None:
    config = {
        "mcpServers": {
            "cpu": {"dask": {"local": {"n_workers": 1}, "tools": "tests.dask_tools:TOOLS"}},
            "box": toolbox(),
        }
    }
    workflow = wf(
        {"id": "sum", "tool": "cpu:cpu", "arguments": {"n": 1000}},
        {"id": "echo", "tool": "box:echo", "arguments": {"text": "sum=$OUTPUT[sum]"}},
    )
    with trio.fail_after(120):
        async with open_servers(config) as servers:
            assert isinstance(servers["cpu"], DaskTools)
            result = await EagerExecutor(servers).execute(workflow)
    assert result["echo"].output == {"result": f"sum={dask_tools.cpu(1000)}"}


@pytest.fixture
def scheduler_and_worker() -> Iterator[tuple[str, str]]:
    """``dask scheduler`` and ``dask worker`` as separate processes, on loopback."""
    marker = f"dagexec-test-{uuid.uuid4()}"
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),  # the workers import tests.dask_tools
        "DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES": "0",
    }
    # Port 0: the scheduler binds any free port and logs its address, which the worker is given.
    scheduler = subprocess.Popen(
        [sys.executable, "-m", "dask", "scheduler", "--host", "127.0.0.1", "--port", "0",
         "--no-dashboard", "--dashboard-address", ":0"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        address, _ = announced(scheduler, r"Scheduler at:\s+(tcp://\S+)", stream="stderr")
    except BaseException:
        scheduler.kill()
        scheduler.communicate()
        raise
    # Keep reading its log, so that a full pipe never blocks it.
    assert scheduler.stderr is not None
    drain = threading.Thread(target=scheduler.stderr.read, daemon=True)
    drain.start()
    worker = subprocess.Popen(
        [sys.executable, "-m", "dask", "worker", address, "--nworkers", "1", "--nthreads", "2",
         "--no-dashboard", "--dashboard-address", ":0", "--name", marker],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        yield address, marker
    finally:
        for proc in (worker, scheduler):
            proc.terminate()
        for proc in (worker, scheduler):
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        drain.join(10)
        scheduler.stderr.close()


@pytest.mark.slow
async def test_separate_scheduler_and_worker_processes(scheduler_and_worker: tuple[str, str], tmp_path: Path) -> None:
    address, marker = scheduler_and_worker
    config = {"mcpServers": {"cpu": {"dask": {"scheduler": address, "tools": "tests.dask_tools:TOOLS"}}}}
    workflow = wf(
        {"id": "a", "tool": "cpu:cpu", "arguments": {"n": 10_000}},
        {"id": "killed", "tool": "cpu:die_once", "arguments": {"marker": str(tmp_path / "died")}, "retries": 2},
        {"id": "b", "tool": "cpu:shout", "arguments": {"text": "$OUTPUT[killed]"}},
    )
    with trio.fail_after(120):
        async with open_servers(config, start_timeout=60) as servers:
            result = await EagerExecutor(servers, retry_delay=0.5).execute(workflow)
    assert result["a"].output == dask_tools.cpu(10_000)
    killed = result["killed"]
    assert killed.ok, killed.error
    assert killed.attempts >= 2 and killed.timeline[0].error is not None
    assert killed.timeline[0].error.code is ErrorCode.SERVER_ERROR
    assert result["b"].output.startswith("SURVIVED IN ")
    assert processes_with(marker)  # the cluster is not ours: it still runs


@pytest.mark.parametrize(
    ("entry", "problem"),
    [
        ({"dask": {"scheduler": "tcp://x:1"}}, "required field missing @ mcpServers.cpu.dask.tools"),
        (
            {"dask": {"tools": "m:t"}},
            "needs either 'scheduler' (an address) or 'local' (a cluster started for the run) @ mcpServers.cpu.dask",
        ),
        (
            {"dask": {"tools": "m:t", "scheduler": "tcp://x:1", "local": {}}},
            "needs either 'scheduler' (an address) or 'local' (a cluster started for the run) @ mcpServers.cpu.dask",
        ),
        ({"dask": {"tools": "m:t", "local": {"n_workers": "two"}}}, "expected an integer, got string 'two' @ mcpServers.cpu.dask.local.n_workers"),
        # No worker: no call could ever run (the run would wait forever).
        ({"dask": {"tools": "m:t", "local": {"n_workers": 0}}}, "n_workers must be >= 1, not 0 @ mcpServers.cpu.dask.local"),
        (
            {"dask": {"tools": "m:t", "local": {"threads_per_worker": -1}}},
            "threads_per_worker must be >= 1, not -1 @ mcpServers.cpu.dask.local",
        ),
        ({"dask": {"tools": "m:t", "scheduler": "tcp://x:1"}, "url": "u"}, "needs one of 'command'"),
        ({"dask": {"tools": "m:t", "scheduler": "tcp://x:1"}, "extra": 1}, "unknown key 'extra' (accepted: dask, disabled) @ mcpServers.cpu"),
    ],
)
def test_dask_config_errors(entry: dict[str, Any], problem: str) -> None:
    with pytest.raises(ServerConfigError) as info:
        load_config({"mcpServers": {"cpu": entry}})
    assert any(problem in line for line in info.value.problems), info.value.problems


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("tests.dask_tools", "expected 'package.module:name'"),
        ("tests.no_such_module:TOOLS", "cannot import 'tests.no_such_module'"),
        ("tests.dask_tools:NOPE", "'tests.dask_tools' has no 'NOPE'"),
        ("tests.dask_tools:cpu", "is not a mapping of tool names to functions"),
    ],
)
def test_registry_errors(spec: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        load_registry(spec)
    assert load_registry("tests.dask_tools:TOOLS") == dask_tools.TOOLS


async def test_unreachable_scheduler_is_a_clear_start_error() -> None:
    config = {"mcpServers": {"cpu": {"dask": {"scheduler": "tcp://127.0.0.1:9", "tools": "tests.dask_tools:TOOLS"}}}}
    with trio.fail_after(60), pytest.raises(ServerStartError, match=r"^server 'cpu' did not start: "):
        async with open_servers(config, start_timeout=3):
            pytest.fail("the block must not run")
