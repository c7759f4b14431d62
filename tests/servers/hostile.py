"""An MCP server written for the tests with the SDK's low-level server, whose tools publish hostile schemas.

Each tool's schemas are given as they are, not derived from a function:

- ``pattern``: a ``text`` argument under ``"pattern": "^(a+)+$"``, which backtracks
  exponentially in Python's ``re`` on ``"a" * 28 + "!"``;
- ``missing``: an input schema whose ``$ref`` points nowhere;
- ``remote``: an input schema whose ``$ref`` is a remote URL (never to be fetched);
- ``nested``: an output schema of nested ``anyOf`` through ``$ref``, ``NESTED_DEPTH`` levels
  deep (each level three alternatives that lead to the next; see ``dagexec.bench.hostile``);
- ``take``: takes an object ``{"value": string}``;
- ``wide``: an input schema of ``WIDE_PROPERTIES`` properties (``HOSTILE_WIDE`` in the
  environment sets how many);
- ``exit``: ends the server's process (so that a gateway starts it again).

Every other call answers ``{"ok": true, "arguments": ...}``. Run over stdio: ``python hostile.py``.
"""

from __future__ import annotations

import os
from typing import Any

import anyio
import mcp_types
from mcp.server.lowlevel import Server
from mcp.server.stdio import stdio_server

from dagexec.bench.hostile import PATTERN, nested_output, wide_input

WIDE_PROPERTIES = int(os.environ.get("HOSTILE_WIDE", "200"))


TOOLS = [
    mcp_types.Tool(
        name="pattern",
        input_schema={
            "type": "object",
            "properties": {"text": {"type": "string", "pattern": PATTERN}},
            "required": ["text"],
        },
    ),
    mcp_types.Tool(name="missing", input_schema={"type": "object", "properties": {"x": {"$ref": "#/$defs/nope"}}}),
    mcp_types.Tool(
        name="remote", input_schema={"type": "object", "properties": {"x": {"$ref": "http://127.0.0.1:9/s.json"}}}
    ),
    mcp_types.Tool(name="nested", input_schema={"type": "object"}, output_schema=nested_output()),
    mcp_types.Tool(
        name="take",
        input_schema={"type": "object", "properties": {"value": {"type": "string"}}, "required": ["value"]},
    ),
    mcp_types.Tool(name="wide", input_schema=wide_input(WIDE_PROPERTIES)),
    mcp_types.Tool(name="exit", input_schema={"type": "object"}),
]


async def list_tools(ctx: Any, params: Any) -> mcp_types.ListToolsResult:
    return mcp_types.ListToolsResult(tools=TOOLS)


async def call_tool(ctx: Any, params: mcp_types.CallToolRequestParams) -> mcp_types.CallToolResult:
    if params.name == "exit":
        os._exit(0)
    answer = {"ok": True, "arguments": params.arguments or {}}
    return mcp_types.CallToolResult(content=[mcp_types.TextContent(type="text", text="ok")], structured_content=answer)


server = Server("hostile", on_list_tools=list_tools, on_call_tool=call_tool)


async def main() -> None:
    async with stdio_server() as (read, write):
        await server.run(read, write, server.create_initialization_options())


if __name__ == "__main__":
    anyio.run(main)
