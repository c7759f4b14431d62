"""Real MCP servers as dagexec tool servers, through the official ``mcp`` SDK.

Install with the ``mcp`` extra (``pip install 'dagexec[mcp]'``). The SDK runs on
trio through anyio, so its sessions live in the same event loop as the run.

Example::

    async with open_servers("servers.json") as servers:
        result = await EagerExecutor(servers).execute(workflow)
"""

from __future__ import annotations

import functools
import json
import math
import os
import shutil
import tempfile
from collections.abc import AsyncIterator, Mapping
from contextlib import (
    AbstractAsyncContextManager,
    AbstractContextManager,
    AsyncExitStack,
    asynccontextmanager,
    nullcontext,
)
from pathlib import Path
from typing import Any, TextIO

import attrs
import trio

from ._convert import Invalid, Problems, structure
from ._errors import DagexecError, NoSuchToolError, ServerError, ToolError
from ._tools import ToolServer

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


class ServerConfigError(DagexecError):
    """The servers config is unreadable or invalid; the message names the key.

    Attributes:
        problems: One line per problem, each naming its key.
    """

    def __init__(self, problems: list[str]) -> None:
        self.problems = tuple(problems)
        super().__init__("invalid servers config:\n" + "\n".join(f"  {p}" for p in problems))


class ServerStartError(DagexecError):
    """A server could not start, initialize or list its tools.

    Attributes:
        server: The server's name in the config.
        cause: What went wrong, in words.
    """

    def __init__(self, server: str, cause: str) -> None:
        self.server = server
        self.cause = cause
        super().__init__(f"server {server!r} did not start: {cause}")


# -- config --------------------------------------------------------------------------------


def _check_command(instance: object, attribute: attrs.Attribute[str], value: str) -> None:
    if not value:
        raise Invalid("command must not be empty")


@attrs.frozen(kw_only=True)
class StdioServerConfig:
    """A server that dagexec starts as a subprocess and talks to over stdio.

    Args:
        command: The program to run (looked up on ``PATH``).
        args: Its arguments.
        env: Variables added to the environment it runs in.
        cwd: Its working directory.
        type: ``"stdio"``, as some configs say; optional.
    """

    command: str = attrs.field(validator=_check_command)
    args: tuple[str, ...] = ()
    env: Mapping[str, str] = attrs.field(factory=dict)
    cwd: str | None = None
    type: str = attrs.field(default="stdio", validator=attrs.validators.in_(["stdio"]))


@attrs.frozen(kw_only=True)
class HttpServerConfig:
    """A running server that dagexec reaches over streamable HTTP.

    Args:
        url: Its endpoint, such as ``http://127.0.0.1:8000/mcp``.
        headers: HTTP headers sent with every request (authorization, ...).
        type: ``"http"`` or ``"streamable-http"``, as some configs say; optional.
    """

    url: str
    headers: Mapping[str, str] = attrs.field(factory=dict)
    type: str = attrs.field(
        default="http", validator=attrs.validators.in_(["http", "streamable-http", "streamable_http"])
    )


@attrs.frozen(kw_only=True)
class LocalClusterConfig:
    """A Dask cluster of worker processes on this machine, started for the run."""

    n_workers: int = 2
    threads_per_worker: int = 1


def _check_dask(instance: DaskServerConfig, attribute: attrs.Attribute[Any], value: Any) -> None:
    if (instance.scheduler is None) == (instance.local is None):
        raise Invalid("needs either 'scheduler' (an address) or 'local' (a cluster started for the run)")


@attrs.frozen(kw_only=True)
class DaskServerConfig:
    """Python tools run on a Dask cluster (see :class:`~dagexec.dask.DaskTools`).

    Args:
        tools: ``"package.module:name"``, a mapping of tool names to functions
            that the workers can import too.
        scheduler: The scheduler's address, such as ``tcp://127.0.0.1:8786``.
        local: Or a local cluster started for the run: ``{"n_workers": 2}``.
    """

    tools: str
    scheduler: str | None = None
    local: LocalClusterConfig | None = attrs.field(default=None, validator=_check_dask)


ServerConfig = StdioServerConfig | HttpServerConfig | DaskServerConfig


def load_config(config: str | os.PathLike[str] | Mapping[str, Any]) -> dict[str, ServerConfig]:
    """Read and check a standard MCP servers config (``{"mcpServers": {...}}``).

    Each entry has ``command`` (with optional ``args``, ``env``, ``cwd``) for a
    server started over stdio, ``url`` (with optional ``headers``) for one
    reached over streamable HTTP, or ``dask`` for Python tools on a Dask cluster
    (``{"dask": {"scheduler": "tcp://...", "tools": "package.module:name"}}``).

    Args:
        config: The path of a JSON file, or its data.

    Raises:
        ServerConfigError: The file is unreadable, not JSON, or not such a config;
            the message names the offending key.
    """
    if isinstance(config, str | os.PathLike):
        path = os.fspath(config)
        try:
            config = json.loads(Path(path).read_text())
        except OSError as exc:
            raise ServerConfigError([f"cannot read {path!r}: {exc.strerror}"]) from None
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ServerConfigError([f"{path!r} is not valid JSON: {exc}"]) from None
    if not isinstance(config, Mapping) or not isinstance(config.get("mcpServers"), Mapping):
        raise ServerConfigError(['expected an object with an "mcpServers" object @ config'])
    servers: dict[str, ServerConfig] = {}
    problems: list[str] = []
    for name, entry in config["mcpServers"].items():
        key = f"mcpServers.{name}"
        if not isinstance(entry, Mapping):
            problems.append(f"expected an object, got {type(entry).__name__} @ {key}")
        elif sum(k in entry for k in ("command", "url", "dask")) != 1:
            problems.append(
                "needs one of 'command' (a server over stdio), 'url' (streamable HTTP) "
                f"or 'dask' (tools on a Dask cluster) @ {key}"
            )
        else:
            try:
                if "command" in entry:
                    servers[name] = structure(entry, StdioServerConfig, key)
                elif "url" in entry:
                    servers[name] = structure(entry, HttpServerConfig, key)
                elif set(entry) != {"dask"}:
                    extra = ", ".join(sorted(set(entry) - {"dask"}))
                    problems.append(f"extra fields found ({extra}) @ {key}")
                else:
                    servers[name] = structure(entry["dask"], DaskServerConfig, f"{key}.dask")
            except Problems as exc:
                problems += exc.problems
    if problems:
        raise ServerConfigError(problems)
    return servers


# -- the tool server -----------------------------------------------------------------------


class MCPToolServer:
    """One connected MCP server, as a tool server for the executors.

    Every task on this server shares its session; their calls run concurrently
    over it. Made by :func:`open_servers`.

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


def _describe(exc: BaseException) -> str:
    """Words for an exception: the first leaf of a group, its type and message."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    message = str(exc)
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__


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


async def _serve_dask(
    name: str, config: DaskServerConfig, start_timeout: float, *, task_status: trio.TaskStatus[ToolServer]
) -> None:
    """Connect to (or start) a Dask cluster and hold it until cancelled."""
    try:
        from distributed import Client as DaskClient
        from distributed import LocalCluster

        from .dask import DaskTools, load_registry
    except ImportError as exc:
        raise ServerStartError(name, str(exc)) from None
    try:
        tools = load_registry(config.tools)
    except ValueError as exc:
        raise ServerStartError(name, str(exc)) from None
    cluster: LocalCluster | None = None
    client: DaskClient | None = None
    try:
        with trio.fail_after(start_timeout):
            if config.local is not None:
                local = config.local
                cluster = await trio.to_thread.run_sync(
                    functools.partial(
                        LocalCluster,
                        n_workers=local.n_workers,
                        threads_per_worker=local.threads_per_worker,
                        processes=True,
                        dashboard_address=":0",
                    ),
                    abandon_on_cancel=True,
                )
            address = config.scheduler if cluster is None else cluster
            client = await trio.to_thread.run_sync(
                functools.partial(DaskClient, address, timeout=start_timeout), abandon_on_cancel=True
            )
    except trio.TooSlowError:
        raise ServerStartError(name, f"no Dask scheduler answered within {start_timeout} s") from None
    except Exception as exc:
        raise ServerStartError(name, _describe(exc)) from None
    try:
        task_status.started(DaskTools(client, tools))
        await trio.sleep_forever()
    finally:
        with trio.CancelScope(shield=True):
            await trio.to_thread.run_sync(client.close)
            if cluster is not None:
                await trio.to_thread.run_sync(cluster.close)


async def _serve(
    name: str,
    config: ServerConfig,
    errlog: TextIO | None,
    start_timeout: float,
    *,
    task_status: trio.TaskStatus[ToolServer],
) -> None:
    """Hold one server's session open until cancelled; report it with task_status.

    Before it started, every failure is raised as :class:`ServerStartError`;
    after, an ended session fails the server's calls instead of the run.
    """
    if isinstance(config, DaskServerConfig):
        await _serve_dask(name, config, start_timeout, task_status=task_status)
        return
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


@asynccontextmanager
async def open_servers(
    config: str | os.PathLike[str] | Mapping[str, Any],
    *,
    errlog: TextIO | None = None,
    start_timeout: float = 30.0,
) -> AsyncIterator[dict[str, ToolServer]]:
    """Start every server of an MCP config and yield them as tool servers.

    Every server starts concurrently: a ``command`` entry as a subprocess over
    stdio, a ``url`` entry over streamable HTTP. Each gets one session, which is
    initialized and asked for its tools. A ``dask`` entry connects to a Dask
    scheduler (or starts a local cluster) and serves its tools as
    :class:`~dagexec.dask.DaskTools`, so one config can mix MCP servers and a
    cluster. On exit -- also on error or
    cancellation -- every session is closed and every server process it
    started is gone.

    Args:
        config: A path to a JSON file, or the config itself:
            ``{"mcpServers": {"time": {"command": "python", "args": [...]}}}``.
        errlog: Where the stdio servers' stderr goes; it must have a file
            descriptor (``sys.stderr``, an open file). By default each server's
            stderr is kept in a temporary file, and its last lines are quoted
            when the server fails.
        start_timeout: Seconds a server has to start, initialize and list its
            tools.

    Yields:
        Each server's name, mapped to its :class:`MCPToolServer` (or
        :class:`~dagexec.dask.DaskTools`).

    Raises:
        ServerConfigError: The config is invalid; nothing was started.
        ServerStartError: A server did not start; the others were stopped.
    """
    configs = load_config(config)
    servers: dict[str, ToolServer] = {}
    failures: list[ServerStartError] = []
    body_error: BaseException | None = None
    async with trio.open_nursery() as nursery:

        async def start(name: str, server_config: ServerConfig) -> None:
            try:
                servers[name] = await nursery.start(_serve, name, server_config, errlog, start_timeout)
            except ServerStartError as exc:
                failures.append(exc)

        async with trio.open_nursery() as starting:
            for name, server_config in configs.items():
                starting.start_soon(start, name, server_config)
        if not failures:
            try:
                yield {name: servers[name] for name in configs}
            except BaseException as exc:  # re-raised below, unwrapped, once the servers are gone
                body_error = exc
        nursery.cancel_scope.cancel()
    if body_error is not None:
        raise body_error
    if failures:
        order = list(configs)
        raise min(failures, key=lambda f: order.index(f.server))
