"""The one translation of the MCP SDK's failures into dagexec errors, by exception type.

httpcore's ``map_exceptions`` is the model: each kind of failure the SDK or a
transport can raise is named here once, by its type, with what it means for a
call or a start. Nothing here matches the SDK's message text.

The SDK resolves a call whose reply cannot come with an error reply of code
-32000 that it makes up (``CONNECTION_CLOSED``), the code many servers use for
their own errors. Which it was is told by what the connection saw, never by
the reply's words: over stdio, dagexec's own transport makes such replies
(marked with :data:`LOST_CALL`); over streamable HTTP, :class:`EventStreams`
knows which requests' event streams have ended, and a reply that comes after
its stream ended was made up by the SDK.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from typing import Any

import anyio
import httpx2
import mcp_types
import trio
from mcp import MCPError
from mcp.shared.message import SessionMessage

from .._errors import ServerError, ToolError, describe

#: What a transport's own pipes raise when the other end is gone: the connection broke.
PIPE_BROKEN: tuple[type[Exception], ...] = (trio.BrokenResourceError, trio.ClosedResourceError, OSError)

#: What the SDK's memory streams raise when the session is gone (no one reads, or it was closed).
SESSION_GONE: tuple[type[Exception], ...] = (anyio.BrokenResourceError, anyio.ClosedResourceError)

#: What a transport's read stream raises once it has ended.
STREAM_ENDED: tuple[type[Exception], ...] = (anyio.EndOfStream, anyio.ClosedResourceError)

#: The ``data`` of an error reply that a transport made up for a call whose own
#: reply was lost: the call fails with ServerError, the connection lives on.
LOST_CALL = object()


class Connection:
    """A server's connection as its transport saw it: whether it closed, and why.

    Attributes:
        closed: None while the connection lives; then the cause, in words.
    """

    def __init__(self) -> None:
        self.closed: str | None = None

    def close(self, cause: str) -> None:
        """Record that the connection closed, and why; the first cause stays."""
        if self.closed is None:
            self.closed = cause


def lost_reply(request_id: mcp_types.RequestId | None, cause: str) -> SessionMessage:
    """An error reply for ``request_id``, marked as made up by the transport (see :data:`LOST_CALL`)."""
    error = mcp_types.ErrorData(code=mcp_types.CONNECTION_CLOSED, message=cause, data=LOST_CALL)
    return SessionMessage(mcp_types.JSONRPCError(jsonrpc="2.0", id=request_id, error=error))


@contextmanager
def call_failures(server: str, connection: Connection, gone: Callable[[], str | None]) -> Iterator[None]:
    """Raise a failure of a call through the SDK as the dagexec error it means, by its type.

    - :class:`mcp.MCPError` with :data:`LOST_CALL`: the transport lost the
      reply; :class:`~dagexec.ServerError`, the server goes on.
    - :class:`mcp.MCPError` of code -32000 once the connection closed: the
      server failed; :class:`~dagexec.ServerError`.
    - any other :class:`mcp.MCPError`: the server's error reply;
      :class:`~dagexec.ToolError`.
    - any other exception: the transport failed; :class:`~dagexec.ServerError`.

    Args:
        server: The server's name, for the messages.
        connection: What its transport saw of the connection.
        gone: Why the server's session ended, if it did, asked at the failure (it names the failure first).
    """
    try:
        yield
    except MCPError as exc:
        if exc.error.data is LOST_CALL:
            raise ServerError(f"server {server!r} lost the call: {exc.message}") from None
        ended = gone()
        if exc.code == mcp_types.CONNECTION_CLOSED and (connection.closed or ended):
            raise ServerError(f"server {server!r} failed: {ended or connection.closed}") from None
        raise ToolError(f"error reply {exc.code}: {exc.message}") from None
    except Exception as exc:
        raise ServerError(f"server {server!r} failed: {gone() or describe(exc)}") from None


def end_cause(exc: BaseException, connection: Connection) -> str:
    """Why a server's session ended (or never started), in words.

    The SDK's "connection closed" (an :class:`mcp.MCPError` of code -32000)
    says less than the connection: how the server exited.
    """
    leaf = exc
    while isinstance(leaf, BaseExceptionGroup) and leaf.exceptions:
        leaf = leaf.exceptions[0]
    if isinstance(leaf, MCPError) and leaf.code == mcp_types.CONNECTION_CLOSED and connection.closed:
        return connection.closed
    return describe(exc)


class EventStreams(httpx2.AsyncBaseTransport):
    """An HTTP transport that knows which requests' event streams have ended (see the module's notes).

    It wraps httpx2's own transport. For each POST of a request answered with
    an event stream (``text/event-stream``), it records that the stream is
    open, and when it ends; the reply that comes through the stream is handed
    on before the SDK closes it, so a reply that comes after the end was made
    up by the SDK.
    """

    def __init__(self) -> None:
        self._inner = httpx2.AsyncHTTPTransport()
        #: Each request whose event stream is open (True) or has ended (False), until its reply comes.
        self._open: dict[mcp_types.RequestId, bool] = {}

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        """Send ``request``; watch the end of its response's event stream."""
        response = await self._inner.handle_async_request(request)
        request_id = _request_id(request) if request.method == "POST" else None
        if request_id is not None and response.headers.get("content-type", "").startswith("text/event-stream"):
            self._open[request_id] = True
            response.stream = _EndWatched(response.stream, lambda: self._ended(request_id))
        return response

    def _ended(self, request_id: mcp_types.RequestId) -> None:
        if request_id in self._open:
            self._open[request_id] = False

    def made_up(self, request_id: mcp_types.RequestId | None) -> bool:
        """Whether a reply to ``request_id`` came after its event stream ended; the request is forgotten."""
        return request_id is not None and self._open.pop(request_id, None) is False

    async def aclose(self) -> None:
        """Close the wrapped transport."""
        await self._inner.aclose()


def _request_id(request: httpx2.Request) -> mcp_types.RequestId | None:
    """The JSON-RPC id of a request's body; None for a notification, a reply, or a body that is no JSON object."""
    try:
        body = json.loads(request.content)
    except (ValueError, httpx2.RequestNotRead):
        return None
    if isinstance(body, dict) and "method" in body and isinstance(body.get("id"), str | int):
        request_id: mcp_types.RequestId = body["id"]
        return request_id
    return None


class _EndWatched(httpx2.AsyncByteStream):
    """A response's byte stream that tells ``on_end`` when it ends by itself: read to its end, or failed.

    The SDK closes a stream early once it has the reply it waited for; that
    is no end (the reply is real, and may not have been read yet), so closing
    does not count, nor does leaving the iteration.
    """

    def __init__(self, stream: Any, on_end: Callable[[], None]) -> None:
        self._stream = stream
        self._on_end = on_end

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._stream:
                yield chunk
        except GeneratorExit:  # the reader stopped: closed after its reply
            raise
        except BaseException:
            self._on_end()
            raise
        self._on_end()  # read to its end: no reply can follow

    async def aclose(self) -> None:
        await self._stream.aclose()
