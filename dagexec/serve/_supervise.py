"""A long life: the downstream servers of a config, each stdio server started again when it dies."""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

import trio

from .. import DagexecError, ServerError, ToolServer
from .._core.retry import RetryPolicy
from .._schemas import ToolSchemas
from ..mcp import MCPToolServer
from ..servers import StdioServerConfig, load_config, open_servers, serve_server

_log = logging.getLogger("dagexec.serve")

#: When a dead server is started again: at once after a death, then, while starts keep
#: failing, after 0.5 s, 1 s, 2 s... (30 s at most): the wait of a retry policy, without jitter.
RESTARTS = RetryPolicy(wait_initial=0.5, wait_max=30.0, wait_jitter=0.0)


class RestartingServer(ToolServer):
    """A downstream stdio server that is started again when it dies, for the calls that come later.

    The calls in flight when it dies fail (``server_error``), as in any run.
    The next call starts it again and waits for it; if it does not start, that
    call fails too, and the one after tries again, later: at once after a
    death, then after 0.5 s, 1 s, 2 s... (30 s at most) while starts keep
    failing.

    Args:
        name: The server's name in the config.
        entry: Its entry, to start it again with.
        server: The running server, as first started.
        nursery: Where the servers started again live.
        start_timeout: Seconds a start may take.

    Attributes:
        tools: The tools it listed when it first started, by name.
    """

    def __init__(
        self,
        name: str,
        entry: StdioServerConfig,
        server: MCPToolServer,
        nursery: trio.Nursery,
        start_timeout: float = 30.0,
    ) -> None:
        self.name = name
        self.tools = server.tools
        self._schemas = server.tool_schemas
        self._entry = entry
        self._server = server
        self._nursery = nursery
        self._start_timeout = start_timeout
        self._running: trio.CancelScope | None = None  # the scope of the server started last
        self._starting: trio.Event | None = None
        self._failed_starts = 0
        self._not_before = 0.0

    @property
    def tool_names(self) -> frozenset[str]:
        """The names of the tools it listed when it first started."""
        return frozenset(self.tools)

    @property
    def tool_schemas(self) -> dict[str, ToolSchemas]:
        """Each tool's input and output schema, as it listed them when it first started."""
        return self._schemas

    async def call_tool(self, name: str, arguments: dict[str, Any]) -> Any:
        """Call tool ``name``, starting the server again first if it died.

        Raises:
            ServerError: The server died during the call, or could not be
                started again.
        """
        if self._server.gone is not None:
            await self._start_again()
        server = self._server
        try:
            return await server.call_tool(name, arguments)
        except ServerError:
            if server.gone is not None and server is self._server:
                _log.warning(
                    "server %r failed (%s): its calls under way failed; it starts again for the next call",
                    self.name,
                    server.gone,
                )
            raise

    async def _start_again(self) -> None:
        """Start the server again (one start at a time; callers that come meanwhile wait for it)."""
        if self._starting is not None:
            await self._starting.wait()
        else:
            self._starting = trio.Event()
            try:
                await trio.sleep_until(self._not_before)
                scope = trio.CancelScope()
                try:
                    server = await self._nursery.start(self._run_until_replaced, scope)
                except DagexecError as exc:
                    self._failed_starts += 1
                    delay = RESTARTS.wait(self._failed_starts, 0.0)
                    self._not_before = trio.current_time() + delay
                    _log.warning(
                        "server %r did not start again: %s; next try in %g s at the earliest", self.name, exc, delay
                    )
                else:
                    if self._running is not None:
                        self._running.cancel()  # the dead one before it: its context is closed
                    self._running = scope
                    assert isinstance(server, MCPToolServer)  # a stdio entry: an MCP server
                    self._server = server
                    self._failed_starts = 0
                    _log.warning("server %r started again", self.name)
            finally:
                self._starting.set()
                self._starting = None
        if self._server.gone is not None:
            raise ServerError(f"server {self.name!r} is gone: {self._server.gone}; it did not start again")

    async def _run_until_replaced(self, scope: trio.CancelScope, *, task_status: trio.TaskStatus[ToolServer]) -> None:
        """Start the server and hold it, until the gateway closes or ``scope`` is cancelled (it started again)."""
        with scope:
            await serve_server(self.name, self._entry, None, self._start_timeout, task_status=task_status)


@asynccontextmanager
async def open_supervised(
    config: str | os.PathLike[str] | Mapping[str, Any], *, start_timeout: float = 30.0
) -> AsyncIterator[dict[str, ToolServer]]:
    """Start every server of a config, each stdio server as a :class:`RestartingServer`; close them all on exit.

    Raises:
        ServerConfigError: The config is invalid; nothing was started.
        ServerStartError: A server did not start; the others were stopped.
    """
    entries = load_config(config)
    async with open_servers(config, start_timeout=start_timeout) as servers, trio.open_nursery() as nursery:
        supervised: dict[str, ToolServer] = {}
        for name, server in servers.items():
            entry = entries[name]
            if isinstance(server, MCPToolServer) and isinstance(entry, StdioServerConfig):
                supervised[name] = RestartingServer(name, entry, server, nursery, start_timeout)
            else:
                supervised[name] = server
        yield supervised
        nursery.cancel_scope.cancel()
