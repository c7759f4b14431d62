"""Where a task stands, and every way it may move on: the transitions of a run, as data.

Like h11's ``_state.py``, this table is the whole state machine of one task: a
report of the driver (or a decision of the core) that is not a row here raises
:class:`TransitionError`, so a driver bug shows at once instead of being
dropped. The races a concurrent driver cannot avoid are rows of :data:`RACES`,
each with the reason it is legitimate: the core ignores those reports.

====================  =====================  ============================================
phase                 report                 next phase
====================  =====================  ============================================
WAITING               dependencies_done      READY
WAITING               dependency_failed      DONE (skipped)
WAITING, READY,       stop                   DONE (cancelled)
APPROVE, SLOT,
BACKOFF
READY                 begin                  APPROVE, SLOT, CALL, or DONE (its references
                                             or arguments fail, or the journal has it)
APPROVE               approved               SLOT, CALL, or DONE (refused)
SLOT                  granted                CALL
CALL                  call_started           CALL
CALL                  call_ended             BACKOFF (retried), RECORD (journaled), DONE
BACKOFF               backoff_over           SLOT, CALL
RECORD                recorded               DONE
APPROVE, CALL,        interrupted            DONE (cancelled)
BACKOFF, RECORD
====================  =====================  ============================================

A call under way (``CALL``) or a journal row being written (``RECORD``) has no
``stop`` row: the stop cancels its trio task, whose report ends it.
"""

from __future__ import annotations

import enum


class Phase(enum.Enum):
    """Where a task stands, and so what its driver does next."""

    # Hashed by identity (C speed), not by name as Enum does: phases key the table below.
    __hash__ = object.__hash__

    WAITING = "waiting"  #: some dependencies are unfinished
    READY = "ready"  #: may start; not handed out by take_ready() yet
    APPROVE = "approve"  #: the approver is asked
    SLOT = "slot"  #: waits for a concurrency slot
    CALL = "call"  #: its tool is called
    BACKOFF = "backoff"  #: waits ``record.wait`` seconds before the next call
    RECORD = "record"  #: the call ended; its journal row is written
    DONE = "done"  #: ``record.result`` holds the final result


# The phases by name: faster than Phase.X, an attribute look-up on the enum class.
WAITING, READY, APPROVE, SLOT, CALL, BACKOFF, RECORD, DONE = Phase

#: (phase, report) -> the phases the task may go to from there.
TRANSITIONS: dict[tuple[Phase, str], tuple[Phase, ...]] = {
    (WAITING, "dependencies_done"): (READY,),
    (WAITING, "dependency_failed"): (DONE,),
    (WAITING, "stop"): (DONE,),
    (READY, "begin"): (APPROVE, SLOT, CALL, DONE),
    (READY, "stop"): (DONE,),
    (APPROVE, "approved"): (SLOT, CALL, DONE),
    (APPROVE, "stop"): (DONE,),
    (APPROVE, "interrupted"): (DONE,),
    (SLOT, "granted"): (CALL,),
    (SLOT, "stop"): (DONE,),
    (CALL, "call_started"): (CALL,),
    (CALL, "call_ended"): (BACKOFF, RECORD, DONE),
    (CALL, "interrupted"): (DONE,),
    (BACKOFF, "backoff_over"): (SLOT, CALL),
    (BACKOFF, "stop"): (DONE,),
    (BACKOFF, "interrupted"): (DONE,),
    (RECORD, "recorded"): (DONE,),
    (RECORD, "interrupted"): (DONE,),
}

#: (phase, report) -> why the report may come and is ignored: the races of a concurrent driver.
RACES: dict[tuple[Phase, str], str] = {
    (DONE, "begin"): "the run was stopped after take_ready() handed the task out, before the driver began it",
    (DONE, "approved"): "the run was stopped while the approver was asked, and it answered without a checkpoint",
    (DONE, "backoff_over"): "the run was stopped in the instant the wait before a retry ended",
    (DONE, "call_ended"): "the call's end was reported after its cancellation (interrupted) ended the task",
    (DONE, "interrupted"): "the task ended before its trio task was cancelled",
}


class TransitionError(RuntimeError):
    """A report the table does not allow: a bug in the driver (or the core), never the user's input."""

    def __init__(self, task_id: str, phase: Phase, report: str, to: Phase | None = None) -> None:
        target = "" if to is None else f" to {to.value}"
        super().__init__(f"task {task_id!r}: no transition from {phase.value} on {report}{target}")
        self.task_id = task_id
        self.phase = phase
        self.report = report
        self.to = to


def allows(phase: Phase, report: str, task_id: str) -> tuple[Phase, ...]:
    """The phases ``report`` may move a task in ``phase`` to; () for a race of :data:`RACES`.

    Raises:
        TransitionError: Neither a transition nor a known race.
    """
    targets = TRANSITIONS.get((phase, report))
    if targets is not None:
        return targets
    if (phase, report) in RACES:
        return ()
    raise TransitionError(task_id, phase, report)
