"""The run journal: finished tasks in SQLite, so that a run can resume after a crash.

One row per finished task: its tool, a hash of its resolved arguments, its status
and its JSON output. The database is in write-ahead-log mode and every task is
committed on its own, from a worker thread (never the trio thread), before the
run counts the task as finished: a crash can repeat at most the calls that were
in flight.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
from typing import Any

import trio

from ._errors import JournalError

_SCHEMA = """
CREATE TABLE IF NOT EXISTS finished (
    task_id TEXT PRIMARY KEY,
    tool TEXT NOT NULL,
    arguments_hash TEXT NOT NULL,
    status TEXT NOT NULL,
    output TEXT,
    finished_at REAL NOT NULL
)
"""


def arguments_hash(tool: str, arguments: Any) -> str:
    """A stable hash of a call: the tool and its resolved arguments, as canonical JSON."""
    text = json.dumps([tool, arguments], sort_keys=True, separators=(",", ":"), default=repr)
    return hashlib.sha256(text.encode()).hexdigest()


class Journal:
    """An open journal. Use :meth:`open`; every method but :meth:`reusable` is async."""

    def __init__(self, connection: sqlite3.Connection, entries: dict[str, tuple[str, str, str, str | None]]):
        self._connection = connection
        self._entries = entries
        # One statement at a time on the one connection, each from a worker thread.
        self._limiter = trio.CapacityLimiter(1)

    @classmethod
    async def open(cls, path: str | os.PathLike[str]) -> Journal:
        """Open (or create) the journal at ``path`` and read what it holds.

        Raises:
            JournalError: The file cannot be opened as a journal.
        """

        def connect() -> Journal:
            try:
                connection = sqlite3.connect(os.fspath(path), check_same_thread=False, isolation_level=None)
                connection.execute("PRAGMA journal_mode=WAL")
                connection.execute("PRAGMA synchronous=NORMAL")
                connection.execute(_SCHEMA)
                rows = connection.execute(
                    "SELECT task_id, tool, arguments_hash, status, output FROM finished"
                ).fetchall()
            except sqlite3.Error as exc:
                raise JournalError(f"cannot open the journal {os.fspath(path)!r}: {exc}") from None
            return cls(connection, {row[0]: tuple(row[1:]) for row in rows})

        return await trio.to_thread.run_sync(connect)

    def reusable(self, task_id: str, tool: str, digest: str) -> tuple[bool, Any]:
        """The output of an earlier success of this very call, if there is one.

        Returns:
            ``(True, output)`` when the journal holds a success of task
            ``task_id`` with the same tool and arguments hash, else ``(False, None)``.
        """
        entry = self._entries.get(task_id)
        if entry is None or entry[:3] != (tool, digest, "success") or entry[3] is None:
            return False, None
        return True, json.loads(entry[3])

    async def record(self, task_id: str, tool: str, digest: str, status: str, output: Any, at: float) -> None:
        """Commit one finished task. Not cancellable: once begun, the row is written."""
        try:
            text: str | None = json.dumps(output) if status == "success" else None
        except (TypeError, ValueError):
            text = None  # not JSON: recorded, but never reused

        def write() -> None:
            try:
                self._connection.execute(
                    "INSERT OR REPLACE INTO finished VALUES (?, ?, ?, ?, ?, ?)",
                    (task_id, tool, digest, status, text, at),
                )
            except sqlite3.Error as exc:
                raise JournalError(f"cannot write the journal: {exc}") from None

        await trio.to_thread.run_sync(write, limiter=self._limiter)
        self._entries[task_id] = (tool, digest, status, text)

    async def aclose(self) -> None:
        """Close the database."""
        await trio.to_thread.run_sync(self._connection.close, limiter=self._limiter)
