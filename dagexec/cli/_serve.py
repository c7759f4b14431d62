"""``dagexec serve``: dagexec as an MCP server (see :mod:`dagexec.serve`); ``dagexec schema`` is in ``_planner``."""

from __future__ import annotations

import argparse
import functools
import os

import trio
from rich.console import Console
from rich.text import Text

from dagexec import check_journal, open_signal_stop

from ._options import UsageError, add_controls, add_schema_check, add_servers, at_least_one, executor_options, positive
from ._otel import add_otel_flag
from ._render import count

#: Standard output carries the MCP messages: everything the command says goes to standard error.
_say = Console(stderr=True)


async def cmd_serve(args: argparse.Namespace, console: Console) -> int:
    """Start the downstream servers once, serve MCP on stdio until the client leaves or a signal comes.

    A SIGINT or SIGTERM stops serving at once (runs under way are cancelled),
    closes every downstream server, and exits 128 + the signal's number; the
    client closing standard input exits 0.
    """
    try:
        from dagexec.serve import describe_tools, is_loopback, open_gateway
    except ImportError as exc:  # the mcp SDK, which dagexec.serve needs, is missing
        missing = exc.name or getattr(exc.__cause__, "name", None) or "a module"
        raise UsageError(f"serve needs the serve extra: pip install 'dagexec[serve]' ({missing} is missing)") from None


    http = args.http
    token = os.environ.get("DAGEXEC_TOKEN") or None
    if http is not None:
        try:
            import hypercorn  # noqa: F401
        except ImportError:
            raise UsageError("serve --http needs the serve extra: pip install 'dagexec[serve]'") from None
        if token is None and not is_loopback(http[0]):
            raise UsageError(
                f"serving on {http[0]!r}, not a loopback address, needs a token: set DAGEXEC_TOKEN "
                "(every request must then send Authorization: Bearer <token>)"
            )
    options = executor_options(args)
    options["approve_all"] = args.approve_all
    options["typed_plans"] = args.typed_plans
    if args.journal:
        options["journal"] = args.journal
        # Before any server starts: a journal that cannot be written, or is in use, stops here.
        await check_journal(args.journal)
    # The gateway's own log records (a server that died, started again) reach
    # stderr as every command's do: a line each (see logs_on_stderr).
    # The signals are watched as every command's are (open_signal_stop): no run
    # of the command itself watches them, so the first ends the block at once;
    # each plan's run under way is then stopped by the cancellation reaching its
    # request (Run.stop_when_cancelled), its tasks ending cancelled.
    async with open_signal_stop() as signals, trio.open_nursery() as nursery:
        gateway_opened = open_gateway(
            args.servers, start_timeout=args.start_timeout, timeout=args.timeout, **options
        )
        async with gateway_opened as gateway:
            servers = gateway.executor.servers
            about = f"dagexec serve: {count(len(servers), 'server')}, {count(len(describe_tools(servers)), 'tool')}"
            if http is None:
                _say.print(f"{about}; serving MCP on stdio", highlight=False, soft_wrap=True)
                await gateway.serve_stdio()
            else:
                host, port = http
                binds = await nursery.start(
                    functools.partial(
                        gateway.serve_http,
                        host,
                        port,
                        token=token,
                        allowed_hosts=args.allow_host,
                        allowed_origins=args.allow_origin,
                        session_idle=args.session_idle,
                        max_sessions=args.max_sessions,
                    )
                )
                urls = ", ".join(f"{bind}/mcp" for bind in binds)
                auth = "a bearer token (DAGEXEC_TOKEN)" if token else "no token"
                _say.print(f"{about}; serving MCP at {urls}, with {auth}", highlight=False, soft_wrap=True)
                await trio.sleep_forever()
        nursery.cancel_scope.cancel()
    if signals.first is not None:
        _say.print(
            Text(f"interrupted by {signals.first.name}: the gateway stopped and its servers closed"), highlight=False
        )
        return 128 + signals.first.value
    return 0


def host_port(text: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[::1]:PORT`` for IPv6) as a host and a port."""
    host, sep, port = text.rpartition(":")
    host = host.removeprefix("[").removesuffix("]")
    if not sep or not host or not port.isdigit() or int(port) > 65535:
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, got {text!r}")
    return host, int(port)


def add_commands(
    commands: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    """Add ``serve`` and ``schema`` to the command line's subcommands (``common``: the options every command has)."""

    serve = commands.add_parser(
        "serve",
        help="serve MCP on stdio: a run_workflow tool that runs whole plans on the servers",
        parents=[common],
    )
    add_servers(serve)
    serve.add_argument(
        "--journal", metavar="RUN.db", help="record finished tasks, each plan under a name of its own; reuse them"
    )
    serve.add_argument(
        "--http",
        type=host_port,
        metavar="HOST:PORT",
        help="serve streamable HTTP at http://HOST:PORT/mcp instead of stdio (the token: DAGEXEC_TOKEN)",
    )
    serve.add_argument(
        "--allow-host", action="append", default=[], metavar="HOST", help="also accept this Host header (repeatable)"
    )
    serve.add_argument(
        "--allow-origin",
        action="append",
        default=[],
        metavar="ORIGIN",
        help="accept requests from this Origin (repeatable; none by default)",
    )
    serve.add_argument(
        "--session-idle",
        type=positive,
        default=300.0,
        metavar="SECONDS",
        help="with --http: end a session after this long with no request under way (default: 300)",
    )
    serve.add_argument(
        "--max-sessions",
        type=at_least_one,
        default=1000,
        metavar="N",
        help="with --http: at most N sessions; a new one closes the one idle longest (default: 1000)",
    )
    serve.add_argument(
        "--approve-all",
        action="store_true",
        help='ask the person through the client before every call, not only those of tasks with "approval": true',
    )
    serve.add_argument(
        "--typed-plans",
        action="store_true",
        help="offer run_workflow's input schema limited to the servers' tools (as dagexec schema --servers gives it)",
    )
    add_schema_check(serve)
    add_controls(serve)
    add_otel_flag(serve)
    serve.set_defaults(handler=cmd_serve)
