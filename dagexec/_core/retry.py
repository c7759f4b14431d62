"""When a failed call is tried again, and after how long: a policy value, no I/O."""

from __future__ import annotations

import attrs

from .._results import ErrorCode

#: Codes after which a call is tried again, if the task has retries left.
RETRYABLE = frozenset({ErrorCode.TOOL_ERROR, ErrorCode.SERVER_ERROR, ErrorCode.TIMEOUT})

# 2.0 ** 1023 is the largest power of two a float holds: past it, ** overflows.
_MAX_DOUBLINGS = 1023


# The validators of retry numbers, shared with the executor's options: one rule each.


def non_negative(instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    """An attrs validator: ``value`` is a number >= 0 (not NaN)."""
    if not value >= 0:
        raise ValueError(f"{attribute.name} must be >= 0")


def fraction(instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    """An attrs validator: ``value`` is between 0 and 1."""
    if not 0 <= value <= 1:
        raise ValueError(f"{attribute.name} must be between 0 and 1")


def count(instance: object, attribute: attrs.Attribute[int], value: int) -> None:
    """An attrs validator: ``value`` is an int (not a bool) >= 0."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{attribute.name} must be an int, not {type(value).__name__}")
    if value < 0:
        raise ValueError(f"{attribute.name} must be >= 0")


@attrs.frozen(kw_only=True)
class RetryPolicy:
    """How often a failed call is tried again, and how long to wait before each retry.

    The wait doubles from ``wait_initial`` with each retry, up to ``wait_max``, and
    is then shortened by a random share of at most ``wait_jitter``, so that the
    retries of many tasks that failed together spread out.

    Args:
        retries: Extra calls after a failed one, unless a task sets its own.
        wait_initial: Seconds before the first retry.
        wait_max: The longest wait between two calls.
        wait_jitter: The largest share (0 to 1) of a wait that jitter removes.

    Raises:
        ValueError: A number is out of range.
        TypeError: ``retries`` is not an int.
    """

    retries: int = attrs.field(default=0, validator=count)
    wait_initial: float = attrs.field(default=0.5, validator=non_negative)
    wait_max: float = attrs.field(default=30.0, validator=non_negative)
    wait_jitter: float = attrs.field(default=0.5, validator=fraction)

    def retries_left(self, code: ErrorCode, attempts: int, task_retries: int | None) -> bool:
        """Whether a call that failed with ``code``, after ``attempts`` calls, is tried again."""
        allowed = self.retries if task_retries is None else task_retries
        return code in RETRYABLE and attempts <= allowed

    def wait(self, attempt: int, randomness: float) -> float:
        """Seconds to wait after call number ``attempt`` (1 for the first) failed.

        Args:
            attempt: The number of the call that failed, from 1.
            randomness: A number in [0, 1): the share of the jitter to apply.
        """
        doublings = min(attempt - 1, _MAX_DOUBLINGS)
        wait = min(self.wait_max, self.wait_initial * 2.0**doublings)
        return wait * (1 - self.wait_jitter * randomness)
