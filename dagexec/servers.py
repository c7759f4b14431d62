"""The servers config, and :func:`open_servers`, which starts each entry with its backend.

A config names MCP servers (started over stdio, or reached over streamable
HTTP or SSE) and Dask clusters side by side, in the files that MCP clients
write: Claude Desktop's ``claude_desktop_config.json``, Claude Code's
``.mcp.json``, Cursor's ``mcp.json`` (all ``{"mcpServers": {...}}``) and VS
Code's ``.vscode/mcp.json`` (``{"servers": {...}, "inputs": [...]}``).
Loading it needs no extra: every entry is plain data. Starting an entry needs
its backend, imported only then: :mod:`dagexec.mcp` (the ``mcp`` extra) for a
``command`` or ``url`` entry, :mod:`dagexec.dask` (the ``dask`` extra) for a
``dask`` entry.

Example::

    async with open_servers("servers.json") as servers:
        result = await EagerExecutor(servers).execute(workflow)
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TextIO

import trio

from ._config import DaskServerConfig as DaskServerConfig
from ._config import HttpServerConfig as HttpServerConfig
from ._config import InputVariable as InputVariable
from ._config import LocalClusterConfig as LocalClusterConfig
from ._config import ServerConfig as ServerConfig
from ._config import SseServerConfig as SseServerConfig
from ._config import StdioServerConfig as StdioServerConfig
from ._convert import Problems, accept_keys, show, structure, unknown_keys
from ._errors import ServerConfigError, ServerStartError
from ._tools import ListsSchemas, ToolServer

__all__ = [
    "IGNORED_KEYS",
    "RENAMED_KEYS",
    "DaskServerConfig",
    "HttpServerConfig",
    "InputVariable",
    "LocalClusterConfig",
    "ServerConfig",
    "SseServerConfig",
    "StdioServerConfig",
    "load_config",
    "open_servers",
    "serve_server",
]

_log = logging.getLogger(__name__)

#: Keys that other MCP clients write in an entry and that mean nothing to a run
#: of dagexec, each mapped to what it means in the clients that write it. Each
#: is ignored, with a note in the log (``dagexec -v`` shows it).
IGNORED_KEYS: dict[str, str] = {
    "autoApprove": "Cline: tools it calls without asking first",
    "alwaysAllow": "Roo Code: tools it calls without asking first",
    "disabledTools": "Roo Code, Windsurf: tools hidden from the model",
    "watchPaths": "Roo Code: files whose change restarts the server",
    "dev": "VS Code: watch and debug settings for developing the server",
    "gallery": "VS Code: the gallery entry the server was installed from",
    "version": "VS Code: the installed version of the server",
}

#: Keys that other MCP clients write for a field under another name, each
#: mapped to the field it is read as.
RENAMED_KEYS: dict[str, str] = {
    "transportType": "type",  # Cline: "stdio", "sse" or "streamableHttp"
    "serverUrl": "url",  # Windsurf: a remote server's endpoint
}

# The keys an entry may have besides its fields: handled here, before it is structured.
_HANDLED = ("envFile", "disabled", *RENAMED_KEYS, *IGNORED_KEYS)
accept_keys(StdioServerConfig, *_HANDLED)
accept_keys(HttpServerConfig, *_HANDLED[1:])
accept_keys(SseServerConfig, *_HANDLED[1:])
accept_keys(InputVariable)
accept_keys(LocalClusterConfig)
accept_keys(DaskServerConfig)

#: Each ``type`` an entry may say, and the kind of entry it is.
_TYPES: dict[str, type[StdioServerConfig | HttpServerConfig | SseServerConfig]] = {
    "stdio": StdioServerConfig,
    "http": HttpServerConfig,
    "streamable-http": HttpServerConfig,
    "streamable_http": HttpServerConfig,
    "sse": SseServerConfig,
    "streamableHttp": HttpServerConfig,  # Cline's transportType
}

#: ``${...}`` in a string of an entry: ``${VAR}``, ``${VAR:-default}``, ``${env:VAR}``, ``${input:id}``.
_VARIABLE = re.compile(r"\$\{([^}]*)\}")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

#: Asks the user for an input's value (see :func:`open_servers`).
_Ask = Callable[[InputVariable], Awaitable[str]]


def load_config(
    config: str | os.PathLike[str] | Mapping[str, Any], *, inputs: Mapping[str, str] | None = None
) -> dict[str, ServerConfig]:
    """Read and check an MCP servers config, as MCP clients write it.

    The servers are under ``"mcpServers"`` (Claude Desktop, Claude Code,
    Cursor) or ``"servers"`` (VS Code). Each entry has ``command`` (with
    optional ``args``, ``env``, ``envFile``, ``cwd``) for a server started over
    stdio, ``url`` (with optional ``headers``) for one reached over streamable
    HTTP, or over SSE with ``"type": "sse"``, or ``dask`` for Python tools on a
    Dask cluster (``{"dask": {"scheduler": "tcp://...", "tools":
    "package.module:name"}}``). An optional ``type`` says which (``stdio``,
    ``http``, ``sse``); an entry with ``"disabled": true`` is skipped.

    In the strings of an entry, ``${VAR}`` and ``${env:VAR}`` are the
    environment variable ``VAR``, ``${VAR:-default}`` is ``default`` when it
    is unset or empty, and ``${input:id}`` is the value of the input ``id``
    declared in the config's ``"inputs"``.

    Args:
        config: The path of a JSON file, or its data.
        inputs: The values of the config's inputs, by id. An input without
            one takes its ``default``.

    Raises:
        ServerConfigError: The file is unreadable, not JSON, or not such a
            config; an environment variable is unset, an input has no value.
            Each problem names the key.
    """
    data = _read(config)
    loaded = _ExpandedConfig(data, inputs or {}, use_defaults=True, workspace=_workspace(config))
    loaded.check()
    return loaded.servers


def _workspace(config: str | os.PathLike[str] | Mapping[str, Any]) -> Path:
    """VS Code's ``${workspaceFolder}`` for a config: its folder, or that folder's parent for ``.vscode``.

    For a config given as data, the current directory.
    """
    if not isinstance(config, str | os.PathLike):
        return Path.cwd()
    folder = Path(config).absolute().parent
    return folder.parent if folder.name == ".vscode" else folder


def _read(config: str | os.PathLike[str] | Mapping[str, Any]) -> Mapping[str, Any]:
    """The config's data: the file's, for a path."""
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
    if not isinstance(config, Mapping):
        raise ServerConfigError(['expected an object with an "mcpServers" (or "servers") object @ config'])
    return config


class _ExpandedConfig:
    """A config's entries, their variables replaced, and every problem found on the way.

    Args:
        data: The config's data.
        values: The inputs' values, by id.
        use_defaults: Whether an input without a value takes its default;
            if not, it is unanswered (to be asked).
    """

    def __init__(
        self, data: Mapping[str, Any], values: Mapping[str, str], *, use_defaults: bool, workspace: Path
    ) -> None:
        self.servers: dict[str, ServerConfig] = {}
        self.problems: list[str] = []
        self._workspace = workspace
        #: Each input that has no value, mapped to where it is first used.
        self.unanswered: dict[str, str] = {}
        self._values = values
        self._use_defaults = use_defaults
        self._invalid: set[str] = set()
        #: A line for each key of another client's that is ignored.
        self.notes: list[str] = []
        self.inputs = self._inputs(data.get("inputs"))
        keys = [key for key in ("mcpServers", "servers") if key in data]
        if len(keys) != 1 or not isinstance(data[keys[0]], Mapping):
            also = ", not both" if len(keys) > 1 else ""
            self.problems.append(f'expected an object with an "mcpServers" (or "servers") object{also} @ config')
            return
        for name, entry in data[keys[0]].items():
            self._entry(name, entry, f"{keys[0]}.{name}")

    def check(self) -> None:
        """Raise the problems, and an unanswered input as one.

        Each key of another client's that is ignored gets a note in the log
        (level info), once the config is found good.

        Raises:
            ServerConfigError: There are problems.
        """
        unanswered = [f"no value for input {id!r} @ {at}" for id, at in self.unanswered.items()]
        if self.problems or unanswered:
            raise ServerConfigError(self.problems + unanswered)
        for note in self.notes:
            _log.info("%s", note)

    def _inputs(self, data: Any) -> dict[str, InputVariable]:
        if data is None:
            return {}
        if not isinstance(data, list):
            self.problems.append(f"expected an array, got {show(data)} @ inputs")
            return {}
        inputs: dict[str, InputVariable] = {}
        for index, item in enumerate(data):
            try:
                variable = structure(item, InputVariable, f"inputs[{index}]")
            except Problems as exc:
                self.problems += exc.problems
                if isinstance(item, Mapping) and isinstance(item.get("id"), str):
                    self._invalid.add(item["id"])  # declared: its uses are no problem of their own
                continue
            if variable.id in inputs:
                self.problems.append(f"input {variable.id!r} is declared twice @ inputs[{index}].id")
            inputs[variable.id] = variable
        return inputs

    def _entry(self, name: str, entry: Any, at: str) -> None:
        if not isinstance(entry, Mapping):
            self.problems.append(f"expected an object, got {show(entry)} @ {at}")
            return
        disabled = entry.get("disabled", False)
        if not isinstance(disabled, bool):
            self.problems.append(f"expected true or false, got {show(disabled)} @ {at}.disabled")
            return
        if disabled:
            return
        entry = {key: self._expand(value, f"{at}.{key}", key in ("env", "headers")) for key, value in entry.items()}
        entry.pop("disabled", None)
        for key in [key for key in entry if key in IGNORED_KEYS]:
            del entry[key]
            self.notes.append(f"ignored {key!r} ({IGNORED_KEYS[key]}) @ {at}")
        for key, field in RENAMED_KEYS.items():
            if key in entry:
                if field in entry:
                    self.problems.append(f"both {key!r} and {field!r}: give one @ {at}")
                    return
                entry[field] = entry.pop(key)
        kind = entry.get("type")
        try:
            if kind is None and sum(key in entry for key in ("command", "url", "dask")) != 1:
                self.problems.append(
                    "needs one of 'command' (a server over stdio), 'url' (streamable HTTP, or SSE with "
                    f'"type": "sse") or \'dask\' (tools on a Dask cluster) @ {at}'
                )
            elif kind is None and "dask" in entry:
                if set(entry) != {"dask"}:
                    self.problems.append(f"{unknown_keys(set(entry) - {'dask'}, ('dask', 'disabled'))} @ {at}")
                    return
                self.servers[name] = structure(entry["dask"], DaskServerConfig, f"{at}.dask")
            elif kind is None:
                self._mcp(name, entry, StdioServerConfig if "command" in entry else HttpServerConfig, at)
            elif not isinstance(kind, str):
                self.problems.append(f"expected a string, got {show(kind)} @ {at}.type")
            elif kind not in _TYPES:
                self.problems.append(f"unknown type {kind!r} (accepted: stdio, http, sse) @ {at}.type")
            else:
                self._mcp(name, entry, _TYPES[kind], at)
        except Problems as exc:
            self.problems += exc.problems

    def _mcp(
        self,
        name: str,
        entry: dict[str, Any],
        cls: type[StdioServerConfig | HttpServerConfig | SseServerConfig],
        at: str,
    ) -> None:
        if cls is StdioServerConfig and "envFile" in entry:
            env_file = entry.pop("envFile")
            if not isinstance(env_file, str):
                self.problems.append(f"expected a string, got {show(env_file)} @ {at}.envFile")
                return
            variables = _read_env_file(env_file, f"{at}.envFile")
            env = entry.get("env", {})
            if isinstance(env, Mapping):  # else structuring names the problem
                entry["env"] = {**variables, **env}
        self.servers[name] = structure(entry, cls, at)

    def _expand(self, value: Any, at: str, items: bool = False, depth: int = 0) -> Any:
        """``value`` with the variables in its strings replaced; ``items``: a mapping's keys go in brackets.

        No entry holds strings deeper than three levels down (``dask.local``
        holds numbers): deeper values are left as they are, for structuring to
        name the problem.
        """
        if isinstance(value, str):
            return _VARIABLE.sub(lambda match: self._variable(match, at), value)
        if depth >= 3:
            return value
        if isinstance(value, list):
            return [self._expand(item, f"{at}[{index}]", depth=depth + 1) for index, item in enumerate(value)]
        if isinstance(value, Mapping):
            return {
                key: self._expand(
                    item, f"{at}[{key!r}]" if items else f"{at}.{key}", key in ("env", "headers"), depth + 1
                )
                for key, item in value.items()
            }
        return value

    def _variable(self, match: re.Match[str], at: str) -> str:
        written, body = match.group(0), match.group(1)
        if body in ("workspaceFolder", "workspaceFolderBasename", "userHome"):
            # VS Code's predefined variables that a server's entry may use.
            if body == "userHome":
                return str(Path.home())
            return str(self._workspace) if body == "workspaceFolder" else self._workspace.name
        kind, colon, rest = body.partition(":")
        if colon and kind == "input":
            return self._input(rest, written, at)
        default: str | None = None
        if colon and kind == "env":
            name = rest
        else:
            name, dash, fallback = body.partition(":-")
            default = fallback if dash else None
        if not _NAME.fullmatch(name):
            return written  # no variable: kept as written
        value = os.environ.get(name)
        if default is not None and not value:
            return default
        if value is None:
            self.problems.append(f"environment variable {name!r} is not set @ {at}")
            return written
        return value

    def _input(self, id: str, written: str, at: str) -> str:
        if id in self._invalid:
            return written
        if id not in self.inputs:
            self.problems.append(f'unknown input {id!r}: "inputs" does not declare it @ {at}')
            return written
        if id in self._values:
            return self._values[id]
        default = self.inputs[id].default
        if default is not None and self._use_defaults:
            return default
        self.unanswered.setdefault(id, at)
        return written


def _read_env_file(path: str, at: str) -> dict[str, str]:
    """The variables of an ``envFile``: ``NAME=value`` lines; ``#`` comments, ``export`` and quotes allowed.

    Raises:
        Problems: It cannot be read, or a line is no such variable.
    """
    try:
        text = Path(path).read_text()
    except OSError as exc:
        raise Problems([f"cannot read {path!r}: {exc.strerror} @ {at}"]) from None
    except UnicodeDecodeError as exc:
        raise Problems([f"cannot read {path!r}: {exc} @ {at}"]) from None
    variables: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, equals, value = line.removeprefix("export ").partition("=")
        name, value = name.strip(), value.strip()
        if not equals or not _NAME.fullmatch(name):
            raise Problems([f"line {number} of {path!r} is not NAME=value @ {at}"])
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        variables[name] = value
    return variables


# -- starting and stopping -----------------------------------------------------------------


async def serve_server(
    name: str,
    config: ServerConfig,
    errlog: TextIO | None = None,
    start_timeout: float = 30.0,
    *,
    task_status: trio.TaskStatus[ToolServer] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Start one entry of a config with its backend, report it with ``task_status``, and hold it until cancelled.

    What :func:`open_servers` does for each entry; for one server that is
    started again on its own (``await nursery.start(serve_server, name,
    entry)`` gives the tool server). The backend is imported here, so that
    only the entries a config has need their extra; a missing one is a
    :class:`~dagexec.ServerStartError` that names the extra to install.

    Args:
        name: The server's name in the config.
        config: Its entry, as :func:`load_config` gives it.
        errlog: As for :func:`open_servers`.
        start_timeout: As for :func:`open_servers`.
        task_status: Told the tool server once it started.

    Raises:
        ServerStartError: It did not start.
    """
    if isinstance(config, DaskServerConfig):
        try:
            from .dask import _serve_dask
        except ImportError as exc:
            raise ServerStartError(name, str(exc)) from None
        await _serve_dask(name, config, start_timeout, task_status=task_status)
    else:
        try:
            from ._mcp.lifecycle import serve_mcp
        except ImportError as exc:
            raise ServerStartError(name, str(exc)) from None
        await serve_mcp(name, config, errlog, start_timeout, task_status=task_status)


@asynccontextmanager
async def open_servers(
    config: str | os.PathLike[str] | Mapping[str, Any],
    *,
    inputs: Mapping[str, str] | None = None,
    ask: _Ask | None = None,
    errlog: TextIO | None = None,
    start_timeout: float = 30.0,
) -> AsyncIterator[dict[str, ToolServer]]:
    """Start every server of an MCP config and yield them as tool servers.

    Every server starts concurrently: a ``command`` entry as a subprocess over
    stdio, a ``url`` entry over streamable HTTP (or SSE, with ``"type": "sse"``). Each gets one session, which is
    initialized and asked for its tools. A ``dask`` entry connects to a Dask
    scheduler (or starts a local cluster) and serves its tools as
    :class:`~dagexec.dask.DaskTools`, so one config can mix MCP servers and a
    cluster. On exit -- also on error or
    cancellation -- every session is closed and every server process it
    started is gone.

    Args:
        config: A path to a JSON file, or the config itself:
            ``{"mcpServers": {"time": {"command": "python", "args": [...]}}}``
            (see :func:`load_config`).
        inputs: The values of the config's inputs (``${input:id}``), by id.
        ask: Asks for the value of an input that the entries use and
            ``inputs`` lacks: awaited once for each, in the order of first
            use, once the rest of the config is found valid, and before any
            server starts. It is given the input (its ``description``,
            ``password``, ``default``) and returns its value; it may raise
            :class:`~dagexec.ServerConfigError` when it cannot ask. Without
            it, such an input takes its ``default``, and one without a
            default is a :class:`~dagexec.ServerConfigError`.
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
        ServerConfigError: The config is invalid, or an input has no value;
            nothing was started.
        ServerStartError: A server did not start (also when the extra its entry
            needs is not installed); the others were stopped.
    """
    data = _read(config)
    workspace = _workspace(config)
    loaded = _ExpandedConfig(data, inputs or {}, use_defaults=ask is None, workspace=workspace)
    if ask is not None and loaded.unanswered and not loaded.problems:
        answers = dict(inputs or {})
        for id in loaded.unanswered:
            answers[id] = await ask(loaded.inputs[id])
        loaded = _ExpandedConfig(data, answers, use_defaults=False, workspace=workspace)
    loaded.check()
    configs = loaded.servers
    servers: dict[str, ToolServer] = {}
    failures: list[ServerStartError] = []
    body_error: BaseException | None = None
    async with trio.open_nursery() as nursery:

        async def start(name: str, server_config: ServerConfig) -> None:
            try:
                server = servers[name] = await nursery.start(serve_server, name, server_config, errlog, start_timeout)
                if isinstance(server, ListsSchemas):
                    server.tool_schemas  # noqa: B018  # compiled now, as the tools are listed: no plan pays for it
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
