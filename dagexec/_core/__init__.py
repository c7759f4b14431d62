"""The pure core of a run: no trio, no I/O, driven synchronously by the trio driver or a test."""

from .outcomes import refusal as refusal
from .outcomes import task_error as task_error
from .retry import RETRYABLE as RETRYABLE
from .retry import RetryPolicy as RetryPolicy
from .run import APPROVE as APPROVE
from .run import BACKOFF as BACKOFF
from .run import CALL as CALL
from .run import DONE as DONE
from .run import READY as READY
from .run import RECORD as RECORD
from .run import SLOT as SLOT
from .run import WAITING as WAITING
from .run import Approval as Approval
from .run import Phase as Phase
from .run import RunCore as RunCore
from .run import TaskRecord as TaskRecord
from .slots import Rank as Rank
from .slots import Slots as Slots
from .slots import SlotsStatistics as SlotsStatistics

__all__ = [
    "APPROVE",
    "BACKOFF",
    "CALL",
    "DONE",
    "READY",
    "RECORD",
    "RETRYABLE",
    "SLOT",
    "WAITING",
    "Approval",
    "Phase",
    "Rank",
    "RetryPolicy",
    "RunCore",
    "Slots",
    "SlotsStatistics",
    "TaskRecord",
    "refusal",
    "task_error",
]
