"""The pure scheduling core, driven by plain synchronous calls."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dagexec._dispatch import Admission, Dispatcher, NodeState

from .strategies import DrawnDag, dags


def diamond() -> Dispatcher:
    d = Dispatcher()
    d.add("a")
    d.add("b", ["a"])
    d.add("c", ["a"])
    d.add("d", ["b", "c"])
    return d


def test_ready_as_dependencies_finish() -> None:
    d = diamond()
    assert d.get_ready() == ["a"]
    assert d.get_ready() == []
    assert d.state("a") is NodeState.RUNNING
    assert d.state("d") is NodeState.WAITING
    d.done("a")
    assert d.get_ready() == ["b", "c"]
    d.done("c")
    assert d.get_ready() == []
    d.done("b")
    assert d.get_ready() == ["d"]
    assert d.is_active()
    d.done("d")
    assert not d.is_active()
    assert d.get_skipped() == []


def test_failure_skips_all_descendants_and_nothing_else() -> None:
    d = diamond()
    d.add("e")
    d.add("f", ["e", "b"])
    assert d.get_ready() == ["a", "e"]
    d.done("a")
    assert d.get_ready() == ["b", "c"]
    d.done("b", succeeded=False)
    assert sorted(d.get_skipped()) == ["d", "f"]
    assert d.cause("d") == "b"
    assert d.cause("f") == "b"
    assert d.state("f") is NodeState.SKIPPED
    # c and e still run to their end.
    d.done("c")
    d.done("e")
    assert d.get_ready() == []
    assert not d.is_active()


def test_skip_cause_is_the_failed_ancestor_not_the_skipped_parent() -> None:
    d = Dispatcher()
    for node, deps in [("a", []), ("b", ["a"]), ("c", ["b"]), ("d", ["c"])]:
        d.add(node, deps)
    d.get_ready()
    d.done("a", succeeded=False)
    assert d.get_skipped() == ["b", "c", "d"]
    assert {d.cause(n) for n in "bcd"} == {"a"}


def test_nodes_added_while_others_run() -> None:
    d = Dispatcher()
    d.add("a")
    assert d.get_ready() == ["a"]
    d.add("b", ["a"])
    d.add("c")
    assert d.get_ready() == ["c"]
    d.done("a")
    d.add("after-a", ["a"])  # its only dependency already succeeded: ready at once
    assert d.get_ready() == ["b", "after-a"]


def test_node_added_after_a_dependency_failed_is_skipped_at_once() -> None:
    d = Dispatcher()
    d.add("a")
    d.add("b")
    d.get_ready()
    d.done("a", succeeded=False)
    d.add("late", ["b", "a"])
    d.add("later", ["late"])
    assert d.get_skipped() == ["late", "later"]
    assert d.cause("later") == "a"
    d.done("b")
    assert d.get_ready() == []
    assert not d.is_active()


def test_duplicate_dependencies_count_once() -> None:
    d = Dispatcher()
    d.add("a")
    d.add("b", ["a", "a"])
    d.get_ready()
    d.done("a")
    assert d.get_ready() == ["b"]


@pytest.mark.parametrize(
    ("action", "message"),
    [
        (lambda d: d.add("a"), "node 'a' was already added"),
        (lambda d: d.add("x", ["nope"]), "node 'x' depends on 'nope', which was not added"),
        (lambda d: d.add("x", ["x"]), "node 'x' depends on 'x', which was not added"),
        (lambda d: d.done("nope"), "node 'nope' was not added"),
        (lambda d: d.done("b"), "node 'b' was not handed out by get_ready()"),
    ],
)
def test_misuse_raises_precise_value_errors(action, message) -> None:  # type: ignore[no-untyped-def]
    d = Dispatcher()
    d.add("a")
    d.add("b", ["a"])
    with pytest.raises(ValueError) as info:
        action(d)
    assert str(info.value) == message


def test_done_twice_is_an_error() -> None:
    d = Dispatcher()
    d.add("a")
    d.get_ready()
    d.done("a")
    with pytest.raises(ValueError, match=r"^node 'a' was already marked done$"):
        d.done("a")


@given(dags(), st.randoms(use_true_random=False))
def test_random_completion_orders(dag: DrawnDag, rnd) -> None:  # type: ignore[no-untyped-def]
    """Run the core with a random choice of which running node finishes next."""
    d = Dispatcher()
    for tid in dag.ids:
        d.add(tid, dag.deps[tid])
    finished: list[str] = []
    running: list[str] = []
    started: set[str] = set()
    skipped: list[str] = []
    while True:
        for node in d.get_ready():
            assert all(dep in finished for dep in dag.deps[node]), "started before a dependency"
            assert node not in started
            started.add(node)
            running.append(node)
        skipped += d.get_skipped()
        if not running:
            break
        node = running.pop(rnd.randrange(len(running)))
        d.done(node, succeeded=node not in dag.failing)
        finished.append(node)
    assert not d.is_active()
    assert started.isdisjoint(skipped)
    assert started | set(skipped) == set(dag.ids)
    assert set(skipped) == dag.descendants(dag.failing & started)


# -- admission under limits ----------------------------------------------------------------


def test_admission_grants_best_priority_first_within_the_global_limit() -> None:
    a = Admission(limit=2)
    for key, priority in [("low", (3,)), ("high", (1,)), ("mid", (2,))]:
        a.push(key, "s", priority)
    assert a.grant() == ["high", "mid"]
    assert a.grant() == []
    a.release("s")
    a.push("urgent", "s", (0,))  # a newly ready call competes with the waiting ones
    assert a.grant() == ["urgent"]
    a.release("s")
    assert a.grant() == ["low"]


def test_a_full_server_never_holds_back_another() -> None:
    a = Admission(limit=3, server_limits={"slow": 1})
    a.push("s1", "slow", (0,))
    a.push("s2", "slow", (1,))
    a.push("f1", "fast", (5,))
    assert a.grant() == ["s1", "f1"]  # s2 waits for its server, not f1
    a.release("slow")
    assert a.grant() == ["s2"]


def test_withdrawn_calls_are_never_granted_and_may_come_back() -> None:
    a = Admission(limit=1)
    a.push("x", "s", (0,))
    a.push("y", "s", (1,))
    a.withdraw("x")
    assert a.grant() == ["y"]
    a.push("x", "s", (2,))  # pushed again later: granted once, not twice
    a.release("s")
    assert a.grant() == ["x"]
    a.release("s")
    assert a.grant() == []
    with pytest.raises(ValueError, match="^call 'z' is already waiting$"):
        a.push("z", "s", (0,))
        a.push("z", "s", (0,))


def test_no_global_limit() -> None:
    a = Admission(limit=None, server_limits={"s": 2})
    for i in range(4):
        a.push(f"c{i}", "s", (i,))
    a.push("other", "t", (9,))
    assert a.grant() == ["c0", "c1", "other"]
