"""Tool servers: the protocol executors call, and LocalTools for plain Python functions."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping
from typing import Any, Protocol, cast, runtime_checkable

import trio

from ._errors import NoSuchToolError
from ._schemas import ToolSchemas


@runtime_checkable
class ToolServer(Protocol):
    """Anything that can call a tool by name: what executors take, keyed by server name.

    A call's exceptions become the task's error: a :class:`~dagexec.ToolCallError`
    gives its own code (``unknown_tool``, ``server_error``, ...), any other
    exception gives ``tool_error``.
    """

    async def call_tool(self, name: str, arguments: dict[str, Any]) -> Any:
        """Call tool ``name`` with ``arguments`` and return its output."""
        ...


@runtime_checkable
class ListsTools(Protocol):
    """A tool server that publishes its tool names (an MCP server does).

    Executors reject a workflow that names a tool missing from the list before
    anything runs; for other servers, such a task fails with ``unknown_tool``.
    """

    @property
    def tool_names(self) -> frozenset[str]:
        """The names of the tools this server has."""
        ...


@runtime_checkable
class ListsSchemas(Protocol):
    """A tool server that publishes its tools' input and output schemas (an MCP server does).

    Executors check every task on such a server against them before anything
    runs, and its resolved arguments before each call (unless made with
    ``check_schemas=False``). A tool missing from the mapping, or a schema that
    is None, is not checked.
    """

    @property
    def tool_schemas(self) -> Mapping[str, ToolSchemas]:
        """Each tool's schemas, by tool name."""
        ...


class LocalTools(ToolServer):
    """Plain Python callables served as tools, arguments passed as keywords.

    Async functions are awaited in the run's trio loop. Sync functions run in a
    worker thread (:func:`trio.to_thread.run_sync`), so a tool that blocks never
    holds back the others; a cancelled call abandons its thread, which runs on to
    its end in the background.

    A function whose parameters have type hints gets an input schema from them
    (pydantic's, as an MCP server written with the SDK publishes): a plan that
    passes it a string where it takes an ``int``, or an argument it does not
    take, is refused before anything runs. A function without hints on its
    parameters is not checked, nor one with ``*args`` or positional-only
    parameters.

    Args:
        tools: Each tool's name, mapped to its function.
        limiter: Caps the worker threads that sync tools use at once; trio's
            default limiter (40 threads) when None.

    Example::

        servers = {"text": LocalTools({"upper": str.upper})}
    """

    def __init__(
        self,
        tools: Mapping[str, Callable[..., Any]],
        *,
        limiter: trio.CapacityLimiter | None = None,
    ) -> None:
        self._tools = dict(tools)
        self._is_async = {name: inspect.iscoroutinefunction(fn) for name, fn in self._tools.items()}
        self._limiter = limiter
        self._schemas: dict[str, ToolSchemas] | None = None

    def __repr__(self) -> str:
        return f"LocalTools({sorted(self._tools)!r})"

    @property
    def tool_schemas(self) -> Mapping[str, ToolSchemas]:
        """The input schema of each tool whose parameters have type hints, derived once."""
        if self._schemas is None:
            self._schemas = {}
            for name, fn in self._tools.items():
                schema = input_schema(fn)
                if schema is not None:
                    self._schemas[name] = ToolSchemas(input=schema)
        return self._schemas

    async def call_tool(self, name: str, arguments: dict[str, Any]) -> Any:
        """Call tool ``name`` with ``arguments`` as keywords.

        Raises:
            NoSuchToolError: There is no tool of that name.
        """
        try:
            fn = self._tools[name]
        except KeyError:
            raise NoSuchToolError(f"no tool {name!r}; tools: {', '.join(sorted(self._tools))}") from None
        if self._is_async[name]:
            return await fn(**arguments)
        return await trio.to_thread.run_sync(
            functools.partial(fn, **arguments), abandon_on_cancel=True, limiter=self._limiter
        )


def input_schema(fn: Callable[..., Any]) -> dict[str, Any] | None:
    """The JSON schema of a function's keyword arguments, from its type hints.

    Returns:
        None for a function without hints on its parameters, one with
        parameters that no keyword fills (``*args``, positional-only), and one
        whose hints pydantic cannot describe.
    """
    try:
        parameters = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return None
    if not any(p.annotation is not inspect.Parameter.empty for p in parameters):
        return None
    if any(p.kind in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.POSITIONAL_ONLY) for p in parameters):
        return None
    try:
        import pydantic

        schema: dict[str, Any] = pydantic.TypeAdapter(cast(Any, fn)).json_schema()
    except Exception:  # any hint pydantic cannot turn into a schema: not checked
        return None
    return schema if schema.get("type") == "object" else None
