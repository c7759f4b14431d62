"""What a person approving a call sees of its arguments: every one by name, nothing hidden (dagexec.shown_arguments)."""

from __future__ import annotations

import json
import re
import unicodedata
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dagexec import APPROVAL_LIMIT, shown_arguments

from .strategies import argument_maps

HOSTILE = {"text": "a friendly note" + " " * 2000, "path": "/root/.ssh/authorized_keys"}


def _total(shown: tuple[tuple[str, str], ...]) -> int:
    """The characters of ``{name: value, ...}`` as the gateway's question writes it."""
    return len("{" + ", ".join(f"{name}: {value}" for name, value in shown) + "}")


def test_padding_cannot_push_a_later_argument_out() -> None:
    assert shown_arguments(HOSTILE) == (
        ('"text"', '"a friendly note\u27e82,000 spaces\u27e9"'),
        ('"path"', '"/root/.ssh/authorized_keys"'),
    )


def test_a_long_value_is_shortened_on_its_own_and_says_how_much_is_cut() -> None:
    shown = dict(shown_arguments({"text": "x" * 5000, "path": "/root/.ssh/authorized_keys", "n": 3}))
    assert (shown['"path"'], shown['"n"']) == ('"/root/.ssh/authorized_keys"', "3")
    kept = re.fullmatch(r'"(x+)\u2026\u27e8([\d,]+) more characters\u27e9', shown['"text"'])
    assert kept is not None
    assert len(kept[1]) + int(kept[2].replace(",", "")) == 5000  # what is shown and what is cut: the whole value
    assert len(kept[1]) > 1800  # the room the other arguments leave
    assert _total(tuple(shown.items())) <= APPROVAL_LIMIT


def test_long_values_share_the_room_and_a_short_one_keeps_all_of_it() -> None:
    shown = dict(shown_arguments({"a": "a" * 3000, "b": "b" * 3000, "short": "s" * 100}, limit=1000))
    assert shown['"short"'] == '"' + "s" * 100 + '"'
    assert len(shown['"a"']) == len(shown['"b"'])  # the same width, each
    assert _total(tuple(shown.items())) <= 1000


def test_many_arguments_are_all_shown_each_with_its_start() -> None:
    arguments = {f"arg{i}": f"{i}:" + "y" * 200 for i in range(300)}
    shown = shown_arguments(arguments)
    assert [name for name, _ in shown] == [f'"arg{i}"' for i in range(300)]  # none dropped, in the plan's order
    for i, (_, value) in enumerate(shown):
        assert value.startswith(f'"{i}:yyy')
        assert value.endswith(" more characters\u27e9")


def test_nested_values_are_written_as_json() -> None:
    arguments = {"options": {"paths": ["/a", "/b"], "force": True, "depth": None, "ratio": 0.5}}
    assert shown_arguments(arguments) == (
        ('"options"', '{"paths": ["/a", "/b"], "force": true, "depth": null, "ratio": 0.5}'),
    )


def test_a_long_nested_value_is_cut_like_any_other() -> None:
    (name, value), (_, after) = shown_arguments({"list": ["item"] * 1000, "after": "seen"}, limit=300)
    assert value.startswith('["item", "item", ') and value.endswith(" more characters\u27e9")
    assert after == '"seen"'


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("caf\u00e9 \u4e2d\u6587 \u263a", '"caf\u00e9 \u4e2d\u6587 \u263a"'),  # letters and symbols as they are
        ("a\nb\tc\rd", '"a\\nb\\tc\\rd"'),
        ('say "hi" \\', '"say \\"hi\\" \\\\"'),
        ("\x1b[31mred\x1b[0m", '"\\u001b[31mred\\u001b[0m"'),  # ANSI: escaped, not acted on
        ("\x9b5;5H", '"\\u009b5;5H"'),  # C1 CSI
        ("safe.txt\u202eexe.sh", '"safe.txt\\u202eexe.sh"'),  # a right-to-left override
        ("a\u00a0b\u2028c", '"a\\u00a0b\\u2028c"'),  # no-break space, line separator
        ("tag\U000e0041\U000e0042", '"tag\\U000e0041\\U000e0042"'),  # invisible tag characters
        ("a  b", '"a  b"'),  # two spaces: seen
        ("a   b", '"a\u27e83 spaces\u27e9b"'),
        ("\n" * 40 + "end", '"\u27e840 times \\n\u27e9end"'),
        ("\u200b" * 5, '"\u27e85 times \\u200b\u27e9"'),
        ("\u27e82,000 spaces\u27e9", '"\\u27e82,000 spaces\\u27e9"'),  # a value cannot imitate a mark
        ("[bold red]x[/]", '"[bold red]x[/]"'),
    ],
)
def test_what_cannot_be_seen_is_made_visible(text: str, shown: str) -> None:
    assert shown_arguments({text: text}) == ((shown, shown),)


def test_the_limit_must_be_positive() -> None:
    with pytest.raises(ValueError, match=r"^limit must be >= 1, got 0$"):
        shown_arguments({}, limit=0)


def _unmarked(shown: str) -> str:
    """``shown`` as JSON text again: marks counted back out, ``\\U`` escapes as the characters."""
    shown = re.sub("\u27e8([\\d,]+) spaces\u27e9", lambda m: " " * int(m[1].replace(",", "")), shown)
    shown = re.sub("\u27e8([\\d,]+) times ([^\u27e9]+)\u27e9", lambda m: m[2] * int(m[1].replace(",", "")), shown)
    return re.sub(r"(\\\\)|\\U([0-9a-f]{8})", lambda m: m[1] or json.dumps(chr(int(m[2], 16)))[1:-1], shown)


def _visible(text: str) -> bool:
    return all(c == " " or unicodedata.category(c)[0] not in "CZ" for c in text)


@given(argument_maps, st.integers(60, 600))
def test_every_argument_is_shown_visibly_and_whole_unless_cut(arguments: dict[str, Any], limit: int) -> None:
    shown = shown_arguments(arguments, limit=limit)
    assert len(shown) == len(arguments)
    for (name, value), (original_name, original) in zip(shown, arguments.items(), strict=True):
        assert _visible(name) and _visible(value)
        if not name.endswith("more characters\u27e9"):
            assert json.loads(_unmarked(name)) == original_name
        if not value.endswith("more characters\u27e9"):
            assert json.loads(_unmarked(value)) == original
    # Within the limit, unless each value is already as short as one is made.
    assert _total(shown) <= max(limit, _total(tuple((name, "x" * 48) for name, _ in shown)))
