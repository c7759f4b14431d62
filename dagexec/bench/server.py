"""A small MCP server for ``dagexec bench``: a tool that sleeps, over stdio.

Run as ``python -m dagexec.bench.server``; it needs the ``mcp`` extra.
"""

from __future__ import annotations

import anyio
from mcp.server.mcpserver import MCPServer

server = MCPServer("dagexec-bench", log_level="WARNING")


@server.tool()
async def sleep(seconds: float) -> dict[str, float]:
    """Sleep ``seconds``, then answer with them: a stand-in for an I/O-bound tool."""
    await anyio.sleep(seconds)
    return {"slept": seconds}


if __name__ == "__main__":
    server.run()
