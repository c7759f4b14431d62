"""A task's arguments as the check sees them: as JSON, with where their references stand. No trio, no I/O.

Before the run, a whole-value reference becomes a placeholder of a type its
argument accepts (:func:`arguments_as_checked`), and tasks of one shape are
found out (:func:`_shape`) so that they are checked once per plan.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from pydantic_core import to_jsonable_python

from .._refs import _MARK, _TOKEN, REFERENCE
from .._workflow import Task


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


#: Where a reference stands in a task's arguments: the keys leading there, the task it
#: reads, its path as written (``".a.0"``), and whether it is the whole value.
Place = tuple[tuple[object, ...], str, str, bool]

_PLAIN = frozenset({str, int, float, bool, type(None)})


def arguments_as_checked(
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
            seen[key] = _text_as_checked(item, (*path, key), refs, placeholder) if _MARK in item else item
        elif kind in _PLAIN:
            seen[key] = item
        elif isinstance(item, Mapping | list | tuple):
            seen[key] = arguments_as_checked(item, (*path, key), refs, placeholder)
        else:
            seen[key] = as_json(item)
    return seen if isinstance(value, Mapping) else list(seen.values())


def _text_as_checked(
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
