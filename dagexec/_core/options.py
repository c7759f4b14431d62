"""The options of an executor: one frozen value, validated once, read by everything a run is made of.

The executors build it from their keyword arguments; the run's core, its driver
and the gateway read it, so a rule about an option (its range, who is asked
for approval) has one place.
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Literal

import attrs
from opentelemetry.trace import TracerProvider

from .._workflow import Task
from .retry import RetryPolicy, count, fraction, non_negative

__all__ = ["Approver", "ExecutorOptions", "Priority"]

Priority = Literal["critical_path", "fifo"]
"""How calls waiting for a slot are ranked."""

#: What an approver is: given the task and its resolved arguments, True to let
#: the call go ahead, False or a reason (a string) to refuse it.
Approver = Callable[[Task, dict[str, Any]], Awaitable[bool | str]]

Approval = Literal["off", "flagged", "all"]


def _positive_int(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, not {type(value).__name__}")
    if value < 1:
        raise ValueError(f"{name} must be >= 1")


def _copy(limits: Mapping[str, int]) -> dict[str, int]:
    return dict(limits)


def _limit(instance: object, attribute: attrs.Attribute[int | None], value: int | None) -> None:
    if value is not None:
        _positive_int(attribute.name, value)


def _limits(instance: object, attribute: attrs.Attribute[Mapping[str, int]], value: Mapping[str, int]) -> None:
    for server, limit in value.items():
        _positive_int(f"{attribute.name}[{server!r}]", limit)


def _positive_seconds(instance: object, attribute: attrs.Attribute[Any], value: float | None) -> None:
    if value is not None and not value > 0:
        raise ValueError(f"{attribute.name} must be > 0")


def _priority(instance: object, attribute: attrs.Attribute[str], value: str) -> None:
    if value not in ("critical_path", "fifo"):
        raise ValueError(f"priority must be 'critical_path' or 'fifo', not {value!r}")


def _async_callable(instance: object, attribute: attrs.Attribute[Approver | None], value: Approver | None) -> None:
    if value is not None and not (
        inspect.iscoroutinefunction(value) or inspect.iscoroutinefunction(getattr(value, "__call__", None))  # noqa: B004
    ):
        raise TypeError("approve must be an async callable (async def)")


def _needs_approver(instance: ExecutorOptions, attribute: attrs.Attribute[bool], value: bool) -> None:
    if value and instance.approve is None:
        raise ValueError("approve_all needs an approve callable")


def _tracer_provider(
    instance: object, attribute: attrs.Attribute[TracerProvider | None], value: TracerProvider | None
) -> None:
    if value is not None and not isinstance(value, TracerProvider):
        raise TypeError(f"tracer_provider must be an OpenTelemetry TracerProvider, not {type(value).__name__}")


@attrs.frozen(kw_only=True)
class ExecutorOptions:
    """Every option of an executor, checked when the value is made.

    The fields are the keyword arguments of :class:`~dagexec.EagerExecutor`,
    which documents each; an executor's are in its ``options``.

    Raises:
        ValueError: An option is out of range.
        TypeError: An option is of the wrong type.
    """

    max_concurrency: int | None = attrs.field(default=None, validator=_limit)
    server_limits: Mapping[str, int] = attrs.field(factory=dict, converter=_copy, validator=_limits)
    task_timeout: float | None = attrs.field(default=None, validator=_positive_seconds)
    retries: int = attrs.field(default=0, validator=count)
    retry_delay: float = attrs.field(default=0.5, validator=non_negative)
    retry_max_delay: float = attrs.field(default=30.0, validator=non_negative)
    retry_jitter: float = attrs.field(default=0.5, validator=fraction)
    fail_fast: bool = False
    priority: Priority = attrs.field(default="critical_path", validator=_priority)
    approve: Approver | None = attrs.field(default=None, validator=_async_callable)
    approve_all: bool = attrs.field(default=False, validator=_needs_approver)
    journal: str | os.PathLike[str] | None = None
    tracer_provider: TracerProvider | None = attrs.field(default=None, validator=_tracer_provider)
    check_schemas: bool = True
    #: Seconds the schema check of one plan may take (None: no limit).
    check_budget: float | None = attrs.field(default=2.0, validator=_positive_seconds)

    @property
    def limited(self) -> bool:
        """Whether calls are limited at all (and so wait for slots)."""
        return self.max_concurrency is not None or bool(self.server_limits)

    @property
    def retry(self) -> RetryPolicy:
        """The retry policy of the options (the numbers were checked above)."""
        return RetryPolicy(
            retries=self.retries,
            wait_initial=self.retry_delay,
            wait_max=self.retry_max_delay,
            wait_jitter=self.retry_jitter,
        )

    @property
    def approval(self) -> Approval:
        """Which tasks the approver is asked about: none (no approver), flagged ones, or all."""
        return "off" if self.approve is None else "all" if self.approve_all else "flagged"

    def asks_about(self, task: Task) -> bool:
        """Whether a run asks for approval before ``task``'s call (given an approver): the one rule of it."""
        return self.approve_all or task.approval
