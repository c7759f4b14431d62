"""The workflow's JSON Schema, written as data beside the models it describes; and one limited to some tools.

The general schema is self-contained (no ``$ref``), since some MCP clients
read only plain schemas. The schema limited to some tools (for a planner's
structured output) holds each tool's input schema, whose ``$defs`` and
``$ref`` it keeps, under names of the tool's own.

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
import re
from collections.abc import Callable, Mapping
from typing import Any

from ._schemas import ToolSchemas
from ._schemas.walk import pointer_token
from ._tools import ListsSchemas, ListsTools, ToolServer

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



# -- a plan limited to some tools -------------------------------------------------------------

#: What stands for an argument value where a reference is given: a string that holds one.
_REFERENCE_DEF = "dagexec.reference"
#: The general task, whose fields each tool's branch reads.
_TASK_DEF = "dagexec.task"
_REFERENCE: dict[str, Any] = {
    "type": "string",
    "pattern": r"\$OUTPUT\[[^\[\]]+\]",
    "description": "A string that holds an $OUTPUT[id] reference (a task's whole output, or "
    "$OUTPUT[id].key.0 for a part of it), in place of a value: the value it stands for is checked "
    "when the task's arguments are resolved.",
}

#: Drafts whose schemas read as 2020-12 (draft 7 and 6 once ``definitions`` and array ``items`` are moved).
_SAME_DRAFTS = ("2020-12", "2019-09")
_CLOSE_DRAFTS = ("draft-07", "draft-06")

#: The keywords under which a reference may stand for a value, walked to wrap each schema there: whether
#: their value is one schema, a map of them or a list, and whether each stands for a value of its own
#: (an item, a property) rather than for the value its parent describes (``allOf``, ``then``).
#: ``not``, ``if``, ``contains`` and ``propertyNames`` are not walked: they judge a value rather than
#: describe it, and a reference inside them would change their verdict the other way.
_WALKED: dict[str, tuple[str, bool]] = {
    "additionalProperties": ("one", True), "items": ("one", True), "additionalItems": ("one", True),
    "unevaluatedItems": ("one", True), "unevaluatedProperties": ("one", True),
    "then": ("one", False), "else": ("one", False),
    "properties": ("map", True), "patternProperties": ("map", True), "dependentSchemas": ("map", False),
    "prefixItems": ("list", True), "allOf": ("list", False), "anyOf": ("list", False), "oneOf": ("list", False),
}  # fmt: skip


def workflow_schema(tools: Mapping[str, ToolSchemas] | None = None) -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a workflow document (``{"tasks": [...]}``).

    Args:
        tools: Limit the schema to these tools, by ``server:tool`` (see
            :func:`server_tools`): each task is then one of a branch per tool,
            keyed by a ``tool`` const, its ``arguments`` those the tool's input
            schema accepts, where a string holding an ``$OUTPUT[...]``
            reference is accepted in place of any argument value (at any
            depth). Each tool's ``$defs`` move to the schema's ``$defs`` under
            a name of the tool's own (``server.tool.Name``), its ``$ref``
            pointers rewritten to match. A tool without an input schema, or
            whose schema names a draft before 6, takes any arguments object.
            None: every tool, arguments not checked (the schema of every
            possible plan).

    Returns:
        A fresh copy, which the caller may change.
    """
    if tools is None:
        return copy.deepcopy(_WORKFLOW)
    definitions: dict[str, Any] = {}
    taken: set[str] = set()
    branches = []
    for tool in sorted(tools):
        prefix = _unique(_NAME.sub("_", tool.replace(":", ".")), taken)
        # The fields every task has are the general schema's, by reference: one copy for all tools.
        properties = {key: {"$ref": f"#/$defs/{_TASK_DEF}/properties/{key}"} for key in _TASK["properties"]}
        properties["tool"] = {"const": tool}
        required = ["id", "tool"]
        arguments = _arguments(tools[tool].input, prefix, definitions, taken)
        if arguments is not None:
            definitions[prefix] = arguments
            properties["arguments"] = {"$ref": f"#/$defs/{_pointer_part(prefix)}"}
            if arguments.get("required"):
                required.append("arguments")  # or its required arguments are never asked for
        branches.append(
            {
                "type": "object",
                "description": f"A call of {tool}.",
                "properties": properties,
                "required": required,
                "additionalProperties": False,
            }
        )
    definitions[_REFERENCE_DEF] = copy.deepcopy(_REFERENCE)
    definitions[_TASK_DEF] = copy.deepcopy(_TASK)
    schema = copy.deepcopy(_WORKFLOW)
    schema["title"] = f"dagexec workflow on {len(tools)} tool{'s' if len(tools) != 1 else ''}"
    schema["properties"]["tasks"]["items"] = {"anyOf": branches} if branches else False
    schema["$defs"] = definitions
    return schema


def server_tools(servers: Mapping[str, ToolServer]) -> dict[str, ToolSchemas]:
    """Every tool the servers list, as ``server:tool``, with its schemas (``ToolSchemas()`` where it has none).

    A server that does not list its tools (see :class:`~dagexec.ListsTools`)
    gives none.
    """
    found: dict[str, ToolSchemas] = {}
    for server, tools in servers.items():
        schemas = tools.tool_schemas if isinstance(tools, ListsSchemas) else {}
        names = set(tools.tool_names) if isinstance(tools, ListsTools) else set(schemas)
        for name in sorted(names):
            found[f"{server}:{name}"] = schemas.get(name) or ToolSchemas()
    return found


_NAME = re.compile(r"[^A-Za-z0-9_.-]")


def _unique(name: str, taken: set[str]) -> str:
    """``name``, or ``name-2``, ``name-3``...: the first not taken (two tools' names may read alike once cleaned)."""
    found, n = name, 1
    while found in taken or found in (_REFERENCE_DEF, _TASK_DEF):
        n += 1
        found = f"{name}-{n}"
    taken.add(found)
    return found


def _pointer_part(name: str) -> str:
    return name.replace("~", "~0").replace("/", "~1")


def _arguments(
    schema: Mapping[str, Any] | None, prefix: str, definitions: dict[str, Any], taken: set[str]
) -> dict[str, Any] | None:
    """A tool's input schema made part of the plan's, its ``$defs`` moved into ``definitions``; None: anything.

    ``taken``: the names of ``definitions`` so far, each tool's included.
    """
    if not isinstance(schema, Mapping):
        return None
    draft = str(schema.get("$schema", "2020-12"))
    if not any(name in draft for name in (*_SAME_DRAFTS, *_CLOSE_DRAFTS)):
        return None  # draft 4 and before: keywords that 2020-12 reads otherwise
    close = any(name in draft for name in _CLOSE_DRAFTS)
    root = {key: value for key, value in schema.items() if key not in ("$schema", "$id")}
    moved: dict[str, Any] = {}
    for key in ("$defs", "definitions"):
        found = root.pop(key, None)
        if isinstance(found, Mapping):
            moved.update({f"{key}/{name}": value for name, value in found.items()})
    # Names that need no escaping in a pointer, and that no other tool or definition has.
    names = {where: _unique(f"{prefix}.{_NAME.sub('_', where.split('/', 1)[1])}", taken) for where in moved}

    def rewrite(ref: str) -> str:
        if ref == "#":
            return f"#/$defs/{_pointer_part(prefix)}"
        if not ref.startswith("#/"):
            return ref  # an anchor (kept, as its schema is) or a remote schema (never fetched)
        parts = ref[2:].split("/")
        where = f"{pointer_token(parts[0])}/{pointer_token(parts[1])}" if len(parts) > 1 else ""
        if where in names:
            rest = _through(moved[where], parts[2:], False, close)
            return "/".join([f"#/$defs/{_pointer_part(names[where])}", *rest])
        return "/".join([f"#/$defs/{_pointer_part(prefix)}", *_through(root, parts, False, close)])

    for where, name in names.items():
        # Not wrapped itself: each place that names it is (or is under one that is).
        definitions[name] = _referable(_converted(moved[where], rewrite, close), False)
    arguments: dict[str, Any] = _referable(_converted(root, rewrite, close), False)
    return arguments


def _through(node: Any, parts: list[str], referable: bool, close: bool) -> list[str]:
    """A pointer's parts into a schema, once :func:`_referable` wrapped it (``anyOf/0`` inserted where it did).

    ``close``: the schema is of draft 7 or 6, whose array ``items`` became ``prefixItems``.
    """
    found: list[str] = []
    index = 0
    while True:
        if referable and isinstance(node, Mapping):
            found += ["anyOf", "0"]
        if index >= len(parts):
            return found
        keyword = pointer_token(parts[index])
        value = node.get(keyword) if isinstance(node, Mapping) else None
        written = parts[index]
        if close and isinstance(node, Mapping) and isinstance(node.get("items"), list):  # see _converted
            if keyword == "items":
                keyword = written = "prefixItems"
            elif keyword == "additionalItems":
                keyword = written = "items"
        walked = _WALKED.get(keyword)
        if walked is None or value is None:
            return found + parts[index:]  # not wrapped below: the rest as it is
        kind, referable = walked
        found.append(written)
        index += 1
        if kind == "one":
            node = value
            continue
        if index >= len(parts):
            return found
        key = pointer_token(parts[index])
        found.append(parts[index])
        index += 1
        if kind == "map" and isinstance(value, Mapping):
            node = value.get(key)
        elif kind == "list" and isinstance(value, list) and key.isdigit() and int(key) < len(value):
            node = value[int(key)]
        else:
            return found + parts[index:]


def _converted(schema: Any, rewrite: Callable[[str], str], close: bool) -> Any:
    """A copy of a schema with its ``$ref`` rewritten, and (``close``: draft 7 or 6) array ``items`` as 2020-12's
    ``prefixItems``."""
    if isinstance(schema, list):
        return [_converted(item, rewrite, close) for item in schema]
    if not isinstance(schema, Mapping):
        return schema
    found = {key: _converted(value, rewrite, close) for key, value in schema.items()}
    if isinstance(found.get("$ref"), str):
        found["$ref"] = rewrite(found["$ref"])
    if close and isinstance(found.get("items"), list):
        found["prefixItems"] = found.pop("items")
        if "additionalItems" in found:
            found["items"] = found.pop("additionalItems")
    return found


def _referable(schema: Any, referable: bool) -> Any:
    """A schema where a reference string may stand for each value it describes (``referable``: for itself too).

    A boolean schema is left as it is: ``true`` takes a reference already, and
    ``false`` (``"additionalProperties": false``) says that no value goes there.
    """
    if not isinstance(schema, Mapping):
        return schema
    found = dict(schema)
    for keyword, value in schema.items():
        walked = _WALKED.get(keyword)
        if walked is None:
            continue
        kind, each = walked
        if kind == "one":
            found[keyword] = _referable(value, each)
        elif kind == "map" and isinstance(value, Mapping):
            found[keyword] = {name: _referable(item, each) for name, item in value.items()}
        elif kind == "list" and isinstance(value, list):
            found[keyword] = [_referable(item, each) for item in value]
    if referable:
        return {"anyOf": [found, {"$ref": f"#/$defs/{_REFERENCE_DEF}"}]}
    return found
