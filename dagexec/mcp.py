"""Real MCP servers as dagexec tool servers, through the official ``mcp`` SDK.

Install with the ``mcp`` extra (``pip install 'dagexec[mcp]'``). The SDK runs on
trio through anyio, so its sessions live in the same event loop as the run.

:func:`~dagexec.servers.open_servers` starts the ``command`` and ``url`` entries
of a servers config here, each as an :class:`MCPToolServer`. The config, its
loading and ``open_servers`` live in :mod:`dagexec.servers`; this module
re-exports them, and the errors they raise, under their former names.

Example::

    async with open_servers("servers.json") as servers:
        result = await EagerExecutor(servers).execute(workflow)
"""

from __future__ import annotations

import json
import math
import shutil
import tempfile
from contextlib import AbstractAsyncContextManager, AbstractContextManager, AsyncExitStack, nullcontext
from pathlib import Path
from typing import Any, TextIO

import trio

from ._errors import NoSuchToolError, ServerError, ToolError
from ._errors import ServerConfigError as ServerConfigError
from ._errors import ServerStartError as ServerStartError
from ._tools import ToolServer
from .servers import DaskServerConfig as DaskServerConfig
from .servers import HttpServerConfig as HttpServerConfig
from .servers import LocalClusterConfig as LocalClusterConfig
from .servers import ServerConfig as ServerConfig
from .servers import StdioServerConfig as StdioServerConfig
from .servers import _describe
from .servers import load_config as load_config
from .servers import open_servers as open_servers

try:
    import httpx2
    import mcp_types
    from mcp import Client, MCPError, StdioServerParameters, stdio_client
    from mcp.client.streamable_http import streamable_http_client
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError("dagexec.mcp needs the mcp extra: pip install 'dagexec[mcp]'") from exc

__all__ = [
    "DaskServerConfig",
    "HttpServerConfig",
    "LocalClusterConfig",
    "MCPToolServer",
    "ServerConfigError",
    "ServerStartError",
    "StdioServerConfig",
    "load_config",
    "open_servers",
]


# -- the tool server -----------------------------------------------------------------------


class MCPToolServer:
    """One connected MCP server, as a tool server for the executors.

    Every task on this server shares its session; their calls run concurrently
    over it. Made by :func:`~dagexec.servers.open_servers`.

    A call's output is the server's structured content when it gives one;
    otherwise its text content, parsed as JSON when it is JSON (several blocks
    give a list); other content blocks become plain dicts. A result flagged as
    an error raises :class:`~dagexec.ToolError` with the server's text. A server
    that dies, or a connection that breaks, fails the calls in flight and every
    later one with :class:`~dagexec.ServerError`.

    Attributes:
        name: The server's name in the config.
        tools: The tools it listed, by name (``mcp_types.Tool``).
    """

    def __init__(self, name: str, client: Client, tools: list[mcp_types.Tool]) -> None:
        self.name = name
        self.tools = {tool.name: tool for tool in tools}
        self._client = client
        self._gone: str | None = None
        self._in_flight: set[trio.CancelScope] = set()

    def __repr__(self) -> str:
        return f"<MCPToolServer {self.name!r}: {len(self.tools)} tools>"

    @property
    def tool_names(self) -> frozenset[str]:
        """The names of the tools the server listed when it started."""
        return frozenset(self.tools)

    async def call_tool(self, name: str, arguments: dict[str, Any]) -> Any:
        """Call tool ``name`` on the server.

        Raises:
            ToolError: The server flagged the result as an error, or answered
                the call with an error reply.
            NoSuchToolError: The server does not have the tool.
            ServerError: The server is gone or the connection broke.
        """
        if self._gone is not None:
            raise ServerError(f"server {self.name!r} is gone: {self._gone}")
        if name not in self.tools:
            raise NoSuchToolError(f"server {self.name!r} has no tool {name!r}")
        with trio.CancelScope() as scope:
            self._in_flight.add(scope)
            try:
                result = await self._client.call_tool(name, arguments)
            except MCPError as exc:
                if exc.code == mcp_types.CONNECTION_CLOSED:
                    raise ServerError(self._gone_message(exc.message)) from None
                raise ToolError(f"error reply {exc.code}: {exc.message}") from None
            except Exception as exc:
                raise ServerError(self._gone_message(_describe(exc))) from None
            finally:
                self._in_flight.discard(scope)
        if scope.cancelled_caught:  # cancelled by _lost(), not by the caller
            raise ServerError(self._gone_message("connection lost"))
        return _output(result)

    def _gone_message(self, cause: str) -> str:
        return f"server {self.name!r} failed: {self._gone or cause}"

    def _lost(self, cause: str) -> None:
        """The session ended under the calls: fail every one in flight, and every later one."""
        self._gone = cause
        for scope in self._in_flight:
            scope.cancel()


def _output(result: mcp_types.CallToolResult) -> Any:
    texts = [block.text for block in result.content if isinstance(block, mcp_types.TextContent)]
    if result.is_error:
        raise ToolError("\n".join(texts) or "the tool reported an error")
    if result.structured_content is not None:
        return result.structured_content
    values = [_block_value(block) for block in result.content]
    if not values:
        return None
    return values[0] if len(values) == 1 else values


def _block_value(block: Any) -> Any:
    if isinstance(block, mcp_types.TextContent):
        try:
            return json.loads(block.text)
        except json.JSONDecodeError:
            return block.text
    return block.model_dump(mode="json", exclude_none=True)


# -- starting and stopping -----------------------------------------------------------------


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


def _transport(
    config: StdioServerConfig | HttpServerConfig, errlog: TextIO, stack: AsyncExitStack
) -> AbstractAsyncContextManager[Any]:
    if isinstance(config, StdioServerConfig):
        params = StdioServerParameters(
            command=config.command, args=list(config.args), env=dict(config.env) or None, cwd=config.cwd
        )
        return stdio_client(params, errlog=errlog)
    http = httpx2.AsyncClient(headers=dict(config.headers), timeout=httpx2.Timeout(30, read=300))
    stack.push_async_callback(http.aclose)
    return streamable_http_client(config.url, http_client=http)


async def _serve_mcp(
    name: str,
    config: StdioServerConfig | HttpServerConfig,
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
    with log_file as log:
        try:
            if isinstance(config, StdioServerConfig) and shutil.which(config.command) is None:
                raise ServerStartError(name, f"command {config.command!r} not found")
            with trio.move_on_after(start_timeout) as starting:
                async with AsyncExitStack() as stack:
                    client = Client(_transport(config, log, stack))
                    await stack.enter_async_context(client)
                    tools: list[mcp_types.Tool] = []
                    cursor: str | None = None
                    while True:
                        page = await client.list_tools(cursor=cursor)
                        tools += page.tools
                        cursor = page.next_cursor
                        if cursor is None:
                            break
                    starting.deadline = math.inf  # started: no deadline from now on
                    server = MCPToolServer(name, client, tools)
                    task_status.started(server)
                    await trio.sleep_forever()
            raise ServerStartError(name, f"no answer within {start_timeout} s")
        except ServerStartError:
            raise
        except Exception as exc:
            cause = _describe(exc) + (_stderr_tail(log) if own_log else "")
            if server is None:
                raise ServerStartError(name, cause) from None
            server._lost(cause)
