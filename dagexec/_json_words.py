"""JSON types in words: the one vocabulary of schema-check and reference messages.

A value is named by the JSON it becomes (``a string``, ``the number 3``, ``an
object``, ``an array``, ``null``), never by its Python class: a reference's
problem (``$OUTPUT[e] is a string, which has no key 'text'``) and a schema's
(``expected a string, got the number 3``) speak of the same things alike.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

ARTICLES = {"string": "a string", "number": "a number", "integer": "an integer", "boolean": "a boolean"}
ARTICLES |= {"object": "an object", "array": "an array", "null": "null"}

_JSON_KINDS = (str, int, float, type(None), Mapping, Sequence)


def json_type(value: Any) -> str:
    """The JSON type a value becomes: string, integer, number, boolean, object, array or null."""
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


def kinds(types: Iterable[str]) -> str:
    """``{"string", "null"}`` as ``"a string or null"``, in a stable order."""
    words = [ARTICLES.get(t, repr(t)) for t in sorted(types)]
    return " or ".join(words) if words else "nothing"


def kind_of(value: Any) -> str:
    """A value's kind with its article: ``a string``, ``a number`` (an integer too), ``an object``."""
    if not isinstance(value, _JSON_KINDS):
        return f"a Python {type(value).__name__}"  # a local tool's output need not be JSON
    kind = json_type(value)
    return ARTICLES["number" if kind == "integer" else kind]


def named(value: Any) -> str:
    """A value as a problem names it: ``the string 'x'``, ``the number 3``, ``true``, ``an object``."""
    kind = json_type(value)
    if isinstance(value, str):
        text = repr(value) if len(value) <= 40 else repr(value[:40]) + "..."
        return f"the string {text}"
    if kind in ("integer", "number"):
        return f"the number {value!r}"
    if kind == "boolean":
        return "true" if value else "false"
    return ARTICLES[kind]
