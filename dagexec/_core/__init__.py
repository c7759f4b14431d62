"""The pure core of a run: no trio, no I/O, driven synchronously by the trio driver or a test."""

from .outcomes import refusal as refusal
from .outcomes import task_error as task_error
from .phases import APPROVE as APPROVE
from .phases import BACKOFF as BACKOFF
from .phases import CALL as CALL
from .phases import DONE as DONE
from .phases import RACES as RACES
from .phases import READY as READY
from .phases import RECORD as RECORD
from .phases import SLOT as SLOT
from .phases import TRANSITIONS as TRANSITIONS
from .phases import WAITING as WAITING
from .phases import Phase as Phase
from .phases import TransitionError as TransitionError
from .retry import RETRYABLE as RETRYABLE
from .retry import RetryPolicy as RetryPolicy
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
    "RACES",
    "READY",
    "RECORD",
    "RETRYABLE",
    "SLOT",
    "TRANSITIONS",
    "WAITING",
    "Phase",
    "Rank",
    "RetryPolicy",
    "RunCore",
    "Slots",
    "SlotsStatistics",
    "TaskRecord",
    "TransitionError",
    "refusal",
    "task_error",
]
