"""The run journal: finished tasks in SQLite, so that a run can resume after a crash.

One row per finished task of a run name: its tool, a hash of its resolved
arguments, its status, its JSON output, when it started and ended, and its
error. Rows are keyed by run name and task
id, so one journal serves many plans without mixing their rows. The database is
in write-ahead-log mode and every task is committed on its own, from a worker
thread (never the trio thread), before the run counts the task as finished: a
crash can repeat at most the calls that were in flight.

Opening a journal for a run checks all it can before any call: that the file can
be written (a row of table ``runs`` is written and committed), that no other
process holds it, and that no other run of the same name in this process does. A
process holds a journal with an exclusive lock (``flock``) on a file beside it,
``<journal>-lock`` (beside the real file, through any symlink), which holds its
pid; the system drops the lock when the process ends, even killed, so a crash
never leaves a journal locked. The run also counts a task as finished when its
row cannot be written (a full disk), but then stops: see ``JournalError``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sqlite3
import sys
import threading
import time
import warnings
from typing import Any

import trio

from ._errors import JournalError, JournalInUseError, JournalWarning

__all__ = ["DEFAULT_RUN_NAME", "Journal", "arguments_hash", "check_journal"]

#: The run name of a run that was given none (and of the rows of an older journal).
DEFAULT_RUN_NAME = "default"

_FINISHED = """
CREATE TABLE IF NOT EXISTS finished (
    run_name TEXT NOT NULL,
    task_id TEXT NOT NULL,
    tool TEXT NOT NULL,
    arguments_hash TEXT NOT NULL,
    status TEXT NOT NULL,
    output TEXT,
    finished_at REAL NOT NULL,
    started_at REAL,
    error_code TEXT,
    error_message TEXT,
    PRIMARY KEY (run_name, task_id)
)
"""

# When each run name was last opened: the write that proves the file writable.
_RUNS = """
CREATE TABLE IF NOT EXISTS runs (
    run_name TEXT PRIMARY KEY,
    opened_at REAL NOT NULL
)
"""

_COLUMNS = [
    "run_name", "task_id", "tool", "arguments_hash", "status", "output", "finished_at",
    "started_at", "error_code", "error_message",
]  # fmt: skip
# What a journal of dagexec before start times and errors lacks: added as columns, NULL in its rows.
_ADDED_COLUMNS = {"started_at": "REAL", "error_code": "TEXT", "error_message": "TEXT"}
_COLUMNS_WITHOUT_STARTS = _COLUMNS[: -len(_ADDED_COLUMNS)]
# A journal of dagexec before run names: its rows become those of DEFAULT_RUN_NAME.
_COLUMNS_WITHOUT_RUN_NAMES = _COLUMNS_WITHOUT_STARTS[1:]


def arguments_hash(tool: str, arguments: Any) -> str:
    """A stable hash of a call: the tool and its resolved arguments, as canonical JSON."""
    text = json.dumps([tool, arguments], sort_keys=True, separators=(",", ":"), default=repr)
    return hashlib.sha256(text.encode()).hexdigest()


def check_run_name(run_name: object) -> None:
    """Check a run name: a non-empty string.

    Raises:
        TypeError: It is not a string.
        ValueError: It is empty.
    """
    if not isinstance(run_name, str):
        raise TypeError(f"run_name must be a str, not {type(run_name).__name__}")
    if not run_name:
        raise ValueError("run_name must not be empty")


async def check_journal(path: str | os.PathLike[str], *, run_name: str = DEFAULT_RUN_NAME) -> None:
    """Check that a run of ``run_name`` could use the journal at ``path`` now, then let it go.

    Every run checks this as it opens, before any call; call it to learn it
    sooner, before tool servers start (the command line does). It opens the
    journal as a run would (creating it, or upgrading one written before run
    names), writes to it, and closes it.

    Args:
        path: The journal file.
        run_name: The run name to check.

    Raises:
        JournalError: The file cannot be opened as a journal, or written.
        JournalInUseError: Another process holds the journal, or another run of
            ``run_name`` in this process does.
        TypeError: ``run_name`` is not a string.
        ValueError: ``run_name`` is empty.
    """
    journal = await Journal.open(path, run_name, read=False)
    await journal.aclose()


class Journal:
    """The journal, opened for one run name. Use :meth:`open`; every method but :meth:`reusable` is async."""

    def __init__(
        self,
        path: str,
        run_name: str,
        connection: sqlite3.Connection,
        entries: dict[str, tuple[str, str, Any]],
        key: str,
    ) -> None:
        self.path = path
        self.run_name = run_name
        self._connection = connection
        self._entries = entries  # the run's reusable successes: tool, arguments hash, output
        self._key = key  # the process's hold on the file: see _hold
        # One statement at a time on the one connection, each from a worker thread.
        self._limiter = trio.CapacityLimiter(1)

    @classmethod
    async def open(
        cls, path: str | os.PathLike[str], run_name: str = DEFAULT_RUN_NAME, *, read: bool = True
    ) -> Journal:
        """Open (or create) the journal at ``path`` for a run of ``run_name``, and read that run's rows.

        The process holds the journal from now until :meth:`aclose`. A row whose
        output cannot be read as JSON counts as absent (its task runs again),
        and a :class:`~dagexec.JournalWarning` says so; if warnings of that
        class are errors, the journal is closed and the warning raised.

        Args:
            path: The journal file.
            run_name: Whose rows to read and write.
            read: Read the run's rows; False: only check the journal.

        Raises:
            JournalError: The file cannot be opened as a journal, or written.
            JournalInUseError: Another process holds it, or another run of
                ``run_name`` in this process does.
            TypeError: ``run_name`` is not a string.
            ValueError: ``run_name`` is empty.
        """
        check_run_name(run_name)
        name = os.fspath(path)

        def connect() -> tuple[Journal, list[JournalWarning]]:
            key = _hold(name, run_name)
            try:
                connection = _connect(name)
                try:
                    _prepare(connection, name, run_name)
                    rows = _rows(connection, name, run_name) if read else []
                except BaseException:
                    connection.close()
                    raise
            except BaseException:
                _release(key, run_name)
                raise
            entries: dict[str, tuple[str, str, Any]] = {}
            problems: list[JournalWarning] = []
            for task_id, tool, digest, text in rows:
                try:
                    entries[task_id] = (tool, digest, json.loads(text))
                except (TypeError, ValueError, RecursionError) as exc:
                    problems.append(JournalWarning(name, run_name, task_id, f"not JSON: {exc}"))
            return cls(name, run_name, connection, entries, key), problems

        journal, problems = await trio.to_thread.run_sync(connect)
        try:
            for problem in problems:
                warnings.warn(problem, stacklevel=2)
        except BaseException:  # the warning is an error: the run does not start
            with trio.CancelScope(shield=True):
                await journal.aclose()
            raise
        return journal

    def reusable(self, task_id: str, tool: str, digest: str) -> tuple[bool, Any]:
        """The output of an earlier success of this very call, if there is one.

        Returns:
            ``(True, output)`` when the journal holds a success of task
            ``task_id`` of this run name with the same tool and arguments hash,
            else ``(False, None)``.
        """
        # Asked once per task of the run (ids are unique), so the row is let go
        # at once: a resumed run holds no output it will not hand out.
        entry = self._entries.pop(task_id, None)
        if entry is None or entry[:2] != (tool, digest):
            return False, None
        return True, entry[2]

    async def record(
        self,
        task_id: str,
        tool: str,
        digest: str,
        status: str,
        output: Any,
        at: float,
        *,
        started: float | None = None,
        error: tuple[str, str] | None = None,
    ) -> None:
        """Commit one finished task. Not cancellable: once begun, the row is written.

        ``at`` and ``started`` are seconds since the run started; ``error`` is
        the task's error code and message.
        """
        try:
            text: str | None = json.dumps(output) if status == "success" else None
        except (TypeError, ValueError):
            text = None  # not JSON: recorded, but never reused

        def write() -> None:
            try:
                self._connection.execute(
                    "INSERT OR REPLACE INTO finished VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (self.run_name, task_id, tool, digest, status, text, at, started, *(error or (None, None))),
                )
            except sqlite3.Error as exc:
                raise JournalError(self.path, f"cannot write the journal {self.path!r}: {exc}") from None

        await trio.to_thread.run_sync(write, limiter=self._limiter)

    async def aclose(self) -> None:
        """Close the database, and let the journal go."""

        def close() -> None:
            try:
                self._connection.close()
            finally:
                _release(self._key, self.run_name)

        await trio.to_thread.run_sync(close, limiter=self._limiter)


# -- opening -------------------------------------------------------------------------------


def _connect(path: str) -> sqlite3.Connection:
    try:
        connection = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
    except sqlite3.Error as exc:
        raise JournalError(path, f"cannot open the journal {path!r}: {exc}") from None
    try:
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=NORMAL")
    except sqlite3.Error as exc:
        connection.close()
        raise JournalError(path, f"cannot open the journal {path!r}: {exc}") from None
    return connection


def _prepare(connection: sqlite3.Connection, path: str, run_name: str) -> None:
    """Create the tables, or upgrade an older journal's; then write, to know that we can."""
    try:
        connection.execute("BEGIN IMMEDIATE")
        try:
            columns = [row[1] for row in connection.execute("PRAGMA table_info(finished)")]
            if columns == _COLUMNS_WITHOUT_RUN_NAMES:
                connection.execute("ALTER TABLE finished RENAME TO finished_without_run_names")
                connection.execute(_FINISHED)
                connection.execute(
                    f"INSERT INTO finished ({', '.join(_COLUMNS_WITHOUT_STARTS)})"
                    " SELECT ?, task_id, tool, arguments_hash, status, output, finished_at"
                    " FROM finished_without_run_names",
                    (DEFAULT_RUN_NAME,),
                )
                connection.execute("DROP TABLE finished_without_run_names")
            elif columns == _COLUMNS_WITHOUT_STARTS:
                for column, kind in _ADDED_COLUMNS.items():  # NULL in the rows written before
                    connection.execute(f"ALTER TABLE finished ADD COLUMN {column} {kind}")
            elif columns and columns != _COLUMNS:
                raise JournalError(
                    path, f"cannot open the journal {path!r}: its table 'finished' is not a dagexec journal's"
                )
            connection.execute(_FINISHED)
            connection.execute(_RUNS)
            connection.execute("INSERT OR REPLACE INTO runs VALUES (?, ?)", (run_name, time.time()))
            connection.execute("COMMIT")
        except BaseException:
            if connection.in_transaction:
                connection.execute("ROLLBACK")
            raise
    except sqlite3.Error as exc:
        raise JournalError(path, f"cannot write the journal {path!r}: {exc}") from None


def _rows(connection: sqlite3.Connection, path: str, run_name: str) -> list[tuple[str, str, str, Any]]:
    """The successes of run ``run_name`` that have an output: task id, tool, arguments hash, output (text)."""
    try:
        rows = connection.execute(
            "SELECT task_id, tool, arguments_hash, output FROM finished"
            " WHERE run_name = ? AND status = 'success' AND output IS NOT NULL",
            (run_name,),
        ).fetchall()
    except sqlite3.Error as exc:
        raise JournalError(path, f"cannot open the journal {path!r}: {exc}") from None
    return rows


# -- one process at a time -----------------------------------------------------------------


class _JournalHold:
    """This process's hold on one journal: the locked file, and the run names open on it."""

    def __init__(self, fd: int, lock_path: str) -> None:
        self.fd = fd
        self.lock_path = lock_path
        self.run_names: set[str] = set()


# By the journal's real path. Runs of different names in one process share the hold.
_holds: dict[str, _JournalHold] = {}
_holds_lock = threading.Lock()  # journals open from worker threads, maybe of several trio runs


def _hold(path: str, run_name: str) -> str:
    """Hold the journal for a run of ``run_name``; return the key to :func:`_release` it with."""
    key = os.path.realpath(path)
    with _holds_lock:
        hold = _holds.get(key)
        if hold is None:
            lock_path = key + "-lock"  # by the real path too: a symlink to the journal names the same lock
            hold = _holds[key] = _JournalHold(_lock(path, lock_path), lock_path)
        elif run_name in hold.run_names:
            raise JournalInUseError(path, os.getpid(), run_name)
        hold.run_names.add(run_name)
    return key


def _release(key: str, run_name: str) -> None:
    with _holds_lock:
        hold = _holds[key]
        hold.run_names.discard(run_name)
        if not hold.run_names:
            del _holds[key]
            with contextlib.suppress(OSError):
                os.unlink(hold.lock_path)  # while still locked: see _lock
            os.close(hold.fd)  # and the lock goes with it


def _lock(path: str, lock_path: str) -> int:
    """Lock ``lock_path`` for this process, and write our pid in it; return its descriptor.

    Raises:
        JournalInUseError: Another process holds it.
        JournalError: It cannot be created or locked.
    """
    while True:
        try:
            fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise JournalError(
                path, f"cannot open the journal {path!r}: cannot create {lock_path!r}: {exc.strerror}"
            ) from None
        try:
            locked = _try_lock(fd)
        except OSError as exc:
            os.close(fd)
            raise JournalError(path, f"cannot open the journal {path!r}: cannot lock {lock_path!r}: {exc}") from None
        if not locked:
            pid = _read_pid(fd)
            os.close(fd)
            raise JournalInUseError(path, pid)
        # A holder removes the file before it lets go: if we locked a removed file, try the new one.
        try:
            current = os.stat(lock_path)
        except FileNotFoundError:
            current = None
        mine = os.fstat(fd)
        if current is not None and (current.st_dev, current.st_ino) == (mine.st_dev, mine.st_ino):
            break
        os.close(fd)
    os.ftruncate(fd, 0)
    os.write(fd, f"{os.getpid()}\n".encode())
    return fd


def _try_lock(fd: int) -> bool:
    """Take the exclusive lock of the file, without waiting: False if another process holds it."""
    if sys.platform == "win32":  # pragma: no cover - the tests run on Linux
        import msvcrt

        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True
    import fcntl

    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _read_pid(fd: int) -> int | None:
    """The pid in a lock file, if it is there yet."""
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        return int(os.read(fd, 32).decode().strip())
    except (OSError, ValueError, UnicodeDecodeError):
        return None
