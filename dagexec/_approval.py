"""A task's arguments as a person is asked to approve them: every argument by name, nothing hidden.

A question that shows the arguments as one JSON text cut at a length can hide
the one that matters: ``{"text": "a friendly note" + 2,000 spaces, "path":
"/root/.ssh/authorized_keys"}`` cut at 2,000 characters ends before ``path``.
Here every argument is shown by its name, and a long value is shortened on its
own, with an ellipsis that says how much of it is not shown, so a long value
never pushes a later argument out. What cannot be seen cannot hide anything
either: control, format and separator characters are escaped (``\\n``,
``\\u202e``), and a run of spaces or of such characters is counted
(``⟨2,000 spaces⟩``). The brackets ``⟨⟩`` of these marks are escaped wherever a
value holds them, so no value can imitate one.

Pure: no I/O. The gateway's question and the command line's prompt both use it.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterator, Mapping
from typing import Any

__all__ = ["APPROVAL_LIMIT", "shown_arguments"]

#: About how many characters the arguments take at most, names and values together.
APPROVAL_LIMIT = 2000

#: The fewest characters a shortened value takes, its ellipsis included: with many
#: arguments, each still shows its start, and the total goes over the limit rather
#: than lose one.
_FEWEST = 48

#: The most characters an argument's name takes (names come from the plan, too).
_NAME_LIMIT = 80

_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}

#: What needs a look at its character: a run of three or more of one character
#: that is not visible ASCII (spaces among them), a single one, or a quote or backslash.
_SPECIAL = re.compile(r'([^\x21-\x7e])\1{2,}|[^\x20-\x7e]|["\\]')

#: Marks that only this module writes: a value's own are escaped.
_MARKS = "\u27e8\u27e9"

# A piece of the text shown: a mark or an escape is shown whole or not at all.
_Piece = tuple[str, bool]  # (text, whole)


def _hidden(char: str) -> bool:
    """Whether a character is escaped: a control, format, private, unassigned or separator character but space."""
    return char != " " and (unicodedata.category(char)[0] in "CZ" or char in _MARKS)


def _escape(char: str) -> str:
    if char in _ESCAPES:
        return _ESCAPES[char]
    code = ord(char)
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


def _string(text: str) -> Iterator[_Piece]:
    yield '"', True
    start = 0
    for match in _SPECIAL.finditer(text):
        if match.start() > start:
            yield text[start : match.start()], False
        start = match.end()
        char, n = match.group()[0], len(match.group())
        if char in '"\\' or _hidden(char):
            yield (_escape(char), True) if n == 1 else (f"\u27e8{n:,} times {_escape(char)}\u27e9", True)
        elif char == " ":
            yield f"\u27e8{n:,} spaces\u27e9", True
        else:  # visible characters, as many as they are
            yield match.group(), False
    if start < len(text):
        yield text[start:], False
    yield '"', True


def _value(value: Any) -> Iterator[_Piece]:
    if isinstance(value, str):
        yield from _string(value)
    elif value is None or isinstance(value, (bool, int, float)):
        yield json.dumps(value), False
    elif isinstance(value, Mapping):
        yield "{", True
        for i, (key, item) in enumerate(value.items()):
            if i:
                yield ", ", True
            yield from _string(str(key))
            yield ": ", True
            yield from _value(item)
        yield "}", True
    elif isinstance(value, (list, tuple)):
        yield "[", True
        for i, item in enumerate(value):
            if i:
                yield ", ", True
            yield from _value(item)
        yield "]", True
    else:  # not JSON: what Python shows of it, as text
        yield from _string(repr(value))


class _Shown:
    """A value's pieces up to a length (what any shortening can keep), and the length of them all."""

    def __init__(self, pieces: Iterator[_Piece], keep: int) -> None:
        self.pieces: list[_Piece] = []
        self.length = 0
        self._quotes = 0  # a string's quotes: shown, but not counted as cut
        for piece in pieces:
            if self.length < keep:
                self.pieces.append(piece)
            self.length += len(piece[0])
            self._quotes += piece[0] == '"'

    def within(self, width: int) -> str:
        """The whole value if it fits ``width`` characters, else its start and an ellipsis saying how much is cut."""
        if self.length <= width:
            return "".join(text for text, _ in self.pieces)
        room = width - len(_ellipsis(self.length))  # at least as long as the one written
        kept: list[str] = []
        used = quotes = 0
        for text, whole in self.pieces:
            if used + len(text) > room:
                if not whole:
                    kept.append(text[: room - used])
                    used = room
                break
            kept.append(text)
            used += len(text)
            quotes += text == '"'
        return "".join(kept) + _ellipsis(self.length - used - (self._quotes - quotes))


def _ellipsis(cut: int) -> str:
    return f"\u2026\u27e8{cut:,} more characters\u27e9"


def shortened(text: str, limit: int) -> str:
    """``text``, or its first ``limit`` characters and an ellipsis that says how many more there are."""
    return text if len(text) <= limit else text[:limit] + _ellipsis(len(text) - limit)


def _widest(lengths: list[int], room: int) -> int:
    """The widest width that all values, each shortened to it, fit in ``room`` together (water filling)."""
    left = len(lengths)
    for length in sorted(lengths):
        if length * left > room:
            return room // left
        room -= length
        left -= 1
    return max(lengths, default=0)


def shown_arguments(arguments: Mapping[str, Any], *, limit: int = APPROVAL_LIMIT) -> tuple[tuple[str, str], ...]:
    """A task's arguments as a person should see them before approving its call: each name with its value.

    Every argument is there, in the plan's order, its name and value written
    as JSON is, with what a person cannot see made visible: control, format and
    separator characters escaped (``\\n``, ``\\u001b``, ``\\u202e``), and a run
    of three or more spaces or such characters counted (``⟨2,000 spaces⟩``,
    ``⟨40 times \\n⟩``). Names and values together take about ``limit``
    characters at most: when they would take more, the longest values are
    shortened, each on its own and all to the same width, and end with an
    ellipsis that says how much is not shown (``…⟨1,234 more characters⟩``).
    No argument is dropped for another: with very many, each keeps its start,
    and the total goes over ``limit``.

    Args:
        arguments: The task's resolved arguments.
        limit: About how many characters they take at most.

    Returns:
        ``(name, value)`` pairs, both as shown: ``('"path"', '"/root/.ssh/authorized_keys"')``.

    Raises:
        ValueError: If ``limit`` is less than 1.
    """
    if limit < 1:
        raise ValueError(f"limit must be >= 1, got {limit}")
    names = [_Shown(_string(str(name)), _NAME_LIMIT).within(_NAME_LIMIT) for name in arguments]
    values = [_Shown(_value(value), limit) for value in arguments.values()]
    room = limit - sum(len(name) + len(", : ") for name in names)
    width = max(_widest([value.length for value in values], room), _FEWEST)
    return tuple((name, value.within(width)) for name, value in zip(names, values, strict=True))
