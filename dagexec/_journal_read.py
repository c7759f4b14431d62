"""Reading a run journal back, for people and programs: each run name and its tasks.

The journal (:mod:`dagexec._journal`) is written by runs, to resume them; this
module only reads it, opening the file read-only, so that a journal in use by
a run can be shown, and a journal of an older dagexec is shown as it is (never
upgraded): its rows have no start time and no error.
"""

from __future__ import annotations

import os
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any

import attrs

from ._codes import ErrorCode, TaskStatus
from ._errors import JournalError
from ._journal import _COLUMNS, _COLUMNS_WITHOUT_RUN_NAMES, _COLUMNS_WITHOUT_STARTS, DEFAULT_RUN_NAME
from ._results import TaskError

__all__ = ["JournalRun", "JournalTask", "read_journal"]

#: The columns shown, in the order read (not the arguments hash, nor the output).
_SHOWN = ("run_name", "task_id", "tool", "status", "started_at", "finished_at", "error_code", "error_message")


@attrs.frozen(kw_only=True)
class JournalTask:
    """One finished task as the journal keeps it.

    Attributes:
        task_id: The task's id.
        tool: Its ``server:tool``.
        status (TaskStatus): ``success`` or ``error`` (the journal keeps the
            tasks whose call ended).
        started_at: Seconds from the start of the run that wrote the row to the
            start of the task's first call; None in a row written before
            dagexec kept start times.
        finished_at: Seconds from the start of that run to the task's end.
        error (TaskError | None): Why it failed; None on success, and in a row
            written before dagexec kept errors.
    """

    task_id: str
    tool: str
    status: TaskStatus
    started_at: float | None
    finished_at: float
    error: TaskError | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data."""
        return {
            "task_id": self.task_id,
            "tool": self.tool,
            "status": self.status.value,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "error": None if self.error is None else {"code": self.error.code.value, "message": self.error.message},
        }


@attrs.frozen(kw_only=True)
class JournalRun:
    """The rows of one run name.

    Attributes:
        name: The run name (``default`` for a run given none, and for the rows
            of a journal written before run names).
        opened_at: When a run of this name last opened the journal, in seconds
            since the epoch (as ``time.time()`` gives); None if the journal does not say.
        tasks (tuple[JournalTask, ...]): Its finished tasks, in the order their
            rows were written: the order they ended (a task run again comes
            where its last run ended).
    """

    name: str
    opened_at: float | None
    tasks: tuple[JournalTask, ...]

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data."""
        return {"name": self.name, "opened_at": self.opened_at, "tasks": [task.to_dict() for task in self.tasks]}


def read_journal(path: str | os.PathLike[str]) -> tuple[JournalRun, ...]:
    """Every run in the journal at ``path``, by name, and each one's finished tasks.

    The file is opened read-only: a journal that a run holds can be read, and
    nothing is written or upgraded.

    Raises:
        JournalError: There is no such file, or it is not a dagexec journal.
    """
    name = os.fspath(path)
    if not Path(name).is_file():
        raise JournalError(name, f"cannot read the journal {name!r}: no such file")
    try:
        with closing(sqlite3.connect(f"{Path(name).resolve().as_uri()}?mode=ro", uri=True)) as connection:
            return _read(connection, name)
    except sqlite3.Error as exc:
        raise JournalError(name, f"cannot read the journal {name!r}: {exc}") from None


def _read(connection: sqlite3.Connection, path: str) -> tuple[JournalRun, ...]:
    columns = [row[1] for row in connection.execute("PRAGMA table_info(finished)")]
    if columns not in (_COLUMNS, _COLUMNS_WITHOUT_STARTS, _COLUMNS_WITHOUT_RUN_NAMES):
        raise JournalError(path, f"cannot read the journal {path!r}: it has no table 'finished' of a dagexec journal")
    # Each older shape of the table, read as the current one: what it lacks is NULL, and
    # the rows of a journal before run names are those of DEFAULT_RUN_NAME.
    selected = ", ".join(
        column if column in columns else "?" if column == "run_name" else "NULL" for column in _SHOWN
    )
    parameters = () if "run_name" in columns else (DEFAULT_RUN_NAME,)
    rows = connection.execute(f"SELECT {selected} FROM finished ORDER BY rowid", parameters).fetchall()
    tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    opened = dict(connection.execute("SELECT run_name, opened_at FROM runs").fetchall()) if "runs" in tables else {}
    tasks: dict[str, list[JournalTask]] = {run_name: [] for run_name in opened}
    for run_name, task_id, tool, status, started, finished, code, message in rows:
        try:
            error = None if code is None else TaskError(ErrorCode(code), message or "")
            task = JournalTask(
                task_id=task_id,
                tool=tool,
                status=TaskStatus(status),
                started_at=started,
                finished_at=finished,
                error=error,
            )
        except ValueError as exc:  # a status or code this dagexec does not know (a newer one wrote it)
            raise JournalError(
                path, f"cannot read the journal {path!r}: task {task_id!r} of run {run_name!r}: {exc}"
            ) from None
        tasks.setdefault(run_name, []).append(task)
    return tuple(
        JournalRun(name=run_name, opened_at=opened.get(run_name), tasks=tuple(found))
        for run_name, found in sorted(tasks.items())
    )

