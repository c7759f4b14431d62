from __future__ import annotations

from typing import Any

import pytest

from dagexec._refs import Reference, ReferenceResolutionError, resolve, scan_arguments

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


def test_scan_arguments_finds_references_everywhere() -> None:
    arguments = {"a": ["x $OUTPUT[t1].a.0 y $OUTPUT[t2]"], "b": {"c": "$OUTPUT[t3]"}, "d": 1}
    assert scan_arguments(arguments) == (
        (Reference("t1", ("a", "0")), Reference("t2", ()), Reference("t3", ())),
        False,
    )
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
            "$OUTPUT[t1].items.first: $OUTPUT[t1].items is an array, and 'first' is not an index",
        ),
        ("$OUTPUT[t1].n.real", "$OUTPUT[t1].n.real: $OUTPUT[t1].n is a number, which has no key 'real'"),
        ("x $OUTPUT[t3].upper y", "$OUTPUT[t3].upper: $OUTPUT[t3] is a string, which has no key 'upper'"),
        # Never a Python attribute.
        ("$OUTPUT[t1].__class__", "$OUTPUT[t1].__class__: $OUTPUT[t1] has no key '__class__'"),
        ("$OUTPUT[t3].__class__", "$OUTPUT[t3].__class__: $OUTPUT[t3] is a string, which has no key '__class__'"),
    ],
)
def test_missing_path_names_the_path(value: str, message: str) -> None:
    with pytest.raises(ReferenceResolutionError) as info:
        resolve({"arg": value}, lookup)
    assert str(info.value) == message


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("$$OUTPUT[t1].content", "$OUTPUT[t1].content"),
        ("$OUTPUT[t1].content and $$OUTPUT[t1]", "hello and $OUTPUT[t1]"),
        ("$$OUTPUT[", "$OUTPUT["),
        # Read left to right: a "$" and then the escape; the escape and then a reference.
        ("$$$OUTPUT[t1]", "$$OUTPUT[t1]"),
        ("$$OUTPUT[$OUTPUT[t3]", "$OUTPUT[plain"),
    ],
)
def test_an_escape_stands_for_the_text_output_marker(value: str, expected: str) -> None:
    assert scan_arguments({"arg": value})[1] is True  # so the run resolves it, reference or not
    assert resolve({"arg": value}, lookup) == {"arg": expected}


def test_a_value_too_deep_to_write_as_text_is_a_reference_error() -> None:
    deep: Any = 1
    for _ in range(100_000):
        deep = {"a": deep}
    with pytest.raises(ReferenceResolutionError) as info:
        resolve({"arg": "x $OUTPUT[deep] y"}, {"deep": deep}.__getitem__)
    assert str(info.value) == "$OUTPUT[deep]: the value nests too deeply to write as text"
    # Whole, it is handed on as it is.
    assert resolve({"arg": "$OUTPUT[deep]"}, {"deep": deep}.__getitem__)["arg"] is deep
