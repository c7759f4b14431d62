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
from typing import TYPE_CHECKING, Any, cast

import attrs

from ._errors import ArgumentProblem
from ._refs import _MARK, _TOKEN, REFERENCE, Reference, _reference, _segment
from ._workflow import Task

if TYPE_CHECKING:  # imported where the first validator is built: importing dagexec does not pay for it
    import jsonschema.exceptions
    import jsonschema.protocols

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


# -- the fast path ------------------------------------------------------------------------

#: Where a whole-value reference stands in the arguments checked before the run:
#: every keyword lets it pass (its type is checked apart, against the output schema).
STAND_IN: Any = type("StandIn", (), {"__repr__": lambda self: "<a reference>"})()

Accepts = Callable[[Any], bool]

#: Keywords that say nothing about a value (annotations, and ``format``, which
#: jsonschema does not assert by default).
_ANNOTATIONS = frozenset(
    {
        "title", "description", "default", "examples", "$schema", "$id", "$comment", "$defs",
        "definitions", "format", "deprecated", "readOnly", "writeOnly", "contentMediaType",
        "contentEncoding", "$anchor",
    }
)  # fmt: skip
_FAST = _ANNOTATIONS | {
    "$ref", "type", "enum", "const", "properties", "required", "additionalProperties", "items",
    "anyOf", "allOf", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "minLength",
    "maxLength", "pattern", "minItems", "maxItems",
}  # fmt: skip
#: The drafts whose keywords above mean what the fast path takes them to mean.
_FAST_DRAFTS = frozenset(
    {
        "https://json-schema.org/draft/2020-12/schema", "https://json-schema.org/draft/2019-09/schema",
        "http://json-schema.org/draft-07/schema#", "http://json-schema.org/draft-06/schema#",
        "http://json-schema.org/draft-07/schema", "http://json-schema.org/draft-06/schema",
    }
)  # fmt: skip
_TYPE_TESTS: dict[str, Accepts] = {
    "string": lambda v: type(v) is str,
    "integer": lambda v: type(v) is int,
    "number": lambda v: type(v) is int or type(v) is float,
    "boolean": lambda v: type(v) is bool,
    "null": lambda v: v is None,
    "array": lambda v: type(v) is list,
    "object": lambda v: type(v) is dict,
}
_SCALAR_TYPES = (str, int, float, bool, type(None))


class _Unsupported(Exception):
    """A keyword the fast path does not read: jsonschema alone decides for this tool."""


def fast_accepts(schema: Schema) -> Accepts | None:
    """A quick test that accepts only what jsonschema accepts too, for the keywords most tools use.

    jsonschema decides: where the test says no (or cannot be built), the
    arguments go to jsonschema, which finds the problems, if any. The test is
    what keeps the check within microseconds for a plan's many valid calls.

    Returns:
        The test, or None where the schema uses a keyword (or a draft) it does not read.
    """
    draft = schema.get("$schema")
    if draft is not None and draft not in _FAST_DRAFTS:
        return None
    try:
        return _compile(schema, schema, {})
    except _Unsupported:
        return None


def _compile(root: Schema, node: Any, memo: dict[int, Accepts]) -> Accepts:
    if node is True:
        return _anything
    if not isinstance(node, Mapping) or not node.keys() <= _FAST:
        raise _Unsupported
    tests: list[Accepts] = []
    if "$ref" in node:
        tests.append(_compile_ref(root, node["$ref"], memo))
    if "type" in node:
        tests.append(_compile_type(node["type"]))
    for key in ("enum", "const"):
        if key in node:
            tests.append(_compile_values(node["enum"] if key == "enum" else [node["const"]]))
    for key, combine in (("anyOf", any), ("allOf", all)):
        if key in node:
            if not isinstance(node[key], list):
                raise _Unsupported
            parts = [_compile(root, sub, memo) for sub in node[key]]
            tests.append(lambda v, parts=parts, combine=combine: combine(part(v) for part in parts))  # type: ignore[misc]
    tests += _bounds(node)
    object_test = _compile_object(root, node, memo)
    if object_test is not None:
        tests.append(object_test)
    if "items" in node:
        items = _compile(root, node["items"], memo)
        tests.append(lambda v: type(v) is not list or all(items(x) for x in v))
    if not tests:
        return _anything
    if len(tests) == 1:
        only = tests[0]
        return lambda v: v is STAND_IN or only(v)
    return lambda v: v is STAND_IN or all(test(v) for test in tests)


def _anything(value: Any) -> bool:
    return True


def _compile_type(declared: Any) -> Accepts:
    names = [declared] if isinstance(declared, str) else declared
    if not isinstance(names, list) or not all(isinstance(n, str) and n in _TYPE_TESTS for n in names):
        raise _Unsupported
    kinds = [_TYPE_TESTS[n] for n in names]
    return kinds[0] if len(kinds) == 1 else lambda v: any(k(v) for k in kinds)


def _compile_values(values: Any) -> Accepts:
    if not isinstance(values, list) or not all(isinstance(x, _SCALAR_TYPES) for x in values):
        raise _Unsupported
    allowed = frozenset((type(x), x) for x in values)
    return lambda v: isinstance(v, _SCALAR_TYPES) and (type(v), v) in allowed


def _compile_ref(root: Schema, ref: Any, memo: dict[int, Accepts]) -> Accepts:
    target = _pointer(root, ref) if isinstance(ref, str) else None
    if target is None:
        raise _Unsupported
    key = id(target)
    if key not in memo:
        cell: list[Accepts] = []
        memo[key] = lambda v: cell[0](v)  # a schema that refers to itself: filled in below
        cell.append(_compile(root, target, memo))
    return memo[key]


def _compile_object(root: Schema, node: Mapping[str, Any], memo: dict[int, Accepts]) -> Accepts | None:
    properties = node.get("properties", {})
    required = node.get("required", [])
    extra = node.get("additionalProperties", True)
    if not (isinstance(properties, Mapping) and isinstance(required, list)):
        raise _Unsupported
    if not properties and not required and extra is True:
        return None
    known = {name: _compile(root, sub, memo) for name, sub in properties.items()}
    other: Accepts | None = None
    if extra is False:
        other = _nothing
    elif extra is not True:
        other = _compile(root, extra, memo)

    def test(value: Any) -> bool:
        if type(value) is not dict:
            return True  # object keywords hold only for objects
        for name in required:
            if name not in value:
                return False
        for name, item in value.items():
            check = known.get(name, other)
            if check is not None and not check(item):
                return False
        return True

    return test


def _nothing(value: Any) -> bool:
    return False


def _numeric(value: Any) -> bool:
    return type(value) is int or type(value) is float


def _bounds(node: Mapping[str, Any]) -> list[Accepts]:
    tests: list[Accepts] = []
    for key in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "minLength", "maxLength"):
        if key in node and not _numeric(node[key]):
            raise _Unsupported  # draft 4's boolean exclusiveMinimum among others
    for key in ("minItems", "maxItems"):
        if key in node and not _numeric(node[key]):
            raise _Unsupported
    if "minimum" in node:
        low = node["minimum"]
        tests.append(lambda v: not _numeric(v) or v >= low)
    if "maximum" in node:
        high = node["maximum"]
        tests.append(lambda v: not _numeric(v) or v <= high)
    if "exclusiveMinimum" in node:
        above = node["exclusiveMinimum"]
        tests.append(lambda v: not _numeric(v) or v > above)
    if "exclusiveMaximum" in node:
        below = node["exclusiveMaximum"]
        tests.append(lambda v: not _numeric(v) or v < below)
    if "minLength" in node:
        shortest = node["minLength"]
        tests.append(lambda v: type(v) is not str or len(v) >= shortest)
    if "maxLength" in node:
        longest = node["maxLength"]
        tests.append(lambda v: type(v) is not str or len(v) <= longest)
    if "pattern" in node:
        try:
            pattern = re.compile(node["pattern"])
        except (re.error, TypeError):
            raise _Unsupported from None
        tests.append(lambda v: type(v) is not str or pattern.search(v) is not None)
    if "minItems" in node:
        fewest = node["minItems"]
        tests.append(lambda v: type(v) is not list or len(v) >= fewest)
    if "maxItems" in node:
        most = node["maxItems"]
        tests.append(lambda v: type(v) is not list or len(v) <= most)
    return tests


def _passing_stand_in(keyword: Callable[..., Any]) -> Callable[..., Any]:
    def checked(validator: Any, value: Any, instance: Any, schema: Any) -> Any:
        if instance is STAND_IN:
            return None
        return keyword(validator, value, instance, schema)

    return checked


# -- the check -----------------------------------------------------------------------------


class _Tool:
    """One tool's schemas, its validators and its fast test (built once, on first use)."""

    __slots__ = ("accepts", "input", "name", "output", "planned", "validator")

    def __init__(self, name: str, schemas: ToolSchemas) -> None:
        self.name = name
        self.input = dict(schemas.input) if schemas.input is not None else None
        self.output = schemas.output
        #: The draft's validator: for resolved arguments.
        self.validator: jsonschema.protocols.Validator | None = None
        #: The same, letting STAND_IN pass every keyword: for arguments that hold references.
        self.planned: jsonschema.protocols.Validator | None = None
        self.accepts: Accepts | None = None
        if self.input is not None:
            import jsonschema
            import jsonschema.exceptions
            import jsonschema.validators

            cls = jsonschema.validators.validator_for(self.input, default=jsonschema.Draft202012Validator)
            try:
                cls.check_schema(self.input)
            except jsonschema.exceptions.SchemaError:
                self.input = None  # not a schema at all: the tool is not checked
            else:
                self.validator = cls(self.input)
                keywords = {name: _passing_stand_in(fn) for name, fn in cls.VALIDATORS.items()}
                self.planned = jsonschema.validators.extend(cls, keywords)(self.input)  # type: ignore[no-untyped-call]
                self.accepts = fast_accepts(self.input)


#: Where a reference stands in a task's arguments: the keys leading there, the task it
#: reads, its path as written (``".a.0"``), and whether it is the whole value.
Place = tuple[tuple[object, ...], str, str, bool]

_PLAIN = frozenset({int, float, bool, type(None)})


def _view(value: Mapping[str, Any] | list[Any] | tuple[Any, ...], path: tuple[object, ...], refs: list[Place]) -> Any:
    """The arguments as the check before the run sees them, and where their references stand.

    A whole-value reference becomes :data:`STAND_IN`, which every keyword lets
    pass (its type is checked apart); a string with references inside stays a
    string; ``$$OUTPUT[`` becomes the ``$OUTPUT[`` it stands for.
    """
    items = value.items() if isinstance(value, Mapping) else enumerate(value)
    seen: dict[Any, Any] = {}
    for key, item in items:
        kind = type(item)
        if kind is str:
            seen[key] = _text(item, (*path, key), refs) if _MARK in item else item
        elif kind in _PLAIN:
            seen[key] = item
        elif isinstance(item, Mapping | list | tuple):
            seen[key] = _view(item, (*path, key), refs)
        else:
            seen[key] = item
    return seen if isinstance(value, Mapping) else list(seen.values())


def _text(text: str, place: tuple[object, ...], refs: list[Place]) -> Any:
    whole = REFERENCE.fullmatch(text)
    if whole is not None:
        refs.append((place, whole.group(1), whole.group(2), True))
        return STAND_IN
    if "$" + _MARK not in text:
        for match in REFERENCE.finditer(text):
            refs.append((place, match.group(1), match.group(2), False))
        return text

    def unescaped(match: re.Match[str]) -> str:
        if match.group(1) is not None:
            return _MARK
        if match.group(2) is not None:
            refs.append((place, match.group(2), match.group(3), False))
        return match.group(0)

    return _TOKEN.sub(unescaped, text)


def _under(path: tuple[object, ...], place: tuple[object, ...]) -> bool:
    return path[: len(place)] == place


#: Keywords that judge an object's or array's shape, not the values in it: their
#: errors hold above a reference, whatever it turns out to be.
_SHAPE = frozenset(
    {"type", "required", "additionalProperties", "propertyNames", "minProperties", "maxProperties",
     "minItems", "maxItems", "dependentRequired", "unevaluatedProperties"}
)  # fmt: skip

#: Stands for the id of the task a reference reads, in the messages kept for each path.
_ANY_TASK = "\x00"
_ANONYMOUS = f"$OUTPUT[{_ANY_TASK}]"
_UNSEEN: Any = object()


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
        # What each output path gives, and each argument path takes: the same few, for many tasks.
        self._given: dict[tuple[str, str], Types | str] = {}
        self._verdicts: dict[tuple[str, str, str, tuple[object, ...], bool], str | None] = {}

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
        refs: list[Place] = []
        arguments = task.arguments
        instance = _view(arguments, (), refs) if task.needs_resolving else arguments
        if not isinstance(instance, dict):
            instance = dict(instance)
        found: list[tuple[tuple[object, ...], str]] = []
        if tool is not None and tool.planned is not None and not (tool.accepts is not None and tool.accepts(instance)):
            errors = tool.planned.iter_errors(instance)
            found += _problems((e for e in errors if not (refs and self._hidden(e, refs))), task.tool)
        verdicts = self._verdicts
        for path, task_id, written, whole in refs:
            source = producer(task_id)
            if source is None:
                continue
            key = (task.tool, source.tool, written, path, whole)
            verdict = verdicts.get(key, _UNSEEN)
            if verdict is _UNSEEN:
                verdict = verdicts[key] = self._verdict(tool, source.tool, written, path, whole)
            if verdict is not None:
                found.append((path, verdict.replace(_ANONYMOUS, f"$OUTPUT[{task_id}]")))
        return found

    def _verdict(
        self, tool: _Tool | None, source: str, written: str, path: tuple[object, ...], whole: bool
    ) -> str | None:
        """What is wrong with a reference (to the task ``_ANY_TASK``) at ``path``; None: nothing.

        The same for every reference of one path between the same two tools, so
        it is worked out once (a plan repeats a few patterns many times).
        """
        producer = self._tool(source)
        if producer is None or producer.output is None:
            return None
        given = self._given_types(producer, written)
        if isinstance(given, str):
            return given
        if not whole or given is None or tool is None or tool.input is None:
            return None
        accepted = _accepted_types(tool.input, path)
        if accepted is None or _share(given, accepted):
            return None
        return (
            f"expected {_kinds(accepted)}, and {_ANONYMOUS}{written} is {_kinds(given)} "
            f"(the output schema of {producer.name!r})"
        )

    def _given_types(self, producer: _Tool, written: str) -> Types | str:
        """What a reference's path (as written) gives by its producer's output schema.

        Returns:
            Its types (None: any), or the message that says the path is
            undeclared, for a reference to the task ``_ANY_TASK``.
        """
        key = (producer.name, written)
        found = self._given.get(key, _UNSEEN)
        if found is _UNSEEN:
            assert producer.output is not None
            anonymous = _reference(_ANY_TASK, written)
            try:
                found = _output_types(anonymous, producer.output, producer.name)
            except _Undeclared as exc:
                found = f"{anonymous}: {exc}"
            self._given[key] = found
        return cast(Types | str, found)

    @staticmethod
    def _hidden(error: jsonschema.exceptions.ValidationError, refs: list[Place]) -> bool:
        """Whether an error is about a reference's stand-in, not about the plan's own values."""
        path = tuple(error.absolute_path)
        for place, _, _, whole in refs:
            if _under(path, place):
                if whole or error.validator != "type":
                    return True  # a reference's value, or text around one: not known yet
            elif whole and _under(place, path) and error.validator not in _SHAPE:
                return True  # above a reference, a keyword that reads its value (enum, oneOf...)
        return False

    def call_problems(self, task: Task, arguments: Mapping[str, Any]) -> str | None:
        """What is wrong with a task's resolved arguments, in one line; None if they fit.

        Checked after references are resolved and before the call, where the
        output schemas could not tell in advance.
        """
        tool = self._tool(task.tool)
        if tool is None or tool.validator is None:
            return None
        if tool.accepts is not None and tool.accepts(arguments):
            return None
        if tool.validator.is_valid(arguments):
            return None
        found = _problems(tool.validator.iter_errors(arguments), task.tool)
        return "; ".join(f"{_path(path)}: {problem}" for path, problem in found)
