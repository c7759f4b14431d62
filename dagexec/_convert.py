"""The one cattrs converter, with strict hooks, and its errors turned into readable lines.

cattrs' default hooks quietly turn ``5`` into ``"5"`` and the string ``"ab"`` into
``("a", "b")``; these hooks reject both, so bad input is reported, not guessed at.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar, get_args, get_origin

import cattrs
from cattrs.v import format_exception

from ._errors import DagexecError


class Invalid(ValueError):
    """A value that a validator or hook rejects, with the message to show as is."""


class Problems(Exception):
    """Data that does not fit its type: one readable line per problem, each with its path."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__(problems)
        self.problems = problems


converter = cattrs.Converter(forbid_extra_keys=True, omit_if_default=False)


def _strict_str(value: Any, _: type) -> str:
    if not isinstance(value, str):
        raise Invalid(f"expected a string, got {type(value).__name__} {value!r}")
    return value


def _is_homogeneous_tuple(t: Any) -> bool:
    args = get_args(t)
    return get_origin(t) is tuple and len(args) == 2 and args[1] is Ellipsis


def _strict_tuple_factory(t: Any) -> Callable[[Any, Any], Any]:
    item_hook = converter.get_structure_hook(get_args(t)[0])
    item_type = get_args(t)[0]

    def structure(value: Any, _: Any) -> tuple[Any, ...]:
        if not isinstance(value, list | tuple):
            raise Invalid(f"expected a list, got {type(value).__name__} {value!r}")
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
        raise Invalid(f"expected an object, got {type(value).__name__} {value!r}")
    for key in value:
        if not isinstance(key, str):
            raise Invalid(f"expected string keys, got {key!r}")
    return dict(value)


def _strict_int(value: Any, _: type) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise Invalid(f"expected an integer, got {type(value).__name__} {value!r}")
    return value


def _strict_float(value: Any, _: type) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise Invalid(f"expected a number, got {type(value).__name__} {value!r}")
    return float(value)


def _strict_bool(value: Any, _: type) -> bool:
    if not isinstance(value, bool):
        raise Invalid(f"expected true or false, got {type(value).__name__} {value!r}")
    return value


converter.register_structure_hook(str, _strict_str)
converter.register_structure_hook(bool, _strict_bool)
converter.register_structure_hook(int, _strict_int)
converter.register_structure_hook(float, _strict_float)
converter.register_structure_hook_func(lambda t: t == Mapping[str, Any], _mapping_hook)
converter.register_structure_hook_factory(_is_homogeneous_tuple, _strict_tuple_factory)


def _format(exc: BaseException, type_: type | None) -> str:
    if isinstance(exc, Invalid):
        return str(exc)
    return format_exception(exc, type_)


_T = TypeVar("_T")


def structure(data: Any, cls: type[_T], path: str) -> _T:
    """Structure ``data`` as ``cls``.

    Raises:
        Problems: The data does not fit; each line ends in ``@ path...``.
        DagexecError: A check in ``cls``'s own ``__init__`` failed, once every
            field was well-formed (cattrs wraps it; it is unwrapped here).
    """
    if not isinstance(data, Mapping):
        raise Problems([f"expected a JSON object, got {type(data).__name__} @ {path}"])
    try:
        return converter.structure(data, cls)
    except (cattrs.ClassValidationError, cattrs.IterableValidationError) as exc:
        if len(exc.exceptions) == 1 and isinstance(exc.exceptions[0], DagexecError):
            raise exc.exceptions[0] from None
        raise Problems(cattrs.transform_error(exc, path=path, format_exception=_format)) from None
