"""The journal's guarantees: checked before any call, bad rows run again, one holder, runs kept apart by name."""

from __future__ import annotations

import re
import sqlite3
import warnings
from collections import Counter
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
import trio

from dagexec import (
    EagerExecutor,
    ErrorCode,
    JournalError,
    JournalFailedError,
    JournalInUseError,
    JournalRun,
    JournalTask,
    JournalWarning,
    LayeredExecutor,
    LocalTools,
    TaskError,
    TaskStatus,
    Workflow,
    check_journal,
    read_journal,
)
from dagexec._journal import Journal, arguments_hash

from .helpers import journal_fills_up, journal_held, read_only_journal


def counting(calls: Counter[str]) -> dict[str, LocalTools]:
    async def work(key: str) -> dict[str, str]:
        calls[key] += 1
        await trio.sleep(0.01)
        return {"key": key, "n": str(calls[key])}

    return {"w": LocalTools({"work": work})}


def plan(**keys: str) -> Workflow:
    """One task per keyword: task id, and the key it passes to w:work."""
    return Workflow.from_dict(
        {"tasks": [{"id": tid, "tool": "w:work", "arguments": {"key": key}} for tid, key in keys.items()]}
    )


def rows(path: Path) -> list[tuple[Any, ...]]:
    with closing(sqlite3.connect(path)) as db:
        found = db.execute("SELECT run_name, task_id, status, output FROM finished ORDER BY run_name, task_id")
        return found.fetchall()


# -- checked before any call ---------------------------------------------------------------


@pytest.mark.parametrize("executor", [EagerExecutor, LayeredExecutor])
async def test_an_unwritable_journal_is_refused_before_any_call(
    tmp_path: Path, executor: type[EagerExecutor] | type[LayeredExecutor]
) -> None:
    path = read_only_journal(tmp_path / "run.db")
    calls: Counter[str] = Counter()
    message = f"^cannot write the journal '{re.escape(str(path))}': attempt to write a readonly database$"
    for _ in range(2):  # and a failed open lets the journal go
        with pytest.raises(JournalError, match=message) as caught:
            await executor(counting(calls), journal=path).execute(plan(a="a", b="b"))
        assert caught.value.path == str(path)
    assert calls == Counter()  # no call was made, so no result was lost
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.db"]  # no lock file left behind
    with pytest.raises(JournalError, match=message):
        await check_journal(path)


async def test_check_journal_creates_a_journal_and_lets_it_go(tmp_path: Path) -> None:
    path = tmp_path / "run.db"
    await check_journal(path, run_name="nightly")
    assert rows(path) == []
    with closing(sqlite3.connect(path)) as db:
        assert db.execute("SELECT run_name FROM runs").fetchall() == [("nightly",)]
    await check_journal(path, run_name="nightly")  # not held any more
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.db"]


@pytest.mark.parametrize(
    ("run_name", "error", "message"),
    [("", ValueError, "^run_name must not be empty$"), (3, TypeError, "^run_name must be a str, not int$")],
)
async def test_a_bad_run_name_is_refused(tmp_path: Path, run_name: Any, error: type[Exception], message: str) -> None:
    executor = EagerExecutor(counting(Counter()), journal=tmp_path / "run.db")
    with pytest.raises(error, match=message):
        await executor.execute(plan(a="a"), run_name=run_name)
    with pytest.raises(error, match=message):
        await check_journal(tmp_path / "run.db", run_name=run_name)
    assert not (tmp_path / "run.db").exists()


# -- a bad row -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("stored", "problem"),
    [
        ("{not json", "Expecting property name enclosed in double quotes: line 1 column 2 (char 1)"),
        (b"\x80abc", "'utf-8' codec can't decode byte 0x80 in position 0: invalid start byte"),  # a blob
    ],
)
async def test_a_row_that_is_not_json_runs_again_with_a_warning(tmp_path: Path, stored: object, problem: str) -> None:
    path, calls = tmp_path / "run.db", Counter[str]()
    await EagerExecutor(counting(calls), journal=path).execute(plan(a="a", b="b"))
    with sqlite3.connect(path) as db:
        db.execute("UPDATE finished SET output = ? WHERE task_id = 'a'", (stored,))
    db.close()

    expected = (
        f"journal '{path}': the output recorded for task 'a' of run 'default' is not usable "
        f"(not JSON: {problem}); the task runs again"
    )
    with pytest.warns(JournalWarning, match=f"^{re.escape(expected)}$") as caught:
        second = await EagerExecutor(counting(calls), journal=path).execute(plan(a="a", b="b"))
    assert len(caught) == 1
    warning = caught[0].message
    assert isinstance(warning, JournalWarning)
    assert (warning.path, warning.run_name, warning.task_id) == (str(path), "default", "a")
    assert second.ok and {r.task_id: r.reused for r in second.results} == {"a": False, "b": True}
    assert second["a"].output == {"key": "a", "n": "2"} and calls == Counter({"a": 2, "b": 1})

    # The new call's row replaced the bad one: reused from now on, without a word.
    third = await EagerExecutor(counting(calls), journal=path).execute(plan(a="a", b="b"))
    assert third["a"].reused and third["a"].output == {"key": "a", "n": "2"}


async def test_a_bad_row_stops_the_run_before_any_call_where_warnings_are_errors(tmp_path: Path) -> None:
    path, calls = tmp_path / "run.db", Counter[str]()
    await EagerExecutor(counting(calls), journal=path).execute(plan(a="a", b="b"))
    with closing(sqlite3.connect(path)) as db, db:
        db.execute("UPDATE finished SET output = 'not json' WHERE task_id = 'b'")
    with warnings.catch_warnings():
        warnings.simplefilter("error", JournalWarning)
        with pytest.raises(JournalWarning, match="^journal .* task 'b' of run 'default' is not usable"):
            await EagerExecutor(counting(calls), journal=path).execute(plan(a="a", b="b"))
    assert calls == Counter({"a": 1, "b": 1})  # no call: the run did not start
    with pytest.warns(JournalWarning):  # and the journal was let go
        again = await EagerExecutor(counting(calls), journal=path).execute(plan(a="a", b="b"))
    assert again["a"].reused and not again["b"].reused


# -- one holder ----------------------------------------------------------------------------


def test_a_second_process_is_refused_while_a_run_holds_the_journal(tmp_path: Path) -> None:
    path, calls = tmp_path / "run.db", Counter[str]()

    async def second_run() -> None:
        await EagerExecutor(counting(calls), journal=path).execute(plan(t0="t0"), run_name="another")

    with journal_held(path) as holder:
        in_use = rf"^journal '{re.escape(str(path))}' is in use by another process \(pid {holder.pid}\)$"
        with pytest.raises(JournalInUseError, match=in_use) as caught:
            trio.run(second_run)
        assert (caught.value.path, caught.value.pid, caught.value.run_name) == (str(path), holder.pid, None)
        assert calls == Counter()
        assert (tmp_path / "run.db-lock").read_text() == f"{holder.pid}\n"
    # Once the holder is done, the journal is free, and nothing is left beside it.
    assert not (tmp_path / "run.db-lock").exists()
    trio.run(second_run)
    assert calls == Counter({"t0": 1})  # another run name: the holder's rows are not ours


@pytest.mark.parametrize("held_through", ["the real path", "a symlink"])
def test_a_journal_is_held_by_its_real_path_through_a_symlink(tmp_path: Path, held_through: str) -> None:
    """Two names of one file are one journal: the second process is refused whichever name each gives."""
    real, link, calls = tmp_path / "run.db", tmp_path / "link.db", Counter[str]()
    link.symlink_to(real)
    held, second = (real, link) if held_through == "the real path" else (link, real)

    async def second_run() -> None:
        await EagerExecutor(counting(calls), journal=second).execute(plan(t0="t0"), run_name="another")

    with journal_held(held) as holder:
        with pytest.raises(JournalInUseError) as caught:
            trio.run(second_run)
        assert (caught.value.path, caught.value.pid) == (str(second), holder.pid)
        assert calls == Counter()
        assert (tmp_path / "run.db-lock").read_text() == f"{holder.pid}\n"  # beside the real file
        assert not (tmp_path / "link.db-lock").exists()


async def test_one_run_name_serves_one_run_at_a_time_in_a_process(tmp_path: Path) -> None:
    path, calls = tmp_path / "run.db", Counter[str]()
    executor = EagerExecutor(counting(calls), journal=path)
    in_use = f"^journal '{re.escape(str(path))}' is in use by another run named 'x' in this process$"
    async with executor.open_run(run_name="x"):
        with pytest.raises(JournalInUseError, match=in_use) as caught:
            await executor.execute(plan(a="a"), run_name="x")
        other = await executor.execute(plan(a="a"), run_name="y")  # another name runs at once
    assert caught.value.run_name == "x"
    assert other.ok and calls == Counter({"a": 1})
    again = await executor.execute(plan(a="a"), run_name="x")  # let go at the end of its run
    assert not again["a"].reused  # run y's row is not run x's
    assert rows(path) == [
        ("x", "a", "success", '{"key": "a", "n": "2"}'), ("y", "a", "success", '{"key": "a", "n": "1"}'),
    ]  # fmt: skip


# -- runs kept apart -----------------------------------------------------------------------


async def test_plans_under_different_run_names_keep_their_rows_apart(tmp_path: Path) -> None:
    path, calls = tmp_path / "run.db", Counter[str]()
    # Two plans with the same task ids and different calls, one journal.
    first, second = plan(fetch="first", sum="s1"), plan(fetch="second", sum="s2")
    await EagerExecutor(counting(calls), journal=path).execute(first, run_name="first")
    await EagerExecutor(counting(calls), journal=path).execute(second, run_name="second")
    again = await EagerExecutor(counting(calls), journal=path).execute(first, run_name="first")
    assert all(r.reused for r in again.results)  # the second plan did not overwrite the first's rows
    assert calls == Counter({"first": 1, "s1": 1, "second": 1, "s2": 1})
    assert [row[:2] for row in rows(path)] == [
        ("first", "fetch"), ("first", "sum"), ("second", "fetch"), ("second", "sum"),
    ]  # fmt: skip

    # A run without a name is run "default": it reuses no other name's rows.
    default = await EagerExecutor(counting(calls), journal=path).execute(first)
    assert not any(r.reused for r in default.results)
    assert {row[0] for row in rows(path)} == {"first", "second", "default"}


_OLD_SCHEMA = """
CREATE TABLE IF NOT EXISTS finished (
    task_id TEXT PRIMARY KEY,
    tool TEXT NOT NULL,
    arguments_hash TEXT NOT NULL,
    status TEXT NOT NULL,
    output TEXT,
    finished_at REAL NOT NULL
)
"""


async def test_a_journal_without_run_names_is_upgraded_its_rows_to_run_default(tmp_path: Path) -> None:
    path, calls = tmp_path / "old.db", Counter[str]()
    with sqlite3.connect(path) as db:  # a journal of dagexec before run names, with one success
        db.execute("PRAGMA journal_mode=WAL")
        db.execute(_OLD_SCHEMA)
        digest = arguments_hash("w:work", {"key": "a"})
        db.execute("INSERT INTO finished VALUES ('a', 'w:work', ?, 'success', '{\"old\": true}', 1.5)", (digest,))
    db.close()

    result = await EagerExecutor(counting(calls), journal=path).execute(plan(a="a", b="b"))
    assert result["a"].reused and result["a"].output == {"old": True}
    assert calls == Counter({"b": 1})
    with sqlite3.connect(path) as db:
        columns = [row[1] for row in db.execute("PRAGMA table_info(finished)")]
        assert columns == [
            "run_name", "task_id", "tool", "arguments_hash", "status", "output", "finished_at",
            "started_at", "error_code", "error_message",
        ]  # fmt: skip
        assert db.execute("SELECT run_name, task_id, finished_at FROM finished WHERE task_id = 'a'").fetchall() == [
            ("default", "a", 1.5)
        ]
    db.close()
    [run] = read_journal(path)
    assert run.name == "default"
    # The old row has no start time; the new one has.
    assert [(t.task_id, t.started_at is None) for t in run.tasks] == [("a", True), ("b", False)]
    named = await EagerExecutor(counting(calls), journal=path).execute(plan(a="a"), run_name="wf")
    assert not named["a"].reused


async def test_a_table_of_another_shape_is_not_taken_for_a_journal(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE finished (id INTEGER PRIMARY KEY, what TEXT)")
    db.close()
    message = f"^cannot open the journal '{re.escape(str(path))}': its table 'finished' is not a dagexec journal's$"
    with pytest.raises(JournalError, match=message):
        await EagerExecutor(counting(Counter()), journal=path).execute(plan(a="a"))
    with sqlite3.connect(path) as db:  # untouched
        assert db.execute("SELECT name FROM sqlite_master").fetchall() == [("finished",)]
    db.close()



async def test_the_journal_hands_each_earlier_output_out_once_and_keeps_no_new_one(tmp_path: Path) -> None:
    path = tmp_path / "j.db"
    journal = await Journal.open(path)
    try:
        digest = arguments_hash("w:work", {"key": "k"})
        await journal.record("a", "w:work", digest, "success", {"big": "output"}, 1.0)
        assert journal.reusable("a", "w:work", digest) == (False, None)  # this run's own rows are not kept
    finally:
        await journal.aclose()
    journal = await Journal.open(path)  # a resumed run reads its rows, and lets each go as it hands it out
    try:
        assert journal.reusable("a", "w:work", digest) == (True, {"big": "output"})
        assert journal.reusable("a", "w:work", digest) == (False, None)
    finally:
        await journal.aclose()


# -- reading it back ----------------------------------------------------------------------


#: The table of dagexec with run names, before start times and errors.
_SCHEMA_WITHOUT_STARTS = """
CREATE TABLE finished (
    run_name TEXT NOT NULL,
    task_id TEXT NOT NULL,
    tool TEXT NOT NULL,
    arguments_hash TEXT NOT NULL,
    status TEXT NOT NULL,
    output TEXT,
    finished_at REAL NOT NULL,
    PRIMARY KEY (run_name, task_id)
)
"""


async def test_read_journal_gives_each_run_its_tasks_times_and_errors(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    async def work(seconds: float, fail: bool = False) -> str:
        await trio.sleep(seconds)
        if fail:
            raise RuntimeError(f"failed after {seconds:g}")
        return "done"

    servers = {"w": LocalTools({"work": work})}
    path = tmp_path / "run.db"
    chain = Workflow.from_dict(
        {
            "tasks": [
                {"id": "a", "tool": "w:work", "arguments": {"seconds": 1}},
                {"id": "b", "tool": "w:work", "arguments": {"seconds": 2, "fail": True}, "depends_on": ["a"]},
                {"id": "c", "tool": "w:work", "arguments": {"seconds": 1}, "depends_on": ["b"]},
            ]
        }
    )
    await EagerExecutor(servers, journal=path).execute(chain, run_name="chain")
    await EagerExecutor(servers, journal=path).execute(
        Workflow.from_dict({"tasks": [{"id": "x", "tool": "w:work", "arguments": {"seconds": 0.5}}]}), run_name="one"
    )
    chain_run, one = read_journal(path)
    assert chain_run.tasks == (
        JournalTask(task_id="a", tool="w:work", status=TaskStatus.SUCCESS, started_at=0.0, finished_at=1.0),
        JournalTask(
            task_id="b",
            tool="w:work",
            status=TaskStatus.ERROR,
            started_at=1.0,
            finished_at=3.0,
            error=TaskError(ErrorCode.TOOL_ERROR, "RuntimeError: failed after 2"),
        ),
    )  # c was skipped: it never ran, so it has no row
    assert (chain_run.name, one.name) == ("chain", "one")
    assert one.tasks == (
        JournalTask(task_id="x", tool="w:work", status=TaskStatus.SUCCESS, started_at=0.0, finished_at=0.5),
    )
    assert chain_run.opened_at is not None and one.opened_at is not None
    assert chain_run.to_dict()["tasks"][1] == {
        "task_id": "b",
        "tool": "w:work",
        "status": "error",
        "started_at": 1.0,
        "finished_at": 3.0,
        "error": {"code": "tool_error", "message": "RuntimeError: failed after 2"},
    }


async def test_a_journal_before_start_times_is_read_as_it_is_and_upgraded_when_a_run_opens_it(
    tmp_path: Path,
) -> None:
    path = tmp_path / "older.db"
    with closing(sqlite3.connect(path)) as db, db:
        db.execute(_SCHEMA_WITHOUT_STARTS)
        db.execute("INSERT INTO finished VALUES ('wf', 'a', 'w:work', 'h', 'success', '1', 2.5)")
        db.execute("INSERT INTO finished VALUES ('wf', 'b', 'w:work', 'h', 'error', NULL, 3.0)")
    before = path.read_bytes()
    old = (
        JournalTask(task_id="a", tool="w:work", status=TaskStatus.SUCCESS, started_at=None, finished_at=2.5),
        JournalTask(task_id="b", tool="w:work", status=TaskStatus.ERROR, started_at=None, finished_at=3.0),
    )
    assert read_journal(path) == (JournalRun(name="wf", opened_at=None, tasks=old),)
    assert path.read_bytes() == before  # read, not upgraded

    calls = Counter[str]()
    await EagerExecutor(counting(calls), journal=path).execute(plan(c="c"), run_name="wf")
    [run] = read_journal(path)
    assert run.tasks[:2] == old
    assert run.tasks[2].task_id == "c" and run.tasks[2].started_at is not None
    assert run.opened_at is not None


def test_read_journal_refuses_a_missing_file_and_a_table_of_another_shape(tmp_path: Path) -> None:
    missing = tmp_path / "none.db"
    with pytest.raises(JournalError, match=f"^cannot read the journal '{re.escape(str(missing))}': no such file$"):
        read_journal(missing)
    assert not missing.exists()
    other = tmp_path / "other.db"
    with closing(sqlite3.connect(other)) as db, db:
        db.execute("CREATE TABLE finished (id INTEGER PRIMARY KEY, what TEXT)")
    message = f"^cannot read the journal '{re.escape(str(other))}': it has no table 'finished' of a dagexec journal$"
    with pytest.raises(JournalError, match=message):
        read_journal(other)


# -- a full disk -----------------------------------------------------------------------------


def big(calls: Counter[str]) -> dict[str, LocalTools]:
    """``w:work``, whose outputs take a page of the journal each."""

    async def work(key: str) -> dict[str, str]:
        calls[key] += 1
        await trio.sleep(0.01)
        return {"key": key, "blob": "x" * 3000}

    return {"w": LocalTools({"work": work})}


@pytest.mark.parametrize("executor", [EagerExecutor, LayeredExecutor])
async def test_a_full_disk_stops_the_run_with_every_tasks_status(
    tmp_path: Path, executor: type[EagerExecutor]
) -> None:
    path, calls = tmp_path / "run.db", Counter[str]()
    await check_journal(path)
    # Three chains of ten: a call of each chain at a time.
    workflow = Workflow.from_dict({"tasks": [
        {"id": f"t{i}", "tool": "w:work", "arguments": {"key": f"t{i}"}, "depends_on": [f"t{i - 3}"] if i >= 3 else []}
        for i in range(30)
    ]})  # fmt: skip
    with journal_fills_up(pages=5), pytest.raises(JournalFailedError) as caught:
        await executor(big(calls), journal=path).execute(workflow)
    error = caught.value  # one error, not one per task in flight
    prefix = f"cannot write the journal {str(path)!r}: "
    assert str(error).startswith(f"the journal failed, the run was stopped: {prefix}")
    assert error.path == str(path)
    result = error.result
    assert result is not None and result.stop_reason is not None
    assert result.stop_reason.startswith(f"the journal failed: {prefix}")
    statuses = {r.task_id: r.status.value for r in result.results}
    assert len(statuses) == 30
    # Every call made is in the result (those still under way cancelled by the stop); none after it.
    assert {r.task_id for r in result.results if r.attempts} == set(calls)
    assert {tid for tid, status in statuses.items() if status == "success"} <= set(calls)
    assert set(statuses.values()) == {"success", "cancelled"}
    assert all(n == 1 for n in calls.values())
    written = {task_id for _, task_id, _, _ in rows(path)}
    assert written and written < set(calls)  # some rows were written, then the disk was full
