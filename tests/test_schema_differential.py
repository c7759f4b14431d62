"""Differential test: dagexec's schema check (jsonschema-rs) never accepts what jsonschema refuses.

Hypothesis draws schemas with the features generated schemas use (``$ref``/``$defs``,
``$anchor``, a nested ``$id``, percent-encoded pointers, ``anyOf``/``oneOf``/``allOf``/``not``,
``if``/``then``/``else``, ``prefixItems``, ``unevaluatedProperties``, ``dependentRequired``,
patterns of the subset both regex dialects share) and values for them. Where the two differ
only because dagexec refuses more, the test counts it, and says so (``event``, shown with
``--hypothesis-show-statistics``).
"""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from dagexec import ToolSchemas
from dagexec._schemas import SchemaCheck
from dagexec._workflow import Task

from .strategies import SAMPLE_VALUES, json_values

#: Patterns that mean the same in Python's re and in jsonschema-rs (ASCII, no \d or \w, no \Z).
PATTERNS = ["^a", "b$", "^[a-c]+$", "x{2}", "^(ab|cd)", "[0-9]", "^$", "a|1"]
_KEYS = st.sampled_from(["a", "b", "c"])
_TYPES = st.sampled_from(["string", "integer", "number", "boolean", "null", "array", "object"])
_SCALARS = st.none() | st.booleans() | st.integers(-2, 2) | st.sampled_from([1.0, 0.5, "x", "ab"])

#: Where a drawn schema can refer: each way of writing a reference, to a definition of the root.
_REFS = ["#/$defs/Thing", "#thing", "#/$defs/a%20b", "#/$defs/Nested"]


@st.composite
def bodies(draw: st.DrawFn, depth: int = 2, refs: tuple[str, ...] = tuple(_REFS)) -> dict[str, Any] | bool:
    """A schema body: keywords, combinators and references (to those of the root's definitions in ``refs``)."""
    if depth == 0 or draw(st.integers(0, 9)) == 0:
        choice = draw(st.integers(0, 4))
        if choice == 0:
            return draw(st.booleans())
        if choice == 1 and refs:
            return {"$ref": draw(st.sampled_from(refs))}
    schema: dict[str, Any] = {}
    if draw(st.booleans()):
        schema["type"] = draw(_TYPES | st.lists(_TYPES, min_size=1, max_size=3, unique=True))
    if draw(st.integers(0, 6)) == 0:
        schema["enum"] = draw(st.lists(_SCALARS, min_size=1, max_size=3))
    for key, values in (
        ("minimum", st.integers(-1, 1)), ("maximum", st.integers(0, 2)), ("maxLength", st.integers(0, 2)),
        ("pattern", st.sampled_from(PATTERNS)), ("minItems", st.integers(0, 2)),
    ):  # fmt: skip
        if draw(st.integers(0, 5)) == 0:
            schema[key] = draw(values)
    if depth > 0:
        inner = bodies(depth - 1, refs)
        if draw(st.booleans()):
            schema["properties"] = draw(st.dictionaries(_KEYS, inner, max_size=3))
            if draw(st.booleans()):
                schema["required"] = draw(st.lists(_KEYS, max_size=2, unique=True))
        if draw(st.integers(0, 4)) == 0:
            schema["dependentRequired"] = {draw(_KEYS): draw(st.lists(_KEYS, max_size=2, unique=True))}
        if draw(st.integers(0, 4)) == 0:
            schema["unevaluatedProperties"] = draw(st.booleans() | inner)
        if draw(st.integers(0, 4)) == 0:
            schema["prefixItems"] = draw(st.lists(inner, min_size=1, max_size=2))
        if draw(st.integers(0, 4)) == 0:
            schema["items"] = draw(inner)
        if draw(st.integers(0, 3)) == 0:
            key = draw(st.sampled_from(["anyOf", "oneOf", "allOf"]))
            schema[key] = draw(st.lists(inner, min_size=1, max_size=3))
        if draw(st.integers(0, 6)) == 0:
            schema["not"] = draw(inner)
        if draw(st.integers(0, 6)) == 0:
            schema["if"], schema["then"] = draw(inner), draw(inner)
            if draw(st.booleans()):
                schema["else"] = draw(inner)
        if refs and draw(st.integers(0, 3)) == 0:
            schema["$ref"] = draw(st.sampled_from(refs))
    return schema


@st.composite
def schemas(draw: st.DrawFn) -> dict[str, Any]:
    """A root schema whose definitions each way of referring reaches.

    ``#thing`` is an ``$anchor``; ``a b`` is reached through ``%20``; ``Nested`` has an
    ``$id`` of its own, and its ``$ref`` to ``#/$defs/Inner`` means its own ``Inner``,
    not the root's (a different schema there). Definitions refer only to those after
    them, so that no reference loops.
    """
    return {
        "$defs": {
            "Thing": {"$anchor": "thing", "allOf": [draw(bodies(1, ("#/$defs/a%20b", "#/$defs/Nested")))]},
            "a b": draw(bodies(1, ("#/$defs/Nested",))),
            "Inner": {"type": "string"},
            "Nested": {
                "$id": "https://example.com/nested",
                "$defs": {"Inner": draw(bodies(1, ()))},
                "$ref": "#/$defs/Inner",
            },
        },
        "type": "object",
        "properties": {"v": draw(bodies())},
        "required": ["v"],
    }


def dagexec_accepts(schema: dict[str, Any], value: Any) -> bool:
    """Whether dagexec's check before a call takes ``{"v": value}`` for a tool of that input schema."""
    check = SchemaCheck({"s": {"t": ToolSchemas(input=schema)}})
    task = Task(id="x", tool="s:t", arguments={"v": "$OUTPUT[p]"})
    return check.call_problems(task, {"v": value}) is None


@settings(max_examples=120, deadline=None)
@given(schema=schemas(), value=json_values)
def test_dagexec_never_accepts_what_jsonschema_refuses(schema: dict[str, Any], value: Any) -> None:
    reference = jsonschema.Draft202012Validator(schema)
    refused_more = 0
    for tried in (value, *SAMPLE_VALUES[::3]):
        theirs = reference.is_valid({"v": tried})
        ours = dagexec_accepts(schema, tried)
        if ours:
            assert theirs, (schema, tried)
        elif theirs:
            refused_more += 1
    if refused_more:
        event("dagexec refused values that jsonschema accepts")  # counted, and shown in the statistics


@pytest.mark.parametrize(
    ("schema", "value"),
    [
        # A $ref to an $anchor: the anchored schema, not the root.
        ({"$defs": {"N": {"$anchor": "n", "type": "integer"}}, "properties": {"v": {"$ref": "#n"}}}, "text"),
        # A $ref under a nested $id resolves against that $id: its own Inner (a string), not the root's.
        (
            {
                "$defs": {
                    "Inner": {"type": "integer"},
                    "Nested": {
                        "$id": "https://example.com/n",
                        "$defs": {"Inner": {"type": "string"}},
                        "$ref": "#/$defs/Inner",
                    },
                },
                "properties": {"v": {"$ref": "#/$defs/Nested"}},
            },
            3,
        ),
        # A percent-encoded pointer, to the key "a b".
        ({"$defs": {"a b": {"type": "boolean"}}, "properties": {"v": {"$ref": "#/$defs/a%20b"}}}, 1),
    ],
)
def test_the_features_generated_schemas_use_are_refused_as_jsonschema_refuses(
    schema: dict[str, Any], value: Any
) -> None:
    assert not jsonschema.Draft202012Validator(schema).is_valid({"v": value})
    assert not dagexec_accepts(schema, value)
