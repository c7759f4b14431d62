"""Run a 20-task workflow with a journal; the tools log their calls to a file.

Usage: python journal_worker.py JOURNAL EFFECTS [RELEASE]. Killed and run again
by test_live.test_journal_survives_sigkill. With RELEASE, no task ends before
that file exists: the run holds its journal until the test lets it go.
"""

from __future__ import annotations

import os
import sys

import trio

from dagexec import EagerExecutor, LocalTools, Workflow

journal, effects = sys.argv[1], sys.argv[2]
release = sys.argv[3] if len(sys.argv) > 3 else None


async def work(name: str) -> dict[str, str]:
    with open(effects, "a") as log:
        log.write(f"start {name}\n")
    await trio.sleep(0.15)
    while release is not None and not os.path.exists(release):
        await trio.sleep(0.02)
    with open(effects, "a") as log:
        log.write(f"end {name}\n")
    return {"done": name}


# Four chains of five, each link needing the one before: the run takes a while.
tasks = [
    {
        "id": f"t{i}",
        "tool": "w:work",
        "arguments": {"name": f"t{i}"},
        "depends_on": [f"t{i - 4}"] if i >= 4 else [],
    }
    for i in range(20)
]


async def main() -> None:
    executor = EagerExecutor({"w": LocalTools({"work": work})}, max_concurrency=4, journal=journal)
    result = await executor.execute(Workflow.from_dict({"tasks": tasks}))
    for r in result.results:
        if r.reused:
            print(f"{r.task_id} reused")
    print(f"ok {len(result.results)} tasks" if result.ok else f"failed: {result.errors}")


trio.run(main)
