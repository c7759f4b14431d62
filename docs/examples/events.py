"""One task's events from its start to its result, as JSON lines (in virtual time: the same on any machine)."""

import json

import trio
import trio.testing

from dagexec import EagerExecutor, Event, LocalTools, Workflow

calls = 0


async def send(to: str) -> str:
    global calls
    calls += 1
    await trio.sleep(0.5)
    if calls == 1:
        raise ConnectionError("try again")
    return f"sent to {to}"


async def warm() -> str:
    await trio.sleep(1.0)
    return "warm"


async def approve(task: object, arguments: dict[str, object]) -> bool:
    await trio.sleep(0.25)  # a person reads the call
    return True


async def main() -> None:
    plan = Workflow.from_dict(
        {
            "tasks": [
                {"id": "warm", "tool": "mail:warm"},  # holds the server's one slot for 1 s
                {"id": "send", "tool": "mail:send", "arguments": {"to": "team@example.com"}, "approval": True},
            ]
        }
    )
    executor = EagerExecutor(
        {"mail": LocalTools({"send": send, "warm": warm})},
        server_limits={"mail": 1},
        retries=1,
        retry_delay=1.0,
        retry_jitter=0.0,
        approve=approve,
    )

    def on_event(event: Event) -> None:
        if getattr(event, "task_id", None) == "send":
            print(json.dumps(event.to_dict(), default=repr))

    await executor.execute(plan, on_event=on_event)


if __name__ == "__main__":
    trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0))
