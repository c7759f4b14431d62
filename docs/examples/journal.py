"""Resume after a crash: a journal records each finished call, so a rerun repeats none of them."""

import sys
import tempfile
from pathlib import Path

import trio

from dagexec import EagerExecutor, LocalTools, Workflow

calls: list[str] = []


async def fetch(url: str) -> str:
    calls.append(url)
    await trio.sleep(0.05)
    if url.endswith("flaky") and len(calls) < 4:
        raise ConnectionError("the site is down")
    return f"<html>{url}</html>"


workflow = Workflow.from_dict(
    {"tasks": [{"id": name, "tool": "web:fetch", "arguments": {"url": f"https://example.org/{name}"}}
               for name in ("a", "b", "flaky")]}
)  # fmt: skip


async def main(journal: Path) -> None:
    executor = EagerExecutor({"web": LocalTools({"fetch": fetch})}, journal=journal)
    first = await executor.execute(workflow, run_name="pages")  # "flaky" fails: imagine the process dies here
    print("first run:", {r.task_id: r.status.value for r in first.results}, "calls:", len(calls))
    second = await executor.execute(workflow, run_name="pages")  # the same journal and name: only "flaky" runs
    print("second run:", {r.task_id: ("reused" if r.reused else r.status.value) for r in second.results})
    print("calls:", len(calls))


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as folder:
        trio.run(main, Path(sys.argv[1]) if len(sys.argv) > 1 else Path(folder) / "run.db")
