"""The ``mcpServers`` config, and :func:`open_servers`, which starts each entry with its backend.

A config names MCP servers (started over stdio or reached over streamable HTTP)
and Dask clusters side by side. Loading it needs no extra: every entry is plain
data. Starting an entry needs its backend, imported only then:
:mod:`dagexec.mcp` (the ``mcp`` extra) for a ``command`` or ``url`` entry,
:mod:`dagexec.dask` (the ``dask`` extra) for a ``dask`` entry.

Example::

    async with open_servers("servers.json") as servers:
        result = await EagerExecutor(servers).execute(workflow)
"""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TextIO

import trio

from ._config import DaskServerConfig as DaskServerConfig
from ._config import HttpServerConfig as HttpServerConfig
from ._config import LocalClusterConfig as LocalClusterConfig
from ._config import ServerConfig as ServerConfig
from ._config import StdioServerConfig as StdioServerConfig
from ._convert import Problems, structure
from ._errors import ServerConfigError, ServerStartError
from ._tools import ToolServer

__all__ = [
    "DaskServerConfig",
    "HttpServerConfig",
    "LocalClusterConfig",
    "ServerConfig",
    "StdioServerConfig",
    "load_config",
    "open_servers",
]


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
        except RecursionError:
            raise ServerConfigError([f"{path!r} is nested too deeply to read as JSON"]) from None
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


# -- starting and stopping -----------------------------------------------------------------


async def _serve(
    name: str,
    config: ServerConfig,
    errlog: TextIO | None,
    start_timeout: float,
    *,
    task_status: trio.TaskStatus[ToolServer],
) -> None:
    """Start one entry with its backend, report it with task_status, and hold it until cancelled.

    The backend is imported here, so that only the entries a config has need
    their extra; a missing one is a :class:`~dagexec.ServerStartError` that
    names the extra to install.
    """
    if isinstance(config, DaskServerConfig):
        try:
            from .dask import _serve_dask
        except ImportError as exc:
            raise ServerStartError(name, str(exc)) from None
        await _serve_dask(name, config, start_timeout, task_status=task_status)
    else:
        try:
            from .mcp import _serve_mcp
        except ImportError as exc:
            raise ServerStartError(name, str(exc)) from None
        await _serve_mcp(name, config, errlog, start_timeout, task_status=task_status)


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
        Each server's name, mapped to its :class:`~dagexec.mcp.MCPToolServer`
        (or :class:`~dagexec.dask.DaskTools`).

    Raises:
        ServerConfigError: The config is invalid; nothing was started.
        ServerStartError: A server did not start (also when the extra its entry
            needs is not installed); the others were stopped.
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
