"""Public API use as a user writes it: ``mypy --strict`` must accept it (tests/test_quality.py).

Not a test module: it is type-checked, never imported.
"""

from __future__ import annotations

from typing import Any

from dagexec import EagerExecutor, Event, LocalTools, Task, Workflow
from dagexec.dask import DaskTools


def upper(text: str) -> str:
    return text.upper()


async def fetch(url: str) -> dict[str, Any]:
    return {"url": url}


def on_event(event: Event) -> None:
    print(event.task_id)


def build(client: Any) -> EagerExecutor:
    tools = {"upper": upper, "fetch": fetch}  # functions of different signatures
    # Servers of different kinds in one literal: their join is a ToolServer.
    servers = {"local": LocalTools(tools), "cpu": DaskTools(client, tools)}
    return EagerExecutor(servers)


workflow = Workflow(
    tasks=[
        Task(id="a", tool="local:fetch", arguments={"url": "https://example.org"}),
        Task(id="b", tool="local:upper", arguments={"text": "$OUTPUT[a].url"}, depends_on=["a"]),
        Task(id="c", tool="local:upper", arguments={"text": "x"}, depends_on=("a", "b")),
    ]
)
