"""The ``dagexec`` command line's arguments, and :func:`main`, which runs a command and returns its exit status.

Exit status: 0 when every task succeeded, 1 when some task did not, 2 for
unusable input (unreadable or invalid files, an invalid workflow, an unknown
server or tool, a server that does not start, an output file that cannot be
written), 3 for an internal error (a bug: ``DAGEXEC_DEBUG=1`` shows its
traceback), 130 when stopped by SIGINT (Ctrl-C) and 143 by SIGTERM (see
:class:`~dagexec.cli._terminal.Interruption`), 141 when standard output was
closed by its reader (``| head``). Errors are reported in a line
or two that name the problem, never as a traceback.

What a workflow, a server or a tool says reaches the terminal escaped (see
:func:`~dagexec.cli._render.printable`); the MCP SDK's own log records are a
line each on stderr, in full with ``--verbose``.
"""

from __future__ import annotations

import argparse
import os
import sys
import warnings
from collections.abc import Awaitable, Callable, Iterator, Sequence
from typing import Any

import trio
from rich.console import Console
from rich.text import Text

import dagexec
from dagexec import DagexecError, JournalWarning

from ._commands import EXECUTORS, cmd_bench, cmd_compare, cmd_demo, cmd_run, cmd_validate
from ._files import load_workflow
from ._graph import add_command as add_graph_command
from ._journal import add_commands as add_journal_commands
from ._logs import logs_on_stderr, report_error, show_warning
from ._options import add_controls, add_plot, add_schema_check, add_servers, positive
from ._otel import DEFAULT_TIMEOUT as OTEL_TIMEOUT
from ._otel import add_otel_flag, otel_tracing
from ._planner import add_commands as add_planner_commands
from ._render import printable
from ._serve import add_commands as add_serve_commands
from ._streams import to_stdout
from ._terminal import CLOSED_OUTPUT, close_stream, make_console


def _run_arguments(run: argparse.ArgumentParser) -> None:
    run.add_argument("workflow", metavar="WORKFLOW.json", help="a workflow file, or - for JSON lines on stdin")
    add_servers(run)
    run.add_argument("--strategy", choices=sorted(EXECUTORS), default="eager")
    run.add_argument(
        "--json", metavar="OUT.json", help="write the full result as JSON (-: to stdout, the rest to stderr)"
    )
    run.add_argument(
        "--events",
        metavar="EVENTS.jsonl",
        help="write the run's events as JSON lines, as they happen (-: to stdout, the rest to stderr)",
    )
    run.add_argument("--journal", metavar="RUN.db", help="record finished tasks; reuse them when run again")
    run.add_argument(
        "--run-name",
        metavar="NAME",
        help="the run's name in the journal (default: the workflow file's name without its suffix; "
        "needed for a plan on stdin)",
    )
    run.add_argument(
        "--approve", action="store_true", help='ask at the terminal before each call of a task with "approval": true'
    )
    run.add_argument("--approve-all", action="store_true", help="ask before every call")
    add_schema_check(run)
    add_controls(run)
    add_plot(run)
    add_otel_flag(run)


def _validate_arguments(validate: argparse.ArgumentParser) -> None:
    validate.add_argument("workflow", metavar="WORKFLOW.json", help="a workflow file, or - to read it on stdin")
    add_servers(validate, required=False)
    add_schema_check(validate)


def _compare_arguments(compare: argparse.ArgumentParser) -> None:
    compare.add_argument("workflow", metavar="WORKFLOW.json")
    add_servers(compare)
    add_schema_check(compare)
    compare.add_argument(
        "--json", metavar="OUT.json", help="write both results as JSON (-: to stdout, the rest to stderr)"
    )
    add_controls(compare)
    add_plot(compare)
    add_otel_flag(compare)


def _demo_arguments(demo: argparse.ArgumentParser) -> None:
    demo.add_argument("--speed", type=positive, default=1.0, help="run the simulated tools this many times faster")
    demo.add_argument(
        "--json", metavar="OUT.json", help="write both results as JSON (-: to stdout, the rest to stderr)"
    )
    add_plot(demo)


def _bench_arguments(bench: argparse.ArgumentParser) -> None:
    bench.add_argument("--quick", action="store_true", help="a short run: fewer sizes, seeds and repeats")
    bench.add_argument(
        "--part",
        action="append",
        # dagexec.bench.PARTS, not imported here
        choices=["makespan", "overhead", "mcp", "dask", "schemas", "gateway", "plans", "branches"],
        help="run only this part (repeatable); all eight by default",
    )
    bench.add_argument(
        "--plans",
        action="append",
        default=[],
        metavar="FILE",
        help="the plans part on this file's plans (dagexec workflows, NESTFUL or TaskBench records; repeatable) "
        "instead of the vendored ones",
    )
    bench.add_argument(
        "--json", metavar="OUT.json", help="write every figure as JSON (-: to stdout, the rest to stderr)"
    )


#: A command: its parsed arguments and the console in, its exit status out.
Handler = Callable[[argparse.Namespace, Console], Awaitable[int]]

#: The commands defined here, in the order of ``--help``: name, help, their arguments, their handler.
COMMANDS: tuple[tuple[str, str, Callable[[argparse.ArgumentParser], None], Handler], ...] = (
    ("run", "run a workflow against MCP servers", _run_arguments, cmd_run),
    ("validate", "check a workflow without running it", _validate_arguments, cmd_validate),
    ("compare", "run a workflow layered, then eager, side by side", _compare_arguments, cmd_compare),
    ("demo", "compare layered and eager on a built-in example", _demo_arguments, cmd_demo),
    ("bench", "measure eager against layered and against the limits", _bench_arguments, cmd_bench),
)


def build_parser() -> argparse.ArgumentParser:
    """The parser of every command: those of :data:`COMMANDS`, then graph, serve, tools, schema and journal."""
    parser = argparse.ArgumentParser(
        prog="dagexec",
        description="Run tool-call workflows as fast as their dependencies allow.",
    )
    parser.add_argument("--version", action="version", version=f"dagexec {dagexec.__version__}")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "-v", "--verbose", action="store_true", help="show the log records of the MCP SDK in full (tracebacks)"
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, help_text, add_arguments, handler in COMMANDS:
        command = commands.add_parser(name, help=help_text, parents=[common])
        add_arguments(command)
        command.set_defaults(handler=handler)
    add_graph_command(commands, common, load_workflow)
    add_serve_commands(commands, common)
    add_planner_commands(commands, common)
    add_journal_commands(commands, common)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return its exit status."""
    args = build_parser().parse_args(argv)
    errors = make_console(stderr=True)
    handler: Callable[[argparse.Namespace, Console], Any] = args.handler
    try:
        # What a program reads on stdout (--json -, --events -): everything for people on stderr.
        console = make_console(stderr=to_stdout(args))
    except DagexecError as exc:
        report_error(str(exc))
        return 2
    try:
        tracing = otel_tracing(getattr(args, "otel", False), timeout=getattr(args, "otel_timeout", OTEL_TIMEOUT))
        with warnings.catch_warnings(), logs_on_stderr(args.verbose), tracing:
            warnings.simplefilter("always", JournalWarning)  # one line for each task that runs again
            warnings.showwarning = show_warning
            code: int = trio.run(handler, args, console)
    except BaseException as exc:
        # trio may deliver an error, or Ctrl-C, inside a nursery: it can come in a group.
        leaves = list(_leaves(exc))
        if all(isinstance(leaf, KeyboardInterrupt) for leaf in leaves):  # a command without Interruption
            errors.print("interrupted")
            return 130
        if all(isinstance(leaf, BrokenPipeError) for leaf in leaves):  # stdout's reader went away: `| head`
            close_stream(sys.stdout)
            return CLOSED_OUTPUT
        if len(leaves) == 1 and isinstance(leaves[0], DagexecError):
            report_error(str(leaves[0]))
            return 2
        if os.environ.get("DAGEXEC_DEBUG"):
            raise
        described = "; ".join(f"{type(leaf).__name__}: {leaf}" for leaf in leaves)
        errors.print(
            Text(printable(f"internal error: {described} (set DAGEXEC_DEBUG=1 for the traceback)")), highlight=False
        )
        return 3
    return code


def _leaves(exc: BaseException) -> Iterator[BaseException]:
    if isinstance(exc, BaseExceptionGroup):
        for inner in exc.exceptions:
            yield from _leaves(inner)
    else:
        yield exc
