"""A plan that streams in: tasks start while the planner is still writing the rest."""

from collections.abc import AsyncIterator
from typing import Any

import trio

from dagexec import EagerExecutor, LocalTools


async def search(query: str) -> list[str]:
    await trio.sleep(0.3)
    return [f"{query}: first hit", f"{query}: second hit"]


async def summarize(texts: list[str]) -> str:
    await trio.sleep(0.1)
    return f"{len(texts)} hits summarized"


async def planner() -> AsyncIterator[dict[str, Any]]:  # stands in for an LLM that emits one task at a time
    yield {"id": "news", "tool": "web:search", "arguments": {"query": "trio"}}
    await trio.sleep(0.2)  # the planner thinks; the search already runs
    yield {"id": "papers", "tool": "web:search", "arguments": {"query": "DAG scheduling"}}
    await trio.sleep(0.2)
    yield {"id": "summary", "tool": "web:summarize", "arguments": {"texts": "$OUTPUT[news]"}}


async def main() -> None:
    executor = EagerExecutor({"web": LocalTools({"search": search, "summarize": summarize})})
    async with executor.open_run() as run:
        async for task in planner():
            run.add(task)
    for result in run.result.results:
        print(f"{result.task_id}: started at {result.started_at:.1f} s, {result.output}")


if __name__ == "__main__":
    trio.run(main)
