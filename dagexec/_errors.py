"""Every error dagexec raises on purpose, each a :class:`DagexecError` carrying its data.

- :class:`WorkflowError` and its subclasses: a workflow that cannot run, found
  before anything runs; :class:`InvalidArgumentsError` among them, for calls
  that do not fit their tools' schemas.
- :class:`ToolCallError` and its subclasses: raised by tool servers to say how a
  call failed; it becomes data in the task's result, never an exception out of
  ``execute``.
- :class:`ServerConfigError`, :class:`ServerStartError`: a servers config that
  cannot be used, a server that cannot start.
- :class:`JournalError`: a journal that cannot be opened or written;
  :class:`JournalInUseError`: one that another run holds.

And two warnings: :class:`JournalWarning`, a journal row that cannot be used;
:class:`SchemaWarning`, a tool's schema that does not compile.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar, Literal

import attrs

from ._codes import ErrorCode


class DagexecError(Exception):
    """Base class of every error dagexec raises on purpose."""


class WorkflowError(DagexecError, ValueError):
    """A workflow that cannot run: found before any task starts."""


ProblemKind = Literal["shape", "duplicate", "dependency", "cycle", "server", "tool", "arguments", "approval"]
"""What a :class:`PlanProblem` is about: the data's shape, a repeated id, an unknown
dependency or reference, a cycle, an unknown server or tool, arguments that do not
fit their tool's schemas, an approval no one can give."""

#: At most this many problems are written out in an error's message (all are in ``problems``).
MAX_SHOWN_PROBLEMS = 100


@attrs.frozen
class PlanProblem:
    """One problem of a plan, where it is and what is wrong.

    Attributes:
        task_id: The task, or None for the plan as a whole or a task without a
            usable id (then ``index`` says which).
        path: Where, within the task (``tool``, ``depends_on[0]``,
            ``arguments.target.timezone``) or, for the plan, within it (``tasks``).
        problem: What is wrong, in JSON's words (string, number, object, array),
            with a suggestion where one fits.
        index: The task's place in the plan's ``tasks``, when known.
        kind: What the problem is about (see :data:`ProblemKind`).
        name: The unknown name as the plan wrote it (a server, a ``server:tool``,
            a task id), for problems about one.
    """

    task_id: str | None
    path: str
    problem: str
    index: int | None = attrs.field(default=None, kw_only=True)
    kind: ProblemKind = attrs.field(default="shape", kw_only=True)
    name: str | None = attrs.field(default=None, kw_only=True)

    def __str__(self) -> str:
        if self.task_id is not None:
            who = f"task {self.task_id!r}"
        elif self.index is not None:
            who = f"tasks[{self.index}]"
        else:
            who = "plan"
        return f"{who}: {self.path}: {self.problem}" if self.path else f"{who}: {self.problem}"


@attrs.frozen
class ArgumentProblem(PlanProblem):
    """One argument of one task that does not fit its tool's input schema (a :class:`PlanProblem`).

    Attributes:
        task_id: The task.
        path: Where in its arguments, such as ``arguments.target.timezone``.
        problem: What the schema expects there, and what the plan gives.
    """

    kind: ProblemKind = attrs.field(default="arguments", kw_only=True)


class PlanError(WorkflowError):
    """A plan that cannot run, with every problem found in it: one report, nothing run.

    Its shape, repeated ids, dependencies and references, cycles, then (against an
    executor) servers, tools, schemas and approvals are all checked, and every
    problem of every task is kept. Where all problems are of one kind, the
    error is the subclass for it (:class:`SchemaError`, :class:`UnknownServerError`,
    :class:`UnknownToolError`, :class:`InvalidArgumentsError`).

    The message is the same everywhere (this error, ``dagexec validate`` and
    ``run``, the gateway's refusal): ``invalid plan (N problems):`` and one line
    per problem, ``task 'id': path: problem``.

    Attributes:
        problems: Every problem, in the plan's order, each a :class:`PlanProblem`.
    """

    def __init__(self, problems: Sequence[PlanProblem]) -> None:
        self.problems = tuple(problems)
        super().__init__(report(self.problems))


def report(problems: Sequence[PlanProblem]) -> str:
    """The text of a plan's problems: a heading, then one indented line per problem (at most 100)."""
    count = len(problems)
    heading = f"invalid plan ({count} problem{'s' if count != 1 else ''}):"
    lines = [f"  {p}" for p in problems[:MAX_SHOWN_PROBLEMS]]
    if count > MAX_SHOWN_PROBLEMS:
        lines.append(f"  ... and {count - MAX_SHOWN_PROBLEMS} more")
    return "\n".join([heading, *lines])


class SchemaError(PlanError):
    """The workflow's data has the wrong shape or types (a :class:`PlanError` of shape problems only).

    Attributes:
        problems: Every problem, each naming its task and field, such as
            ``task 'a': depends_on: expected an array of task ids, got string 'b'``.
    """


class DuplicateTaskError(WorkflowError):
    """Two or more tasks share an id.

    Attributes:
        task_ids: Every id that is used more than once.
    """

    def __init__(self, task_ids: Sequence[str]) -> None:
        self.task_ids = tuple(task_ids)
        ids = ", ".join(repr(t) for t in self.task_ids)
        super().__init__(f"duplicate task ids: {ids}")


class UnknownDependencyError(WorkflowError):
    """A task depends on, or refers to, a task that does not exist.

    Attributes:
        task_id: The task whose field names the unknown task.
        dependency: The unknown task id.
        field: ``"depends_on"`` or ``"arguments"`` (for an ``$OUTPUT`` reference).
    """

    def __init__(self, task_id: str, dependency: str, field: str) -> None:
        self.task_id = task_id
        self.dependency = dependency
        self.field = field
        super().__init__(f"task {task_id!r}: {field} names unknown task {dependency!r}")


class CycleError(WorkflowError):
    """The tasks' dependencies form a cycle, so no order can run them.

    Attributes:
        cycle: The task ids around the cycle, the first one repeated at the end
            (``("a", "b", "a")``). A self-loop is ``("a", "a")``.
    """

    def __init__(self, cycle: Sequence[str]) -> None:
        self.cycle = tuple(cycle)
        super().__init__(f"tasks form a cycle: {' -> '.join(self.cycle)}")


class UnknownServerError(PlanError):
    """Tasks name servers that the executor was not given (a :class:`PlanError` of those only).

    Attributes:
        missing: Each offending task id, mapped to the server it names.
    """

    @property
    def missing(self) -> dict[str, str]:
        return {p.task_id: p.name for p in self.problems if p.task_id is not None and p.name is not None}


class UnknownToolError(PlanError):
    """Tasks name tools that their server does not list (a :class:`PlanError` of those only).

    Found before the run for servers that publish their tool list (MCP servers).

    Attributes:
        missing: Each offending task id, mapped to its ``server:tool``.
    """

    @property
    def missing(self) -> dict[str, str]:
        return {p.task_id: p.name for p in self.problems if p.task_id is not None and p.name is not None}


class InvalidArgumentsError(PlanError):
    """Tasks whose arguments do not fit their tools' schemas: every problem, found before any call.

    Literal arguments are checked against the tool's input schema, and each
    ``$OUTPUT[...]`` reference against the output schema of the task it reads.

    Attributes:
        problems: Every problem found, task by task, each an
            :class:`ArgumentProblem`.
    """


_ONE_KIND: dict[str, type[PlanError]] = {
    "shape": SchemaError,
    "server": UnknownServerError,
    "tool": UnknownToolError,
    "arguments": InvalidArgumentsError,
}


def plan_error(problems: Sequence[PlanProblem]) -> PlanError:
    """The error for a plan's problems: the subclass of their kind when they share one, else :class:`PlanError`."""
    kinds = {p.kind for p in problems}
    cls = _ONE_KIND.get(kinds.pop(), PlanError) if len(kinds) == 1 else PlanError
    return cls(problems)


class ToolCallError(DagexecError):
    """Raised by a tool server to say how a call failed.

    The executor turns it into the task's :class:`~dagexec.TaskError`, with the
    class's ``code`` and the exception's message. A subclass whose code dagexec
    does not know ends as ``tool_error``, its message keeping the code
    (``quota_exceeded: ...``); any other exception a tool raises becomes
    ``tool_error`` too: a tool's failure is always data.
    """

    code: ClassVar[ErrorCode] = ErrorCode.TOOL_ERROR


class ToolError(ToolCallError):
    """The tool ran and reported an error (an MCP result flagged as an error)."""

    code = ErrorCode.TOOL_ERROR


class NoSuchToolError(ToolCallError):
    """The server has no tool of that name."""

    code = ErrorCode.UNKNOWN_TOOL


class ServerError(ToolCallError):
    """The server or the connection to it failed (it died, the link broke)."""

    code = ErrorCode.SERVER_ERROR


class ToolTimeoutError(ToolCallError):
    """The server gave no answer within the call timeout its config sets (``timeout``)."""

    code = ErrorCode.TIMEOUT


class ServerConfigError(DagexecError):
    """The servers config is unreadable or invalid; the message names the key.

    Attributes:
        problems: One line per problem, each naming its key.
    """

    def __init__(self, problems: list[str]) -> None:
        self.problems = tuple(problems)
        super().__init__("invalid servers config:\n" + "\n".join(f"  {p}" for p in problems))


class ServerStartError(DagexecError):
    """A server could not start, initialize or list its tools.

    Attributes:
        server: The server's name in the config.
        cause: What went wrong, in words.
    """

    def __init__(self, server: str, cause: str) -> None:
        self.server = server
        self.cause = cause
        super().__init__(f"server {server!r} did not start: {cause}")


class JournalError(DagexecError):
    """The journal file cannot be opened or written; the message names it.

    Opening a run checks the journal before any call, and nothing runs when it
    fails. If a row cannot be written once the run is under way (a full disk),
    the run stops and raises :class:`~dagexec.JournalFailedError`, a subclass
    that carries the run's result.

    Attributes:
        path: The journal file, as it was given.
    """

    def __init__(self, path: str, message: str) -> None:
        self.path = path
        super().__init__(message)


class JournalInUseError(JournalError):
    """Another run holds the journal: a second process on it, or a second run of the same name.

    Two runs of one plan at once would each call every task; two plans under one
    run name would overwrite each other's rows. So a journal serves one process
    at a time, and a run name one run at a time.

    Attributes:
        path: The journal file, as it was given.
        pid: The process that holds it, if known (this process, for a run of
            the same name).
        run_name: The run name in use in this process; None when another
            process holds the journal.
    """

    def __init__(self, path: str, pid: int | None, run_name: str | None = None) -> None:
        self.pid = pid
        self.run_name = run_name
        if run_name is not None:
            message = f"journal {path!r} is in use by another run named {run_name!r} in this process"
        else:
            holder = f" (pid {pid})" if pid is not None else ""
            message = f"journal {path!r} is in use by another process{holder}"
        super().__init__(path, message)


class JournalWarning(UserWarning):
    """A journal row that cannot be used: its task runs again, as if the row were absent.

    Attributes:
        path: The journal file, as it was given.
        run_name: The run the row belongs to.
        task_id: The task whose row it is.
    """

    def __init__(self, path: str, run_name: str, task_id: str, problem: str) -> None:
        self.path = path
        self.run_name = run_name
        self.task_id = task_id
        super().__init__(
            f"journal {path!r}: the output recorded for task {task_id!r} of run {run_name!r} "
            f"is not usable ({problem}); the task runs again"
        )


class SchemaWarning(UserWarning):
    """A tool's published schema that does not compile: the tool is treated as having no such schema.

    Attributes:
        server: The server that published it.
        tool: The tool it belongs to.
        which: ``"input"`` or ``"output"``.
        reason: Why it does not compile, in the validator's words.
    """

    def __init__(self, server: str, tool: str, which: str, reason: str) -> None:
        self.server = server
        self.tool = tool
        self.which = which
        self.reason = reason
        super().__init__(f"server {server!r}, tool {tool!r}: its {which} schema is ignored ({reason})")


def describe(exc: BaseException) -> str:
    """Words for an exception: the first leaf of a group, its type and message."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    message = str(exc)
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__
