"""A task's final status and error code: the vocabulary of results and errors alike."""

from __future__ import annotations

import enum


class TaskStatus(enum.StrEnum):
    """The final status of a task."""

    #: The tool call returned an output.
    SUCCESS = "success"
    #: The task ran and failed (see its :class:`ErrorCode`).
    ERROR = "error"
    #: The task never ran, since a dependency did not succeed or its call was refused.
    SKIPPED = "skipped"
    #: The task was stopped or never started because the run was stopped.
    CANCELLED = "cancelled"


class ErrorCode(enum.StrEnum):
    """Why a task did not succeed."""

    #: The tool raised, or its server answered with an error.
    TOOL_ERROR = "tool_error"
    #: The server has no tool of that name.
    UNKNOWN_TOOL = "unknown_tool"
    #: An ``$OUTPUT[...]`` reference could not be resolved against the actual output.
    REFERENCE_ERROR = "reference_error"
    #: The resolved arguments do not fit the tool's input schema, so the tool was not called.
    INVALID_ARGUMENTS = "invalid_arguments"
    #: A dependency did not succeed, so the task was skipped.
    DEPENDENCY_FAILED = "dependency_failed"
    #: The server died or the connection to it broke.
    SERVER_ERROR = "server_error"
    #: The call ran out of time.
    TIMEOUT = "timeout"
    #: The run was stopped (fail-fast, or its deadline) before the task finished.
    CANCELLED = "cancelled"
    #: The approver refused the call; the task is skipped.
    REJECTED = "rejected"
