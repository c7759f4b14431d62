"""One connected MCP server as a tool server for the executors, and what its results become."""

from __future__ import annotations

import json
import math
from typing import Any

import mcp_types
import trio
from mcp import Client

from .._errors import NoSuchToolError, ServerError, ToolError, ToolTimeoutError
from .._schemas import ToolSchemas, prepare, to_json
from .._tools import ToolServer
from .failures import Connection, call_failures


class MCPToolServer(ToolServer):
    """One connected MCP server, as a tool server for the executors.

    Every task on this server shares its session; their calls run concurrently
    over it. Made by :func:`~dagexec.servers.open_servers`.

    A call's output is the server's structured content when it gives one;
    otherwise its text content, parsed as JSON when it is JSON (several blocks
    give a list); other content blocks become plain dicts. A result flagged as
    an error, or an error reply (whatever its code), raises
    :class:`~dagexec.ToolError` with the server's text. A call whose transport
    failed raises :class:`~dagexec.ServerError`: if the connection itself
    closed (the server died), every later call fails too; if only that call's
    reply was lost (an HTTP response stream that dropped, a reply that is not
    valid UTF-8), the next call goes through.

    It publishes each tool's ``inputSchema`` and ``outputSchema`` as listed
    (:attr:`tool_schemas`), so that executors check plans against them.

    Attributes:
        name: The server's name in the config.
        tools: The tools it listed, by name (``mcp_types.Tool``).
    """

    def __init__(
        self,
        name: str,
        client: Client,
        tools: list[mcp_types.Tool],
        *,
        call_timeout: float | None = None,
    ) -> None:
        self.name = name
        #: Seconds each call may take (the config's ``timeout``); None: no limit of the server's own.
        self.call_timeout = call_timeout
        self.tools = {tool.name: tool for tool in tools}
        self._listed = {tool.name: ToolSchemas(input=tool.input_schema, output=tool.output_schema) for tool in tools}
        self._schemas: dict[str, ToolSchemas] | None = None  # compiled on first read (see tool_schemas)
        self._client = client
        self._connection = Connection()  # its transport's, set by serve_mcp
        self._gone: str | None = None
        self._in_flight: set[trio.CancelScope] = set()

    def __repr__(self) -> str:
        return f"<MCPToolServer {self.name!r}: {len(self.tools)} tools>"

    @property
    def tool_names(self) -> frozenset[str]:
        """The names of the tools the server listed when it started."""
        return frozenset(self.tools)

    @property
    def tool_schemas(self) -> dict[str, ToolSchemas]:
        """Each tool's input and output schema, as the server listed them when it started.

        Compiled on first read, which :func:`~dagexec.servers.open_servers`
        makes as each server lists its tools, so that no plan pays for it; a
        schema that does not compile is dropped, with a
        :class:`~dagexec.SchemaWarning` naming the server and the tool. A
        gateway's server started again is not read (the gateway keeps the
        schemas of the first start), so its listing compiles nothing.
        """
        if self._schemas is None:
            self._schemas = prepare(self.name, self._listed)
        return self._schemas

    @property
    def gone(self) -> str | None:
        """None while the connection to the server lives; then why it ended, in words (it died, it closed)."""
        return self._gone or self._connection.closed

    async def call_tool(self, name: str, arguments: dict[str, Any]) -> Any:
        """Call tool ``name`` on the server.

        Raises:
            ToolError: The server flagged the result as an error, or answered
                the call with an error reply.
            NoSuchToolError: The server does not have the tool.
            ServerError: The server is gone, the connection broke, or the
                call's reply was lost on the way.
        """
        if self._gone is not None:
            raise ServerError(f"server {self.name!r} is gone: {self._gone}")
        if name not in self.tools:
            raise NoSuchToolError(f"server {self.name!r} has no tool {name!r}")
        try:
            arguments = to_json(arguments)  # sent as the JSON that the schema check saw
        except ValueError as exc:
            raise ToolError(f"its arguments have no JSON form: {exc}") from None
        result: mcp_types.CallToolResult | None = None
        with trio.CancelScope() as scope:
            self._in_flight.add(scope)
            try:
                with (
                    call_failures(self.name, self._connection, lambda: self._gone),
                    trio.move_on_after(math.inf if self.call_timeout is None else self.call_timeout),
                ):
                    result = await self._client.call_tool(name, arguments)
            finally:
                self._in_flight.discard(scope)
        if scope.cancelled_caught:  # cancelled by lost(), not by the caller
            raise ServerError(f"server {self.name!r} failed: {self._gone or 'connection lost'}")
        if result is None:  # the call timeout passed
            raise ToolTimeoutError(f"no answer within {self.call_timeout:g} s (server {self.name!r}'s timeout)")
        return _output(result)

    def lost(self, cause: str) -> None:
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
