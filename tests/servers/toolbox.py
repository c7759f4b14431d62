"""An MCP server written for the tests with the SDK.

Run over stdio: ``python toolbox.py``; over streamable HTTP:
``python toolbox.py http PORT``.
"""

from __future__ import annotations

import os
import sys
from typing import Any

import anyio
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError

server = MCPServer("toolbox", log_level="WARNING")


@server.tool()
async def sleep(seconds: float, value: str = "") -> dict[str, Any]:
    """Sleep, then answer with structured content."""
    await anyio.sleep(seconds)
    return {"slept": seconds, "value": value}


@server.tool()
def echo(text: str) -> str:
    """Answer with the text (structured as {"result": text})."""
    return text


@server.tool()
def plain(text: str):  # type: ignore[no-untyped-def]  # no annotation: unstructured text content
    """Answer with unstructured text content only."""
    return text


@server.tool()
def as_json(n: int):  # type: ignore[no-untyped-def]
    """Answer with unstructured content that is JSON text."""
    return {"n": n, "items": list(range(n))}


@server.tool()
def fail(message: str) -> str:
    """Fail with a tool error (an error result)."""
    raise ToolError(message)


@server.tool()
async def die(after: float = 0.0) -> str:
    """Kill this server's own process in the middle of the call."""
    await anyio.sleep(after)
    os._exit(3)


@server.tool()
async def hang() -> str:
    """Never answer."""
    await anyio.sleep_forever()
    return "unreachable"


@server.tool()
def pid() -> int:
    """This server's process id."""
    return os.getpid()


if __name__ == "__main__":
    if sys.argv[1:2] == ["http"]:
        server.run("streamable-http", host="127.0.0.1", port=int(sys.argv[2]))
    else:
        server.run()
