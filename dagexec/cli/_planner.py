"""What a planner needs from the command line: ``dagexec tools`` and ``dagexec schema``.

``tools`` lists every tool of a servers config with its arguments (``--json``:
each tool's input and output schemas); ``schema --servers`` prints the JSON
Schema of plans limited to those tools, for a model's structured output.
Without ``--servers``, ``schema`` prints the schema of every possible plan.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Mapping
from typing import Any

from rich.console import Console
from rich.text import Text

from dagexec import ToolSchemas, ToolServer, server_tools, workflow_schema
from dagexec.servers import open_servers

from ._files import write_json
from ._options import add_servers
from ._prompt import ask_input
from ._render import count, printable
from ._streams import STANDARD


def descriptions(servers: Mapping[str, ToolServer]) -> dict[str, str]:
    """Each tool's description, as ``server:tool``, where its server gives one (an MCP server does)."""
    try:
        from dagexec.mcp import MCPToolServer
    except ImportError:  # no mcp extra: then no server of the config started either
        return {}
    return {
        f"{name}:{tool.name}": tool.description or ""
        for name, server in servers.items()
        if isinstance(server, MCPToolServer)
        for tool in server.tools.values()
    }


def kind(schema: Any) -> str:
    """A schema's kind in a few words, for a person: ``string``, ``integer | null``, ``one of 'c', 'f'``, ``P``."""
    if not isinstance(schema, Mapping):
        return "any" if schema is not False else "nothing"
    if "const" in schema:
        return json.dumps(schema["const"])
    if isinstance(schema.get("enum"), list):
        return "one of " + ", ".join(json.dumps(value) for value in schema["enum"])
    declared = schema.get("type")
    if isinstance(declared, str):
        if declared == "array" and "items" in schema:
            return f"array of {kind(schema['items'])}"
        return declared
    if isinstance(declared, list):
        return " | ".join(map(str, declared))
    if isinstance(schema.get("$ref"), str):
        return str(schema["$ref"]).rsplit("/", 1)[-1]
    for key in ("anyOf", "oneOf"):
        if isinstance(schema.get(key), list):
            return " | ".join(kind(branch) for branch in schema[key])
    return "any"


def first_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[0] if lines else ""


def tool_lines(tool: str, schemas: ToolSchemas, description: str) -> list[Text]:
    """A tool for a person: its name and description's first line, an argument a line, what it returns."""
    about = first_line(description)
    lines = [Text.assemble((printable(tool), "bold"), (f": {printable(about)}" if about else ""))]
    given = schemas.input
    properties = given.get("properties") if isinstance(given, Mapping) else None
    if given is None:
        lines.append(Text("  arguments: not described (any)", style="dim"))
    elif isinstance(properties, Mapping):
        required = given.get("required")
        needed = set(required) if isinstance(required, list) else set()
        for name, schema in properties.items():
            said = first_line(str(schema.get("description", ""))) if isinstance(schema, Mapping) else ""
            lines.append(
                Text.assemble(
                    "  ",
                    (printable(name), "cyan"),
                    f" ({printable(kind(schema))}{', required' if name in needed else ''})",
                    f": {printable(said)}" if said else "",
                )
            )
        if not properties:
            lines.append(Text("  no arguments", style="dim"))
    else:
        lines.append(Text("  arguments: not listed by its schema (any)", style="dim"))
    output = schemas.output
    if isinstance(output, Mapping):
        keys = output.get("properties")
        returned = ", ".join(keys) if isinstance(keys, Mapping) and keys else kind(output)
        lines.append(Text(f"  returns: {printable(returned)}", style="dim"))
    return lines


async def cmd_tools(args: argparse.Namespace, console: Console) -> int:
    """List every tool of the config's servers, as ``server:tool``, with its arguments."""
    async with open_servers(args.servers, ask=ask_input, start_timeout=args.start_timeout) as servers:
        tools = server_tools(servers)
        about = descriptions(servers)
    if args.json:
        listed = [
            {
                "tool": tool,
                "description": about.get(tool),
                "input_schema": schemas.input,
                "output_schema": schemas.output,
            }
            for tool, schemas in tools.items()
        ]
        write_json(STANDARD, listed)
        return 0
    for tool, schemas in tools.items():
        for line in tool_lines(tool, schemas, about.get(tool, "")):
            console.print(line, highlight=False)
    console.print(f"{count(len(tools), 'tool')} on {count(len(servers), 'server')}", highlight=False)
    return 0


async def cmd_schema(args: argparse.Namespace, console: Console) -> int:
    """Print the workflow's JSON Schema; with ``--servers``, the schema of plans limited to their tools."""
    if args.servers is None:
        schema = workflow_schema()
    else:
        async with open_servers(args.servers, ask=ask_input, start_timeout=args.start_timeout) as servers:
            schema = workflow_schema(server_tools(servers))
    write_json(STANDARD, schema)
    return 0


def add_commands(
    commands: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    """Add ``tools`` and ``schema`` to the command line's subcommands."""
    tools = commands.add_parser(
        "tools", help="list the tools of a servers config, with their arguments", parents=[common]
    )
    add_servers(tools)
    tools.add_argument("--json", action="store_true", help="print each tool's input and output schemas as JSON")
    tools.set_defaults(handler=cmd_tools)

    schema = commands.add_parser(
        "schema",
        help="print the JSON Schema of a workflow (with --servers: of one on their tools)",
        parents=[common],
    )
    add_servers(schema, required=False, about="the schema of plans on its tools, their arguments checked")
    schema.set_defaults(handler=cmd_schema)
