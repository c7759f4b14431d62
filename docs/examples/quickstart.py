"""A first workflow from Python: three tools, one slow, run eagerly and layered."""

import time

import trio

from dagexec import EagerExecutor, LayeredExecutor, LocalTools, Workflow


async def search(query: str) -> dict[str, object]:
    await trio.sleep(0.3 if "slow" in query else 0.1)  # stands in for a network call
    return {"query": query, "hits": [f"{query} result 1", f"{query} result 2"]}


def shout(text: str) -> str:  # a plain blocking function runs in a worker thread
    time.sleep(0.1)
    return text.upper()


workflow = Workflow.from_dict(
    {
        "tasks": [
            {"id": "slow", "tool": "web:search", "arguments": {"query": "slow archive"}},
            {"id": "fast", "tool": "web:search", "arguments": {"query": "news"}},
            {"id": "loud", "tool": "text:shout", "arguments": {"text": "$OUTPUT[fast].hits.0"}},
        ]
    }
)
servers = {"web": LocalTools({"search": search}), "text": LocalTools({"shout": shout})}


async def main() -> None:
    for executor in (LayeredExecutor(servers), EagerExecutor(servers)):
        result = await executor.execute(workflow)
        print(f"{result.strategy}: {result.wall_time:.1f} s, {result['loud'].output}")


if __name__ == "__main__":
    trio.run(main)
