from __future__ import annotations

from typing import Any

import pytest

from dagexec._refs import Reference, ReferenceResolutionError, find_references, resolve

OUTPUTS: dict[str, Any] = {
    "t1": {"content": "hello", "n": 3, "items": [{"name": "x"}, {"name": "y"}], "k-1": {"a_b": 1}},
    "t2": [10, 20],
    "t3": "plain",
}


def lookup(task_id: str) -> Any:
    return OUTPUTS[task_id]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("$OUTPUT[t1]", OUTPUTS["t1"]),
        ("$OUTPUT[t1].content", "hello"),
        ("$OUTPUT[t1].n", 3),
        ("$OUTPUT[t1].items", [{"name": "x"}, {"name": "y"}]),
        ("$OUTPUT[t1].items.1.name", "y"),
        ("$OUTPUT[t1].k-1.a_b", 1),
        ("$OUTPUT[t2].0", 10),
        ("$OUTPUT[t3]", "plain"),
    ],
)
def test_whole_string_reference_keeps_the_value_type(value: str, expected: Any) -> None:
    assert resolve(value, lookup) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("say $OUTPUT[t1].content!", "say hello!"),
        ("n=$OUTPUT[t1].n, m=$OUTPUT[t2].1", "n=3, m=20"),
        ("list: $OUTPUT[t2]", "list: [10, 20]"),
        ("obj: $OUTPUT[t1].k-1", 'obj: {"a_b": 1}'),
        # A character outside [A-Za-z0-9_-] ends the reference.
        ("$OUTPUT[t1].content.", "hello."),
        ("$OUTPUT[t1].content/x", "hello/x"),
        ("($OUTPUT[t3])", "(plain)"),
    ],
)
def test_references_inside_text_are_interpolated(value: str, expected: str) -> None:
    assert resolve(value, lookup) == expected


def test_references_resolve_in_nested_arguments() -> None:
    arguments = {
        "a": {"b": ["$OUTPUT[t1].content", {"c": "$OUTPUT[t2].1"}]},
        "n": 5,
        "flag": None,
        "text": "no reference",
    }
    assert resolve(arguments, lookup) == {
        "a": {"b": ["hello", {"c": 20}]},
        "n": 5,
        "flag": None,
        "text": "no reference",
    }


def test_find_references_searches_everywhere() -> None:
    arguments = {"a": ["x $OUTPUT[t1].a.0 y $OUTPUT[t2]"], "b": {"c": "$OUTPUT[t3]"}, "d": 1}
    assert list(find_references(arguments)) == [
        Reference("t1", ("a", "0")),
        Reference("t2", ()),
        Reference("t3", ()),
    ]
    assert str(Reference("t1", ("a", "0"))) == "$OUTPUT[t1].a.0"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("$OUTPUT[t1].missing", "$OUTPUT[t1].missing: $OUTPUT[t1] has no key 'missing'"),
        (
            "$OUTPUT[t1].items.5.name",
            "$OUTPUT[t1].items.5.name: $OUTPUT[t1].items has 2 items, no index 5",
        ),
        (
            "$OUTPUT[t1].items.first",
            "$OUTPUT[t1].items.first: $OUTPUT[t1].items is a list, and 'first' is not an index",
        ),
        ("$OUTPUT[t1].n.real", "$OUTPUT[t1].n.real: $OUTPUT[t1].n is a int, which has no key 'real'"),
        ("x $OUTPUT[t3].upper y", "$OUTPUT[t3].upper: $OUTPUT[t3] is a str, which has no key 'upper'"),
        # Never a Python attribute.
        ("$OUTPUT[t1].__class__", "$OUTPUT[t1].__class__: $OUTPUT[t1] has no key '__class__'"),
        ("$OUTPUT[t3].__class__", "$OUTPUT[t3].__class__: $OUTPUT[t3] is a str, which has no key '__class__'"),
    ],
)
def test_missing_path_names_the_path(value: str, message: str) -> None:
    with pytest.raises(ReferenceResolutionError) as info:
        resolve({"arg": value}, lookup)
    assert str(info.value) == message
