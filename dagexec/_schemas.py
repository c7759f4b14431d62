"""Typed plans: each call checked against its tool's JSON schemas. No trio, no I/O.

A tool server may publish each tool's input and output schema
(:class:`ToolSchemas`). Each schema is compiled once, by ``jsonschema-rs``, into
a validator that every run and every gateway plan shares (:func:`compiled`,
keyed by the schema's content), when its server lists its tools
(:func:`prepare`). Before a run, :meth:`SchemaCheck.plan_problems` checks every
task of a plan at once, within a time budget:

- its literal arguments against the tool's input schema (the draft the schema
  names; 2020-12 when it names none); where a reference stands for a whole
  value, a JSON placeholder stands in, and the errors at and under it are set
  aside;
- each ``$OUTPUT[...]`` reference against the output schema of the task it
  reads: a path that schema does not declare is a problem wherever the
  reference stands, and a whole-value reference must share a JSON type with
  what the argument it stands for accepts (a reference inside a longer string
  is a string, checked as such).

While a run goes on, :meth:`SchemaCheck.call_problems` checks a task's resolved
arguments before its call, as the JSON they become: what no output schema
could tell in advance.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import time
import warnings
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import unquote

import attrs
from pydantic_core import to_jsonable_python

from ._errors import ArgumentProblem, SchemaWarning
from ._refs import _MARK, _TOKEN, REFERENCE, Reference, _reference, _segment
from ._words import json_type, kinds, named
from ._workflow import Task

if TYPE_CHECKING:  # imported where the first schema is compiled: importing dagexec does not pay for it
    import jsonschema_rs

__all__ = ["SchemaCheck", "ToolSchemas", "compiled", "prepare"]

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


# -- compiled validators, shared by content -------------------------------------------------

#: How many compiled schemas are kept (the least recently used goes first)...
CACHE_SIZE = 1024
#: ...and how many bytes of schema text they may add up to.
CACHE_BYTES = 64_000_000


@attrs.frozen
class Compiled:
    """A schema's validator, or why the schema does not compile."""

    validator: jsonschema_rs.Validator | None
    reason: str | None = None


#: Each schema's validator, and its size, by the SHA-256 of its canonical JSON text.
_by_content: OrderedDict[bytes, tuple[Compiled, int]] = OrderedDict()
_content_bytes = 0
#: The same, by the identity of a schema object (kept alive here, so its id is not reused):
#: a server's schemas are compiled when it lists its tools, and every executor finds them
#: without writing them out again.
_by_identity: OrderedDict[int, tuple[object, Compiled, int]] = OrderedDict()
_identity_bytes = 0


def _refuse(uri: str) -> Any:
    """The validators' retriever: dagexec never fetches a schema, from the network or a file."""
    raise ValueError(f"{uri} is not fetched (dagexec reads no remote schema)")


def _compile(schema: Schema) -> Compiled:
    import jsonschema_rs

    try:
        # Formats are annotations, as for jsonschema by default: "format" asserts nothing.
        validator = jsonschema_rs.validator_for(dict(schema), retriever=_refuse, validate_formats=False)
    except (ValueError, jsonschema_rs.ReferencingError, RecursionError) as exc:
        reason = str(exc).strip().split("\n", 1)[0] or type(exc).__name__
        where = getattr(exc, "instance_path", None)  # of a schema that breaks the draft's meta-schema
        return Compiled(None, f"at /{'/'.join(map(str, where))}: {reason}" if where else reason)
    return Compiled(validator)


def compiled(schema: Schema) -> Compiled:
    """The validator of a schema: compiled on first sight, then shared by content.

    At most :data:`CACHE_SIZE` are kept, of :data:`CACHE_BYTES` of schema text
    in all. A remote ``$ref`` is never fetched: a schema that needs one does
    not compile.
    """
    global _content_bytes, _identity_bytes
    entry = _by_identity.get(id(schema))
    if entry is not None and entry[0] is schema:
        return entry[1]
    try:
        text = json.dumps(schema, sort_keys=True, separators=(",", ":"), allow_nan=False).encode()
    except (TypeError, ValueError, RecursionError) as exc:
        found, text = Compiled(None, f"not JSON: {exc}"), b""
    else:
        key = hashlib.sha256(text).digest()
        cached = _by_content.get(key)
        if cached is None:
            found = _compile(schema)
            _by_content[key] = (found, len(text))
            _content_bytes += len(text)
            while len(_by_content) > 1 and (len(_by_content) > CACHE_SIZE or _content_bytes > CACHE_BYTES):
                _content_bytes -= _by_content.popitem(last=False)[1][1]
        else:
            found = cached[0]
            _by_content.move_to_end(key)
    _by_identity[id(schema)] = (schema, found, len(text))
    _identity_bytes += len(text)
    while len(_by_identity) > 1 and (len(_by_identity) > CACHE_SIZE or _identity_bytes > CACHE_BYTES):
        _identity_bytes -= _by_identity.popitem(last=False)[1][2]
    return found


def prepare(server: str, tools: Mapping[str, ToolSchemas]) -> dict[str, ToolSchemas]:
    """Compile each schema of a server's tools; drop, with one warning each, those that do not compile.

    Called when a server lists its tools, so that no plan pays for compiling.

    Returns:
        The tools' schemas, each that does not compile replaced by None: the
        tool is treated as having no such schema.
    """
    kept: dict[str, ToolSchemas] = {}
    for name, tool in tools.items():
        given = {"input": tool.input, "output": tool.output}
        for which, schema in list(given.items()):
            if schema is None:
                continue
            found = compiled(schema)
            if found.reason is not None:
                warnings.warn(SchemaWarning(server, name, which, found.reason), stacklevel=2)
                given[which] = None
        kept[name] = tool if given == {"input": tool.input, "output": tool.output} else ToolSchemas(**given)
    return kept


def as_json(value: Any) -> Any:
    """A value as the JSON it becomes when sent (``Counter`` an object, ``IntEnum`` a number, tuples arrays).

    A part with no JSON form (a local tool's output need not be JSON) becomes
    :data:`OPAQUE`, which the checks do not judge.
    """
    return to_jsonable_python(value, fallback=_opaque)


def to_json(value: Any) -> Any:
    """A value as the JSON it becomes, as :func:`as_json`; a part with no JSON form raises ``ValueError``."""
    return to_jsonable_python(value)


#: What stands for a value with no JSON form in the arguments checked.
OPAQUE = "\x00dagexec: a value with no JSON form\x00"


def _opaque(value: Any) -> Any:
    return OPAQUE


# -- walking schemas (for the types of references, without expanding alternatives) -------

#: A set of JSON type names, or None where a schema allows any type (or cannot tell).
Types = frozenset[str] | None

_CONTAINERS = frozenset({"object", "array"})

#: At most this many alternatives are followed at one place of a path; past it, anything goes.
MAX_BRANCHES = 64


def _widened(types: frozenset[str]) -> frozenset[str]:
    """An integer is a number too."""
    return types | {"number"} if "integer" in types else types


def _share(given: frozenset[str], accepted: frozenset[str]) -> bool:
    given, accepted = _widened(given), _widened(accepted)
    return bool(given & accepted)


def _pointer(root: Schema, ref: str) -> Schema | None:
    """The schema a local JSON-pointer ``$ref`` (``#/$defs/Name``) points to; None for any other.

    Anchors (``#name``) and remote references are not followed here: the
    reference is then read as allowing anything (the validator resolves them).
    """
    if ref == "#":
        return root
    if not ref.startswith("#/"):
        return None
    node: Any = root
    for raw in ref[2:].split("/"):
        part = unquote(raw).replace("~1", "/").replace("~0", "~")
        if isinstance(node, Mapping) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return None
    return node if isinstance(node, Mapping) else None


class _Walk:
    """The alternatives of the schemas under one root, each worked out once.

    A nested ``anyOf`` through ``$ref`` names the same schemas again and again:
    alternatives are kept by identity, so a path's set of them stays as large
    as the schema, never the product of its levels (and at most
    :data:`MAX_BRANCHES`).
    """

    def __init__(self, root: Schema) -> None:
        self.root = root
        self._memo: dict[int, list[Schema] | None] = {}

    def branches(self, schema: Any) -> list[Schema] | None:
        """The alternatives a schema stands for: ``$ref`` followed, ``anyOf``/``oneOf`` spread.

        Returns:
            The alternatives, or None where one allows anything this check can read.
        """
        key = id(schema)
        if key in self._memo:
            return self._memo[key]
        self._memo[key] = None  # while it is worked out: a $ref loop reads as "anything"
        found = self._branches(schema)
        self._memo[key] = found
        return found

    def _branches(self, schema: Any) -> list[Schema] | None:
        if not isinstance(schema, Mapping) or not schema:
            return None  # true, {}, or false: nothing this check can tell
        if "$id" in schema and schema is not self.root:
            return None  # its $refs resolve against its own base: left to the validator
        if "$ref" in schema:
            ref = schema["$ref"]
            target = _pointer(self.root, ref) if isinstance(ref, str) else None
            return None if target is None else self.branches(target)
        for key in ("anyOf", "oneOf"):
            if isinstance(schema.get(key), list):
                return self.union(self.branches(branch) for branch in schema[key])
        all_of = schema.get("allOf")
        if isinstance(all_of, list) and len(all_of) == 1 and "type" not in schema and "properties" not in schema:
            return self.branches(all_of[0])
        return [schema]

    @staticmethod
    def union(groups: Iterable[list[Schema] | None]) -> list[Schema] | None:
        """Alternatives together, each once; None if one group allows anything, or past the bound."""
        found: dict[int, Schema] = {}
        for group in groups:
            if group is None:
                return None
            for branch in group:
                found.setdefault(id(branch), branch)
            if len(found) > MAX_BRANCHES:
                return None
        return list(found.values())


def _types(schema: Schema) -> Types:
    """The JSON types one alternative (see :meth:`_Walk.branches`) allows; None: any."""
    declared = schema.get("type")
    if isinstance(declared, str):
        return frozenset({declared})
    if isinstance(declared, list):
        return frozenset(t for t in declared if isinstance(t, str))
    if "const" in schema:
        return frozenset({json_type(schema["const"])})
    if isinstance(schema.get("enum"), list):
        return frozenset(json_type(v) for v in schema["enum"])
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


def _step(walk: _Walk, branch: Schema, segment: str, where: str, owner: str) -> list[Schema] | None:
    """What one alternative holds at ``segment``: its alternatives, or None for anything.

    Raises:
        _Undeclared: This alternative declares nothing there; the message says why.
    """
    types = _types(branch)
    if types is not None and not types & _CONTAINERS:
        raise _Undeclared(f"{where} is {kinds(types)}, which has no key {segment!r}")
    properties = branch.get("properties")
    if isinstance(properties, Mapping) and segment in properties:
        return walk.branches(properties[segment])
    if segment.isdigit() and (types is None or "array" in types):
        prefix = branch.get("prefixItems")
        if isinstance(prefix, list) and int(segment) < len(prefix):
            return walk.branches(prefix[int(segment)])
        if "items" in branch:
            return walk.branches(branch["items"])
        return None
    if types is not None and "object" not in types:
        raise _Undeclared(f"{where} is an array, and {segment!r} is not an index")
    if branch.get("patternProperties"):
        # Which pattern a key matches is the validator's business (its regex dialect,
        # bounded in time), not a second engine's here: such a key may hold anything.
        return None
    extra = branch.get("additionalProperties")
    if isinstance(extra, Mapping):
        return walk.branches(extra)
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
    walk = _Walk(output)
    current = walk.branches(output)
    for depth, segment in enumerate(ref.path):
        if current is None:
            return None
        where = "$OUTPUT[" + ref.task_id + "]" + "".join("." + p for p in ref.path[:depth])
        following: list[list[Schema] | None] = []
        first: _Undeclared | None = None
        for branch in current:
            try:
                following.append(_step(walk, branch, segment, where, owner))
            except _Undeclared as exc:
                first = first or exc
        if not following:
            assert first is not None
            raise first
        current = walk.union(following)
    return _union_types(current)


def _accepted(schema: Schema, path: Sequence[object]) -> list[Schema] | None:
    """The alternatives of the input schema at an argument's path; None: anything (or it cannot tell)."""
    walk = _Walk(schema)
    current = walk.branches(schema)
    for key in path:
        if current is None:
            return None
        following: list[list[Schema] | None] = []
        for branch in current:
            try:
                following.append(_step(walk, branch, str(key), "", ""))
            except _Undeclared:
                continue  # the literal check reports what the schema forbids
        if not following:
            return None
        current = walk.union(following)
    return current


#: A placeholder of each JSON type, for a whole-value reference in the check before the run.
_PLACEHOLDERS: dict[str, Any] = {"string": "", "integer": 0, "number": 0, "boolean": False, "null": None}


def _placeholder(branches: list[Schema] | None) -> Any:
    """A JSON value that the first alternative likely accepts: errors under it are set aside
    anyway, and a value that fits spares building them (the check is then one ``is_valid``)."""
    if not branches:
        return None
    first = branches[0]
    if "const" in first:
        return first["const"]
    if isinstance(first.get("enum"), list) and first["enum"]:
        return first["enum"][0]
    types = _types(first)
    if not types:
        return None
    kind = sorted(types)[0]
    return {} if kind == "object" else [] if kind == "array" else _PLACEHOLDERS.get(kind)


# -- problems in words ---------------------------------------------------------------------


def _path(keys: Iterable[object]) -> str:
    return "arguments" + "".join(_segment(k) for k in keys)


def _at(root: Schema, where: Sequence[str | int]) -> Schema:
    """The (sub)schema at a validator's ``schema_path`` (a path in the root schema); {} if none."""
    node: Any = root
    for part in where:
        in_object = isinstance(node, Mapping) and part in node
        if in_object or (isinstance(node, list) and isinstance(part, int) and part < len(node)):
            node = node[part]
        else:
            return {}
    return node if isinstance(node, Mapping) else {}


def _words(error: jsonschema_rs.ValidationError, root: Schema, tool: str) -> Iterator[tuple[tuple[object, ...], str]]:
    """One validator error as ``(path, problem)`` pairs, in dagexec's words where they are common."""
    path = tuple(error.instance_path)
    kind: Any = error.kind
    name = kind.name
    instance = error.instance
    if name == "type":
        yield path, f"expected {kinds(kind.types)}, got {named(instance)}"
    elif name == "required":
        yield (*path, kind.property), "missing (required)"
    elif name == "enum":
        yield path, f"expected one of {', '.join(repr(v) for v in kind.options)}, got {named(instance)}"
    elif name == "const":
        yield path, f"expected {kind.expected_value!r}, got {named(instance)}"
    elif name == "additionalProperties":
        schema = _at(root, error.schema_path[:-1])
        properties = schema.get("properties")
        listed = ", ".join(sorted(properties)) if isinstance(properties, Mapping) and properties else "none"
        where = f"allowed here (allowed: {listed})" if path else f"an argument of {tool!r} (its arguments: {listed})"
        for extra in kind.unexpected:
            yield (*path, extra), f"not {where}"
    elif name in _LIMITS:
        yield path, f"expected {_LIMITS[name].format(kind.limit)}, got {_measured(name, instance)}"
    elif name == "pattern":
        yield path, f"expected a string matching {kind.pattern!r}, got {named(instance)}"
    elif name in ("anyOf", "oneOf") and type(kind).__name__ != "OneOfMultipleValid":
        yield path, f"{named(instance)} fits none of the alternatives ({name})"
    elif name == "oneOf":
        yield path, f"{named(instance)} fits more than one of the alternatives (oneOf)"
    else:
        yield path, error.message  # the validator's words, for the rarer keywords


#: Keywords with a limit, in words.
_LIMITS = {
    "minimum": "at least {}", "maximum": "at most {}",
    "exclusiveMinimum": "more than {}", "exclusiveMaximum": "less than {}",
    "minLength": "at least {} characters", "maxLength": "at most {} characters",
    "minItems": "at least {} items", "maxItems": "at most {} items",
    "minProperties": "at least {} properties", "maxProperties": "at most {} properties",
}  # fmt: skip


def _measured(keyword: str, instance: Any) -> str:
    """The value a limit judged, as it measures it (a length, a count)."""
    if keyword.endswith("Length") and isinstance(instance, str):
        return f"{len(instance)} ({named(instance)})"
    if keyword.endswith("Items") and isinstance(instance, list):
        return f"{len(instance)}"
    if keyword.endswith("Properties") and isinstance(instance, Mapping):
        return f"{len(instance)}"
    return named(instance)


def _problems(
    errors: Iterable[jsonschema_rs.ValidationError], root: Schema, tool: str
) -> list[tuple[tuple[object, ...], str]]:
    """Errors in words, sorted by path; where a value has the wrong type, that alone is said of it."""
    found = [(tuple(e.instance_path), e.kind.name == "type", e) for e in errors if e.instance != OPAQUE]
    mistyped = {path for path, typed, _ in found if typed}
    said = [
        pair
        for path, typed, error in found
        if typed or path not in mistyped
        for pair in _words(error, root, tool)
    ]
    said.sort(key=lambda pair: _path(pair[0]))
    return said


# -- the check -----------------------------------------------------------------------------


class _Tool:
    """One tool's schemas, its shared validator, and the placeholders for references in its arguments."""

    __slots__ = ("input", "name", "output", "placeholders", "validator")

    def __init__(self, name: str, schemas: ToolSchemas) -> None:
        self.name = name
        self.input = schemas.input
        self.output = schemas.output
        self.validator = compiled(self.input).validator if self.input is not None else None
        self.placeholders: dict[tuple[object, ...], Any] = {}

    def placeholder(self, path: tuple[object, ...]) -> Any:
        found = self.placeholders.get(path, _UNSEEN)
        if found is _UNSEEN:
            if len(self.placeholders) >= MEMO_SIZE:
                self.placeholders.clear()
            found = self.placeholders[path] = _placeholder(_accepted(self.input, path)) if self.input else None
        return found


#: Where a reference stands in a task's arguments: the keys leading there, the task it
#: reads, its path as written (``".a.0"``), and whether it is the whole value.
Place = tuple[tuple[object, ...], str, str, bool]

_PLAIN = frozenset({str, int, float, bool, type(None)})


def _view(
    value: Mapping[str, Any] | list[Any] | tuple[Any, ...],
    path: tuple[object, ...],
    refs: list[Place],
    placeholder: Callable[[tuple[object, ...]], Any],
) -> Any:
    """The arguments as the check before the run sees them, as JSON, and where their references stand.

    A whole-value reference becomes a JSON placeholder (errors at and under it
    are set aside: its type is checked apart); a string with references inside
    stays a string; ``$$OUTPUT[`` becomes the ``$OUTPUT[`` it stands for.
    """
    items = value.items() if isinstance(value, Mapping) else enumerate(value)
    seen: dict[Any, Any] = {}
    for key, item in items:
        kind = type(item)
        if kind is str:
            seen[key] = _text(item, (*path, key), refs, placeholder) if _MARK in item else item
        elif kind in _PLAIN:
            seen[key] = item
        elif isinstance(item, Mapping | list | tuple):
            seen[key] = _view(item, (*path, key), refs, placeholder)
        else:
            seen[key] = as_json(item)
    return seen if isinstance(value, Mapping) else list(seen.values())


def _text(
    text: str, place: tuple[object, ...], refs: list[Place], placeholder: Callable[[tuple[object, ...]], Any]
) -> Any:
    whole = REFERENCE.fullmatch(text)
    if whole is not None:
        refs.append((place, whole.group(1), whole.group(2), True))
        return placeholder(place)
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
#: errors hold above a reference, whatever it turns out to be (``dependentRequired``
#: is reported as ``required``).
_SHAPE = frozenset(
    {"type", "required", "additionalProperties", "propertyNames", "minProperties", "maxProperties",
     "minItems", "maxItems", "unevaluatedProperties"}
)  # fmt: skip

#: Stands for the id of the task a reference reads, in the messages kept for each path.
_ANY_TASK = "\x00"
_ANONYMOUS = f"$OUTPUT[{_ANY_TASK}]"
_UNSEEN: Any = object()


#: A problem found: where, what, and the id of the task a reference reads (None: not a reference's).
Found = tuple[tuple[object, ...], str, "str | None"]

#: How many worked-out verdicts, types and placeholders a check keeps (past it, it starts again).
MEMO_SIZE = 4096


def _shape(task: Task, producer: Callable[[str], Task | None]) -> tuple[tuple[object, ...], list[str]] | None:
    """A task's shape, and the ids its references read in order; None where it has no simple one.

    Tasks of one shape have the same problems but for the ids: the same tool,
    the same literal values (of flat arguments: strings, numbers, booleans,
    null), the same reference paths at the same places, read from tasks of
    the same tools. The text around a reference is left out: only its type is
    checked before the run (errors under it are set aside).

    The references are those the workflow found when it was built
    (``task.references``, in the order of the arguments), so no argument is
    parsed again: without an escape, each ``$OUTPUT[`` of a string starts one
    of them, and a string exactly as long as its first reference's text is
    that reference, whole.
    """
    parts: list[object] = [task.tool]
    refs = task.references
    n = 0  # the first reference not yet placed
    for key, item in task.arguments.items():
        kind = type(item)
        if kind is str and _MARK in item:
            if _ESCAPE in item:
                return None  # an escape: the general way
            ref = refs[n]
            if len(item) == len(ref.task_id) + len(ref.written) + _MARK_AND_BRACKET:
                parts.append((key, ref.written))
                n += 1
            else:
                count = item.count(_MARK)
                # The ids are left out: the text as written is not the text sent, which only
                # the check before the call can judge; before the run, only its type counts.
                parts.append((key, None, tuple([r.written for r in refs[n : n + count]])))
                n += count
        elif kind in _PLAIN:
            parts.append((key, kind, item))
        else:
            return None
    # The tools of the tasks read, in order (most tasks read one task, many times over).
    ids = [ref.task_id for ref in refs]
    last_id: str | None = None
    last_tool: str | None = None
    for task_id in ids:
        if task_id != last_id:
            source = producer(task_id)
            last_id, last_tool = task_id, source.tool if source is not None else None
        parts.append(last_tool)
    return tuple(parts), ids


#: The escape ``$$OUTPUT[``, and the length of a reference's text but its id and path (``$OUTPUT[`` and ``]``).
_ESCAPE = "$" + _MARK
_MARK_AND_BRACKET = len(_MARK) + 1


def _input_validator(tool: ToolSchemas) -> jsonschema_rs.Validator | None:
    return compiled(tool.input).validator if tool.input is not None else None


def _no_placeholder(path: tuple[object, ...]) -> Any:
    return None


class SchemaCheck:
    """The schemas of every tool of an executor's servers, and the checks that use them.

    Args:
        schemas: Each server's tools, by name, with their :class:`ToolSchemas`.
            Each schema that does not compile is ignored, with a
            :class:`~dagexec.SchemaWarning` (see :func:`prepare`; a server that
            already prepared its schemas is not warned about twice).
    """

    def __init__(self, schemas: Mapping[str, Mapping[str, ToolSchemas]]) -> None:
        self._schemas = {
            f"{server}:{name}": tool
            for server, tools in schemas.items()
            for name, tool in prepare(server, tools).items()
            if tool.input is not None or tool.output is not None
        }
        self._tools: dict[str, _Tool] = {}
        # Each tool's input validator (None: it has none), looked up once per task of literal arguments.
        self._validators = {name: _input_validator(tool) for name, tool in self._schemas.items()}
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

    def plan_problems(
        self, tasks: Iterable[Task], producer: Callable[[str], Task | None], *, budget: float | None = None
    ) -> list[ArgumentProblem]:
        """Every problem of the tasks' arguments, task by task.

        Args:
            tasks: The tasks to check.
            producer: Gives the task of an id that a reference names (None if unknown).
            budget: Seconds the whole check may take (None: no limit). Past it,
                the check stops, and the task it reached is a problem that names
                its tool and its largest argument.
        """
        problems: list[ArgumentProblem] = []
        schemas = self._schemas
        validators = self._validators
        clock = time.perf_counter
        deadline = math.inf if budget is None else clock() + budget
        # What tasks of one shape found (the same tool, literals and reference paths, other
        # ids), for this plan only: a plan repeats a few shapes many times.
        shapes: dict[tuple[object, ...], list[tuple[tuple[object, ...], str, int | None]]] = {}
        found: Sequence[Found]
        for task in tasks:
            if not task.needs_resolving:
                if task.tool not in schemas:
                    continue  # no schema, no reference: nothing to check, at the cost of one look-up
                # Literal arguments: one is_valid, and words only where they do not fit.
                validator = validators[task.tool]
                try:
                    fits = validator is None or validator.is_valid(task.arguments)
                except ValueError:  # a type it cannot read: the general way, through its JSON
                    fits = False
                found = () if fits else self._task_problems(task, producer)
            else:
                shape = _shape(task, producer)
                if shape is None:
                    found = self._task_problems(task, producer)
                else:
                    key, ids = shape
                    known = shapes.get(key)
                    if known is None:
                        # Found with the ids' positions in place of the ids, to be read with any task's ids.
                        found = self._task_problems(task, producer)
                        known = shapes[key] = [
                            (path, problem, None if i is None else ids.index(i)) for path, problem, i in found
                        ]
                    found = [(path, problem, ids[n] if n is not None else None) for path, problem, n in known]
            if found:
                problems += (
                    ArgumentProblem(
                        task.id, _path(path), problem if ref is None else problem.replace(_ANONYMOUS, f"$OUTPUT[{ref}]")
                    )
                    for path, problem, ref in sorted(found, key=lambda item: _path(item[0]))
                )
            if clock() > deadline:
                assert budget is not None
                problems.append(_over_budget(task, budget))
                break
        return problems

    def _task_problems(self, task: Task, producer: Callable[[str], Task | None]) -> list[Found]:
        """A task's problems; each of a reference names the task it reads, and says ``_ANONYMOUS`` for it."""
        tool = self._tool(task.tool)
        refs: list[Place] = []
        instance: Any = task.arguments
        if task.needs_resolving:
            instance = _view(instance, (), refs, tool.placeholder if tool is not None else _no_placeholder)
        found: list[Found] = []
        if tool is not None and tool.validator is not None:
            assert tool.input is not None
            validator = tool.validator
            try:
                valid = validator.is_valid(instance)
            except ValueError:  # a type it cannot read (a mapping proxy, a local tool's object)
                instance = as_json(instance)
                valid = validator.is_valid(instance)
            if not valid:
                errors = validator.iter_errors(instance)
                said = _problems((e for e in errors if not (refs and self._hidden(e, refs))), tool.input, task.tool)
                found += ((path, problem, None) for path, problem in said)
        verdicts = self._verdicts
        for path, task_id, written, whole in refs:
            source = producer(task_id)
            if source is None:
                continue
            key = (task.tool, source.tool, written, path, whole)
            verdict = verdicts.get(key, _UNSEEN)
            if verdict is _UNSEEN:
                if len(verdicts) >= MEMO_SIZE:
                    verdicts.clear()  # bounded: a gateway's executor lives long, its plans are untrusted
                verdict = verdicts[key] = self._verdict(tool, source.tool, written, path, whole)
            if verdict is not None:
                found.append((path, verdict, task_id))
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
        accepted = _union_types(_accepted(tool.input, path))
        if accepted is None or _share(given, accepted):
            return None
        return (
            f"expected {kinds(accepted)}, and {_ANONYMOUS}{written} is {kinds(given)} "
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
            if len(self._given) >= MEMO_SIZE:
                self._given.clear()
            self._given[key] = found
        return cast(Types | str, found)

    @staticmethod
    def _hidden(error: jsonschema_rs.ValidationError, refs: list[Place]) -> bool:
        """Whether an error is about a reference's placeholder, not about the plan's own values."""
        path = tuple(error.instance_path)
        keyword = error.kind.name
        for place, _, _, whole in refs:
            if _under(path, place):
                if whole or keyword != "type":
                    return True  # a reference's value, or text around one: not known yet
            elif whole and _under(place, path) and keyword not in _SHAPE:
                return True  # above a reference, a keyword that reads its value (enum, oneOf...)
        return False

    def call_problems(self, task: Task, arguments: Mapping[str, Any]) -> str | None:
        """What is wrong with a task's resolved arguments, in one line; None if they fit.

        Checked after references are resolved and before the call, where the
        output schemas could not tell in advance, as the JSON the arguments
        become (see :func:`as_json`).
        """
        validator = self._validators.get(task.tool)
        if validator is None:
            return None
        # Flat arguments of exact JSON types (the usual case) are their own JSON: no copy.
        exact = type(arguments) is dict and _PLAIN.issuperset(map(type, arguments.values()))
        instance = arguments if exact else as_json(arguments)
        if validator.is_valid(instance):
            return None
        schema = self._schemas[task.tool].input
        assert schema is not None
        found = _problems(validator.iter_errors(instance), schema, task.tool)
        if not found:
            return None  # only values with no JSON form were refused: they are not judged
        return "; ".join(f"{_path(path)}: {problem}" for path, problem in found)


def _over_budget(task: Task, budget: float) -> ArgumentProblem:
    """The problem of the task a plan's check reached when its budget ran out."""

    def size(item: tuple[str, Any]) -> int:
        return len(json.dumps(item[1], default=repr))

    largest = max(task.arguments.items(), key=size, default=None)
    where = _path((largest[0],)) if largest is not None else "arguments"
    return ArgumentProblem(
        task.id,
        where,
        f"not checked: the check of the plan passed its budget of {budget:g} s at this task "
        f"(tool {task.tool!r}); the tasks after it were not checked either",
    )
