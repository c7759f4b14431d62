"""The workflow's JSON Schema, written as data beside the models it describes.

Self-contained (no ``$ref``), since some MCP clients read only plain schemas.

It says what :meth:`Workflow.from_dict <dagexec.Workflow.from_dict>` accepts
field by field, for LLM structured output, editors, and the input schema of
``dagexec serve``'s ``run_workflow`` tool. A test checks that the two accept and
refuse the same documents. What a schema cannot say is checked by
``from_dict`` alone: ids unique, dependencies and ``$OUTPUT[...]`` references
that name tasks of the workflow, no cycle, references well formed, arguments
nested at most :data:`~dagexec.MAX_ARGUMENT_DEPTH` levels.
"""

from __future__ import annotations

import copy
from typing import Any

_TASK: dict[str, Any] = {
    "type": "object",
    "description": "One tool call of the workflow.",
    "properties": {
        "id": {
            "type": "string",
            "minLength": 1,
            "pattern": r"^[^\[\]]+$",
            "description": "Unique within the workflow, without '[' or ']'; others name it in depends_on "
            "and in $OUTPUT[id] references.",
        },
        "tool": {
            "type": "string",
            "pattern": r"^[^:]+:[\s\S]+$",
            "description": "'server:tool': the server's name and the tool's name on it.",
        },
        "arguments": {
            "type": "object",
            "description": "JSON arguments of the call; a string may hold $OUTPUT[id] (a task's whole output), "
            "$OUTPUT[id].key.0 (a part of it) or text around such references; $$OUTPUT[ is the text $OUTPUT[.",
        },
        "depends_on": {
            "type": "array",
            "items": {"type": "string"},
            "description": "Ids of tasks that must succeed first (a reference in the arguments implies one).",
        },
        "timeout": {
            "type": ["number", "null"],
            "exclusiveMinimum": 0,
            "description": "Seconds each call may take.",
        },
        "retries": {
            "type": ["integer", "null"],
            "minimum": 0,
            "description": "Extra calls after a failed one.",
        },
        "trigger": {
            "enum": ["all_success", "all_done"],
            "description": "Run once every dependency succeeded (all_success, the default), "
            "or once every one finished (all_done).",
        },
        "estimate": {
            "type": "number",
            "minimum": 0,
            "description": "Expected seconds (default 1): ranks tasks waiting for a slot.",
        },
        "approval": {"type": "boolean", "description": "Ask a person before the call."},
    },
    "required": ["id", "tool"],
    "additionalProperties": False,
}

_WORKFLOW: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "dagexec workflow",
    "description": "A DAG of tool calls: each task starts once the tasks it depends on are done.",
    "type": "object",
    "properties": {"tasks": {"type": "array", "items": _TASK}},
    "required": ["tasks"],
    "additionalProperties": False,
}


def workflow_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a workflow document (``{"tasks": [...]}``).

    Returns:
        A fresh copy, which the caller may change.
    """
    return copy.deepcopy(_WORKFLOW)
