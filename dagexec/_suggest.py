"""Suggestions for names a plan or a config gets wrong: "did you mean", and short lists of what exists.

``difflib`` (the standard library) finds the close names; nothing more is needed
for the few dozen names a server or a task has.
"""

from __future__ import annotations

import difflib
from collections.abc import Collection, Iterable

#: Names are compared only when there are at most this many and each is at most
#: ``_LONGEST`` characters: difflib's cost grows with both, and a plan is untrusted input.
_MOST_NAMES = 1000
_LONGEST = 100

#: How many names a list shows before "and N more".
SHOWN_NAMES = 12


def close_names(name: str, names: Collection[str]) -> list[str]:
    """The names closest to ``name`` (at most three, the closest first); none when there are too many to compare.

    The count is checked first, so that a plan of many tasks with many unknown
    ids costs a look at the count for each, not a pass over every id.
    """
    if len(names) > _MOST_NAMES or len(name) > _LONGEST:
        return []
    candidates = [n for n in names if len(n) <= _LONGEST and n != name]
    return difflib.get_close_matches(name, candidates, n=3, cutoff=0.6)


def did_you_mean(name: str, names: Collection[str]) -> str:
    """``"; did you mean 'x'?"`` (or ``'x', 'y'``), or ``""`` when no name is close."""
    found = close_names(name, names)
    if not found:
        return ""
    return "; did you mean " + ", ".join(repr(n) for n in found) + "?"


def listing(names: Iterable[str], *, most: int = SHOWN_NAMES) -> str:
    """Names in sorted order, separated by commas, at most ``most`` and then ``and N more``."""
    ordered = sorted(set(names))
    if len(ordered) <= most:
        return ", ".join(ordered)
    return ", ".join(ordered[:most]) + f" and {len(ordered) - most} more"
