"""How the parts take their figures: simulated tools, runs in virtual time, timed calls."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Any

import trio
import trio.testing

from .. import EagerExecutor, ExecutionResult, LayeredExecutor, Workflow


def bench_server_config(python: str = sys.executable) -> dict[str, Any]:
    """The servers config that starts the bench's MCP server (``python -m dagexec.bench.server``) as ``bench``."""
    return {"mcpServers": {"bench": {"command": python, "args": ["-m", "dagexec.bench.server"]}}}


async def sleep(seconds: float) -> None:
    """A simulated tool that takes ``seconds`` (virtual seconds under a ``MockClock``)."""
    await trio.sleep(seconds)


async def noop() -> None:
    """A tool that does nothing: what remains is the scheduler's cost."""
    return None


def virtual_run(executor: EagerExecutor | LayeredExecutor, workflow: Workflow) -> ExecutionResult:
    """``workflow`` run by ``executor`` in virtual time: exact, the same on any machine."""

    async def main() -> ExecutionResult:
        return await executor.execute(workflow)

    return trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0))


def timed(fn: Callable[[], Any]) -> float:
    """The wall time ``fn()`` takes, in seconds."""
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started
