"""One run's state and every decision it makes: one record per task. No trio, no I/O.

Everything that decides a task's way through a run lives here, the way h11 keeps
its protocol in one state machine: when a task may start, whether it asks for
approval or waits for a slot, whether a failed call is tried again and after how
long, what a failure skips, what a stop cancels, and the result each task ends
with. A driver (the trio one in :mod:`dagexec._driver`, or a plain loop in a
test) tells the core what happened and reads what to do next from each record's
:class:`Phase`:

==========  =========================================================  ======================
phase       the driver                                                 then reports
==========  =========================================================  ======================
``READY``   takes it with :meth:`RunCore.take_ready`                   :meth:`~RunCore.begin`
``APPROVE`` asks the approver                                          :meth:`~RunCore.approved`
``SLOT``    waits until the shared :class:`~.Slots` grant it a slot    :meth:`~RunCore.granted`
``CALL``    calls the tool (within :meth:`~RunCore.call_timeout`)     :meth:`~RunCore.call_started`, then
                                                                       :meth:`~RunCore.call_ended` or
                                                                       :meth:`~RunCore.call_timed_out`
``BACKOFF`` sleeps ``record.wait`` seconds                             :meth:`~RunCore.backoff_over`
``RECORD``  writes the journal row :meth:`~RunCore.journal_row`       :meth:`~RunCore.recorded`
``DONE``    nothing: ``record.result`` is final                        \u2014
==========  =========================================================  ======================

A task whose trio task is cancelled is reported with :meth:`~RunCore.interrupted`.
Which report may move a task from which phase to which is the table of
:mod:`~dagexec._core.phases`: every report is checked against it as it arrives
(one it does not allow raises), and every move the core makes is one of its rows
(the tests watch every move of random runs). Times are seconds since the start of the run, passed in by the driver.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable, Iterable
from typing import Any, NamedTuple

import attrs

from .._errors import DuplicateTaskError, PlanProblem
from .._events import (
    Event,
    TaskApprovalAnswered,
    TaskApprovalAsked,
    TaskBegan,
    TaskCallEnded,
    TaskFinished,
    TaskRetrying,
    TaskSkipped,
    TaskSlotGranted,
    TaskStarted,
    TaskStopped,
    TaskWaitingForSlot,
)
from .._journal import arguments_hash
from .._refs import ReferenceResolutionError, resolve
from .._results import Attempt, ErrorCode, RunProgress, TaskError, TaskResult, TaskStatus
from .._workflow import Task, check_dependencies, dependency_problems
from .options import ExecutorOptions
from .outcomes import refusal, task_error
from .phases import (
    APPROVE,
    BACKOFF,
    CALL,
    DONE,
    READY,
    RECORD,
    SLOT,
    TRANSITIONS,
    WAITING,
    Phase,
    TransitionError,
    allows,
)
from .slots import Rank, Slots

_DEFAULTS = ExecutorOptions()


_SUCCESS, _ERROR, _SKIPPED, _CANCELLED = TaskStatus

#: What a journal lookup gives: ``(True, output)`` for an earlier success of the
#: same call (task id, tool, arguments hash), else ``(False, None)``.
Reusable = Callable[[str, str, str], tuple[bool, Any]]

# A task's arguments before it begins and after it ends: shared, never changed (a record holds
# its resolved arguments only while it runs).
_NO_ARGUMENTS: dict[str, Any] = {}


class JournalRow(NamedTuple):
    """What the driver writes to the journal for a task in ``RECORD`` (see :meth:`RunCore.journal_row`)."""

    task_id: str
    tool: str
    digest: str
    status: str
    output: Any
    #: The start of its first call, in seconds since the run started.
    started: float | None
    #: Its error code and message; None on success.
    error: tuple[str, str] | None


@attrs.define(eq=False, repr=False)
class TaskRecord:
    """Everything a run knows about one task, owned by its :class:`RunCore`.

    Drivers read ``task``, ``phase``, ``arguments``, ``wait`` and ``result``, and
    change nothing: every change is a method of the core.
    """

    task: Task
    priority: Rank  # its rank for a slot
    phase: Phase = WAITING
    pending: int = 0  # dependencies not finished yet
    successors: list[TaskRecord] = attrs.Factory(list)
    cause: TaskRecord | None = None  # the failed task that skipped this one
    arguments: dict[str, Any] = _NO_ARGUMENTS  # resolved, once READY is left
    digest: str = ""  # the arguments hash, in a journaled run
    attempts: int = 0
    holds_slot: bool = False
    started_at: float | None = None
    calling_since: float | None = None
    timeline: list[Attempt] | None = None  # only retried tasks keep one
    output: Any = None
    error: TaskError | None = None  # how the last call failed
    reused: bool = False
    wait: float = 0.0  # seconds of the coming backoff
    result: TaskResult | None = None

    def __repr__(self) -> str:
        return f"<TaskRecord {self.task.id!r} {self.phase.value}>"


class RunCore:
    """The state of one run, moved only by what its driver reports.

    Args:
        options: The executor's options: retries, timeouts, fail-fast, who is
            asked for approval.
        slots: The concurrency limits, shared with other runs; None: no limits.
        rank: Each task's rank for a slot, smallest first (by default, the
            task's own ``estimate``, largest first).
        reusable: Looks up earlier successes in the journal; None: no journal.
        events: Collect :class:`~dagexec.TaskStarted` and the other events in
            :attr:`events` for the driver to hand on.
        randomness: Draws the jitter of retry waits, in [0, 1).
        check_arguments: Says what is wrong with a task's resolved arguments
            (None: nothing), before its call; None: no check. Only tasks with
            references or escapes are checked: the others' arguments were
            checked before the run, as they are.
    """

    def __init__(
        self,
        options: ExecutorOptions = _DEFAULTS,
        *,
        slots: Slots | None = None,
        rank: Callable[[Task], Rank] = lambda task: (-task.estimate,),
        reusable: Reusable | None = None,
        events: bool = False,
        randomness: Callable[[], float] = random.random,
        check_arguments: Callable[[Task, dict[str, Any]], str | None] | None = None,
    ) -> None:
        #: Handed back by ``slots.grant()`` beside each of this run's calls, so
        #: that whoever grants can tell whose call got a slot: the run's driver.
        self.owner: Any = None
        self._slots = slots
        self._rank = rank
        #: The executor's options, checked already.
        self.options = options
        self._retry = options.retry
        self._task_timeout = options.task_timeout
        self._fail_fast = options.fail_fast
        self._approval = options.approval
        self._reusable = reusable
        self._randomness = randomness
        self._check_arguments = check_arguments
        self.records: dict[str, TaskRecord] = {}  # in the order added
        #: The tasks made ready and not handed out yet, in order: take them with :meth:`take_ready`.
        self.ready: list[TaskRecord] = []
        #: How many tasks have not finished.
        self.unfinished = 0
        #: How many tasks have begun and not finished yet.
        self.in_flight = 0
        # The tasks whose first call started and that have not ended, in that order (see progress).
        self._under_way: dict[str, None] = {}
        #: The events since the driver last took them (None: not collected).
        self.events: list[Event] | None = [] if events else None
        #: Why the run was stopped, once it was.
        self.stop_reason: str | None = None
        self._failed = self._skipped = self._cancelled = 0  # and the rest of those ended succeeded: see counts
        #: When the run ended (its last task ended and no task will be added), once it did.
        self.ended_at: float | None = None

    # -- adding tasks and handing them out -------------------------------------------------

    def check(self, task: Task) -> None:
        """Check that ``task`` can be added now: a new id, whose dependencies and references were all added.

        The one check of a task's id and dependencies against a run: :meth:`add`
        and ``Run.add`` rely on it.

        Raises:
            DuplicateTaskError: The id was added already.
            CycleError: The task depends on, or refers to, itself.
            UnknownDependencyError: It depends on, or refers to, a task not added.
        """
        if task.id in self.records:
            raise DuplicateTaskError([task.id])
        check_dependencies(task, self.records)

    def problems(self, task: Task) -> list[PlanProblem]:
        """Every problem :meth:`check` would raise the first of, for a report of them all.

        A repeated id, and dependencies or references to tasks not added (with
        the ids meant, where one is close) or to the task itself.
        """
        found = []
        if task.id in self.records:
            found.append(PlanProblem(task.id, "id", "a task of this id was added before", kind="duplicate"))
        found += dependency_problems(task, None, self.records)
        return found

    def add(self, task: Task, now: float) -> TaskRecord:
        """Add ``task``, whose dependencies were all added before it.

        It is ready at once if its dependencies are done, skipped at once if one
        of them failed, and cancelled at once if the run was stopped. A task
        that cannot be added changes nothing: ``Run.add`` then reports every
        problem of it (:meth:`problems`).

        Raises:
            DuplicateTaskError: The id was added already (see :meth:`check`).
            CycleError: The task depends on, or refers to, itself.
            UnknownDependencyError: It depends on, or refers to, a task not added.
        """
        records = self.records
        try:
            if task.id in records:
                raise KeyError(task.id)
            # Every dependency looked up once, in C; a reference is a dependency, and the task itself is not added yet.
            deps = list(map(records.__getitem__, task.dependencies))
        except KeyError:
            self.check(task)  # raises the precise error; the lookups above are the fast path
            raise
        record = TaskRecord(task, self._rank(task) if self._slots is not None else ())
        records[task.id] = record
        self.unfinished += 1
        if self.stop_reason is not None:
            self._cancel(record, now)
            return record
        pending = 0
        for dep in deps:
            if dep.phase is not DONE:
                pending += 1
            elif dep.result.status is not _SUCCESS and task.trigger != "all_done":  # type: ignore[union-attr]
                self._skip(record, self._root_cause(dep), now)
                return record
        if pending:
            record.pending = pending
            for dep in deps:
                if dep.phase is not DONE:
                    dep.successors.append(record)
        else:
            record.phase = READY  # (WAITING, dependencies_done)
            self.ready.append(record)
        return record

    def task_of(self, task_id: str) -> Task | None:
        """The task of ``task_id``, if it was added (what a check of a task added later looks up)."""
        record = self.records.get(task_id)
        return None if record is None else record.task

    def take_ready(self) -> list[TaskRecord]:
        """Every task that became ready since the last call, in order; pass each to :meth:`begin`."""
        ready, self.ready = self.ready, []
        return ready

    def begin(self, record: TaskRecord, now: float) -> None:
        """Start a ready task: resolve and check its arguments, then reuse, ask, wait or call.

        A task whose references cannot be resolved fails here (``reference_error``),
        and so does one whose resolved arguments do not fit its tool's input
        schema (``invalid_arguments``); one whose call the journal holds a
        success of ends here, with that output.
        """
        task = record.task
        if record.phase is not READY and not allows(record.phase, "begin", task.id):
            return  # a race: see RACES
        events = self.events
        if events is not None:
            events.append(TaskBegan(task.id, now))
        try:
            arguments = task.arguments  # resolved only where it holds references or $$OUTPUT[ escapes
            record.arguments = resolve(arguments, self._output_of) if task.needs_resolving else dict(arguments)
        except ReferenceResolutionError as exc:
            record.started_at = now
            self._finish(record, _ERROR, TaskError(ErrorCode.REFERENCE_ERROR, str(exc)), now)
            return
        if self._check_arguments is not None and task.needs_resolving:
            problem = self._check_arguments(task, record.arguments)
            if problem is not None:
                record.started_at = now
                self._finish(record, _ERROR, TaskError(ErrorCode.INVALID_ARGUMENTS, problem), now)
                return
        if self._reusable is not None:
            record.digest = arguments_hash(task.tool, record.arguments)
            found, output = self._reusable(task.id, task.tool, record.digest)
            if found:
                record.started_at, record.output, record.reused = now, output, True
                self._finish(record, _SUCCESS, None, now)
                return
        self.in_flight += 1
        if self._approval != "off" and self.options.asks_about(task):
            _move(record, "begin", APPROVE)
            if events is not None:
                events.append(TaskApprovalAsked(task.id, now))
        elif self._slots is None:
            record.phase = CALL  # (READY, begin): what _to_call does without limits, without its call
        else:
            self._to_call(record, now)

    # -- one task's way --------------------------------------------------------------------

    def approved(self, record: TaskRecord, now: float, verdict: object) -> None:
        """The approver answered (or raised ``verdict``); see :func:`~.outcomes.refusal`.

        A refused task ends ``skipped`` with code ``rejected``.
        """
        if not allows(record.phase, "approved", record.task.id):
            return  # a race: see RACES
        reason = refusal(verdict)
        if self.events is not None:
            self.events.append(TaskApprovalAnswered(record.task.id, now, reason is None))
        if reason is None:
            self._to_call(record, now)
        else:
            record.started_at = now
            self._finish(record, _SKIPPED, TaskError(ErrorCode.REJECTED, reason), now)

    def granted(self, record: TaskRecord, now: float) -> None:
        """The slots gave the task's next call a slot."""
        _move(record, "granted", CALL)
        record.holds_slot = True
        if self.events is not None:
            self.events.append(TaskSlotGranted(record.task.id, now))

    def call_timeout(self, task: Task) -> float | None:
        """Seconds each call of ``task`` may take (None: no limit)."""
        return task.timeout if task.timeout is not None else self._task_timeout

    def call_started(self, record: TaskRecord, now: float) -> None:
        """The driver is about to call the tool."""
        if record.phase is not CALL:
            _move(record, "call_started", CALL)  # raises: the table has only (CALL, call_started)
        record.attempts += 1
        record.calling_since = now
        if record.started_at is None:
            record.started_at = now
            self._under_way[record.task.id] = None
        if self.events is not None:
            self.events.append(TaskStarted(record.task.id, record.attempts, now))

    def call_ended(self, record: TaskRecord, now: float, output: Any, exception: BaseException | None) -> None:
        """The call returned ``output``, or raised ``exception``; retry, record or finish."""
        error = None if exception is None else task_error(exception)
        self._call_over(record, now, output, error)

    def call_timed_out(self, record: TaskRecord, now: float) -> None:
        """The call got no answer within :meth:`call_timeout`."""
        timeout = self.call_timeout(record.task)
        self._call_over(record, now, None, TaskError(ErrorCode.TIMEOUT, f"no answer within {timeout:g} s"))

    def backoff_over(self, record: TaskRecord, now: float) -> None:
        """The wait before a retry has passed."""
        if allows(record.phase, "backoff_over", record.task.id):
            self._to_call(record, now)

    def journal_row(self, record: TaskRecord) -> JournalRow:
        """What the driver writes for a task in ``RECORD``."""
        status = _SUCCESS if record.error is None else _ERROR
        error = None if record.error is None else (record.error.code.value, record.error.message)
        task = record.task
        return JournalRow(task.id, task.tool, record.digest, status.value, record.output, record.started_at, error)

    def recorded(self, record: TaskRecord, now: float) -> None:
        """The task's journal row is committed: now it counts as finished."""
        allows(record.phase, "recorded", record.task.id)  # no race: raises if the table has no row
        self._finish(record, _SUCCESS if record.error is None else _ERROR, record.error, now)

    def interrupted(self, record: TaskRecord, now: float) -> None:
        """The task's trio task was cancelled (a stop, or the caller's cancellation)."""
        if allows(record.phase, "interrupted", record.task.id):
            self._cancel(record, now)

    def stop(self, reason: str, now: float) -> None:
        """Stop the run: start nothing more; every task ends ``cancelled``.

        Tasks whose call is under way end when their driver reports the call's
        end (or its interruption); every other unfinished task ends now. A no-op
        once stopped.
        """
        if self.stop_reason is not None:
            return
        self.stop_reason = reason
        self.ready.clear()
        events = self.events
        for record in self.records.values():
            if events is not None and record.phase is not DONE:
                events.append(TaskStopped(record.task.id, now, reason))
            if (record.phase, "stop") in TRANSITIONS:  # not a call under way, nor its journal row: see phases
                self._cancel(record, now)

    def end(self, now: float) -> None:
        """No task will be added, and every task ended: the run ended now (recorded once).

        Raises:
            ValueError: A task of the run is unfinished.
        """
        if self.unfinished:
            raise ValueError(f"{self.unfinished} tasks of the run are unfinished")
        if self.ended_at is None:
            self.ended_at = now

    # -- what the driver reads -------------------------------------------------------------

    @property
    def counts(self) -> dict[TaskStatus, int]:
        """How many tasks ended with each status (every status present), counted as they end."""
        succeeded = len(self.records) - self.unfinished - self._failed - self._skipped - self._cancelled
        return {_SUCCESS: succeeded, _ERROR: self._failed, _SKIPPED: self._skipped, _CANCELLED: self._cancelled}

    def progress(self, shown: int = 8) -> RunProgress:
        """Where the run stands now: counts by status, tasks under way and the ids of the first ``shown`` of them."""
        return RunProgress(
            total=len(self.records),
            counts=self.counts,
            under_way=len(self._under_way),
            first_under_way=tuple(itertools.islice(self._under_way, shown)),
        )

    def results(self, order: Iterable[str]) -> tuple[TaskResult, ...]:
        """The final result of each task in ``order``.

        Raises:
            ValueError: A task of the run has no final result yet.
        """
        if self.unfinished:
            raise ValueError(f"{self.unfinished} tasks of the run are unfinished")
        records = self.records
        return tuple([records[tid].result for tid in order])  # type: ignore[misc]

    # -- transitions -----------------------------------------------------------------------

    def _to_call(self, record: TaskRecord, now: float) -> None:
        # The report (begin, approved or backoff_over) was checked against the table: each allows both.
        if self._slots is None:
            record.phase = CALL
        else:
            record.phase = SLOT
            if self.events is not None:
                self.events.append(TaskWaitingForSlot(record.task.id, now))
            self._slots.push(self.owner, record, record.task.server, record.priority)

    def _output_of(self, task_id: str) -> Any:
        result = self.records[task_id].result
        assert result is not None  # a dependency: finished before the task was ready
        if not result.ok:
            raise ReferenceResolutionError(
                f"$OUTPUT[{task_id}]: task {task_id!r} did not succeed (it ended {result.status.value})"
            )
        return result.output

    def _call_over(self, record: TaskRecord, now: float, output: Any, error: TaskError | None) -> None:
        if record.phase is not CALL and not allows(record.phase, "call_ended", record.task.id):
            return  # a race: see RACES
        if record.holds_slot:
            self._release(record)
        started = record.calling_since
        assert started is not None, "call_ended() without call_started()"
        record.calling_since = None
        record.output, record.error = output, error
        events = self.events
        if events is not None:
            events.append(TaskCallEnded(record.task.id, record.attempts, now, error))
        if error is not None and self.stop_reason is None:
            task = record.task
            if self._retry.retries_left(error.code, record.attempts, task.retries):
                if record.timeline is None:
                    record.timeline = []
                record.timeline.append(Attempt(started, now, error))
                record.wait = self._retry.wait(record.attempts, self._randomness())
                _move(record, "call_ended", BACKOFF)
                if events is not None:
                    events.append(TaskRetrying(task.id, record.attempts, error, record.wait, now))
                return
        if record.timeline is not None:  # retried: keep the last call too
            record.timeline.append(Attempt(started, now, error))
        if self._reusable is not None:
            _move(record, "call_ended", RECORD)  # finished once its journal row is committed: recorded()
        else:
            self._finish(record, _SUCCESS if error is None else _ERROR, error, now)

    def _release(self, record: TaskRecord) -> None:
        record.holds_slot = False
        assert self._slots is not None
        self._slots.release(record.task.server)

    def _cancel(self, record: TaskRecord, now: float) -> None:
        error = TaskError(ErrorCode.CANCELLED, f"cancelled: {self.stop_reason or 'the run was cancelled'}")
        if record.phase is SLOT:
            assert self._slots is not None
            self._slots.withdraw(record)
        if record.calling_since is not None:
            if record.timeline is not None:
                record.timeline.append(Attempt(record.calling_since, now, error))
            record.calling_since = None
            if self.events is not None:
                self.events.append(TaskCallEnded(record.task.id, record.attempts, now, error))
        if record.holds_slot:
            self._release(record)
        self._finish(record, _CANCELLED, error, now)

    def _root_cause(self, failed: TaskRecord) -> TaskRecord:
        return failed.cause or failed

    def _finish(self, record: TaskRecord, status: TaskStatus, error: TaskError | None, now: float) -> None:
        """A task ended: record its result, then let its successors go on, or skip them."""
        self._settle(record, status, error, now)
        if self.stop_reason is not None:
            return  # nothing starts any more; stop() ends the waiting tasks
        successors, record.successors = record.successors, []
        if status is _SUCCESS:
            for successor in successors:
                successor.pending -= 1
                if not successor.pending:
                    successor.phase = READY  # (WAITING, dependencies_done)
                    self.ready.append(successor)
            return
        cause = self._root_cause(record)
        stack = [successors]
        while stack:  # iterative: a failure at the head of a long chain skips it all
            for successor in stack.pop():
                if successor.task.trigger == "all_done":
                    successor.pending -= 1
                    if not successor.pending:
                        successor.phase = READY  # (WAITING, dependencies_done)
                        self.ready.append(successor)
                elif successor.phase is WAITING:
                    self._skip(successor, cause, now)
                    stack.append(successor.successors)
                    successor.successors = []
        if self._fail_fast and status is _ERROR:
            self.stop(f"task {record.task.id!r} failed first (fail_fast)", now)

    def _skip(self, record: TaskRecord, cause: TaskRecord, now: float) -> None:
        result = cause.result
        assert result is not None and result.error is not None
        record.cause = cause
        message = f"depends on {cause.task.id!r}, which ended {result.status.value} ({result.error.code.value})"
        self._settle(record, _SKIPPED, TaskError(ErrorCode.DEPENDENCY_FAILED, message), now)

    def _settle(self, record: TaskRecord, status: TaskStatus, error: TaskError | None, now: float) -> None:
        """The one place a task's result is made, and the task counted as ended."""
        if record.phase is not WAITING and record.phase is not READY:
            self.in_flight -= 1
        record.phase = DONE  # every report that ends a task was checked against the table, and allows DONE
        task, started, timeline = record.task, record.started_at, record.timeline
        result = record.result = TaskResult(
            task_id=task.id,
            tool=task.tool,
            status=status,
            output=record.output if status is _SUCCESS else None,
            error=error,
            started_at=started,
            finished_at=None if started is None else now,
            attempts=record.attempts,
            timeline=None if timeline is None else tuple(timeline),
            reused=record.reused,
        )
        record.arguments = _NO_ARGUMENTS
        record.output = None
        self.unfinished -= 1
        if record.attempts:  # its first call started: it was under way
            del self._under_way[task.id]
        # Counted by identity (an enum's hash is a Python call, too slow for once per task);
        # successes are the rest: see counts.
        if status is not _SUCCESS:
            if status is _ERROR:
                self._failed += 1
            elif status is _SKIPPED:
                self._skipped += 1
            else:
                self._cancelled += 1
        if self.events is not None:
            ended = len(self.records) - self.unfinished
            if status is _SKIPPED or started is None:
                cause = record.cause
                self.events.append(TaskSkipped(result, None if cause is None else cause.task.id, ended=ended))
            else:
                self.events.append(TaskFinished(result, ended=ended))


def _move(record: TaskRecord, report: str, to: Phase) -> None:
    """Move ``record`` to phase ``to`` on ``report``, which the table must allow."""
    if to not in TRANSITIONS.get((record.phase, report), ()):
        raise TransitionError(record.task.id, record.phase, report, to)
    record.phase = to
