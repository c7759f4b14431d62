"""The scheduling core: dependency counts, ready tasks and skips. No trio, no I/O.

Modelled on :class:`graphlib.TopologicalSorter`: :meth:`Dispatcher.add` a node
with its dependencies, take what may start with :meth:`~Dispatcher.get_ready`,
report each end with :meth:`~Dispatcher.done`. A driver (the trio executors, or a
plain loop in a test) moves these events between the core and the world.

Nothing assumes the whole graph is known up front: nodes may be added while
earlier ones run, as long as each names only nodes already added (so no cycle
can ever form and no whole-graph check is needed).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable


class NodeState(enum.Enum):
    """Where a node stands."""

    WAITING = "waiting"  #: some dependencies are unfinished
    READY = "ready"  #: may start; not yet handed out by get_ready()
    RUNNING = "running"  #: handed out; done() not yet called
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    SKIPPED = "skipped"  #: never runs: a dependency did not succeed


_WAITING = NodeState.WAITING
_READY = NodeState.READY
_RUNNING = NodeState.RUNNING
_SUCCEEDED = NodeState.SUCCEEDED
_FAILED = NodeState.FAILED
_SKIPPED = NodeState.SKIPPED
_UNSUCCESSFUL = frozenset({_FAILED, _SKIPPED})


class Dispatcher:
    """Tracks which nodes may start, as dependencies finish.

    A node becomes ready the moment its count of unfinished dependencies reaches
    zero. When a node fails, every node that depends on it, directly or through
    others, is skipped at once, with the failed node as its cause; everything
    else goes on.
    """

    def __init__(self) -> None:
        self._state: dict[str, NodeState] = {}
        self._pending: dict[str, int] = {}
        self._successors: dict[str, list[str]] = {}
        self._cause: dict[str, str] = {}
        self._ready: list[str] = []
        self._skipped: list[str] = []
        self._unfinished = 0

    def add(self, node: str, dependencies: Iterable[str] = ()) -> None:
        """Add ``node``, which may start once every one of ``dependencies`` succeeded.

        If a dependency already failed or was skipped, the node is skipped now.

        Raises:
            ValueError: ``node`` was already added, or a dependency was not added
                before it (or is the node itself).
        """
        state = self._state
        if node in state:
            raise ValueError(f"node {node!r} was already added")
        deps = list(dict.fromkeys(dependencies))
        for dep in deps:
            if dep not in state:
                raise ValueError(f"node {node!r} depends on {dep!r}, which was not added")
        self._successors[node] = []
        self._unfinished += 1
        for dep in deps:
            if state[dep] in _UNSUCCESSFUL:
                state[node] = _WAITING
                self._skip(node, self._cause.get(dep, dep))
                return
        count = 0
        for dep in deps:
            if state[dep] is not _SUCCEEDED:
                self._successors[dep].append(node)
                count += 1
        if count:
            state[node] = _WAITING
            self._pending[node] = count
        else:
            state[node] = _READY
            self._ready.append(node)

    def get_ready(self) -> list[str]:
        """Hand out every node that became ready since the last call, in order.

        They count as running until :meth:`done` is called for each.
        """
        ready, self._ready = self._ready, []
        state = self._state
        for node in ready:
            state[node] = _RUNNING
        return ready

    def get_skipped(self) -> list[str]:
        """Every node skipped since the last call, in the order they were skipped."""
        skipped, self._skipped = self._skipped, []
        return skipped

    def done(self, node: str, *, succeeded: bool = True) -> None:
        """Mark a running node finished; its successors may become ready or be skipped.

        Raises:
            ValueError: ``node`` is not running (unknown, not handed out by
                :meth:`get_ready`, or already done).
        """
        state = self._state
        current = state.get(node)
        if current is not _RUNNING:
            if current is None:
                raise ValueError(f"node {node!r} was not added")
            if current in (_WAITING, _READY):
                raise ValueError(f"node {node!r} was not handed out by get_ready()")
            raise ValueError(f"node {node!r} was already marked done")
        self._unfinished -= 1
        if not succeeded:
            state[node] = _FAILED
            for successor in self._successors.pop(node):
                if state[successor] is _WAITING:
                    self._skip(successor, node)
            return
        state[node] = _SUCCEEDED
        pending = self._pending
        for successor in self._successors.pop(node):
            if state[successor] is _WAITING:
                left = pending[successor] - 1
                if left:
                    pending[successor] = left
                else:
                    del pending[successor]
                    state[successor] = _READY
                    self._ready.append(successor)

    def _skip(self, node: str, cause: str) -> None:
        """Skip ``node`` and, transitively, every waiting node that depends on it."""
        state = self._state
        stack = [node]
        while stack:
            current = stack.pop()
            state[current] = _SKIPPED
            self._pending.pop(current, None)
            self._cause[current] = cause
            self._skipped.append(current)
            self._unfinished -= 1
            for successor in self._successors.pop(current):
                if state[successor] is _WAITING:
                    state[successor] = _SKIPPED  # claimed now, so no other path pushes it again
                    stack.append(successor)

    def state(self, node: str) -> NodeState:
        """The node's state.

        Raises:
            KeyError: ``node`` was not added.
        """
        return self._state[node]

    def cause(self, node: str) -> str:
        """The failed node whose failure skipped ``node``.

        Raises:
            KeyError: ``node`` was not skipped.
        """
        return self._cause[node]

    def is_active(self) -> bool:
        """Whether any node is still unfinished (waiting, ready or running)."""
        return self._unfinished > 0

    def __len__(self) -> int:
        return len(self._state)
