"""A local tool's return annotation is its output schema: a reference to a field it lacks is refused up front."""

import dataclasses

import trio

from dagexec import EagerExecutor, InvalidArgumentsError, LocalTools, Workflow


@dataclasses.dataclass
class Point:
    x: int
    y: int


def locate(place: str) -> Point:
    return Point(x=len(place), y=2)


def show(text: str) -> str:
    return text.upper()


servers = {"py": LocalTools({"locate": locate, "show": show})}


def plan(field: str) -> Workflow:
    return Workflow.from_dict(
        {
            "tasks": [
                {"id": "p", "tool": "py:locate", "arguments": {"place": "Oslo"}},
                {"id": "s", "tool": "py:show", "arguments": {"text": f"at $OUTPUT[p].{field}"}},
            ]
        }
    )


async def main() -> None:
    print(servers["py"].tool_schemas["locate"].output)
    try:
        await EagerExecutor(servers).execute(plan("z"))
    except InvalidArgumentsError as exc:
        print(exc)
    result = await EagerExecutor(servers).execute(plan("x"))
    print(result["p"].output, result["s"].output)


if __name__ == "__main__":
    trio.run(main)
