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
import heapq
from collections.abc import Iterable, Mapping


class NodeState(enum.Enum):
    """Where a node stands."""

    WAITING = "waiting"  #: some dependencies are unfinished
    READY = "ready"  #: may start; not yet handed out by get_ready()
    RUNNING = "running"  #: handed out; done() not yet called
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    SKIPPED = "skipped"  #: never runs: a dependency did not succeed
    CANCELLED = "cancelled"  #: stopped, or never started, because the run stopped


_WAITING = NodeState.WAITING
_READY = NodeState.READY
_RUNNING = NodeState.RUNNING
_SUCCEEDED = NodeState.SUCCEEDED
_FAILED = NodeState.FAILED
_SKIPPED = NodeState.SKIPPED
_CANCELLED = NodeState.CANCELLED
_UNSUCCESSFUL = frozenset({_FAILED, _SKIPPED, _CANCELLED})
_FINISHED = frozenset({_SUCCEEDED, _FAILED, _SKIPPED, _CANCELLED})


class Dispatcher:
    """Tracks which nodes may start, as dependencies finish.

    A node becomes ready the moment its count of unfinished dependencies reaches
    zero. When a node fails, every node that depends on it, directly or through
    others, is skipped at once, with the failed node as its cause; everything
    else goes on. A node added with ``all_done=True`` is never skipped: it waits
    for every dependency to finish, whatever its status (clean-up, summaries).
    """

    def __init__(self) -> None:
        self._state: dict[str, NodeState] = {}
        self._pending: dict[str, int] = {}
        self._successors: dict[str, list[str]] = {}
        self._all_done: set[str] = set()
        self._cause: dict[str, str] = {}
        self._ready: list[str] = []
        self._skipped: list[str] = []
        self._unfinished = 0

    def add(self, node: str, dependencies: Iterable[str] = (), *, all_done: bool = False) -> None:
        """Add ``node``, which may start once every one of ``dependencies`` succeeded.

        If a dependency already failed or was skipped, the node is skipped now.

        Args:
            node: A new node.
            dependencies: Nodes added before it.
            all_done: Start once every dependency finished, whatever its status,
                instead of once every one succeeded; such a node is never skipped.

        Raises:
            ValueError: ``node`` was already added, or a dependency was not added
                before it (or is the node itself).
        """
        state = self._state
        if node in state:
            raise ValueError(f"node {node!r} was already added")
        deps = tuple(dependencies)
        if len(deps) > 1 and len(set(deps)) != len(deps):
            deps = tuple(dict.fromkeys(deps))
        for dep in deps:
            if dep not in state:
                raise ValueError(f"node {node!r} depends on {dep!r}, which was not added")
        self._successors[node] = []
        self._unfinished += 1
        if all_done:
            self._all_done.add(node)
        else:
            for dep in deps:
                if state[dep] in _UNSUCCESSFUL:
                    state[node] = _WAITING
                    self._skip(node, self._cause.get(dep, dep))
                    return
        count = 0
        for dep in deps:
            if state[dep] not in _FINISHED:
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
        if succeeded:
            state[node] = _SUCCEEDED
            for successor in self._successors.pop(node):
                self._count_down(successor)
        else:
            state[node] = _FAILED
            self._skip_successors(node, node)

    def _count_down(self, node: str) -> None:
        """One more dependency of ``node`` finished in a way that lets it go on."""
        if self._state[node] is _WAITING:
            left = self._pending[node] - 1
            if left:
                self._pending[node] = left
            else:
                del self._pending[node]
                self._state[node] = _READY
                self._ready.append(node)

    def _skip_successors(self, node: str, cause: str) -> None:
        """``node`` did not succeed: skip, transitively, what needs it to succeed.

        Iterative, so that a failure at the head of a long chain cannot overflow
        the stack.
        """
        state, all_done = self._state, self._all_done
        stack = [node]
        while stack:
            for successor in self._successors.pop(stack.pop()):
                if successor in all_done:
                    self._count_down(successor)
                elif state[successor] is _WAITING:
                    state[successor] = _SKIPPED
                    self._pending.pop(successor, None)
                    self._cause[successor] = cause
                    self._skipped.append(successor)
                    self._unfinished -= 1
                    stack.append(successor)

    def _skip(self, node: str, cause: str) -> None:
        """Skip ``node`` (added after a dependency failed) and what needs it."""
        self._state[node] = _SKIPPED
        self._cause[node] = cause
        self._skipped.append(node)
        self._unfinished -= 1
        self._skip_successors(node, cause)

    def stop(self) -> list[str]:
        """Stop the run: every unfinished node is cancelled.

        Returns:
            The nodes that were never handed out (waiting or ready), in the order
            they were added. Running nodes are cancelled too; their driver
            reports them.
        """
        never_started = []
        for node, current in self._state.items():
            if current not in _FINISHED:
                if current is not _RUNNING:
                    never_started.append(node)
                self._state[node] = _CANCELLED
        self._ready.clear()
        self._pending.clear()
        self._unfinished = 0
        return never_started

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



class Admission:
    """Which waiting calls may start, under concurrency limits, best priority first.

    A call asks with :meth:`push`; :meth:`grant` admits, best first, every
    waiting call that fits under both the global limit and its server's limit;
    :meth:`release` frees a slot when a call ends (and admits nothing by itself,
    so that the successors a finishing call makes ready can compete for its slot:
    push them, then grant).

    Priorities are tuples, smallest first, e.g. ``(-remaining_path, order)``.
    A server whose limit is full never holds back the calls of another server.

    Args:
        limit: At most this many calls at once, or None for no global limit.
        server_limits: At most ``n`` calls at once on server ``name``.
    """

    def __init__(self, limit: int | None = None, server_limits: Mapping[str, int] | None = None) -> None:
        self._free = limit
        self._server_free: dict[str, int] = dict(server_limits or {})
        self._queues: dict[str, list[tuple[tuple[float | int, ...], int, str]]] = {}
        self._waiting: dict[str, int] = {}  # key -> the sequence number of its live entry
        self._pushed = 0

    def push(self, key: str, server: str, priority: tuple[float | int, ...]) -> None:
        """Queue call ``key`` to ``server``.

        Raises:
            ValueError: ``key`` is already waiting.
        """
        if key in self._waiting:
            raise ValueError(f"call {key!r} is already waiting")
        self._pushed += 1
        self._waiting[key] = self._pushed
        heapq.heappush(self._queues.setdefault(server, []), (priority, self._pushed, key))

    def withdraw(self, key: str) -> None:
        """Take a waiting call out of the queue (its task was cancelled); no-op if not waiting."""
        self._waiting.pop(key, None)

    def _head(self, server: str) -> tuple[tuple[float | int, ...], int, str] | None:
        queue, waiting = self._queues[server], self._waiting
        while queue and waiting.get(queue[0][2]) != queue[0][1]:
            heapq.heappop(queue)  # withdrawn: dropped lazily
        return queue[0] if queue else None

    def grant(self) -> list[str]:
        """Admit, best priority first, every waiting call that fits; they now hold a slot."""
        granted = []
        while self._free is None or self._free > 0:
            best: tuple[tuple[float | int, ...], int, str] | None = None
            best_server = ""
            for server in self._queues:
                if self._server_free.get(server, 1) <= 0:
                    continue
                head = self._head(server)
                if head is not None and (best is None or head < best):
                    best, best_server = head, server
            if best is None:
                break
            heapq.heappop(self._queues[best_server])
            del self._waiting[best[2]]
            if self._free is not None:
                self._free -= 1
            if best_server in self._server_free:
                self._server_free[best_server] -= 1
            granted.append(best[2])
        return granted

    def release(self, server: str) -> None:
        """A call to ``server`` that held a slot ended."""
        if self._free is not None:
            self._free += 1
        if server in self._server_free:
            self._server_free[server] += 1
