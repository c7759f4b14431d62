"""How an exception from a tool call becomes the task's error: code and message."""

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
