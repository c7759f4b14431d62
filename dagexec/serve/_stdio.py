"""The gateway over stdio: JSON-RPC messages framed one per line on two descriptors."""

from __future__ import annotations

import json
import os
import re
from contextlib import suppress
from typing import Any

import anyio
import mcp_types
import pydantic
import pydantic_core
import trio
from mcp.server.lowlevel import Server
from mcp.shared.message import SessionMessage

from .._lines import LineReader, LineTooLong

#: The largest message the gateway reads over stdio, in bytes (64 MiB): a longer one is
#: dropped as it arrives, and answered with an error (see :func:`too_long_reply`).
MAX_MESSAGE = 64 * 2**20

#: The ``id`` of a JSON-RPC request, read from the first bytes of a message too long to
#: keep: as the first member, or right after ``"jsonrpc": "2.0"`` (as the SDKs write it).
_LEADING_ID = re.compile(rb'\A\s*\{\s*(?:"jsonrpc"\s*:\s*"2\.0"\s*,\s*)?"id"\s*:\s*(-?\d+|"(?:[^"\\]|\\.)*")\s*[,}]')


async def serve_stdio(server: Server[Any], *, stdin: int = 0, stdout: int = 1, max_message: int = MAX_MESSAGE) -> None:
    """Serve ``server`` over standard input and output until the client closes its end.

    While serving, descriptors ``stdin`` and ``stdout`` point at the null
    device and at standard error, so that a stray print cannot break the
    messages; both are restored on return. Cancel the caller to stop
    serving at once. A message longer than ``max_message`` bytes is answered
    with an error (see :func:`too_long_reply`).
    """
    wire_in, wire_out = os.dup(stdin), os.dup(stdout)
    kept_in, kept_out = os.dup(stdin), os.dup(stdout)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, stdin)
    os.dup2(2, stdout)
    os.close(null)
    try:
        await serve_fds(server, wire_in, wire_out, max_message=max_message)
    finally:
        os.dup2(kept_in, stdin)
        os.dup2(kept_out, stdout)
        for fd in (wire_in, wire_out, kept_in, kept_out):
            os.close(fd)


def parse_error_reply(line: str) -> mcp_types.JSONRPCError:
    """The reply to a line that is not JSON, or is nested too deeply to read: JSON-RPC's parse error, -32700.

    It carries the message's ``id`` where the standard library's parser reads
    one (it reads deeper than the gateway's), else ``null`` (as JSON-RPC asks),
    so that no client waits for ever.
    """
    try:
        data = json.loads(line)
    except (ValueError, RecursionError):
        data = None
    error = mcp_types.ErrorData(
        code=mcp_types.PARSE_ERROR, message="parse error: the message is not JSON, or is nested too deeply to read"
    )
    return mcp_types.JSONRPCError(jsonrpc="2.0", id=_request_id(data), error=error)


def invalid_request_reply(data: object) -> mcp_types.JSONRPCError:
    """The reply to JSON ``data`` of another shape than a JSON-RPC message: -32600 (invalid request), with its id."""
    error = mcp_types.ErrorData(
        code=mcp_types.INVALID_REQUEST, message="invalid request: the message is JSON but no JSON-RPC message"
    )
    return mcp_types.JSONRPCError(jsonrpc="2.0", id=_request_id(data), error=error)


def _request_id(data: object) -> str | int | None:
    """The ``id`` of a message read as JSON, if it is one a reply may carry (a string or an integer); else ``None``."""
    found = data.get("id") if isinstance(data, dict) else None
    return found if isinstance(found, str | int) and not isinstance(found, bool) else None


def too_long_reply(exc: LineTooLong) -> mcp_types.JSONRPCError:
    """The error reply to a message over the size limit: -32600 (invalid request), naming its size and the limit.

    Its bytes were dropped as they arrived, but for its first ones: the reply
    carries the request's ``id`` when they hold it (see ``_LEADING_ID``), so
    that the client's call fails rather than waits; else ``null``.
    """
    found = _LEADING_ID.match(exc.head)
    request_id = json.loads(found.group(1)) if found is not None else None
    message = f"invalid request: the message is {exc.size} bytes, over the gateway's limit of {exc.limit} bytes"
    error = mcp_types.ErrorData(code=mcp_types.INVALID_REQUEST, message=message)
    return mcp_types.JSONRPCError(jsonrpc="2.0", id=request_id, error=error)


async def serve_fds(server: Server[Any], wire_in: int, wire_out: int, *, max_message: int = MAX_MESSAGE) -> None:
    """Serve ``server`` on two descriptors, a message a line, until ``wire_in`` ends and every reply is written."""
    incoming_send, incoming = anyio.create_memory_object_stream[SessionMessage | Exception](0)
    outgoing, outgoing_receive = anyio.create_memory_object_stream[SessionMessage](0)
    replies = outgoing.clone()  # the reader's own, for the lines it cannot read

    async def read() -> None:
        reader = LineReader(wire_in, max_size=max_message)
        async with incoming_send, replies:
            while True:
                try:
                    line = await reader.readline()
                except LineTooLong as exc:
                    await replies.send(SessionMessage(too_long_reply(exc)))
                    continue
                if not line:
                    return
                if line.isspace():  # a blank line (no copy of a large one, as strip() would make)
                    continue
                # The SDK would only log a line it cannot read, and the client would wait for ever.
                # Parsed by pydantic's own parser (jiter, as validate_json: the same nesting limit, and
                # lone surrogates refused, which json.loads reads but the SDK cannot write back out),
                # then validated as Python values, which keeps a long string by reference, where
                # validate_json copies it once more (a 40 MB string: 110 ms, against 20 to 35 ms).
                # Keys only are cached: the parser's cache keeps up to 16,384 strings alive after the message,
                # and a plan's values (its task ids) left there hold its memory (73 MB after a 100,000-task
                # plan, against 28 MB: issue 25).
                try:
                    data = pydantic_core.from_json(line, cache_strings="keys")
                except ValueError:
                    await replies.send(SessionMessage(parse_error_reply(line)))
                    continue
                try:
                    message = mcp_types.jsonrpc_message_adapter.validate_python(data, by_name=False)
                except pydantic.ValidationError:
                    await replies.send(SessionMessage(invalid_request_reply(data)))
                    continue
                del line, data  # not held while the next one is awaited: a plan is megabytes
                await incoming_send.send(SessionMessage(message))
                del message  # the server holds it as long as it needs it

    async def write() -> None:
        async with outgoing_receive:
            async for message in outgoing_receive:
                data = mcp_types.jsonrpc_message_adapter.dump_json(message.message, by_alias=True, exclude_unset=True)
                # Neither the reply nor its bytes are held while the next one is awaited: a large plan's are megabytes.
                del message
                await _write_all(wire_out, data, b"\n")  # no copy of a long reply to add its newline
                del data

    reading = trio.CancelScope()

    async def read_until_cancelled() -> None:
        with reading:
            await read()

    async with trio.open_nursery() as nursery:
        nursery.start_soon(read_until_cancelled)
        nursery.start_soon(write)  # ends once every reply is written
        async with outgoing:
            await server.run(incoming, outgoing, server.create_initialization_options())
        reading.cancel()


async def _write_all(fd: int, *parts: bytes) -> None:
    """Write every byte of ``parts`` in order, in a worker thread: a client slow to read never blocks the loop.

    One ``writev`` for all parts, so that a long reply and its newline are not
    joined in a copy; a partial write goes on where it stopped.
    """
    views = [memoryview(part) for part in parts if part]
    while views:
        with suppress(InterruptedError):
            written = await trio.to_thread.run_sync(os.writev, fd, views, abandon_on_cancel=True)
            while views and written >= len(views[0]):
                written -= len(views.pop(0))
            if written:
                views[0] = views[0][written:]
