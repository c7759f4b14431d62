"""``dagexec serve`` (dagexec as an MCP server, see :mod:`dagexec.serve`) and ``dagexec schema``."""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys

import trio
from rich.console import Console
from rich.text import Text

from dagexec import check_journal, workflow_schema

#: Standard output carries the MCP messages: everything the command says goes to standard error.
_say = Console(stderr=True)


async def cmd_serve(args: argparse.Namespace, console: Console) -> int:
    """Start the downstream servers once, serve MCP on stdio until the client leaves or a signal comes.

    A SIGINT or SIGTERM stops serving at once (runs under way are cancelled),
    closes every downstream server, and exits 128 + the signal's number; the
    client closing standard input exits 0.
    """
    from dagexec.serve import describe_tools, open_gateway

    from ._commands import executor_options

    options = executor_options(args)
    options["approve_all"] = args.approve_all
    if args.journal:
        options["journal"] = args.journal
        # Before any server starts: a journal that cannot be written, or is in use, stops here.
        await check_journal(args.journal)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    log = logging.getLogger("dagexec.serve")
    log.addHandler(handler)
    received: list[signal.Signals] = []
    try:
        with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
            async with trio.open_nursery() as nursery:

                async def watch() -> None:
                    async for signum in signals:
                        received.append(signal.Signals(signum))
                        nursery.cancel_scope.cancel()

                nursery.start_soon(watch)
                async with open_gateway(args.servers, timeout=args.timeout, **options) as gateway:
                    servers = gateway.executor.servers
                    tools = len(describe_tools(servers))
                    _say.print(
                        f"dagexec serve: {len(servers)} servers, {tools} tools; serving MCP on stdio", highlight=False
                    )
                    await gateway.serve_stdio()
                nursery.cancel_scope.cancel()
    finally:
        log.removeHandler(handler)
    if received:
        _say.print(
            Text(f"interrupted by {received[0].name}: the gateway stopped and its servers closed"), highlight=False
        )
        return 128 + received[0].value
    return 0


async def cmd_schema(args: argparse.Namespace, console: Console) -> int:
    """Print the workflow's JSON Schema."""
    sys.stdout.write(json.dumps(workflow_schema(), indent=2) + "\n")
    return 0


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``serve`` and ``schema`` to the command line's subcommands."""
    from ._commands import add_controls

    serve = commands.add_parser(
        "serve", help="serve MCP on stdio: a run_workflow tool that runs whole plans on the servers"
    )
    serve.add_argument("--servers", required=True, metavar="SERVERS.json", help="an mcpServers config")
    serve.add_argument(
        "--journal", metavar="RUN.db", help="record finished tasks, each plan under a name of its own; reuse them"
    )
    serve.add_argument(
        "--approve-all",
        action="store_true",
        help='ask the person through the client before every call, not only those of tasks with "approval": true',
    )
    add_controls(serve)
    serve.set_defaults(handler=cmd_serve)

    schema = commands.add_parser("schema", help="print the JSON Schema of a workflow")
    schema.set_defaults(handler=cmd_schema)
