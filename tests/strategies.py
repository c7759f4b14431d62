"""Every Hypothesis strategy of the test suite."""

from __future__ import annotations

import random
from typing import Any

import attrs
from hypothesis import strategies as st


@attrs.frozen
class DrawnDag:
    """A random DAG: task ids in a topological order, dependencies, durations, failures."""

    ids: tuple[str, ...]
    deps: dict[str, tuple[str, ...]]
    durations: dict[str, float]
    failing: frozenset[str]

    def workflow_dict(self, tool: str = "sim:sleep") -> dict[str, Any]:
        """Tasks that call ``tool`` with their duration and whether they fail."""
        return {
            "tasks": [
                {
                    "id": tid,
                    "tool": tool,
                    "arguments": {"seconds": self.durations[tid], "fail": tid in self.failing},
                    "depends_on": list(self.deps[tid]),
                }
                for tid in self.ids
            ]
        }

    def descendants(self, roots: frozenset[str]) -> set[str]:
        """Every task that depends, directly or not, on one of ``roots``."""
        found: set[str] = set()
        for tid in self.ids:  # topological order: dependencies come first
            if any(d in roots or d in found for d in self.deps[tid]):
                found.add(tid)
        return found

    def critical_path_time(self, durations: dict[str, float] | None = None) -> float:
        """The longest chain of summed durations."""
        durations = self.durations if durations is None else durations
        finish: dict[str, float] = {}
        for tid in self.ids:
            finish[tid] = durations[tid] + max((finish[d] for d in self.deps[tid]), default=0.0)
        return max(finish.values(), default=0.0)

    def generations(self) -> list[list[str]]:
        """Topological generations, computed by hand (independent of networkx)."""
        level: dict[str, int] = {}
        for tid in self.ids:
            level[tid] = 1 + max((level[d] for d in self.deps[tid]), default=-1)
        layers: list[list[str]] = [[] for _ in range(max(level.values(), default=-1) + 1)]
        for tid in self.ids:
            layers[level[tid]].append(tid)
        return layers


# Durations in whole tenths of a second, so virtual-time sums stay exact enough.
durations = st.integers(min_value=1, max_value=20).map(lambda n: n / 10)


@st.composite
def dags(
    draw: st.DrawFn,
    *,
    min_tasks: int = 1,
    max_tasks: int = 25,
    failures: bool = True,
) -> DrawnDag:
    """A random DAG: each task depends on a random subset of the tasks before it."""
    n = draw(st.integers(min_value=min_tasks, max_value=max_tasks))
    ids = [f"t{i}" for i in range(n)]
    deps: dict[str, tuple[str, ...]] = {}
    for i, tid in enumerate(ids):
        earlier = ids[max(0, i - 8) : i]  # keep the fan-in moderate, the graph deep
        chosen = draw(st.lists(st.sampled_from(earlier), unique=True, max_size=3)) if earlier else []
        deps[tid] = tuple(chosen)
    drawn_durations = {tid: draw(durations) for tid in ids}
    failing = frozenset(draw(st.sets(st.sampled_from(ids), max_size=n // 3))) if failures else frozenset()
    return DrawnDag(tuple(ids), deps, drawn_durations, failing)


@st.composite
def shuffled_workflow_dicts(draw: st.DrawFn, dag: DrawnDag) -> dict[str, Any]:
    """The DAG's workflow with its tasks in a random order (not topological)."""
    data = dag.workflow_dict()
    data["tasks"] = draw(st.permutations(data["tasks"]))
    return data


@st.composite
def limited_runs(draw: st.DrawFn) -> tuple[DrawnDag, int]:
    """A DAG without failures and a concurrency limit k."""
    return draw(dags(failures=False)), draw(st.integers(min_value=1, max_value=5))


def random_dag(rnd: random.Random, max_tasks: int = 25) -> DrawnDag:
    """A DAG drawn like :func:`dags`, without failures, from a seeded ``random.Random``."""
    n = rnd.randint(1, max_tasks)
    ids = [f"t{i}" for i in range(n)]
    deps = {
        tid: tuple(rnd.sample(ids[max(0, i - 8) : i], min(i, 8, rnd.randint(0, 3)))) for i, tid in enumerate(ids)
    }
    return DrawnDag(tuple(ids), deps, {tid: rnd.randint(1, 20) / 10 for tid in ids}, frozenset())


# -- JSON values and the schemas of typed tools --------------------------------------------

#: Keys that schemas and values share, so that drawn values often meet drawn schemas.
_KEYS = st.sampled_from(["a", "b", "c"])

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-3, 3)
    | st.sampled_from([0.0, 1.0, 1.5, -2.5])
    | st.sampled_from(["", "x", "ab", "a1"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_KEYS, inner, max_size=3),
    max_leaves=8,
)
"""Small JSON values: ``1`` and ``1.0``, ``True`` and ``1``, empty and nested containers."""

#: Arguments objects of those values, under the keys drawn schemas use.
json_arguments = st.dictionaries(st.sampled_from(["a", "b", "c", "thing"]), json_values, max_size=4)

_SAMPLE_SCALARS: list[Any] = [None, True, False, 0, 1, -1, 2, 1.0, 0.0, 1.5, 0.5, "", "x", "ab", "a1", "1"]
#: Values to try every drawn schema on: each scalar alone, in a list, and under each key.
SAMPLE_VALUES: list[Any] = [
    *_SAMPLE_SCALARS,
    *([v] for v in _SAMPLE_SCALARS),
    *({key: v} for key in ("a", "b", "c", "thing") for v in _SAMPLE_SCALARS),
    [],
    {},
    [1, "x"],
    {"a": 1, "b": "x"},
    {"a": {"a": 1}},
    {"a": [1]},
    {"thing": {"a": 1}},
    {"thing": {"a": "x", "b": None}},
    {"a": 1, "b": 2, "c": 3},
]

_TYPES = st.sampled_from(["string", "integer", "number", "boolean", "null", "array", "object"])
_SCALARS = st.none() | st.booleans() | st.integers(-2, 2) | st.sampled_from([1.0, 0.5, "x", "ab"])


@st.composite
def json_schemas(draw: st.DrawFn, depth: int = 2, root: bool = True) -> dict[str, Any]:
    """A schema of the keywords that tools' input schemas use most, ``$defs`` and ``$ref`` among them."""
    schema: dict[str, Any] = {}
    if draw(st.booleans()):
        schema["type"] = draw(_TYPES | st.lists(_TYPES, min_size=1, max_size=3, unique=True))
    if draw(st.integers(0, 5)) == 0:
        schema["enum"] = draw(st.lists(_SCALARS, min_size=1, max_size=3))
    if draw(st.integers(0, 7)) == 0:
        schema["const"] = draw(_SCALARS)
    for key, values in (
        ("minimum", st.integers(-1, 1)), ("exclusiveMaximum", st.sampled_from([1, 1.5])),
        ("minLength", st.integers(0, 2)), ("maxItems", st.integers(0, 2)),
        ("pattern", st.sampled_from(["^a", "[0-9]"])),
    ):  # fmt: skip
        if draw(st.integers(0, 5)) == 0:
            schema[key] = draw(values)
    if depth > 0:
        if draw(st.booleans()):
            schema["properties"] = draw(st.dictionaries(_KEYS, json_schemas(depth - 1, root=False), max_size=3))
            schema["required"] = draw(st.lists(_KEYS, max_size=2, unique=True))
            schema["additionalProperties"] = draw(st.booleans() | json_schemas(depth - 1, root=False))
        if draw(st.integers(0, 3)) == 0:
            schema["items"] = draw(json_schemas(depth - 1, root=False))
        if draw(st.integers(0, 4)) == 0:
            branches = st.lists(json_schemas(depth - 1, root=False), min_size=1, max_size=2)
            schema["anyOf" if draw(st.booleans()) else "allOf"] = draw(branches)
        if root and draw(st.integers(0, 3)) == 0:
            schema["$defs"] = {"Thing": draw(json_schemas(depth - 1, root=False))}
            schema["properties"] = {**schema.get("properties", {}), "thing": {"$ref": "#/$defs/Thing"}}
    return schema


@st.composite
def troubled_runs(draw: st.DrawFn) -> tuple[DrawnDag, dict[str, Any], float | None]:
    """A DAG with failures; retries for some failing tasks (a timeline of several calls); a deadline, maybe.

    Returns:
        The DAG, its workflow's data, and the run's timeout (None: none).
    """
    dag = draw(dags(max_tasks=12))
    data = dag.workflow_dict()
    for task in data["tasks"]:
        if task["id"] in dag.failing and draw(st.booleans()):
            task["retries"] = draw(st.integers(min_value=1, max_value=2))
    timeout = draw(st.none() | st.sampled_from([0.5, 1.0, 2.5]))
    return dag, data, timeout


#: Any text: control, format, separator and private-use characters among it, and runs of them.
_RUNS = st.lists(st.sampled_from([" ", "\n", "\u200b", "\x1b", "a", "é"]), max_size=80).map("".join)
_ANY_TEXT = st.text(max_size=60) | _RUNS

#: A task's arguments as a plan may give them, to be shown for approval: any names, any text, nested.
argument_maps = st.dictionaries(
    _ANY_TEXT,
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | _ANY_TEXT,
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_ANY_TEXT, inner, max_size=4),
        max_leaves=10,
    ),
    max_size=10,
)
