"""The gateway over stdio: JSON-RPC messages framed one per line on two descriptors."""

from __future__ import annotations

import json
import os
from contextlib import suppress
from typing import Any

import anyio
import mcp_types
import pydantic
import trio
from mcp.server.lowlevel import Server
from mcp.shared.message import SessionMessage

from .._lines import LineReader


async def serve_stdio(server: Server[Any], *, stdin: int = 0, stdout: int = 1) -> None:
    """Serve ``server`` over standard input and output until the client closes its end.

    While serving, descriptors ``stdin`` and ``stdout`` point at the null
    device and at standard error, so that a stray print cannot break the
    messages; both are restored on return. Cancel the caller to stop
    serving at once.
    """
    wire_in, wire_out = os.dup(stdin), os.dup(stdout)
    kept_in, kept_out = os.dup(stdin), os.dup(stdout)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, stdin)
    os.dup2(2, stdout)
    os.close(null)
    try:
        await serve_fds(server, wire_in, wire_out)
    finally:
        os.dup2(kept_in, stdin)
        os.dup2(kept_out, stdout)
        for fd in (wire_in, wire_out, kept_in, kept_out):
            os.close(fd)


def unreadable_reply(line: str, exc: ValueError) -> mcp_types.JSONRPCError:
    """The error reply to a line that is no message the gateway can read, so that no client waits for ever.

    JSON that cannot be read (not JSON, or nested deeper than the SDK reads)
    is JSON-RPC's parse error, -32700; JSON of another shape than a JSON-RPC
    message is an invalid request, -32600. The reply carries the message's
    ``id`` where one can be read, else ``null`` (as JSON-RPC asks).
    """
    try:
        data = json.loads(line)
    except (ValueError, RecursionError):
        data = None
    found = data.get("id") if isinstance(data, dict) else None
    request_id = found if isinstance(found, str | int) and not isinstance(found, bool) else None
    unreadable = data is None or (
        isinstance(exc, pydantic.ValidationError) and any(error["type"] == "json_invalid" for error in exc.errors())
    )
    if unreadable:
        error = mcp_types.ErrorData(
            code=mcp_types.PARSE_ERROR,
            message="parse error: the message is not JSON, or is nested too deeply to read",
        )
    else:
        error = mcp_types.ErrorData(
            code=mcp_types.INVALID_REQUEST, message="invalid request: the message is JSON but no JSON-RPC message"
        )
    return mcp_types.JSONRPCError(jsonrpc="2.0", id=request_id, error=error)


async def serve_fds(server: Server[Any], wire_in: int, wire_out: int) -> None:
    """Serve ``server`` on two descriptors, a message a line, until ``wire_in`` ends and every reply is written."""
    incoming_send, incoming = anyio.create_memory_object_stream[SessionMessage | Exception](0)
    outgoing, outgoing_receive = anyio.create_memory_object_stream[SessionMessage](0)
    replies = outgoing.clone()  # the reader's own, for the lines it cannot read

    async def read() -> None:
        async with incoming_send, replies:
            async for line in LineReader(wire_in):
                if not line.strip():
                    continue
                try:
                    message = mcp_types.jsonrpc_message_adapter.validate_json(line, by_name=False)
                except ValueError as exc:  # the SDK would only log it, and the client would wait for ever
                    await replies.send(SessionMessage(unreadable_reply(line, exc)))
                    continue
                await incoming_send.send(SessionMessage(message))

    async def write() -> None:
        async with outgoing_receive:
            async for message in outgoing_receive:
                text = message.message.model_dump_json(by_alias=True, exclude_unset=True)
                await _write_all(wire_out, (text + "\n").encode())

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


async def _write_all(fd: int, data: bytes) -> None:
    """Write every byte, in a worker thread: a client slow to read never blocks the gateway's loop."""
    view = memoryview(data)
    while view:
        with suppress(InterruptedError):
            written = await trio.to_thread.run_sync(os.write, fd, view, abandon_on_cancel=True)
            view = view[written:]
