"""A validator's errors as problems in dagexec's words, sorted by path. No trio, no I/O."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from .._json_words import kinds, named
from .._refs import _segment
from .arguments import OPAQUE
from .validators import Schema

if TYPE_CHECKING:
    import jsonschema_rs


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


def _error_in_words(
    error: jsonschema_rs.ValidationError, root: Schema, tool: str
) -> Iterator[tuple[tuple[object, ...], str]]:
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
        for pair in _error_in_words(error, root, tool)
    ]
    said.sort(key=lambda pair: _path(pair[0]))
    return said
