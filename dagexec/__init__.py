"""dagexec: run tool-call workflows as fast as their dependencies allow.

A workflow is a DAG of calls to tools on servers (``"server:tool"``), whose
arguments may use earlier outputs (``"$OUTPUT[t1].content"``). The
:class:`EagerExecutor` starts each task the moment its dependencies are done;
the :class:`LayeredExecutor` is the layer-by-layer baseline it is measured
against.
"""

from ._approval import APPROVAL_LIMIT as APPROVAL_LIMIT
from ._approval import shown_arguments as shown_arguments
from ._diagram import to_dot as to_dot
from ._diagram import to_mermaid as to_mermaid
from ._errors import ArgumentProblem as ArgumentProblem
from ._errors import CycleError as CycleError
from ._errors import DagexecError as DagexecError
from ._errors import DuplicateTaskError as DuplicateTaskError
from ._errors import InvalidArgumentsError as InvalidArgumentsError
from ._errors import JournalError as JournalError
from ._errors import JournalInUseError as JournalInUseError
from ._errors import JournalWarning as JournalWarning
from ._errors import NoSuchToolError as NoSuchToolError
from ._errors import PlanError as PlanError
from ._errors import PlanProblem as PlanProblem
from ._errors import ProblemKind as ProblemKind
from ._errors import SchemaError as SchemaError
from ._errors import SchemaWarning as SchemaWarning
from ._errors import ServerConfigError as ServerConfigError
from ._errors import ServerError as ServerError
from ._errors import ServerStartError as ServerStartError
from ._errors import ToolCallError as ToolCallError
from ._errors import ToolError as ToolError
from ._errors import ToolTimeoutError as ToolTimeoutError
from ._errors import UnknownDependencyError as UnknownDependencyError
from ._errors import UnknownServerError as UnknownServerError
from ._errors import UnknownToolError as UnknownToolError
from ._errors import WorkflowError as WorkflowError
from ._events import Event as Event
from ._events import EventHandler as EventHandler
from ._events import TaskApprovalAnswered as TaskApprovalAnswered
from ._events import TaskApprovalAsked as TaskApprovalAsked
from ._events import TaskBegan as TaskBegan
from ._events import TaskCallEnded as TaskCallEnded
from ._events import TaskFinished as TaskFinished
from ._events import TaskRetrying as TaskRetrying
from ._events import TaskSkipped as TaskSkipped
from ._events import TaskSlotGranted as TaskSlotGranted
from ._events import TaskStarted as TaskStarted
from ._events import TaskStopped as TaskStopped
from ._events import TaskWaitingForSlot as TaskWaitingForSlot
from ._executor import Approver as Approver
from ._executor import EagerExecutor as EagerExecutor
from ._executor import ExecutorOptions as ExecutorOptions
from ._executor import LayeredExecutor as LayeredExecutor
from ._executor import Priority as Priority
from ._journal import check_journal as check_journal
from ._journal_read import JournalRun as JournalRun
from ._journal_read import JournalTask as JournalTask
from ._journal_read import read_journal as read_journal
from ._refs import MAX_ARGUMENT_DEPTH as MAX_ARGUMENT_DEPTH
from ._results import Attempt as Attempt
from ._results import ErrorCode as ErrorCode
from ._results import ExecutionResult as ExecutionResult
from ._results import RunProgress as RunProgress
from ._results import Strategy as Strategy
from ._results import TaskError as TaskError
from ._results import TaskResult as TaskResult
from ._results import TaskStatus as TaskStatus
from ._run import JournalFailedError as JournalFailedError
from ._run import Run as Run
from ._schemas import ToolSchemas as ToolSchemas
from ._signals import SignalStop as SignalStop
from ._signals import open_signal_stop as open_signal_stop
from ._tools import ListsSchemas as ListsSchemas
from ._tools import ListsTools as ListsTools
from ._tools import LocalTools as LocalTools
from ._tools import ToolServer as ToolServer
from ._version import __version__ as __version__
from ._workflow import Task as Task
from ._workflow import Trigger as Trigger
from ._workflow import Workflow as Workflow
from ._workflow_schema import server_tools as server_tools
from ._workflow_schema import workflow_schema as workflow_schema

__all__ = [
    "APPROVAL_LIMIT",
    "MAX_ARGUMENT_DEPTH",
    "Approver",
    "ArgumentProblem",
    "Attempt",
    "CycleError",
    "DagexecError",
    "DuplicateTaskError",
    "EagerExecutor",
    "ErrorCode",
    "Event",
    "EventHandler",
    "ExecutionResult",
    "ExecutorOptions",
    "InvalidArgumentsError",
    "JournalError",
    "JournalFailedError",
    "JournalInUseError",
    "JournalRun",
    "JournalTask",
    "JournalWarning",
    "LayeredExecutor",
    "ListsSchemas",
    "ListsTools",
    "LocalTools",
    "NoSuchToolError",
    "PlanError",
    "PlanProblem",
    "Priority",
    "ProblemKind",
    "Run",
    "RunProgress",
    "SchemaError",
    "SchemaWarning",
    "ServerConfigError",
    "ServerError",
    "ServerStartError",
    "SignalStop",
    "Strategy",
    "Task",
    "TaskApprovalAnswered",
    "TaskApprovalAsked",
    "TaskBegan",
    "TaskCallEnded",
    "TaskError",
    "TaskFinished",
    "TaskResult",
    "TaskRetrying",
    "TaskSkipped",
    "TaskSlotGranted",
    "TaskStarted",
    "TaskStatus",
    "TaskStopped",
    "TaskWaitingForSlot",
    "ToolCallError",
    "ToolError",
    "ToolSchemas",
    "ToolServer",
    "ToolTimeoutError",
    "Trigger",
    "UnknownDependencyError",
    "UnknownServerError",
    "UnknownToolError",
    "Workflow",
    "WorkflowError",
    "check_journal",
    "open_signal_stop",
    "read_journal",
    "server_tools",
    "shown_arguments",
    "to_dot",
    "to_mermaid",
    "workflow_schema",
]
