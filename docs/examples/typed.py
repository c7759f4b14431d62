"""A plan a model got wrong, checked against mcp-server-time's schemas before anything runs."""

import json
import sys
from pathlib import Path

import trio

from dagexec import EagerExecutor, InvalidArgumentsError, LocalTools, Workflow
from dagexec.servers import open_servers

CONFIG = {
    "mcpServers": {
        "time": {"command": sys.executable, "args": ["-m", "mcp_server_time", "--local-timezone", "UTC"]}
    }
}

# A number for a timezone, a misspelled field, a forgotten argument, a boolean for a time.
wrong = Workflow.from_dict(json.loads((Path(__file__).parent / "typed-plan.json").read_text()))

# A local tool without a return annotation declares no output schema: what it gives is checked when it is known.
local = LocalTools({"office_zone": lambda: {"zone": 9}})
late = Workflow.from_dict(
    {
        "tasks": [
            {"id": "zone", "tool": "py:office_zone"},
            {"id": "now", "tool": "time:get_current_time", "arguments": {"timezone": "$OUTPUT[zone].zone"}},
            {"id": "then", "tool": "time:convert_time", "depends_on": ["now"],
             "arguments": {"source_timezone": "UTC", "time": "12:00", "target_timezone": "Asia/Tokyo"}},
        ]
    }
)  # fmt: skip


async def main() -> None:
    async with open_servers(CONFIG) as servers:
        executor = EagerExecutor({**servers, "py": local})
        try:
            await executor.execute(wrong)
        except InvalidArgumentsError as exc:
            print(f"refused before any call, {len(exc.problems)} problems:")
            for problem in exc.problems:
                print(f"  {problem}")
        result = await executor.execute(late)
    for task in result.results:
        error = f" {task.error.code}: {task.error.message}" if task.error else ""
        print(f"{task.task_id:5} {task.status:8}{error}".rstrip())


if __name__ == "__main__":
    trio.run(main)
