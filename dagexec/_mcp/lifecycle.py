"""A server's life: started over its transport, listed, held open until cancelled, and what its end means."""

from __future__ import annotations

import math
import shutil
import tempfile
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import TextIO

import mcp_types
import trio
from mcp import Client

from .._config import HttpServerConfig, SseServerConfig, StdioServerConfig
from .._errors import ServerStartError
from .._tools import ToolServer
from .failures import Connection, end_cause
from .tool_server import MCPToolServer
from .transports import open_http, open_sse, open_stdio


def _stderr_tail(log: TextIO | None) -> str:
    if log is None or log.closed:
        return ""
    try:
        log.flush()
        text = Path(log.name).read_text(errors="replace").strip()
    except OSError:
        return ""
    lines = text.splitlines()[-5:]
    return ("; its stderr ended with: " + " | ".join(lines)) if lines else ""


async def _list_tools(client: Client) -> list[mcp_types.Tool]:
    """Every tool the server lists, page after page."""
    tools: list[mcp_types.Tool] = []
    cursor: str | None = None
    while True:
        page = await client.list_tools(cursor=cursor)
        tools += page.tools
        cursor = page.next_cursor
        if cursor is None:
            return tools


async def serve_mcp(
    name: str,
    config: StdioServerConfig | HttpServerConfig | SseServerConfig,
    errlog: TextIO | None,
    start_timeout: float,
    *,
    task_status: trio.TaskStatus[ToolServer],
) -> None:
    """Hold one server's session open until cancelled; report it with task_status.

    Before it started, every failure is raised as :class:`ServerStartError`;
    after, an ended session fails the server's calls instead of the run.
    """
    server: MCPToolServer | None = None
    own_log = errlog is None
    log_file: AbstractContextManager[TextIO] = (
        tempfile.NamedTemporaryFile("w+", prefix=f"dagexec-{name}-", suffix=".log")  # type: ignore[assignment]  # noqa: SIM115
        if errlog is None
        else nullcontext(errlog)
    )
    connection = Connection()
    with log_file as log:
        try:
            if isinstance(config, StdioServerConfig) and shutil.which(config.command) is None:
                raise ServerStartError(name, f"command {config.command!r} not found")
            transport = (
                open_stdio(config, log, connection)
                if isinstance(config, StdioServerConfig)
                else open_sse(config, connection)
                if isinstance(config, SseServerConfig)
                else open_http(config, connection)
            )
            with trio.move_on_after(start_timeout) as starting:
                async with Client(transport) as client:
                    tools = await _list_tools(client)
                    starting.deadline = math.inf  # started: no deadline from now on
                    server = MCPToolServer(name, client, tools, call_timeout=config.timeout)
                    server._connection = connection
                    task_status.started(server)
                    await trio.sleep_forever()
            raise ServerStartError(name, f"no answer within {start_timeout} s")
        except ServerStartError:
            raise
        except Exception as exc:
            cause = end_cause(exc, connection) + (_stderr_tail(log) if own_log else "")
            if server is None:
                raise ServerStartError(name, cause) from None
            server.lost(cause)
