"""Tool servers: the protocol executors call, and LocalTools for plain Python functions."""

from __future__ import annotations

import dataclasses
import functools
import inspect
import types
import typing
from collections.abc import Callable, Mapping
from typing import Any, Protocol, cast, runtime_checkable

import attrs
import cattrs
import trio
import typing_extensions

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

    A function whose return annotation has a schema (a ``TypedDict``, a
    dataclass, an attrs class, a pydantic model, a ``list[...]``, an ``int``)
    gets an output schema from it, through the same pydantic ``TypeAdapter``:
    a reference to a part of its output that the type does not have
    (``$OUTPUT[p].c`` where it returns a ``Point`` of ``x`` and ``y``) is
    refused before anything runs. Where the annotation holds a dataclass, an
    attrs class or a pydantic model, the output is made what the schema
    describes, as the MCP SDK makes a tool's structured content: validated
    against the annotation (a dict for a dataclass is made one; an output that
    does not fit fails the task), then written as JSON (a dataclass becomes an
    object), so that references read the fields the schema declares. Other
    outputs (dicts, lists, ``TypedDict``, scalars) are handed on as returned,
    as are those of a return annotation of ``Any``, ``None`` or ``object``, or
    none, which gives no output schema.

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
        # Each tool's output as JSON, for the tools with an output schema (see tool_schemas).
        self._dump: dict[str, Callable[[Any], Any]] = {}

    def __repr__(self) -> str:
        return f"LocalTools({sorted(self._tools)!r})"

    @property
    def tool_schemas(self) -> Mapping[str, ToolSchemas]:
        """Each tool's input schema (from its parameters' hints) and output schema (from its return annotation).

        Derived once, on first use.

        A tool with neither is not in the mapping.
        """
        if self._schemas is None:
            self._schemas = self._derive()
        return self._schemas

    def _derive(self) -> dict[str, ToolSchemas]:
        schemas: dict[str, ToolSchemas] = {}
        for name, fn in self._tools.items():
            given = input_schema(fn)
            returned = _returned(fn)
            if returned is not None and returned[1] is not None:
                self._dump[name] = returned[1]
            if given is not None or returned is not None:
                schemas[name] = ToolSchemas(input=given, output=returned[0] if returned is not None else None)
        return schemas

    async def call_tool(self, name: str, arguments: dict[str, Any]) -> Any:
        """Call tool ``name`` with ``arguments`` as keywords.

        Raises:
            NoSuchToolError: There is no tool of that name.
        """
        try:
            fn = self._tools[name]
        except KeyError:
            raise NoSuchToolError(f"no tool {name!r}; tools: {', '.join(sorted(self._tools))}") from None
        if self._schemas is None:
            self._schemas = self._derive()  # which outputs are given as JSON: as the schemas say
        dump = self._dump.get(name)
        if self._is_async[name]:
            output = await fn(**arguments)
            return output if dump is None else dump(output)
        call = functools.partial(fn, **arguments)
        if dump is not None:  # in the worker thread too: a large output's JSON takes time
            call = functools.partial(_then, dump, call)
        return await trio.to_thread.run_sync(call, abandon_on_cancel=True, limiter=self._limiter)


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


#: Return annotations that say nothing a reference could be checked against.
_UNDESCRIBED: tuple[object, ...] = (Any, None, type(None), object, inspect.Signature.empty)


def _returned(fn: Callable[..., Any]) -> tuple[dict[str, Any], Callable[[Any], Any] | None] | None:
    """A function's output schema, from its return annotation, and what turns its output into that JSON.

    Returns:
        None for a function without a return annotation, one annotated
        ``Any``, ``None`` or ``object``, and one whose annotation pydantic
        cannot describe. The function that turns an output into its JSON is
        None where the output is already what the schema describes (no
        dataclass, attrs class or pydantic model in the annotation: dicts,
        lists, scalars are handed on as they are).
    """
    try:
        hints = typing.get_type_hints(fn)
    except Exception:  # an annotation that does not resolve (a name imported only for type checking)
        return None
    returned = hints.get("return", inspect.Signature.empty)
    if any(returned is undescribed for undescribed in _UNDESCRIBED):
        return None
    try:
        import pydantic
        from pydantic_core import PydanticSerializationError

        described, has_attrs = _describable(returned)
        adapter: pydantic.TypeAdapter[Any] = pydantic.TypeAdapter(described)
        # The schema of what dump_python(mode="json") gives, which references read.
        schema: dict[str, Any] = adapter.json_schema(mode="serialization")
        has_models = _has_models(returned, set())
    except Exception:  # any annotation pydantic cannot turn into a schema: no output schema
        return None
    if not schema:
        return None  # {}: anything (a bare TypeVar, say)
    if not has_models:
        return schema, None

    def dump(output: Any) -> Any:
        if has_attrs:  # attrs instances as dicts, which the TypedDicts standing for them describe
            output = _attrs_converter.unstructure(output)
        try:
            # As the MCP SDK treats a tool's structured output: validated (a dict for a
            # dataclass is made one), then written as JSON.
            valid = adapter.validate_python(output)
        except pydantic.ValidationError as exc:
            said = f"{exc.error_count()} problem{'s' if exc.error_count() != 1 else ''}, the first: "
            first = exc.errors()[0]
            where = ".".join(map(str, first["loc"])) or "the output"
            raise TypeError(
                f"the output does not fit the return annotation {_name(returned)}: {said}{where}: {first['msg']}"
            ) from None
        try:
            return adapter.dump_python(valid, mode="json")
        except PydanticSerializationError:
            # A value with no JSON form under an Any: plain Python data (dicts, lists), that
            # value kept as it is (a local tool's output need not be JSON).
            return adapter.dump_python(valid)

    return schema, dump


def _has_models(annotation: Any, seen: set[int]) -> bool:
    """Whether an annotation holds a dataclass, an attrs class or a pydantic model (whose instances are no JSON)."""
    if id(annotation) in seen:
        return False
    seen.add(id(annotation))
    if isinstance(annotation, type):
        import pydantic

        if dataclasses.is_dataclass(annotation) or attrs.has(annotation) or issubclass(annotation, pydantic.BaseModel):
            return True
        if typing_extensions.is_typeddict(annotation):
            return any(_has_models(hint, seen) for hint in typing.get_type_hints(annotation).values())
    return any(_has_models(argument, seen) for argument in typing.get_args(annotation))


# pydantic does not know attrs classes: each stands as a TypedDict of its fields, and its
# instances are made dicts by cattrs (this converter only unstructures) before pydantic's dump.
_attrs_converter = cattrs.Converter()


def _describable(annotation: Any) -> tuple[Any, bool]:
    """An annotation pydantic can describe: each attrs class in it replaced by a TypedDict; and whether any was."""
    if isinstance(annotation, type) and attrs.has(annotation):
        attrs.resolve_types(annotation)
        fields = {field.name: _describable(field.type)[0] for field in attrs.fields(annotation)}
        return typing_extensions.TypedDict(annotation.__name__, fields), True  # type: ignore[operator]
    arguments = typing.get_args(annotation)
    origin = typing.get_origin(annotation)
    if origin is None or not arguments or origin is typing.Literal:
        return annotation, False
    found = [_describable(argument) for argument in arguments]
    if not any(has for _, has in found):
        return annotation, False
    replaced = tuple(described for described, _ in found)
    if origin in (typing.Union, types.UnionType):
        return typing.Union[replaced], True  # noqa: UP007 (built from a tuple)
    if origin is typing.Annotated:
        return typing.Annotated[replaced], True
    return origin[replaced], True


def _then(dump: Callable[[Any], Any], call: Callable[[], Any]) -> Any:
    return dump(call())


def _name(annotation: Any) -> str:
    return annotation.__name__ if isinstance(annotation, type) else repr(annotation)
