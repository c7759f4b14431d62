"""How big the package's functions and classes are: an outcome, recorded so that growth is seen.

A function over 60 lines of code, or a class over 250, is listed below (the test
prints each with its size, largest first: ``pytest -s tests/test_sizes.py``).
The test fails when the list changes either way: an entry that appears, or one
that shrank below its limit, is written down here on purpose, with the change
that made it, never by surprise. Names, not sizes, so that work on the listed
code in parallel does not collide here. Lines of code leave out docstrings,
blank lines and comment-only lines.
"""

from __future__ import annotations

import ast
import io
import tokenize

from .helpers import ROOT

FUNCTION_LIMIT = 60
CLASS_LIMIT = 250

#: Every function over FUNCTION_LIMIT and class over CLASS_LIMIT lines of code, as "path:name".
RECORDED = {
    "dagexec/_core/run.py:RunCore",  # 289 lines of code (244 before issue 23: events, the table, check)
    "dagexec/bench/_harness.py:bench_overhead",  # 70
}


def _code_lines(source: str) -> set[int]:
    """The numbers of the lines that hold code: not blank, not only a comment, not in a docstring."""
    tree = ast.parse(source)
    docstrings: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) and node.body:
            first = node.body[0]
            value = first.value if isinstance(first, ast.Expr) else None
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                docstrings.update(range(first.lineno, (first.end_lineno or first.lineno) + 1))
    lines: set[int] = set()
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type not in (tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT):
            lines.update(range(token.start[0], token.end[0] + 1))
    return lines - docstrings


def sizes() -> dict[str, int]:
    """Each function over FUNCTION_LIMIT and class over CLASS_LIMIT lines of code in the package."""
    found = {}
    for path in sorted((ROOT / "dagexec").rglob("*.py")):
        source = path.read_text()
        code = _code_lines(source)
        name = path.relative_to(ROOT).as_posix()
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                span = range(node.lineno, (node.end_lineno or node.lineno) + 1)
                n = sum(1 for line in span if line in code)
                limit = CLASS_LIMIT if isinstance(node, ast.ClassDef) else FUNCTION_LIMIT
                if n > limit:
                    found[f"{name}:{node.name}"] = n
    return found


def test_functions_and_classes_over_their_size_are_the_recorded_ones() -> None:
    found = sizes()
    print("\n".join(f"{n:5d}  {name}" for name, n in sorted(found.items(), key=lambda item: -item[1])))
    assert set(found) == RECORDED
