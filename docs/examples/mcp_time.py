"""Run a workflow against a real MCP server: mcp-server-time from PyPI, over stdio."""

import sys

import trio

from dagexec import EagerExecutor, ListsTools, Workflow
from dagexec.servers import open_servers

CONFIG = {
    "mcpServers": {
        # sys.executable: the Python that runs this script, where mcp-server-time is installed.
        "time": {"command": sys.executable, "args": ["-m", "mcp_server_time", "--local-timezone", "UTC"]}
    }
}

workflow = Workflow.from_dict(
    {
        "tasks": [
            {"id": "utc", "tool": "time:get_current_time", "arguments": {"timezone": "UTC"}},
            {
                "id": "paris",
                "tool": "time:convert_time",
                "arguments": {
                    "source_timezone": "$OUTPUT[utc].timezone",
                    "time": "12:00",
                    "target_timezone": "Europe/Paris",
                },
            },
        ]
    }
)


async def main() -> None:
    async with open_servers(CONFIG) as servers:
        time = servers["time"]
        assert isinstance(time, ListsTools)  # an MCP server lists its tools
        print("tools:", ", ".join(sorted(time.tool_names)))
        result = await EagerExecutor(servers).execute(workflow)
    print("noon UTC in Paris:", result["paris"].output["target"]["datetime"])


if __name__ == "__main__":
    trio.run(main)
