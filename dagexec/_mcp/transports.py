"""The transports to a server, as the pair of streams the SDK's ``Client`` takes: stdio, streamable HTTP, SSE.

Each reports what it sees of the connection to a
:class:`~dagexec._mcp.failures.Connection`: whether it closed, and why.
"""

from __future__ import annotations

import subprocess
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from types import TracebackType
from typing import Any, TextIO

import anyio
import httpx2
import mcp_types
import trio
from mcp.client.sse import sse_client
from mcp.client.stdio import get_default_environment
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.message import SessionMessage

from .._config import HttpServerConfig, SseServerConfig, StdioServerConfig
from .failures import PIPE_BROKEN, SESSION_GONE, STREAM_ENDED, Connection, EventStreams, lost_reply
from .processes import exit_cause, exits_within, stop_server

# -- stdio: the lines a server writes ------------------------------------------------------


def parse_line(line: bytes) -> SessionMessage | None:
    """One line of a stdio server's stdout as a message; None for a line that holds none.

    The SDK's own reader stops at the first byte that is not UTF-8, and every
    call on that server then waits forever. Here such bytes cost at most the
    message they are in: outside the JSON text (before a message, after it,
    between its tokens) they are noise and are dropped; inside one of its
    strings they damaged it, and a damaged reply fails its call (the server
    stays usable), while any other damaged message has U+FFFD in their place.
    A line that is no JSON-RPC message at all (a stray print) is skipped.
    """
    try:
        text, damaged = line.decode(), False
    except UnicodeDecodeError:
        text, damaged = _without_noise(line.decode(errors="surrogateescape"))
    if not text.strip():
        return None
    try:
        message = mcp_types.jsonrpc_message_adapter.validate_json(text, by_name=False)
    except ValueError:
        return None
    if damaged and isinstance(message, mcp_types.JSONRPCResponse | mcp_types.JSONRPCError):
        return lost_reply(message.id, "its reply was not valid UTF-8")
    return SessionMessage(message)


def _without_noise(text: str) -> tuple[str, bool]:
    """Drop the undecodable bytes (surrogate escapes) outside JSON strings; replace those inside.

    Returns:
        The text, and whether any byte was inside a string.
    """
    kept: list[str] = []
    in_string = escaped = damaged = False
    for char in text:
        if "\udc80" <= char <= "\udcff":
            if in_string:
                kept.append("\ufffd")
                damaged, escaped = True, False
            continue
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        kept.append(char)
    return "".join(kept), damaged


# -- stdio: the pipes ----------------------------------------------------------------------


async def _read_server(process: trio.Process, to_session: Any, connection: Connection) -> None:
    """Hand each message the server writes to the session, until its stdout ends; then say why it ended."""
    assert process.stdout is not None
    buffer = bytearray()
    delivering = True
    try:
        async for chunk in process.stdout:
            searched = len(buffer)  # no newline before there: not searched again
            buffer += chunk
            while (end := buffer.find(b"\n", searched)) >= 0:
                line = bytes(buffer[:end])
                del buffer[: end + 1]
                searched = 0
                message = parse_line(line) if delivering else None
                if message is not None:
                    try:
                        await to_session.send(message)
                    except SESSION_GONE:
                        delivering = False  # the session is gone; drain, so the server never blocks
        await exits_within(process, 1.0)  # its stdout closed: it is exiting, most likely
        connection.close(exit_cause(process))
    except PIPE_BROKEN:
        connection.close("its stdout broke")
    finally:
        connection.close("the connection closed")
        to_session.close()


async def _write_server(process: trio.Process, from_session: Any, to_session: Any, connection: Connection) -> None:
    """Write each message of the session to the server's stdin, a line each."""
    assert process.stdin is not None
    try:
        async with from_session:
            async for message in from_session:
                data = message.message.model_dump_json(by_alias=True, exclude_unset=True) + "\n"
                await process.stdin.send_all(data.encode())
    except PIPE_BROKEN:
        connection.close("its stdin broke")
        to_session.close()  # it cannot hear the calls: they must not wait for replies


@asynccontextmanager
async def open_stdio(
    config: StdioServerConfig, errlog: TextIO, connection: Connection
) -> AsyncIterator[tuple[Any, Any]]:
    """Start a server as a subprocess and exchange JSON-RPC lines with it: the streams for a ``Client``.

    dagexec's own, in place of the SDK's ``stdio_client``, for two things that
    one cannot do: read the server's lines leniently (:func:`parse_line`),
    and know its process, so that nothing it started outlives it
    (:func:`~dagexec._mcp.processes.stop_server`).
    """
    process = await trio.lowlevel.open_process(
        [config.command, *config.args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=errlog,
        env=get_default_environment() | dict(config.env),
        cwd=config.cwd,
        start_new_session=True,
    )
    stopped = False
    try:
        to_session, from_server = anyio.create_memory_object_stream[SessionMessage | Exception](0)
        to_server, from_session = anyio.create_memory_object_stream[SessionMessage](0)
        async with trio.open_nursery() as nursery:
            nursery.start_soon(_read_server, process, to_session, connection)
            nursery.start_soon(_write_server, process, from_session, to_session, connection)
            try:
                yield WatchedStream(from_server, connection), to_server
            finally:
                stopped = True
                with trio.CancelScope(shield=True):  # bounded: every wait has its deadline
                    await stop_server(process)
                nursery.cancel_scope.cancel()
    finally:
        if not stopped:  # the nursery never opened
            with trio.CancelScope(shield=True):
                await stop_server(process)


# -- every transport: its read stream, watched ---------------------------------------------


class WatchedStream:
    """A transport's read stream, watched for what it says about the connection.

    The stream's end closes the connection, and so does its closing by the
    session (which may come first: the SDK's HTTP transport, when a request
    fails, tears the whole session down, and the session then fails the calls
    in flight with code -32000 without the stream ever ending).

    With ``streams`` (streamable HTTP): an error reply of code -32000 that came
    after its request's event stream ended was made up by the SDK (see
    :class:`~dagexec._mcp.failures.EventStreams`), and is marked as a lost call.
    """

    def __init__(self, stream: Any, connection: Connection, *, streams: EventStreams | None = None) -> None:
        self._stream = stream
        self._connection = connection
        self._streams = streams

    @property
    def last_context(self) -> Any:
        return getattr(self._stream, "last_context", None)

    async def receive(self) -> SessionMessage | Exception:
        try:
            item: SessionMessage | Exception = await self._stream.receive()
        except STREAM_ENDED:
            self._connection.close("the connection closed")
            raise
        if self._streams is not None and isinstance(item, SessionMessage):
            message = item.message
            if isinstance(message, mcp_types.JSONRPCResponse | mcp_types.JSONRPCError):
                made_up = self._streams.made_up(message.id)
                if made_up and isinstance(message, mcp_types.JSONRPCError):
                    error = message.error
                    if error.code == mcp_types.CONNECTION_CLOSED and error.data is None:
                        return lost_reply(message.id, error.message)
        return item

    async def aclose(self) -> None:
        self._connection.close("the connection closed")
        await self._stream.aclose()

    def __aiter__(self) -> WatchedStream:
        return self

    async def __anext__(self) -> SessionMessage | Exception:
        try:
            return await self.receive()
        except anyio.EndOfStream:
            raise StopAsyncIteration from None

    async def __aenter__(self) -> WatchedStream:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()


@asynccontextmanager
async def open_http(config: HttpServerConfig, connection: Connection) -> AsyncIterator[tuple[Any, Any]]:
    """The SDK's streamable HTTP transport, its read stream watched (:class:`WatchedStream`)."""
    streams = EventStreams()
    async with (
        httpx2.AsyncClient(
            headers=dict(config.headers), timeout=httpx2.Timeout(30, read=300), transport=streams
        ) as http,
        streamable_http_client(config.url, http_client=http) as (read_stream, write_stream),
    ):
        yield WatchedStream(read_stream, connection, streams=streams), write_stream


@asynccontextmanager
async def open_sse(config: SseServerConfig, connection: Connection) -> AsyncIterator[tuple[Any, Any]]:
    """The SDK's SSE transport, its read stream watched (:class:`WatchedStream`)."""
    async with sse_client(config.url, headers=dict(config.headers), timeout=30, sse_read_timeout=300) as (
        read_stream,
        write_stream,
    ):
        yield WatchedStream(read_stream, connection), write_stream
