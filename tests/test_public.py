from __future__ import annotations

import dagexec


def test_every_public_name_imports_from_the_package() -> None:
    for name in dagexec.__all__:
        obj = getattr(dagexec, name)
        assert obj.__module__.startswith("dagexec")
        assert obj.__doc__, f"{name} has no docstring"


def test_all_lists_the_documented_entry_points() -> None:
    assert {
        "Workflow",
        "Task",
        "EagerExecutor",
        "LayeredExecutor",
        "LocalTools",
        "ToolServer",
        "ExecutionResult",
        "TaskResult",
        "TaskStatus",
        "ErrorCode",
        "WorkflowError",
        "CycleError",
    } <= set(dagexec.__all__)
