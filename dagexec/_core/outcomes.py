"""How what a tool or an approver answered becomes a task's error: code and message."""

from __future__ import annotations

from .._codes import ErrorCode
from .._errors import ToolCallError
from .._results import TaskError


def task_error(exception: BaseException) -> TaskError:
    """The error a task ends with when its call raised ``exception``.

    A :class:`~dagexec.ToolCallError` gives its own code; a code dagexec does not
    know (a tool's own subclass) gives ``tool_error``, its message keeping the
    original code. Any other exception gives ``tool_error``, named by its type.
    """
    if isinstance(exception, ToolCallError):
        code = getattr(exception, "code", ErrorCode.TOOL_ERROR)
        try:
            return TaskError(ErrorCode(code), str(exception))
        except ValueError:
            return TaskError(ErrorCode.TOOL_ERROR, f"{code}: {exception}")
    return TaskError(ErrorCode.TOOL_ERROR, f"{type(exception).__name__}: {exception}")


def refusal(verdict: object) -> str | None:
    """Why the approver refused a call, or None if ``verdict`` lets it go ahead.

    Only ``True`` lets it go ahead. ``False``, a reason (a non-empty string), any
    other answer, or an exception the approver raised refuses it.
    """
    if verdict is True:
        return None
    if isinstance(verdict, BaseException):
        return f"the approver failed: {type(verdict).__name__}: {verdict}"
    if isinstance(verdict, str) and verdict:
        return verdict
    return "refused" if verdict is False else f"refused (the approver answered {verdict!r})"
