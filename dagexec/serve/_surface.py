"""The gateway's tool surface: ``run_workflow`` and its description, and the name of each downstream tool."""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

import mcp_types

from .. import ListsTools, ToolServer, server_tools
from .. import workflow_schema as _workflow_schema
from .._approval import shortened
from ..mcp import MCPToolServer
from ._outputs import REPLY_LIMIT
from ._supervise import RestartingServer

#: The name of the gateway's tool that runs a plan.
RUN_WORKFLOW = "run_workflow"

#: The largest input schema of a proxied tool that ``tools/list`` shows, in characters of its
#: JSON: a larger one would push the list past what the SDK's HTTP client takes (1 MiB).
SCHEMA_LIMIT = 64 * 1024

#: The largest plan schema limited to the tools (``typed_plans``) offered as ``run_workflow``'s input
#: schema, in characters of its JSON: past it, the general plan schema is offered, so that ``tools/list``
#: stays well within what the SDK's HTTP client takes (1 MiB).
TYPED_LIMIT = 256 * 1024

#: The largest description of a proxied tool offered, in characters (a longer one is shortened, saying how
#: much is cut): a downstream server's description must not push ``tools/list`` past what a client takes.
DESCRIPTION_LIMIT = 4 * 1024

#: The largest line of ``run_workflow``'s description for one downstream tool, in characters.
LINE_LIMIT = 300

#: The largest list of downstream tools in ``run_workflow``'s description, in characters: past it, the
#: list ends with how many more tools there are (each is still offered directly, and callable in plans).
TOOL_LIST_LIMIT = 64 * 1024

_log = logging.getLogger("dagexec.serve")

_ABOUT = (
    "Run a plan of calls to the tools listed below as one workflow: a DAG of tasks, each task starting the "
    "moment the tasks it depends on are done, so the whole plan takes the time of its longest chain. A task "
    'is {"id": ..., "tool": "server:tool", "arguments": {...}, "depends_on": [...]}. An argument '
    "string may use an earlier task's output: \"$OUTPUT[t1]\" is task t1's whole output, "
    '"$OUTPUT[t1].key.0" a part of it, and text may hold references ("Summarise: $OUTPUT[t1].text"); a '
    "reference makes the task depend on t1. A failed task skips only the tasks that need it. Returns every "
    "task's status, output or error, and timing. An invalid plan is refused with every problem named, and "
    "nothing runs."
)


def _first_line(text: str | None) -> str:
    return (text or "").strip().splitlines()[0].strip() if (text or "").strip() else ""


def _argument_names(schema: Mapping[str, Any]) -> str:
    """A tool's argument names, the optional ones marked with ``?``: ``(path, depth?)``."""
    properties = schema.get("properties")
    if not isinstance(properties, Mapping):
        return "()"
    required = schema.get("required")
    needed = set(required) if isinstance(required, list) else set()
    return "(" + ", ".join(name if name in needed else f"{name}?" for name in properties) + ")"


def describe_tools(servers: Mapping[str, ToolServer]) -> list[str]:
    """One line per downstream tool: ``- server:tool (arguments): its description's first line``.

    An MCP server gives each tool's description and argument names; a server
    that lists only names gives those; any other server gives one line saying
    that its tools are not listed. A line is at most 300 characters (a
    longer one is shortened, saying how much is cut).
    """
    lines = []
    for name, server in servers.items():
        if isinstance(server, MCPToolServer | RestartingServer):
            for tool in server.tools.values():
                about = _first_line(tool.description)
                line = f"- {name}:{tool.name} {_argument_names(tool.input_schema)}" + (f": {about}" if about else "")
                lines.append(shortened(line, LINE_LIMIT))
        elif isinstance(server, ListsTools):
            lines += [f"- {name}:{tool}" for tool in sorted(server.tool_names)]
        else:
            lines.append(f"- {name}:<tool> (this server does not list its tools)")
    return lines


#: What MCP clients accept as a tool's name.
_TOOL_NAME = re.compile(r"[a-zA-Z0-9_-]{1,64}")

#: How a shortened name ends: ``_`` and hex digits of a hash. A natural name that ends so
#: is shortened too, so that it can never be another tool's shortened name.
_HASHED = re.compile(r"_[0-9a-f]{8,}\Z")

#: The hex digits of the hash in a shortened name: 8, and more only for two tools whose
#: shortened names would otherwise be one (the same first characters, the same 8 digits).
_DIGITS = (8, 16, 32, 62)


def _shortened(name: str, server: str, tool: str, digits: int) -> str:
    """``name``'s first characters (others than letters, digits, ``_``, ``-`` replaced), ``_``, and a hash."""
    digest = hashlib.sha256(f"{server}:{tool}".encode()).hexdigest()[:digits]
    return re.sub(r"[^a-zA-Z0-9_-]", "_", name)[: 63 - digits] + "_" + digest


def proxy_names(tools: Iterable[tuple[str, str]]) -> dict[str, tuple[str, str]]:
    """The name each downstream tool is offered under: ``{server}__{tool}``, shortened where it must be.

    Every tool gets a name of its own. A name longer than 64 characters, with
    characters other than letters, digits, ``_`` and ``-``, that two tools
    would share, that is ``run_workflow``, or that ends as a shortened name
    does (``_`` and 8 or more hex digits), becomes its first 55 characters
    (others replaced by ``_``), ``_`` and 8 hex digits of the SHA-256 of
    ``server:tool``: the same tool always gets the same name, and no natural
    name can equal a shortened one. Two tools whose shortened names would
    still be one get more digits of their hashes (16, then 32, then 62).

    Args:
        tools: Each tool's ``(server, tool)``.

    Returns:
        Each offered name, mapped to its ``(server, tool)``, in the order of ``tools``.
    """
    wanted = [(f"{server}__{tool}", (server, tool)) for server, tool in tools]
    counts = Counter(name for name, _ in wanted)
    given: dict[tuple[str, str], str] = {}
    pending: list[tuple[str, tuple[str, str]]] = []
    for name, key in wanted:
        if counts[name] == 1 and name != RUN_WORKFLOW and _TOOL_NAME.fullmatch(name) and not _HASHED.search(name):
            given[key] = name
        else:
            pending.append((name, key))
    taken = set(given.values())
    for digits in _DIGITS:
        proposed = [(_shortened(name, *key, digits), name, key) for name, key in pending]
        shared = Counter(short for short, _, _ in proposed)
        pending = []
        for short, name, key in proposed:
            if shared[short] == 1 and short not in taken:
                given[key] = short
                taken.add(short)
            else:
                pending.append((name, key))
    if pending:  # two SHA-256 hashes alike in 62 digits
        raise ValueError(f"tools {sorted(key for _, key in pending)} cannot be given names of their own")
    return {given[key]: key for _, key in wanted}


def escaped(value: Any) -> Any:
    """Arguments of a direct call, with every ``$OUTPUT[`` kept as text (written ``$$OUTPUT[``)."""
    if isinstance(value, str):
        return value.replace("$OUTPUT[", "$$OUTPUT[")
    if isinstance(value, Mapping):
        return {key: escaped(item) for key, item in value.items()}
    if isinstance(value, list):
        return [escaped(item) for item in value]
    return value


def _listed(servers: Mapping[str, ToolServer]) -> dict[tuple[str, str], mcp_types.Tool | None]:
    """Every downstream tool that a server lists, as ``(server, tool)``: its MCP listing, or None for a bare name."""
    listed: dict[tuple[str, str], mcp_types.Tool | None] = {}
    for name, server in servers.items():
        if isinstance(server, MCPToolServer | RestartingServer):
            listed.update(((name, tool.name), tool) for tool in server.tools.values())
        elif isinstance(server, ListsTools):
            listed.update(((name, tool), None) for tool in sorted(server.tool_names))
    return listed


def plan_schema(servers: Mapping[str, ToolServer], *, typed_plans: bool = False) -> dict[str, Any]:
    """``run_workflow``'s input schema: every plan; with ``typed_plans``, plans limited to the servers' tools.

    The limited schema (:func:`~dagexec.workflow_schema` of
    :func:`~dagexec.server_tools`) lets a client's model write only calls that
    fit the tools; it is offered while its JSON is at most :data:`TYPED_LIMIT`
    characters, else the general schema is, with a warning.
    """
    if not typed_plans:
        return _workflow_schema()
    limited = _workflow_schema(server_tools(servers))
    size = len(json.dumps(limited))
    if size > TYPED_LIMIT:
        _log.warning(
            "run_workflow offers the general plan schema: the one limited to the tools is %d characters, over %d",
            size,
            TYPED_LIMIT,
        )
        return _workflow_schema()
    return limited


def _tool_list(lines: list[str]) -> str:
    """The lines, up to :data:`TOOL_LIST_LIMIT` characters in all, then how many more tools there are."""
    size = 0
    for shown, line in enumerate(lines):
        size += len(line) + 1
        if size > TOOL_LIST_LIMIT:
            return "\n".join([*lines[:shown], f"- and {len(lines) - shown} more tools, each offered directly too"])
    return "\n".join(lines)


def gateway_tools(
    servers: Mapping[str, ToolServer], *, typed_plans: bool = False
) -> tuple[list[mcp_types.Tool], dict[str, tuple[str, str]]]:
    """The tools a gateway in front of ``servers`` offers, and each proxied tool's ``(server, tool)`` by its name.

    ``run_workflow`` comes first, its description listing every downstream
    tool (see :func:`describe_tools`), its input schema that of
    :func:`plan_schema`; then each listed downstream tool, under its proxy
    name (see :func:`proxy_names`), with its own input schema and description.
    """
    tools = [
        mcp_types.Tool(
            name=RUN_WORKFLOW,
            description=_ABOUT
            + "\n\nTools (server:tool (arguments, ? = optional): what it does):\n"
            + _tool_list(describe_tools(servers)),
            input_schema=plan_schema(servers, typed_plans=typed_plans),
        )
    ]
    listed = _listed(servers)
    proxied = proxy_names(listed)
    for proxy, (name, tool) in proxied.items():
        known = listed[name, tool]
        description = shortened(known.description, DESCRIPTION_LIMIT) if known and known.description else None
        about = f"{name}:{tool} through dagexec" + (f": {description}" if description else "")
        schema = known.input_schema if known is not None else {"type": "object"}
        size = len(json.dumps(schema, default=repr))
        if size > SCHEMA_LIMIT:
            _log.warning(
                "tool %s:%s is listed without its input schema (%d bytes, over %d): it stays callable",
                name,
                tool,
                size,
                SCHEMA_LIMIT,
            )
            about += f" (its input schema, {size} bytes, is too large to list; calls go through as before)"
            schema = {"type": "object"}
        tools.append(mcp_types.Tool(name=proxy, description=about, input_schema=schema))
    return tools, proxied


def tool_pages(tools: list[mcp_types.Tool], limit: int = REPLY_LIMIT) -> list[list[mcp_types.Tool]]:
    """``tools`` in pages for ``tools/list``, each page's JSON at most ``limit`` characters (and one tool at least).

    A page is one message: however many tools the downstream servers list,
    each page stays within what the SDK's HTTP client takes (1 MiB). A tool
    alone is bounded (its schema by :data:`SCHEMA_LIMIT`, its description by
    :data:`DESCRIPTION_LIMIT`; ``run_workflow``'s by :data:`TYPED_LIMIT` and
    :data:`TOOL_LIST_LIMIT`).
    """
    pages: list[list[mcp_types.Tool]] = [[]]
    size = 0
    for tool in tools:
        tool_size = len(tool.model_dump_json(by_alias=True, exclude_none=True)) + 1
        if pages[-1] and size + tool_size > limit:
            pages.append([])
            size = 0
        pages[-1].append(tool)
        size += tool_size
    return pages
