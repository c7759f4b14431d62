"""Scheduling controls: a limit, a timeout, retries, and a clean-up step that always runs."""

import trio

from dagexec import EagerExecutor, LocalTools, TaskRetrying, Workflow

attempts = {"flaky": 0}


async def fetch(url: str, seconds: float = 0.1) -> str:
    await trio.sleep(seconds)
    return f"<html>{url}</html>"


async def flaky() -> str:
    attempts["flaky"] += 1
    if attempts["flaky"] < 3:
        raise ConnectionError("try again")
    return "third time lucky"


async def cleanup() -> str:
    return "cleaned up"


workflow = Workflow.from_dict(
    {
        "tasks": [
            {"id": f"page{i}", "tool": "web:fetch", "arguments": {"url": f"https://example.org/{i}"}}
            for i in range(4)
        ]
        + [
            {"id": "slow", "tool": "web:fetch", "arguments": {"url": "x", "seconds": 5}, "timeout": 0.3},
            {"id": "flaky", "tool": "web:flaky", "retries": 2},
            {"id": "cleanup", "tool": "web:cleanup", "depends_on": ["slow", "flaky"], "trigger": "all_done"},
        ]
    }
)
servers = {"web": LocalTools({"fetch": fetch, "flaky": flaky, "cleanup": cleanup})}


def show(event: object) -> None:
    if isinstance(event, TaskRetrying):
        print(f"retrying {event.task_id} (attempt {event.attempt} failed: {event.error.message})")


async def main() -> None:
    executor = EagerExecutor(servers, max_concurrency=2, retries=0, retry_delay=0.05)
    result = await executor.execute(workflow, timeout=10, on_event=show)
    for task in result.results:
        error = f"{task.error.code}: {task.error.message}" if task.error else ""
        print(f"{task.task_id:8} {task.status:8} attempts={task.attempts} {error}")


if __name__ == "__main__":
    trio.run(main)
