"""``$OUTPUT[...]`` references: finding them in arguments and resolving them.

``"$OUTPUT[t1]"`` is t1's whole output; ``"$OUTPUT[t1].a.0"`` walks mapping keys
and list indices. A string that is exactly one reference becomes the referenced
value itself; references inside a longer string are interpolated as text.
Resolution reads mapping keys and sequence indices only, never attributes.
``"$$OUTPUT["`` stands for the text ``"$OUTPUT["``; any other ``"$OUTPUT["`` must
start a well-formed reference, and :func:`scan_arguments` says where one does not.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import attrs

from ._convert import Invalid
from ._words import kind_of

#: How deep a task's arguments may nest: the arguments object is level 1, and
#: each object or list in it is one level below the one that holds it. Deeper
#: arguments are refused when the workflow is built: an MCP server's JSON parser
#: gives up at about 200 levels of a whole request, and Python's own recursion
#: limit at about 1000.
MAX_ARGUMENT_DEPTH = 100

#: A reference: ``$OUTPUT[`` id ``]`` and any number of ``.segment``.
REFERENCE = re.compile(r"\$OUTPUT\[([^\[\]]+)\]((?:\.[A-Za-z0-9_-]+)*)")

#: What a string is read for, left to right: the escape ``$$OUTPUT[`` (group 1), a
#: reference (its id in group 2, its path in group 3), or a ``$OUTPUT[`` that
#: starts no reference (no group).
_TOKEN = re.compile(r"\$(\$OUTPUT\[)|\$OUTPUT\[(?:([^\[\]]+)\]((?:\.[A-Za-z0-9_-]+)*))?")

_MARK = "$OUTPUT["


@attrs.frozen
class Reference:
    """One ``$OUTPUT[...]`` reference: the task it reads and the path into its output."""

    task_id: str
    path: tuple[str, ...]
    #: The path as written (``".a.0"``), kept from parsing: the schema check reads a
    #: task's shape from it without parsing the arguments again.
    written: str = attrs.field(
        default=attrs.Factory(lambda self: "".join("." + p for p in self.path), takes_self=True),
        eq=False,
        repr=False,
    )

    def __str__(self) -> str:
        return "$OUTPUT[" + self.task_id + "]" + self.written


class ReferenceResolutionError(Exception):
    """A reference cannot be resolved against the actual outputs (internal)."""


def _reference(task_id: str, path: str) -> Reference:
    return Reference(task_id, tuple(path[1:].split(".")) if path else (), path)


# -- checking ------------------------------------------------------------------------------


class _Problem(Exception):
    """What is wrong at one place in the arguments; the keys leading there are added on the way out."""

    def __init__(self, message: str, *, whole_argument: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.trail: list[str] = []
        # Only the top-level argument is named (a path 100 levels long helps no one).
        self.whole_argument = whole_argument


def _segment(key: object) -> str:
    if isinstance(key, int):
        return f"[{key}]"
    if isinstance(key, str) and key.isidentifier():
        return f".{key}"
    return f"[{key!r}]"


def _scan_text(text: str, found: list[Reference]) -> bool:
    escapes = False
    for match in _TOKEN.finditer(text):
        if match.group(1) is not None:
            escapes = True
        elif match.group(2) is not None:
            found.append(_reference(match.group(2), match.group(3)))
        else:
            rest = text[match.start() :]
            shown = rest if len(rest) <= 40 else rest[:40] + "..."
            raise _Problem(
                f"malformed reference {shown!r}: $OUTPUT[ must be followed by a task id and ] "
                "(write $$OUTPUT[ for the text $OUTPUT[)"
            )
    return escapes


#: Values that hold nothing to scan, tested by exact type before the slower checks.
_SCALARS = frozenset({int, float, bool, type(None)})


def _scan(value: Mapping[Any, Any] | list[Any] | tuple[Any, ...], depth: int, found: list[Reference]) -> bool:
    # Recursive, but never deeper than MAX_ARGUMENT_DEPTH: it stops at the first level too many.
    if depth > MAX_ARGUMENT_DEPTH:
        raise _Problem(f"nested deeper than {MAX_ARGUMENT_DEPTH} levels", whole_argument=True)
    escapes = False
    for key, item in value.items() if isinstance(value, dict | Mapping) else enumerate(value):
        try:
            if isinstance(item, str):
                if _MARK in item:
                    escapes |= _scan_text(item, found)
            elif type(item) in _SCALARS:
                continue
            elif isinstance(item, (dict | list | tuple, Mapping)):
                escapes |= _scan(item, depth + 1, found)
        except _Problem as exc:
            exc.trail = [_segment(key)] if exc.whole_argument else [_segment(key), *exc.trail]
            raise
    return escapes


def scan_arguments(arguments: Mapping[str, Any]) -> tuple[tuple[Reference, ...], bool]:
    """Check a task's arguments and find their references, in one walk.

    Returns:
        Every reference, in order, and whether some string holds the escape
        ``$$OUTPUT[`` (so that the arguments must be resolved even without a
        reference).

    Raises:
        Invalid: A string holds a ``$OUTPUT[`` that starts no well-formed
            reference, or the arguments nest deeper than
            :data:`MAX_ARGUMENT_DEPTH`; ``at`` is the path of the argument, such as
            ``arguments.q[0]``.
    """
    found: list[Reference] = []
    try:
        escapes = _scan(arguments, 1, found)
    except _Problem as exc:
        raise Invalid(exc.message, at="arguments" + "".join(exc.trail)) from None
    return tuple(found), escapes


# -- resolving -----------------------------------------------------------------------------


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
                    f"{ref}: {where} is an array, and {segment!r} is not an index"
                )
            index = int(segment)
            if index >= len(value):
                raise ReferenceResolutionError(
                    f"{ref}: {where} has {len(value)} items, no index {index}"
                )
            value = value[index]
        else:
            raise ReferenceResolutionError(f"{ref}: {where} is {kind_of(value)}, which has no key {segment!r}")
    return value


def _as_text(ref: Reference, value: Any) -> str:
    if isinstance(value, str):
        return value
    try:
        try:
            return json.dumps(value)
        except (TypeError, ValueError):
            return str(value)
    except RecursionError:
        raise ReferenceResolutionError(f"{ref}: the value nests too deeply to write as text") from None


def resolve(value: Any, lookup: Callable[[str], Any]) -> Any:
    """Return ``value`` with every reference replaced, and every ``$$OUTPUT[`` made ``$OUTPUT[``.

    Args:
        value: Checked arguments (see :func:`scan_arguments`), or any part of them.
        lookup: Gives the output of a task by id; it raises
            :class:`ReferenceResolutionError` for a task whose output is unusable.

    Raises:
        ReferenceResolutionError: A path is missing from the actual output.
    """
    if isinstance(value, str):
        if _MARK not in value:
            return value
        whole = REFERENCE.fullmatch(value)
        if whole is not None:
            ref = _reference(whole.group(1), whole.group(2))
            return _walk(ref, lookup(ref.task_id))

        def substitute(match: re.Match[str]) -> str:
            if match.group(1) is not None:
                return _MARK
            if match.group(2) is None:
                return match.group(0)  # not a reference (checked arguments hold none such)
            ref = _reference(match.group(2), match.group(3))
            return _as_text(ref, _walk(ref, lookup(ref.task_id)))

        return _TOKEN.sub(substitute, value)
    if isinstance(value, Mapping):
        return {key: resolve(item, lookup) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [resolve(item, lookup) for item in value]
    return value
