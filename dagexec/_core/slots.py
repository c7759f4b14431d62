"""Concurrency slots that any number of runs share, handed out best priority first. No I/O."""

from __future__ import annotations

import heapq
from collections.abc import Hashable, Mapping
from typing import Any

import attrs

Rank = tuple[float, ...]
"""Smallest first, e.g. ``(-remaining_path, order)``; ``()`` ranks by arrival alone."""


@attrs.frozen
class SlotsStatistics:
    """A snapshot of the slots: calls holding one now, and calls waiting for one."""

    in_use: int
    in_use_by_server: Mapping[str, int]
    waiting: int


class Slots:
    """Which waiting calls may start, under a global limit and limits per server.

    Think of a sack of tokens for the whole process and one per limited server: a
    call needs one of each that applies. A call asks with :meth:`push`;
    :meth:`grant` admits, best priority first, every waiting call that fits under
    both its limits; :meth:`release` puts a call's tokens back when it ends, and
    admits nothing by itself, so that the calls that a finishing call makes ready
    can compete for its slot: push them, then grant.

    Calls of several runs may wait together: each is pushed with an ``owner``
    (its run), which :meth:`grant` hands back beside the call's key, so that runs
    in flight at once share the limits and one ranking. A server whose limit is
    full never holds back the calls of another server.

    Args:
        limit: At most this many calls at once, or None for no global limit.
        server_limits: At most ``n`` calls at once on server ``name``.
    """

    def __init__(self, limit: int | None = None, server_limits: Mapping[str, int] | None = None) -> None:
        self._server_limits = dict(server_limits or {})
        self._free = limit
        self._server_free = dict(self._server_limits)
        self._queues: dict[str, list[tuple[Rank, int, Hashable, Any]]] = {}
        self._waiting: dict[Hashable, int] = {}  # key -> the sequence number of its live entry
        self._pushed = 0
        self._in_use = 0

    def push(self, owner: Any, key: Hashable, server: str, priority: Rank) -> None:
        """Queue call ``key`` of ``owner`` to ``server``.

        Raises:
            ValueError: ``key`` is already waiting.
        """
        if key in self._waiting:
            raise ValueError(f"call {key!r} is already waiting")
        self._pushed += 1
        self._waiting[key] = self._pushed
        heapq.heappush(self._queues.setdefault(server, []), (priority, self._pushed, key, owner))

    def withdraw(self, key: Hashable) -> None:
        """Take a waiting call out of the queue (its task ended); a no-op if it is not waiting."""
        self._waiting.pop(key, None)

    def _head(self, server: str) -> tuple[Rank, int, Hashable, Any] | None:
        queue, waiting = self._queues[server], self._waiting
        while queue and waiting.get(queue[0][2]) != queue[0][1]:
            heapq.heappop(queue)  # withdrawn: dropped lazily
        return queue[0] if queue else None

    def grant(self) -> list[tuple[Any, Hashable]]:
        """Admit, best priority first, every waiting call that fits; each now holds a slot.

        Returns:
            ``(owner, key)`` of each admitted call, in the order admitted.
        """
        granted = []
        while self._free is None or self._free > 0:
            best: tuple[Rank, int, Hashable, Any] | None = None
            for server in self._queues:
                if self._server_free.get(server, 1) <= 0:
                    continue
                head = self._head(server)
                if head is not None and (best is None or head[:2] < best[:2]):
                    best, best_server = head, server
            if best is None:
                break
            heapq.heappop(self._queues[best_server])
            del self._waiting[best[2]]
            self._in_use += 1
            if self._free is not None:
                self._free -= 1
            if best_server in self._server_free:
                self._server_free[best_server] -= 1
            granted.append((best[3], best[2]))
        return granted

    def release(self, server: str) -> None:
        """A call to ``server`` that held a slot ended."""
        self._in_use -= 1
        if self._free is not None:
            self._free += 1
        if server in self._server_free:
            self._server_free[server] += 1

    def statistics(self) -> SlotsStatistics:
        """How many slots are in use, overall and per limited server, and how many calls wait."""
        in_use = {server: limit - self._server_free[server] for server, limit in self._server_limits.items()}
        return SlotsStatistics(in_use=self._in_use, in_use_by_server=in_use, waiting=len(self._waiting))
