"""Approval before a tool runs: a human (here, a rule) says yes or no to each gated call."""

from typing import Any

import trio

from dagexec import EagerExecutor, LocalTools, Task, Workflow


async def send_email(to: str, body: str) -> str:
    return f"sent to {to}"


async def draft(topic: str) -> str:
    await trio.sleep(0.1)
    return f"A short note on {topic}."


async def approve(task: Task, arguments: dict[str, Any]) -> bool | str:
    # A real approver would ask a person; it sees the resolved arguments.
    if arguments["to"].endswith("@example.com"):
        return True
    return f"{arguments['to']} is outside the company"


workflow = Workflow.from_dict(
    {
        "tasks": [
            {"id": "note", "tool": "mail:draft", "arguments": {"topic": "eager DAGs"}},
            {"id": "inside", "tool": "mail:send_email", "approval": True,
             "arguments": {"to": "team@example.com", "body": "$OUTPUT[note]"}},
            {"id": "outside", "tool": "mail:send_email", "approval": True,
             "arguments": {"to": "someone@elsewhere.org", "body": "$OUTPUT[note]"}},
        ]
    }
)  # fmt: skip


async def main() -> None:
    tools = LocalTools({"draft": draft, "send_email": send_email})
    result = await EagerExecutor({"mail": tools}, approve=approve).execute(workflow)
    for task in result.results:
        print(task.task_id, task.status, task.output or (task.error and task.error.message))


if __name__ == "__main__":
    trio.run(main)
