from __future__ import annotations

import inspect
from pathlib import Path

import dagexec

API = (Path(__file__).parent.parent / "docs" / "api.rst").read_text()


def test_every_public_name_imports_from_the_package() -> None:
    for name in dagexec.__all__:
        obj = getattr(dagexec, name)
        if inspect.isclass(obj) or inspect.isfunction(obj):
            assert obj.__module__.startswith("dagexec")
            assert obj.__doc__, f"{name} has no docstring"
        else:  # a type alias (a union of events, a callable's type): documented on the API page
            assert f"dagexec.{name}" in API, f"{name} is not in docs/api.rst"


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
