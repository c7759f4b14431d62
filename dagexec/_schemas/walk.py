"""Walking JSON schemas: the types a path gives or takes, without expanding alternatives. No trio, no I/O.

Before a run, a reference ``$OUTPUT[t].a.b`` is checked against the output
schema of ``t``: the walk follows ``a`` then ``b`` through ``$ref``,
``anyOf``/``oneOf``, properties and items, and says which JSON types the value
there may have (:func:`_output_types`), or why the schema does not declare it
(:class:`_Undeclared`). The same walk through an input schema gives what an
argument's path accepts (:func:`_accepted`), and a placeholder that fits it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any
from urllib.parse import unquote

from .._json_words import json_type, kinds
from .._refs import Reference
from .validators import Schema

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


def pointer_token(raw: str) -> str:
    """One token of a JSON pointer as written in a ``$ref``, unescaped: URI escapes, then ``~1`` and ``~0``."""
    return unquote(raw).replace("~1", "/").replace("~0", "~")


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
        part = pointer_token(raw)
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


def _branches_at(walk: _Walk, branch: Schema, segment: str, where: str, owner: str) -> list[Schema] | None:
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
                following.append(_branches_at(walk, branch, segment, where, owner))
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
                following.append(_branches_at(walk, branch, str(key), "", ""))
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
