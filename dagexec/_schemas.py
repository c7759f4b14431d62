"""Typed plans: each call checked against its tool's JSON schemas. No trio, no I/O.

A tool server may publish each tool's input and output schema
(:class:`ToolSchemas`). Before a run, :meth:`SchemaCheck.plan_problems` checks
every task of a plan at once:

- its literal arguments against the tool's input schema, with the
  ``jsonschema`` library (the draft the schema names; 2020-12 when it names
  none), one validator per tool, built once;
- each ``$OUTPUT[...]`` reference against the output schema of the task it
  reads: a path that schema does not declare is a problem wherever the
  reference stands, and a whole-value reference must share a JSON type with
  what the argument it stands for accepts (a reference inside a longer string
  is a string, checked as such).

While a run goes on, :meth:`SchemaCheck.call_problems` checks a task's resolved
arguments before its call: what no output schema could tell in advance.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

import attrs
import jsonschema
import jsonschema.exceptions
import jsonschema.protocols
import jsonschema.validators

from ._errors import ArgumentProblem
from ._refs import _MARK, _TOKEN, REFERENCE, Reference, _reference, _segment
from ._workflow import Task

__all__ = ["SchemaCheck", "ToolSchemas"]

Schema = Mapping[str, Any]


@attrs.frozen
class ToolSchemas:
    """What a tool takes and gives, as JSON schemas; None where the server declares none.

    Attributes:
        input: The schema of the tool's arguments (an MCP tool's ``inputSchema``).
        output: The schema of the tool's output (an MCP tool's ``outputSchema``,
            which describes its structured content).
    """

    input: Schema | None = None
    output: Schema | None = None


# -- JSON types ----------------------------------------------------------------------------

#: A set of JSON type names, or None where a schema allows any type (or cannot tell).
Types = frozenset[str] | None

_ARTICLES = {"string": "a string", "number": "a number", "integer": "an integer", "boolean": "a boolean"}
_ARTICLES |= {"object": "an object", "array": "an array", "null": "null"}
_CONTAINERS = frozenset({"object", "array"})


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, Mapping):
        return "object"
    return "array"


def _kinds(types: Iterable[str]) -> str:
    """``{"string", "null"}`` as ``"a string or null"``, in a stable order."""
    words = [_ARTICLES.get(t, repr(t)) for t in sorted(types)]
    return " or ".join(words) if words else "nothing"


def _value(value: object) -> str:
    """A value as a problem names it: ``the string 'x'``, ``the number 3``, ``an object``."""
    kind = _json_type(value)
    if isinstance(value, str):
        text = repr(value) if len(value) <= 40 else repr(value[:40]) + "..."
        return f"the string {text}"
    if kind in ("integer", "number"):
        return f"the number {value!r}"
    if kind == "boolean":
        return "true" if value else "false"
    return _ARTICLES[kind]


def _widened(types: frozenset[str]) -> frozenset[str]:
    """An integer is a number too."""
    return types | {"number"} if "integer" in types else types


def _share(given: frozenset[str], accepted: frozenset[str]) -> bool:
    given, accepted = _widened(given), _widened(accepted)
    return bool(given & accepted)


# -- walking schemas -----------------------------------------------------------------------


def _pointer(root: Schema, ref: str) -> Schema | None:
    """The schema a local ``$ref`` (``#/$defs/Name``) points to; None for any other."""
    if not ref.startswith("#"):
        return None
    node: Any = root
    for part in ref[1:].split("/")[1:]:
        part = part.replace("~1", "/").replace("~0", "~")
        if isinstance(node, Mapping) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return None
    return node if isinstance(node, Mapping) else None


def _branches(root: Schema, schema: Any, seen: int = 0) -> list[Schema] | None:
    """The alternatives a schema stands for: ``$ref`` followed, ``anyOf``/``oneOf`` spread.

    Returns:
        The alternatives, or None where one allows anything this check can read.
    """
    if schema is True or (isinstance(schema, Mapping) and not schema):
        return None
    if not isinstance(schema, Mapping) or seen > 32:  # a boolean false, or $refs in a loop
        return None
    if "$ref" in schema:
        target = _pointer(root, schema["$ref"])
        return None if target is None else _branches(root, target, seen + 1)
    for key in ("anyOf", "oneOf"):
        if isinstance(schema.get(key), list):
            found: list[Schema] = []
            for branch in schema[key]:
                inner = _branches(root, branch, seen + 1)
                if inner is None:
                    return None
                found += inner
            return found
    all_of = schema.get("allOf")
    if isinstance(all_of, list) and len(all_of) == 1 and "type" not in schema and "properties" not in schema:
        return _branches(root, all_of[0], seen + 1)
    return [schema]


def _types(schema: Schema) -> Types:
    """The JSON types one alternative (see :func:`_branches`) allows; None: any."""
    declared = schema.get("type")
    if isinstance(declared, str):
        return frozenset({declared})
    if isinstance(declared, list):
        return frozenset(t for t in declared if isinstance(t, str))
    if "const" in schema:
        return frozenset({_json_type(schema["const"])})
    if isinstance(schema.get("enum"), list):
        return frozenset(_json_type(v) for v in schema["enum"])
    if "properties" in schema:
        return frozenset({"object"})
    if "items" in schema or "prefixItems" in schema:
        return frozenset({"array"})
    return None


def _union_types(branches: list[Schema] | None) -> Types:
    if branches is None:
        return None
    found: set[str] = set()
    for branch in branches:
        types = _types(branch)
        if types is None:
            return None
        found |= types
    return frozenset(found)


class _Undeclared(Exception):
    """A reference's path leaves what the producer's output schema declares."""


def _step(root: Schema, branch: Schema, segment: str, where: str, owner: str) -> list[Schema] | None:
    """What one alternative holds at ``segment``: its alternatives, or None for anything.

    Raises:
        _Undeclared: This alternative declares nothing there; the message says why.
    """
    types = _types(branch)
    if types is not None and not types & _CONTAINERS:
        raise _Undeclared(f"{where} is {_kinds(types)}, which has no key {segment!r}")
    properties = branch.get("properties")
    if isinstance(properties, Mapping) and segment in properties:
        return _branches(root, properties[segment])
    if segment.isdigit() and (types is None or "array" in types):
        prefix = branch.get("prefixItems")
        if isinstance(prefix, list) and int(segment) < len(prefix):
            return _branches(root, prefix[int(segment)])
        if "items" in branch:
            return _branches(root, branch["items"])
        return None
    if types is not None and "object" not in types:
        raise _Undeclared(f"{where} is an array, and {segment!r} is not an index")
    patterns = branch.get("patternProperties")
    if isinstance(patterns, Mapping):
        for pattern, sub in patterns.items():
            try:
                if re.search(pattern, segment):
                    return _branches(root, sub)
            except re.error:
                return None
    extra = branch.get("additionalProperties")
    if isinstance(extra, Mapping):
        return _branches(root, extra)
    if isinstance(properties, Mapping) and properties:
        listed = ", ".join(sorted(properties))
        what = f"the output of {owner!r}" if where.endswith("]") else where
        raise _Undeclared(f"{what} has no property {segment!r} (its properties: {listed})")
    return None


def _output_types(ref: Reference, output: Schema, owner: str) -> Types:
    """The JSON types a reference takes by its producer's output schema; None: any.

    Raises:
        _Undeclared: The schema does not declare the reference's path.
    """
    current = _branches(output, output)
    for depth, segment in enumerate(ref.path):
        if current is None:
            return None
        where = "$OUTPUT[" + ref.task_id + "]" + "".join("." + p for p in ref.path[:depth])
        following: list[Schema] = []
        first: _Undeclared | None = None
        for branch in current:
            try:
                found = _step(output, branch, segment, where, owner)
            except _Undeclared as exc:
                first = first or exc
                continue
            if found is None:
                return None
            following += found
        if not following:
            assert first is not None
            raise first
        current = following
    return _union_types(current)


def _accepted_types(schema: Schema, path: Sequence[object]) -> Types:
    """What the input schema accepts at an argument's path; None: anything (or it cannot tell)."""
    current = _branches(schema, schema)
    for key in path:
        if current is None:
            return None
        following: list[Schema] = []
        for branch in current:
            try:
                found = _step(schema, branch, str(key), "", "")
            except _Undeclared:
                continue  # the literal check reports what the schema forbids
            if found is None:
                return None
            following += found
        if not following:
            return None
        current = following
    return _union_types(current)


# -- problems in words ---------------------------------------------------------------------


def _path(keys: Iterable[object]) -> str:
    return "arguments" + "".join(_segment(k) for k in keys)


def _words(error: jsonschema.exceptions.ValidationError, tool: str) -> Iterator[tuple[tuple[object, ...], str]]:
    """One jsonschema error as ``(path, problem)`` pairs, in dagexec's words where they are common."""
    path = tuple(error.absolute_path)
    kind = error.validator
    expected: Any = error.validator_value
    instance: Any = error.instance
    if kind == "type":
        types = [expected] if isinstance(expected, str) else list(expected)
        yield path, f"expected {_kinds(types)}, got {_value(instance)}"
    elif kind == "required" and isinstance(instance, Mapping):
        for name in expected:
            if name not in instance:
                yield (*path, name), "missing (required)"
    elif kind == "enum":
        yield path, f"expected one of {', '.join(repr(v) for v in expected)}, got {_value(instance)}"
    elif kind == "const":
        yield path, f"expected {expected!r}, got {_value(instance)}"
    elif kind == "additionalProperties" and isinstance(instance, Mapping) and expected is False:
        schema = error.schema if isinstance(error.schema, Mapping) else {}
        properties = schema.get("properties") or {}
        patterns = schema.get("patternProperties") or {}
        listed = ", ".join(sorted(properties)) or "none"
        where = f"allowed here (allowed: {listed})" if path else f"an argument of {tool!r} (its arguments: {listed})"
        for name in instance:
            if name not in properties and not any(re.search(p, name) for p in patterns):
                yield (*path, name), f"not {where}"
    else:
        yield path, error.message


def _problems(
    errors: Iterable[jsonschema.exceptions.ValidationError], tool: str
) -> list[tuple[tuple[object, ...], str]]:
    """Errors in words, sorted by path; where a value has the wrong type, that alone is said of it."""
    found = [(tuple(e.absolute_path), e.validator == "type", e) for e in errors]
    mistyped = {path for path, typed, _ in found if typed}
    said = [
        pair
        for path, typed, error in found
        if typed or path not in mistyped
        for pair in _words(error, tool)
    ]
    said.sort(key=lambda pair: _path(pair[0]))
    return said


# -- the check -----------------------------------------------------------------------------


class _Tool:
    """One tool's schemas and its input validator (built once, on first use)."""

    __slots__ = ("input", "name", "output", "validator")

    def __init__(self, name: str, schemas: ToolSchemas) -> None:
        self.name = name
        self.input = dict(schemas.input) if schemas.input is not None else None
        self.output = schemas.output
        self.validator: jsonschema.protocols.Validator | None = None
        if self.input is not None:
            cls = jsonschema.validators.validator_for(self.input, default=jsonschema.Draft202012Validator)
            try:
                cls.check_schema(self.input)
            except jsonschema.exceptions.SchemaError:
                self.input = None  # not a schema at all: the tool is not checked
            else:
                self.validator = cls(self.input)


def _view(value: Any, path: tuple[object, ...], refs: list[tuple[tuple[object, ...], Reference, bool]]) -> Any:
    """The arguments as the check before the run sees them, and where their references stand.

    A whole-value reference stays as it is (what is found under it is not
    reported: its type is checked apart); a string with references inside stays
    a string; ``$$OUTPUT[`` becomes the ``$OUTPUT[`` it stands for.
    """
    if isinstance(value, str):
        if _MARK not in value:
            return value
        whole = REFERENCE.fullmatch(value)
        if whole is not None:
            refs.append((path, _reference(whole.group(1), whole.group(2)), True))
            return value

        def text(match: re.Match[str]) -> str:
            if match.group(1) is not None:
                return _MARK
            if match.group(2) is not None:
                refs.append((path, _reference(match.group(2), match.group(3)), False))
            return match.group(0)

        return _TOKEN.sub(text, value)
    if isinstance(value, Mapping):
        return {key: _view(item, (*path, key), refs) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_view(item, (*path, i), refs) for i, item in enumerate(value)]
    return value


def _under(path: tuple[object, ...], place: tuple[object, ...]) -> bool:
    return path[: len(place)] == place


class SchemaCheck:
    """The schemas of every tool of an executor's servers, and the checks that use them.

    Args:
        schemas: Each server's tools, by name, with their :class:`ToolSchemas`.
    """

    def __init__(self, schemas: Mapping[str, Mapping[str, ToolSchemas]]) -> None:
        self._schemas = {
            f"{server}:{name}": tool
            for server, tools in schemas.items()
            for name, tool in tools.items()
            if tool.input is not None or tool.output is not None
        }
        self._tools: dict[str, _Tool] = {}

    def __bool__(self) -> bool:
        """Whether any tool has a schema: without one, there is nothing to check."""
        return bool(self._schemas)

    def _tool(self, tool: str) -> _Tool | None:
        found = self._tools.get(tool)
        if found is None:
            schemas = self._schemas.get(tool)
            if schemas is None:
                return None
            found = self._tools[tool] = _Tool(tool, schemas)
        return found

    def plan_problems(self, tasks: Iterable[Task], producer: Callable[[str], Task | None]) -> list[ArgumentProblem]:
        """Every problem of the tasks' arguments, task by task.

        Args:
            tasks: The tasks to check.
            producer: Gives the task of an id that a reference names (None if unknown).
        """
        problems: list[ArgumentProblem] = []
        schemas = self._schemas
        for task in tasks:
            if task.tool not in schemas and not task.references:
                continue  # no schema, no reference: nothing to check, at the cost of one look-up
            found = self._task_problems(task, producer)
            found.sort(key=lambda pair: _path(pair[0]))
            problems += (ArgumentProblem(task.id, _path(path), problem) for path, problem in found)
        return problems

    def _task_problems(
        self, task: Task, producer: Callable[[str], Task | None]
    ) -> list[tuple[tuple[object, ...], str]]:
        tool = self._tool(task.tool)
        refs: list[tuple[tuple[object, ...], Reference, bool]] = []
        arguments = task.arguments
        instance = _view(arguments, (), refs) if task.needs_resolving else arguments
        found: list[tuple[tuple[object, ...], str]] = []
        if tool is not None and tool.validator is not None:
            if not isinstance(instance, dict):
                instance = dict(instance)
            errors = tool.validator.iter_errors(instance)
            found += _problems((e for e in errors if not (refs and self._hidden(e, refs))), task.tool)
        for path, ref, whole in refs:
            source = producer(ref.task_id)
            output_tool = self._tool(source.tool) if source is not None else None
            if output_tool is None or output_tool.output is None:
                continue
            try:
                given = _output_types(ref, output_tool.output, output_tool.name)
            except _Undeclared as exc:
                found.append((path, f"{ref}: {exc}"))
                continue
            if not whole or given is None or tool is None or tool.input is None:
                continue
            accepted = _accepted_types(tool.input, path)
            if accepted is not None and not _share(given, accepted):
                found.append(
                    (
                        path,
                        f"expected {_kinds(accepted)}, and {ref} is {_kinds(given)} "
                        f"(the output schema of {output_tool.name!r})",
                    )
                )
        return found

    @staticmethod
    def _hidden(
        error: jsonschema.exceptions.ValidationError, refs: list[tuple[tuple[object, ...], Reference, bool]]
    ) -> bool:
        """Whether an error is about a reference's stand-in, not about the plan's own values."""
        path = tuple(error.absolute_path)
        for place, _, whole in refs:
            if _under(path, place):
                if whole or error.validator != "type":
                    return True
            elif error.context and _under(place, path):
                return True  # an anyOf/oneOf above a reference: its branches cannot be told apart yet
        return False

    def call_problems(self, task: Task, arguments: Mapping[str, Any]) -> str | None:
        """What is wrong with a task's resolved arguments, in one line; None if they fit.

        Checked after references are resolved and before the call, where the
        output schemas could not tell in advance.
        """
        tool = self._tool(task.tool)
        if tool is None or tool.validator is None:
            return None
        if tool.validator.is_valid(arguments):
            return None
        found = _problems(tool.validator.iter_errors(arguments), task.tool)
        return "; ".join(f"{_path(path)}: {problem}" for path, problem in found)
