"""Hostile schemas for the schema check, and what checking plans against them costs.

The schemas a downstream server may publish to stall a gateway: a 10 MB input
schema, a pattern that backtracks exponentially in Python's ``re``, and an
output schema of ``anyOf`` nested through ``$ref``. :func:`measure` times the
check on each (part 5 of ``dagexec bench``). Run as a script,
``python dagexec/bench/hostile.py [--depth N]``, it prints its figures as JSON,
with whichever dagexec is importable: the same figures before and after a change
(``--restart`` adds :func:`restart_ping`'s). ``python dagexec/bench/hostile.py
--serve`` is the downstream server that :func:`restart_ping` restarts.
"""

from __future__ import annotations

import json
import sys
import time
import tracemalloc
from typing import Any

#: How deep the nested ``anyOf`` output schema goes.
NESTED_DEPTH = 14
#: The hostile pattern, and the argument it backtracks on.
PATTERN = "^(a+)+$"
HOSTILE_TEXT = "a" * 28 + "!"


def nested_output(depth: int = NESTED_DEPTH) -> dict[str, Any]:
    """Nested ``anyOf`` through ``$ref``: level i is one of three schemas, each leading to level i+1."""
    defs: dict[str, Any] = {f"L{depth}": {"type": "object", "properties": {"value": {"type": "string"}}}}
    for level in range(depth - 1, -1, -1):
        following = {"$ref": f"#/$defs/L{level + 1}"}
        defs[f"L{level}"] = {
            "anyOf": [
                {"type": "object", "properties": {"next": following, "a": {"type": "integer"}}},
                {"type": "object", "properties": {"next": following, "b": {"type": "string"}}},
                {"allOf": [following]},
            ]
        }
    return {"$defs": defs, "$ref": "#/$defs/L0"}


def wide_input(n: int) -> dict[str, Any]:
    """An object of ``n`` optional properties, each a bounded string with a description (~125 bytes each)."""
    return {
        "type": "object",
        "properties": {
            f"p{i}": {
                "type": "string",
                "maxLength": 10 + i % 7,
                "description": f"property number {i} of a very wide input schema, as a converter may write it",
            }
            for i in range(n)
        },
        "additionalProperties": False,
    }


def _timed(fn: Any) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def measure(depth: int = NESTED_DEPTH, wide: int = 80_000) -> dict[str, Any]:
    """The check's time on each hostile schema, with whichever dagexec is importable.

    ``first_plan_s`` includes what the first plan pays (building validators, where
    they are built on first use); ``listing_s`` is the compile when the server
    lists its tools, where dagexec does that (``prepare``), else None.
    """
    from dagexec import Workflow
    from dagexec import _schemas as schemas
    from dagexec._schemas import SchemaCheck, ToolSchemas

    def plan_time(check: Any, *tasks: dict[str, Any]) -> tuple[float, int]:
        workflow = Workflow.from_dict({"tasks": list(tasks)})
        by_id = {t.id: t for t in workflow.tasks}
        found: list[Any] = []
        seconds = _timed(lambda: found.extend(check.plan_problems(workflow.tasks, by_id.get)))
        return seconds, len(found)

    figures: dict[str, Any] = {}
    prepare = getattr(schemas, "prepare", None)

    big = wide_input(wide)
    figures["wide_schema_mb"] = len(json.dumps(big)) / 1e6
    tools = {"wide": ToolSchemas(input=big)}
    figures["wide_listing_s"] = _timed(lambda: prepare("s", tools)) if prepare is not None else None
    check = SchemaCheck({"s": tools})
    task = {"id": "w", "tool": "s:wide", "arguments": {"p1": "short"}}
    figures["wide_first_plan_s"], _ = plan_time(check, task)
    figures["wide_next_plan_s"], _ = plan_time(SchemaCheck({"s": tools}), task)

    pattern = {"type": "object", "properties": {"text": {"type": "string", "pattern": PATTERN}}}
    check = SchemaCheck({"s": {"pattern": ToolSchemas(input=pattern)}})
    seconds, found = plan_time(check, {"id": "p", "tool": "s:pattern", "arguments": {"text": HOSTILE_TEXT}})
    figures.update(pattern=PATTERN, pattern_text_length=len(HOSTILE_TEXT), pattern_plan_s=seconds)
    figures["pattern_problems"] = found

    tools = {"nested": ToolSchemas(output=nested_output(depth)), "take": ToolSchemas(input={"type": "object"})}
    check = SchemaCheck({"s": tools})
    deep = ".".join(["next"] * depth)
    tracemalloc.start()
    seconds, found = plan_time(
        check,
        {"id": "e", "tool": "s:nested"},
        {"id": "t", "tool": "s:take", "arguments": {"v": f"$OUTPUT[e].{deep}.value"}},
        {"id": "u", "tool": "s:take", "arguments": {"v": f"$OUTPUT[e].{deep}.nope"}},
    )
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    figures.update(nested_depth=depth, nested_plan_s=seconds, nested_peak_mb=peak / 1e6, nested_problems=found)
    return figures


def gateway_ping(tasks: int = 2_000, every: float = 0.01) -> dict[str, Any]:
    """A plan of ``tasks`` calls of the bench server's ``match`` on the hostile text, sent to ``dagexec serve``.

    Meanwhile the same client pings the gateway every ``every`` seconds: the
    figures are the plan's answer time and the slowest ping.
    """
    import os
    import tempfile
    import warnings

    import trio
    from mcp import Client, MCPDeprecationWarning, StdioServerParameters
    from mcp.client.stdio import stdio_client

    from dagexec.bench._measure import bench_server_config

    config = bench_server_config()
    plan = {
        "tasks": [{"id": f"m{i}", "tool": "bench:match", "arguments": {"text": HOSTILE_TEXT}} for i in range(tasks)]
    }
    figures: dict[str, Any] = {"gateway_tasks": tasks}

    async def main(servers: str, errlog: Any) -> None:
        params = StdioServerParameters(command=sys.executable, args=["-m", "dagexec", "serve", "--servers", servers])
        async with Client(stdio_client(params, errlog=errlog), mode="legacy") as client:
            await client.send_ping()
            result, figures["gateway_plan_s"], pings = await _call_while_pinging(client, "run_workflow", plan, every)
            if not result.is_error:
                raise RuntimeError("the hostile plan was not refused")
            figures["gateway_pings"] = len(pings)
            figures["gateway_slowest_ping_s"] = max(pings)

    with tempfile.TemporaryDirectory() as folder:
        servers = os.path.join(folder, "servers.json")
        with open(servers, "w") as file:
            json.dump(config, file)
        with open(os.path.join(folder, "serve.log"), "w+") as errlog, warnings.catch_warnings():
            warnings.simplefilter("ignore", MCPDeprecationWarning)  # ping: a legacy-mode request, still served
            trio.run(main, servers, errlog)
    return figures


async def _call_while_pinging(
    client: Any, tool: str, arguments: dict[str, Any], every: float
) -> tuple[Any, float, list[float]]:
    """Call ``tool`` while the same client pings every ``every`` seconds: the result, its seconds, each ping's."""
    import trio

    pings: list[float] = []
    done = trio.Event()

    async def ping() -> None:
        while not done.is_set():
            start = time.perf_counter()
            await client.send_ping()
            pings.append(time.perf_counter() - start)
            await trio.sleep(every)

    async with trio.open_nursery() as nursery:
        nursery.start_soon(ping)
        start = time.perf_counter()
        result = await client.call_tool(tool, arguments)
        seconds = time.perf_counter() - start
        done.set()
    return result, seconds, pings


def restart_ping(wide: int = 80_000, every: float = 0.01) -> dict[str, Any]:
    """The slowest ping to ``dagexec serve`` while a downstream server starts again and lists a new wide schema.

    The downstream server (this file, ``--serve``) lists one tool whose input
    schema has ``wide`` properties and a title that names its process, so each
    start lists a schema the gateway has not seen. The client makes it exit,
    then calls its tool through the gateway, which starts it again; meanwhile
    it pings the gateway every ``every`` seconds.
    """
    import os
    import tempfile
    import warnings

    import trio
    from mcp import Client, MCPDeprecationWarning, StdioServerParameters
    from mcp.client.stdio import stdio_client

    entry = {
        "command": sys.executable,
        "args": [os.path.abspath(__file__), "--serve"],
        "env": {"HOSTILE_WIDE": str(wide)},
    }
    figures: dict[str, Any] = {"restart_wide_properties": wide}

    async def main(servers: str, errlog: Any) -> None:
        # The gateway gets this process's environment (PYTHONPATH too): it imports the same dagexec.
        params = StdioServerParameters(
            command=sys.executable, args=["-m", "dagexec", "serve", "--servers", servers], env=dict(os.environ)
        )
        async with Client(stdio_client(params, errlog=errlog), mode="legacy") as client:
            await client.send_ping()
            await client.call_tool("wide__exit", {})  # it dies: the next call starts it again
            call = await _call_while_pinging(client, "wide__wide", {"p1": "short"}, every)
            result, figures["restart_call_s"], pings = call
            if result.is_error:
                raise RuntimeError(f"the call after the restart failed: {result.content}")
            figures["restart_pings"] = len(pings)
            figures["restart_slowest_ping_s"] = max(pings)

    with tempfile.TemporaryDirectory() as folder:
        servers = os.path.join(folder, "servers.json")
        with open(servers, "w") as file:
            json.dump({"mcpServers": {"wide": entry}}, file)
        with open(os.path.join(folder, "serve.log"), "w+") as errlog, warnings.catch_warnings():
            warnings.simplefilter("ignore", MCPDeprecationWarning)  # ping: a legacy-mode request, still served
            trio.run(main, servers, errlog)
    return figures


def serve() -> None:
    """The downstream server of :func:`restart_ping`, over stdio: ``wide`` (a new schema each start), ``exit``."""
    import os

    import anyio
    import mcp_types
    from mcp.server.lowlevel import Server
    from mcp.server.stdio import stdio_server

    schema = wide_input(int(os.environ.get("HOSTILE_WIDE", "80000")))
    schema["title"] = f"the wide schema of process {os.getpid()}"
    tools = [
        mcp_types.Tool(name="wide", input_schema=schema),
        mcp_types.Tool(name="exit", input_schema={"type": "object"}),
    ]

    async def list_tools(ctx: Any, params: Any) -> mcp_types.ListToolsResult:
        return mcp_types.ListToolsResult(tools=tools)

    async def call_tool(ctx: Any, params: mcp_types.CallToolRequestParams) -> mcp_types.CallToolResult:
        if params.name == "exit":
            os._exit(0)
        return mcp_types.CallToolResult(content=[mcp_types.TextContent(type="text", text="ok")])

    server = Server("wide", on_list_tools=list_tools, on_call_tool=call_tool)

    async def main() -> None:
        async with stdio_server() as (read, write):
            await server.run(read, write, server.create_initialization_options())

    anyio.run(main)


if __name__ == "__main__":
    arguments = sys.argv[1:]
    if "--serve" in arguments:
        serve()
    else:
        chosen = int(arguments[arguments.index("--depth") + 1]) if "--depth" in arguments else NESTED_DEPTH
        figures = measure(chosen)
        if "--restart" in arguments:
            figures.update(restart_ping())
        print(json.dumps(figures))
