"""The one cattrs converter, with strict hooks, and its errors turned into readable lines.

cattrs' default hooks quietly turn ``5`` into ``"5"`` and the string ``"ab"`` into
``("a", "b")``; these hooks reject both, so bad input is reported, not guessed at.
"""

from __future__ import annotations

import reprlib
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar, get_args, get_origin

import attrs
import cattrs
from cattrs.v import format_exception

from ._errors import DagexecError
from ._suggest import did_you_mean


class Invalid(ValueError):
    """A value that a validator or hook rejects, with the message to show as is.

    Args:
        message: What is wrong, in words.
        at: Where, below the object being checked (``arguments.q[0]``); the
            problem's path then ends there.
    """

    def __init__(self, message: str, *, at: str = "") -> None:
        super().__init__(f"{message} @ {at}" if at else message)
        self.message = message
        self.at = at


class Problems(Exception):
    """Data that does not fit its type: one readable line per problem, each with its path."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__(problems)
        self.problems = problems


converter = cattrs.Converter(forbid_extra_keys=True, omit_if_default=False)

# A value shown in a problem: shortened, and never deeper than a few levels, so
# that a huge or deeply nested value gives a line, not a flood or a RecursionError.
_repr = reprlib.Repr()
_repr.maxlevel, _repr.maxstring, _repr.maxother, _repr.maxlist, _repr.maxdict = 3, 60, 60, 6, 4


def json_type(value: Any) -> str:
    """The JSON name of a value's type: string, number, boolean, null, object, array."""
    if isinstance(value, str):
        return "string"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if value is None:
        return "null"
    if isinstance(value, Mapping):
        return "object"
    if isinstance(value, list | tuple):
        return "array"
    return type(value).__name__


def show(value: Any) -> str:
    """``type value`` for a problem's message, in JSON's words: ``number 5``, ``array [1, 2]``."""
    return f"{json_type(value)} {_repr.repr(value)}"


def _strict_str(value: Any, _: type) -> str:
    if not isinstance(value, str):
        raise Invalid(f"expected a string, got {show(value)}")
    return value


def _is_homogeneous_tuple(t: Any) -> bool:
    args = get_args(t)
    return get_origin(t) is tuple and len(args) == 2 and args[1] is Ellipsis


def _strict_tuple_factory(t: Any) -> Callable[[Any, Any], Any]:
    item_hook = converter.get_structure_hook(get_args(t)[0])
    item_type = get_args(t)[0]

    def structure(value: Any, _: Any) -> tuple[Any, ...]:
        if not isinstance(value, list | tuple):
            raise Invalid(f"expected an array, got {show(value)}")
        if item_type is str and all(type(item) is str for item in value):
            return tuple(value)  # the common case, such as depends_on, without a hook call per item
        items: list[Any] = []
        errors: list[Exception] = []
        for index, item in enumerate(value):
            try:
                items.append(item_hook(item, item_type))
            except Exception as exc:
                exc.__notes__ = [
                    *getattr(exc, "__notes__", []),
                    cattrs.IterableValidationNote(f"Structuring {t} @ index {index}", index, item_type),
                ]
                errors.append(exc)
        if errors:
            raise cattrs.IterableValidationError(f"While structuring {t!r}", errors, t)
        return tuple(items)

    return structure


def _mapping_hook(value: Any, _: Any) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise Invalid(f"expected an object, got {show(value)}")
    for key in value:
        if not isinstance(key, str):
            raise Invalid(f"expected string keys, got {key!r}")
    return dict(value)


def _strict_int(value: Any, _: type) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise Invalid(f"expected an integer, got {show(value)}")
    return value


def _strict_float(value: Any, _: type) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise Invalid(f"expected a number, got {show(value)}")
    return float(value)


def _strict_bool(value: Any, _: type) -> bool:
    if not isinstance(value, bool):
        raise Invalid(f"expected true or false, got {show(value)}")
    return value


converter.register_structure_hook(str, _strict_str)
converter.register_structure_hook(bool, _strict_bool)
converter.register_structure_hook(int, _strict_int)
converter.register_structure_hook(float, _strict_float)
converter.register_structure_hook_func(lambda t: t == Mapping[str, Any], _mapping_hook)
converter.register_structure_hook_factory(_is_homogeneous_tuple, _strict_tuple_factory)


#: The keys that data for a class may have, where its problems list them (see :func:`accept_keys`).
_accepted: dict[type, tuple[str, ...]] = {}


def accept_keys(cls: type, *also: str) -> None:
    """Have a problem of data for ``cls`` with keys it does not know list the keys it accepts.

    Args:
        cls: An attrs class: its fields are accepted keys.
        also: Keys accepted besides, which the caller handles before structuring.
    """
    _accepted[cls] = (*(field.name for field in attrs.fields(cls) if field.init), *also)


def unknown_keys(keys: Iterable[str], accepted: Iterable[str]) -> str:
    """The problem of keys that are not accepted, with the close ones and every accepted one.

    ``unknown key 'args'; did you mean 'arguments'? (accepted: id, tool, arguments)``
    """
    found = sorted(keys)
    accepted = tuple(accepted)
    named = ", ".join(repr(key) for key in found)
    close = "".join(did_you_mean(key, accepted) for key in found)
    return f"unknown key{'s' if len(found) > 1 else ''} {named}{close} (accepted: {', '.join(accepted)})"


def _format(exc: BaseException, type_: type | None) -> str:
    if isinstance(exc, Invalid):
        return exc.message
    if isinstance(exc, cattrs.ForbiddenExtraKeysError) and exc.cl in _accepted:
        return unknown_keys(exc.extra_fields, _accepted[exc.cl])
    return format_exception(exc, type_)


def _problems(exc: BaseException, path: str, type_: Any = None) -> list[str]:
    """``cattrs.transform_error``, but a problem of :class:`Invalid` ends at its ``at``."""
    if isinstance(exc, cattrs.IterableValidationError | cattrs.ClassValidationError):
        with_notes, without = exc.group_exceptions()
        lines = []
        for inner, note in with_notes:
            if isinstance(note, cattrs.IterableValidationNote):
                lines += _problems(inner, f"{path}[{note.index!r}]", note.type)
            else:
                lines += _problems(inner, f"{path}.{note.name}", note.type)
        for inner in without:
            lines += _problems(inner, path)
        return lines
    if isinstance(exc, Invalid) and exc.at:
        path = f"{path}.{exc.at}"
    return [f"{_format(exc, type_)} @ {path}"]


_T = TypeVar("_T")


def structure(data: Any, cls: type[_T], path: str) -> _T:
    """Structure ``data`` as ``cls``.

    Raises:
        Problems: The data does not fit; each line ends in ``@ path...``.
        DagexecError: A check in ``cls``'s own ``__init__`` failed, once every
            field was well-formed (cattrs wraps it; it is unwrapped here).
    """
    if not isinstance(data, Mapping):
        raise Problems([f"expected an object, got {show(data)} @ {path}"])
    try:
        return converter.structure(data, cls)
    except (cattrs.ClassValidationError, cattrs.IterableValidationError) as exc:
        if len(exc.exceptions) == 1 and isinstance(exc.exceptions[0], DagexecError):
            raise exc.exceptions[0] from None
        raise Problems(_problems(exc, path)) from None
