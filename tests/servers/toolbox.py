"""An MCP server written for the tests with the SDK.

Run over stdio: ``python toolbox.py``; over streamable HTTP: ``python toolbox.py http``
(at ``/mcp``); over SSE: ``python toolbox.py sse`` (at ``/sse``). Over HTTP it binds a
free port and prints ``listening on URL`` on stdout once it listens.
"""

from __future__ import annotations

import os
import sys
from typing import Any

import anyio
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.shared.exceptions import MCPError

server = MCPServer("toolbox", log_level="WARNING")

#: For :func:`meet`: how many calls of each group arrived, and the event that lets them all go.
_groups: dict[str, tuple[list[int], anyio.Event]] = {}


@server.tool()
async def sleep(seconds: float, value: str = "") -> dict[str, Any]:
    """Sleep, then answer with structured content."""
    await anyio.sleep(seconds)
    return {"slept": seconds, "value": value}


@server.tool()
async def meet(group: str, size: int, value: str = "", timeout: float = 20.0) -> dict[str, Any]:
    """Answer only once ``size`` calls of ``group`` are in flight at once: proof that calls overlap.

    Fails with a tool error if they are not all there within ``timeout`` seconds.
    """
    arrived, everyone = _groups.setdefault(group, ([0], anyio.Event()))
    arrived[0] += 1
    if arrived[0] >= size:
        everyone.set()
    with anyio.move_on_after(timeout):
        await everyone.wait()
    if not everyone.is_set():
        raise ToolError(f"only {arrived[0]} of {size} calls of {group!r} met within {timeout:g} s")
    return {"value": value, "met": size}


@server.tool()
async def sleep_marked(path: str, seconds: float) -> dict[str, Any]:
    """Create the file ``path`` -- proof that the call started -- then sleep."""
    with open(path, "w") as marker:
        marker.write(str(os.getpid()))
    await anyio.sleep(seconds)
    return {"slept": seconds}


@server.tool()
async def watched(path: str, seconds: float) -> dict[str, Any]:
    """Write "started" to the file ``path``, sleep, then "finished" -- or "cancelled" if the call was cancelled."""
    with open(path, "w") as log:
        log.write("started\n")
    try:
        await anyio.sleep(seconds)
    except anyio.get_cancelled_exc_class():
        with open(path, "a") as log:
            log.write("cancelled\n")
        raise
    with open(path, "a") as log:
        log.write("finished\n")
    return {"slept": seconds}


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
def refuse(code: int, message: str) -> str:
    """Answer with a JSON-RPC error reply (not an error result) of this code."""
    raise MCPError(code, message)


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
def env(name: str) -> str:
    """The value of this server's environment variable ``name`` ("" if unset)."""
    return os.environ.get(name, "")


@server.tool()
def trace_context() -> dict[str, str]:
    """The trace the call arrived in, as the server sees it (the W3C trace context in the request's ``_meta``).

    The server sets up no tracer provider, so its span of the call is a no-op one
    that carries the caller's context: the ids of the client's span of the call.
    """
    from opentelemetry import trace

    context = trace.get_current_span().get_span_context()
    return {"trace_id": format(context.trace_id, "032x"), "span_id": format(context.span_id, "016x")}


@server.tool()
def pid() -> int:
    """This server's process id."""
    return os.getpid()


def serve_http(transport: str) -> None:
    """Serve over ``transport`` ("http" or "sse") on a port the system picks, and say which on stdout.

    The socket is bound and listening here (port 0) before it is handed to
    uvicorn, so that the port printed is one that takes connections, with no
    window for another process to take it.
    """
    import socket

    import uvicorn

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)  # before saying so: a client may connect at once (uvicorn accepts from the backlog)
    path = "/sse" if transport == "sse" else "/mcp"
    app = server.sse_app() if transport == "sse" else server.streamable_http_app()
    print(f"listening on http://127.0.0.1:{sock.getsockname()[1]}{path}", flush=True)
    uvicorn_server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    anyio.run(lambda: uvicorn_server.serve(sockets=[sock]))


if __name__ == "__main__":
    if sys.argv[1:2] in (["http"], ["sse"]):
        serve_http(sys.argv[1])
    else:
        server.run()
