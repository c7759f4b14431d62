"""``$OUTPUT[...]`` references: finding them in arguments and resolving them.

``"$OUTPUT[t1]"`` is t1's whole output; ``"$OUTPUT[t1].a.0"`` walks mapping keys
and list indices. A string that is exactly one reference becomes the referenced
value itself; references inside a longer string are interpolated as text.
Resolution reads mapping keys and sequence indices only, never attributes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import attrs

#: A reference: ``$OUTPUT[`` id ``]`` and any number of ``.segment``.
REFERENCE = re.compile(r"\$OUTPUT\[([^\[\]]+)\]((?:\.[A-Za-z0-9_-]+)*)")


@attrs.frozen
class Reference:
    """One ``$OUTPUT[...]`` reference: the task it reads and the path into its output."""

    task_id: str
    path: tuple[str, ...]

    def __str__(self) -> str:
        return "$OUTPUT[" + self.task_id + "]" + "".join("." + p for p in self.path)


class ReferenceResolutionError(Exception):
    """A reference cannot be resolved against the actual outputs (internal)."""


def _parse(match: re.Match[str]) -> Reference:
    path = match.group(2)
    return Reference(match.group(1), tuple(path[1:].split(".")) if path else ())


def find_references(value: Any) -> Iterator[Reference]:
    """Yield every reference in ``value``, searching nested mappings and lists."""
    if isinstance(value, str):
        if "$OUTPUT[" in value:
            for match in REFERENCE.finditer(value):
                yield _parse(match)
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from find_references(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from find_references(item)


def _walk(ref: Reference, output: Any) -> Any:
    value = output
    for depth, segment in enumerate(ref.path):
        where = "$OUTPUT[" + ref.task_id + "]" + "".join("." + p for p in ref.path[:depth])
        if isinstance(value, Mapping):
            if segment not in value:
                raise ReferenceResolutionError(f"{ref}: {where} has no key {segment!r}")
            value = value[segment]
        elif isinstance(value, Sequence) and not isinstance(value, str | bytes):
            if not segment.isdigit():
                raise ReferenceResolutionError(
                    f"{ref}: {where} is a list, and {segment!r} is not an index"
                )
            index = int(segment)
            if index >= len(value):
                raise ReferenceResolutionError(
                    f"{ref}: {where} has {len(value)} items, no index {index}"
                )
            value = value[index]
        else:
            kind = type(value).__name__
            raise ReferenceResolutionError(
                f"{ref}: {where} is a {kind}, which has no key {segment!r}"
            )
    return value


def _as_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    try:
        return json.dumps(value)
    except (TypeError, ValueError):
        return str(value)


def resolve(value: Any, lookup: Callable[[str], Any]) -> Any:
    """Return ``value`` with every reference replaced.

    Args:
        value: Arguments, or any part of them.
        lookup: Gives the output of a task by id; it raises
            :class:`ReferenceResolutionError` for a task whose output is unusable.

    Raises:
        ReferenceResolutionError: A path is missing from the actual output.
    """
    if isinstance(value, str):
        if "$OUTPUT[" not in value:
            return value
        whole = REFERENCE.fullmatch(value)
        if whole is not None:
            ref = _parse(whole)
            return _walk(ref, lookup(ref.task_id))

        def substitute(match: re.Match[str]) -> str:
            ref = _parse(match)
            return _as_text(_walk(ref, lookup(ref.task_id)))

        return REFERENCE.sub(substitute, value)
    if isinstance(value, Mapping):
        return {key: resolve(item, lookup) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [resolve(item, lookup) for item in value]
    return value
