"""Real MCP servers as dagexec tool servers, through the official ``mcp`` SDK.

Install with the ``mcp`` extra (``pip install 'dagexec[mcp]'``). The SDK runs on
trio through anyio, so its sessions live in the same event loop as the run.

:func:`~dagexec.servers.open_servers` starts the ``command`` and ``url`` entries
of a servers config here, each as an :class:`MCPToolServer`. The config, its
loading and ``open_servers`` live in :mod:`dagexec.servers` (this module still
re-exports the config classes and their errors under their former names), and
this module imports nothing from it.

Example::

    from dagexec.servers import open_servers

    async with open_servers("servers.json") as servers:
        result = await EagerExecutor(servers).execute(workflow)
"""

from __future__ import annotations

import json
import math
import os
import shutil
import signal
import subprocess
import tempfile
from collections.abc import AsyncIterator
from contextlib import AbstractContextManager, asynccontextmanager, nullcontext, suppress
from pathlib import Path
from types import TracebackType
from typing import Any, TextIO

import trio

from ._config import DaskServerConfig as DaskServerConfig
from ._config import HttpServerConfig as HttpServerConfig
from ._config import LocalClusterConfig as LocalClusterConfig
from ._config import ServerConfig as ServerConfig
from ._config import SseServerConfig
from ._config import StdioServerConfig as StdioServerConfig
from ._errors import NoSuchToolError, ServerError, ToolCallError, ToolError, ToolTimeoutError, describe
from ._errors import ServerConfigError as ServerConfigError
from ._errors import ServerStartError as ServerStartError
from ._schemas import ToolSchemas, prepare, to_json
from ._tools import ToolServer

try:
    import anyio
    import httpx2
    import mcp_types
    from mcp import Client, MCPError
    from mcp.client.sse import sse_client
    from mcp.client.stdio import get_default_environment
    from mcp.client.streamable_http import streamable_http_client
    from mcp.shared.message import SessionMessage
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
]


# -- the tool server -----------------------------------------------------------------------


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
        self, name: str, client: Client, tools: list[mcp_types.Tool], *, call_timeout: float | None = None
    ) -> None:
        self.name = name
        #: Seconds each call may take (the config's ``timeout``); None: no limit of the server's own.
        self.call_timeout = call_timeout
        self.tools = {tool.name: tool for tool in tools}
        self._listed = {tool.name: ToolSchemas(input=tool.input_schema, output=tool.output_schema) for tool in tools}
        self._schemas: dict[str, ToolSchemas] | None = None  # compiled on first read (see tool_schemas)
        self._client = client
        self._link = _Link()  # its transport's, set by _serve_mcp
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
        return self._gone or self._link.closed

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
                with trio.move_on_after(math.inf if self.call_timeout is None else self.call_timeout):
                    result = await self._client.call_tool(name, arguments)
            except MCPError as exc:
                raise self._error_reply(exc) from None
            except Exception as exc:
                raise ServerError(self._gone_message(describe(exc))) from None
            finally:
                self._in_flight.discard(scope)
        if scope.cancelled_caught:  # cancelled by _lost(), not by the caller
            raise ServerError(self._gone_message("connection lost"))
        if result is None:  # the call timeout passed
            raise ToolTimeoutError(f"no answer within {self.call_timeout:g} s (server {self.name!r}'s timeout)")
        return _output(result)

    def _error_reply(self, exc: MCPError) -> ToolCallError:
        """What an error reply means: the server's answer, or a failed transport.

        Code -32000 is many servers' generic error and also the SDK's code for a
        closed connection, so the code alone decides nothing: the transport
        says whether the connection closed (``self._link``), and marks the
        replies it made up for a call it lost (``_LOST_CALL``).
        """
        if exc.error.data is _LOST_CALL:
            return ServerError(f"server {self.name!r} lost the call: {exc.message}")
        if exc.code == mcp_types.CONNECTION_CLOSED and (self._link.closed or self._gone):
            return ServerError(self._gone_message(self._link.closed or "connection closed"))
        return ToolError(f"error reply {exc.code}: {exc.message}")

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


# -- the link to a server -----------------------------------------------------------------

#: The ``data`` of an error reply that a transport made up for a call whose own
#: reply was lost: the call fails with ServerError, the connection lives on.
_LOST_CALL = object()


class _Link:
    """A server's connection as its transport saw it: whether it closed, and why.

    Attributes:
        closed: None while the connection lives; then the cause, in words.
    """

    def __init__(self) -> None:
        self.closed: str | None = None

    def close(self, cause: str) -> None:
        if self.closed is None:
            self.closed = cause


def _lost_reply(request_id: mcp_types.RequestId | None, cause: str) -> SessionMessage:
    """An error reply for ``request_id``, marked as made up by the transport (see ``_LOST_CALL``)."""
    error = mcp_types.ErrorData(code=mcp_types.CONNECTION_CLOSED, message=cause, data=_LOST_CALL)
    return SessionMessage(mcp_types.JSONRPCError(jsonrpc="2.0", id=request_id, error=error))


# -- stdio: the lines a server writes ------------------------------------------------------


def _parse_line(line: bytes) -> SessionMessage | None:
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
        return _lost_reply(message.id, "its reply was not valid UTF-8")
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


# -- stdio: the server's processes ---------------------------------------------------------

#: Seconds each step of stopping a server gets: to exit once its stdin closed, then
#: after SIGTERM; and for what it left behind, after SIGTERM.
_GRACE = 2.0

#: Windows has neither process groups to signal nor SIGKILL: there a server's
#: process alone is stopped (terminated), and what it started is not looked for.
_SIGKILL: int = getattr(signal, "SIGKILL", signal.SIGTERM)


def _process_table() -> dict[int, tuple[int, int, str, str]]:
    """Every process, as ``pid: (parent, process group, state, start time)``; empty without /proc."""
    table = {}
    with suppress(OSError):
        for entry in os.scandir("/proc"):
            if entry.name.isdigit():
                try:
                    # "pid (name) state ppid pgrp session ... starttime": the name may hold anything.
                    fields = Path(entry.path, "stat").read_text().rpartition(")")[2].split()
                    table[int(entry.name)] = (int(fields[1]), int(fields[2]), fields[0], fields[19])
                except (OSError, ValueError, IndexError):
                    continue  # it just ended, or this is no Linux /proc
    return table


def _descendants(pid: int) -> dict[int, str]:
    """The processes below ``pid`` in the process tree, each with its start time."""
    table = _process_table()
    found: dict[int, str] = {}
    parents = [pid]
    while parents:
        parent = parents.pop()
        for child, (ppid, _, _, start) in table.items():
            if ppid == parent and child not in found:
                found[child] = start
                parents.append(child)
    return found


def _signal_leftovers(group: int, strays: dict[int, str], sig: int) -> bool:
    """Send ``sig`` to what a server left: its process group, and the strays still alive.

    A stray counts only while its pid has the same start time (the pid was not
    reused), and zombies count for nothing: they are dead, waiting for a
    parent that may never reap them.

    Returns:
        Whether any live process got it (``sig`` 0 only asks).
    """
    table = _process_table()
    sent = False
    if not table or any(g == group and state != "Z" for _, g, state, _ in table.values()):
        sent = _signal_group(group, sig)
    for pid, start in strays.items():
        entry = table.get(pid)
        if entry is not None and entry[3] == start and entry[2] != "Z":
            with suppress(OSError):
                os.kill(pid, sig)
                sent = True
    return sent


def _signal_group(group: int, sig: int) -> bool:
    """Send ``sig`` to a process group; whether it reached any process."""
    killpg = getattr(os, "killpg", None)  # not on Windows
    if killpg is None:
        return False
    try:
        killpg(group, sig)
    except OSError:
        return False
    return True


def _exit_status(process: trio.Process) -> int | None:
    """The server's exit status (as ``returncode``), or None while it runs; without reaping it.

    While the server is not reaped, its pid -- the id of its process group --
    cannot be reused, so signalling the group reaches no stranger. Where
    ``os.waitid`` is missing (macOS), this reaps, as ``returncode`` does.
    """
    waitid = getattr(os, "waitid", None)
    if waitid is None:
        return process.returncode
    try:
        status = waitid(os.P_PID, process.pid, os.WEXITED | os.WNOWAIT | os.WNOHANG)
    except ChildProcessError:  # reaped already
        return process.returncode
    if status is None:
        return None
    return int(status.si_status) if status.si_code == os.CLD_EXITED else -int(status.si_status)


async def _exits_within(process: trio.Process, seconds: float) -> bool:
    """Whether the server exits within ``seconds``; it is not reaped (see :func:`_exit_status`)."""
    with trio.move_on_after(seconds):
        while _exit_status(process) is None:
            await trio.sleep(0.02)
        return True
    return False


async def _stop_server(process: trio.Process) -> None:
    """Stop a stdio server, and everything it started; within bounds, so shielded is fine.

    The MCP spec's order: its stdin closes, it gets ``_GRACE`` seconds to
    exit, then SIGTERM, then SIGKILL (to its process group: it was started in
    a session of its own). Then what it left behind, which the SDK stops only
    when the server overstays its grace: every live process of its process
    group, and every process that was below it in the process tree as its
    stdin closed (found in /proc, so also those that left its group), gets
    SIGTERM, and SIGKILL ``_GRACE`` seconds later; and it is waited for.
    """
    strays = _descendants(process.pid) if _exit_status(process) is None else {}
    if process.stdin is not None:
        await process.stdin.aclose()
    if not await _exits_within(process, _GRACE):
        if not _signal_group(process.pid, signal.SIGTERM):
            process.terminate()
        if not await _exits_within(process, _GRACE):
            process.kill()
            _signal_group(process.pid, _SIGKILL)
            await _exits_within(process, _GRACE)
    if hasattr(os, "killpg"):
        await _stop_leftovers(process.pid, strays)
    with trio.move_on_after(_GRACE):  # only now: once reaped, its pid may be reused
        await process.wait()


async def _stop_leftovers(group: int, strays: dict[int, str]) -> None:
    """SIGTERM to what a server left (see :func:`_signal_leftovers`), SIGKILL after ``_GRACE`` s."""
    if not _signal_leftovers(group, strays, signal.SIGTERM):
        return
    if not await _leftovers_end_within(group, strays, _GRACE):
        _signal_leftovers(group, strays, _SIGKILL)
        await _leftovers_end_within(group, strays, _GRACE)


async def _leftovers_end_within(group: int, strays: dict[int, str], seconds: float) -> bool:
    with trio.move_on_after(seconds):
        while _signal_leftovers(group, strays, 0):
            await trio.sleep(0.05)
        return True
    return False


def _exit_cause(process: trio.Process) -> str:
    code = _exit_status(process)
    if code is None:
        return "it closed its stdout"
    if code < 0:
        return f"it was killed by signal {-code}"
    return f"it exited with code {code}"


# -- the transports ------------------------------------------------------------------------


@asynccontextmanager
async def _open_stdio(config: StdioServerConfig, errlog: TextIO, link: _Link) -> AsyncIterator[tuple[Any, Any]]:
    """Start a server as a subprocess and exchange JSON-RPC lines with it: the streams for a ``Client``.

    dagexec's own, in place of the SDK's ``stdio_client``, for two things that
    one cannot do: read the server's lines leniently (:func:`_parse_line`),
    and know its process, so that nothing it started outlives it
    (:func:`_stop_server`).
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
        assert process.stdin is not None and process.stdout is not None
        stdin, stdout = process.stdin, process.stdout
        to_session, from_server = anyio.create_memory_object_stream[SessionMessage | Exception](0)
        to_server, from_session = anyio.create_memory_object_stream[SessionMessage](0)

        async def read() -> None:
            buffer = bytearray()
            delivering = True
            try:
                async for chunk in stdout:
                    searched = len(buffer)  # no newline before there: not searched again
                    buffer += chunk
                    while (end := buffer.find(b"\n", searched)) >= 0:
                        line = bytes(buffer[:end])
                        del buffer[: end + 1]
                        searched = 0
                        message = _parse_line(line) if delivering else None
                        if message is not None:
                            try:
                                await to_session.send(message)
                            except (anyio.BrokenResourceError, anyio.ClosedResourceError):
                                delivering = False  # the session is gone; drain, so the server never blocks
                await _exits_within(process, 1.0)  # its stdout closed: it is exiting, most likely
                link.close(_exit_cause(process))
            except (trio.BrokenResourceError, trio.ClosedResourceError, OSError):
                link.close("its stdout broke")
            finally:
                link.close("the connection closed")
                to_session.close()

        async def write() -> None:
            try:
                async with from_session:
                    async for message in from_session:
                        data = message.message.model_dump_json(by_alias=True, exclude_unset=True) + "\n"
                        await stdin.send_all(data.encode())
            except (trio.BrokenResourceError, trio.ClosedResourceError, OSError):
                link.close("its stdin broke")
                to_session.close()  # it cannot hear the calls: they must not wait for replies

        async with trio.open_nursery() as nursery:
            nursery.start_soon(read)
            nursery.start_soon(write)
            try:
                yield _WatchedStream(from_server, link, sse=False), to_server
            finally:
                stopped = True
                with trio.CancelScope(shield=True):  # bounded: every wait has its deadline
                    await _stop_server(process)
                nursery.cancel_scope.cancel()
    finally:
        if not stopped:  # the nursery never opened
            with trio.CancelScope(shield=True):
                await _stop_server(process)


class _WatchedStream:
    """A transport's read stream, watched for what it says about the link.

    The stream's end closes the link, and so does its closing by the session
    (which may come first: the SDK's HTTP transport, when a request fails,
    tears the whole session down, and the session then fails the calls in
    flight with code -32000 without the stream ever ending).

    With ``sse``: when a call's response stream drops, the SDK resolves the
    call with an error reply of code -32000 that it made up, its message
    starting ``SSE stream``; such a reply is marked as a lost call.
    """

    def __init__(self, stream: Any, link: _Link, *, sse: bool) -> None:
        self._stream = stream
        self._link = link
        self._sse = sse

    @property
    def last_context(self) -> Any:
        return getattr(self._stream, "last_context", None)

    async def receive(self) -> SessionMessage | Exception:
        try:
            item: SessionMessage | Exception = await self._stream.receive()
        except (anyio.EndOfStream, anyio.ClosedResourceError):
            self._link.close("the connection closed")
            raise
        if self._sse and isinstance(item, SessionMessage) and isinstance(item.message, mcp_types.JSONRPCError):
            error = item.message.error
            if (
                error.code == mcp_types.CONNECTION_CLOSED
                and error.data is None
                and error.message.startswith("SSE stream")
            ):
                return _lost_reply(item.message.id, error.message)
        return item

    async def aclose(self) -> None:
        self._link.close("the connection closed")
        await self._stream.aclose()

    def __aiter__(self) -> _WatchedStream:
        return self

    async def __anext__(self) -> SessionMessage | Exception:
        try:
            return await self.receive()
        except anyio.EndOfStream:
            raise StopAsyncIteration from None

    async def __aenter__(self) -> _WatchedStream:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()


@asynccontextmanager
async def _open_http(config: HttpServerConfig, link: _Link) -> AsyncIterator[tuple[Any, Any]]:
    """The SDK's streamable HTTP transport, its read stream watched (:class:`_WatchedStream`)."""
    async with (
        httpx2.AsyncClient(headers=dict(config.headers), timeout=httpx2.Timeout(30, read=300)) as http,
        streamable_http_client(config.url, http_client=http) as (read_stream, write_stream),
    ):
        yield _WatchedStream(read_stream, link, sse=True), write_stream


@asynccontextmanager
async def _open_sse(config: SseServerConfig, link: _Link) -> AsyncIterator[tuple[Any, Any]]:
    """The SDK's SSE transport, its read stream watched (:class:`_WatchedStream`)."""
    async with sse_client(config.url, headers=dict(config.headers), timeout=30, sse_read_timeout=300) as (
        read_stream,
        write_stream,
    ):
        yield _WatchedStream(read_stream, link, sse=False), write_stream


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


async def _serve_mcp(
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
    link = _Link()
    with log_file as log:
        try:
            if isinstance(config, StdioServerConfig) and shutil.which(config.command) is None:
                raise ServerStartError(name, f"command {config.command!r} not found")
            transport = (
                _open_stdio(config, log, link)
                if isinstance(config, StdioServerConfig)
                else _open_sse(config, link)
                if isinstance(config, SseServerConfig)
                else _open_http(config, link)
            )
            with trio.move_on_after(start_timeout) as starting:
                async with Client(transport) as client:
                    tools: list[mcp_types.Tool] = []
                    cursor: str | None = None
                    while True:
                        page = await client.list_tools(cursor=cursor)
                        tools += page.tools
                        cursor = page.next_cursor
                        if cursor is None:
                            break
                    starting.deadline = math.inf  # started: no deadline from now on
                    server = MCPToolServer(name, client, tools, call_timeout=config.timeout)
                    server._link = link
                    task_status.started(server)
                    await trio.sleep_forever()
            raise ServerStartError(name, f"no answer within {start_timeout} s")
        except ServerStartError:
            raise
        except Exception as exc:
            leaf: BaseException = exc
            while isinstance(leaf, BaseExceptionGroup) and leaf.exceptions:
                leaf = leaf.exceptions[0]
            # "Connection closed" says less than the link: how the server exited.
            closed = isinstance(leaf, MCPError) and leaf.code == mcp_types.CONNECTION_CLOSED
            cause = (link.closed if closed and link.closed else describe(exc)) + (
                _stderr_tail(log) if own_log else ""
            )
            if server is None:
                raise ServerStartError(name, cause) from None
            server._lost(cause)
