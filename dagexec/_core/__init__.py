"""The pure core of a run: no trio, no I/O, driven synchronously by the trio driver or a test."""

from .errors import task_error as task_error
from .retry import RETRYABLE as RETRYABLE
from .retry import RetryPolicy as RetryPolicy
from .run import Approval as Approval
from .run import Phase as Phase
from .run import RunCore as RunCore
from .run import TaskRecord as TaskRecord
from .slots import Rank as Rank
from .slots import Slots as Slots
from .slots import SlotsStatistics as SlotsStatistics

__all__ = [
    "RETRYABLE",
    "Approval",
    "Phase",
    "Rank",
    "RetryPolicy",
    "RunCore",
    "Slots",
    "SlotsStatistics",
    "TaskRecord",
    "task_error",
]
