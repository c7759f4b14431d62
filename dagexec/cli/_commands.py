"""The ``dagexec`` command line: run, validate, compare and demo workflows.

Exit status: 0 when every task succeeded, 1 when some task did not, 2 for
unusable input (unreadable or invalid files, an invalid workflow, an unknown
server or tool, a server that does not start), 3 for an internal error (a bug:
``DAGEXEC_DEBUG=1`` shows its traceback), 130 when interrupted. Errors are
reported in a line or two that name the problem, never as a traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TextIO

import trio

from dagexec import DagexecError, EagerExecutor, ExecutionResult, LayeredExecutor, Task, ToolServer, Workflow
from dagexec.servers import open_servers

try:
    from rich.console import Console
    from rich.pretty import Pretty
    from rich.text import Text
except ImportError:  # pragma: no cover - depends on the environment
    sys.exit("the dagexec command needs the cli extra: pip install 'dagexec[cli]'")

from . import _render
from ._demo import DEMO_WORKFLOW, demo_servers


class UsageError(DagexecError):
    """Input the command cannot use: reported in a line, exit status 2."""


EXECUTORS: dict[str, type[EagerExecutor] | type[LayeredExecutor]] = {
    "eager": EagerExecutor,
    "layered": LayeredExecutor,
}


# -- helpers -------------------------------------------------------------------------------


def load_workflow(path: str) -> Workflow:
    """Read and validate a workflow file (``-`` is not accepted here)."""
    try:
        text = Path(path).read_text()
    except OSError as exc:
        raise UsageError(f"cannot read workflow {path!r}: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise UsageError(f"cannot read workflow {path!r}: {exc}") from None
    try:
        return Workflow.from_json(text)
    except DagexecError as exc:
        raise UsageError(f"invalid workflow {path!r}: {exc}") from None


async def run_one(
    console: Console,
    executor: EagerExecutor | LayeredExecutor,
    workflow: Workflow,
    timeout: float | None = None,
    live: bool = True,
) -> ExecutionResult:
    """Run, with live progress on the console (not while approval prompts may show)."""
    progress = _render.LiveProgress(console, len(workflow.tasks), executor.strategy, live=live)
    with progress.shown():
        return await executor.execute(workflow, timeout=timeout, on_event=progress.on_event)


class Prompter:
    """Asks at the terminal whether a task's call may go ahead: the ``--approve`` approver."""

    def __init__(self, console: Console, answers: TextIO) -> None:
        self._console = console
        self._answers = answers
        self._lock = trio.Lock()  # one question at a time

    async def __call__(self, task: Task, arguments: dict[str, Any]) -> bool | str:
        async with self._lock:
            self._console.print(
                Text.assemble("approve task ", (task.id, "bold"), " calling ", (task.tool, "bold"), " with:"),
                Pretty(arguments),
            )
            self._console.print("go ahead? [y/N] ", end="", markup=False)
            answer = await trio.to_thread.run_sync(self._answers.readline)
        if not answer:
            return "no answer (end of input)"
        return True if answer.strip().lower() in ("y", "yes") else "refused at the prompt"


@asynccontextmanager
async def approval(args: argparse.Namespace, console: Console) -> AsyncIterator[dict[str, Any]]:
    """The approver options of ``--approve`` and ``--approve-all``."""
    if not (args.approve or args.approve_all):
        yield {}
        return
    if args.workflow != "-":
        yield {"approve": Prompter(console, sys.stdin), "approve_all": args.approve_all}
        return
    try:  # the plan comes on standard input: ask at the terminal itself
        tty = open("/dev/tty")  # noqa: SIM115 (closed below)
    except OSError:
        raise UsageError("--approve with a plan on standard input needs a terminal (/dev/tty)") from None
    try:
        yield {"approve": Prompter(console, tty), "approve_all": args.approve_all}
    finally:
        tty.close()


async def stream_plan(
    console: Console, errors: list[str], executor: EagerExecutor, timeout: float | None, live: bool
) -> ExecutionResult:
    """Run tasks as their JSON lines arrive on standard input."""
    progress = _render.LiveProgress(console, 0, "eager (streamed plan)", live=live)
    with progress.shown():
        async with executor.open_run(timeout=timeout, on_event=progress.on_event) as run:
            number = 0
            async for line in trio.wrap_file(sys.stdin):
                number += 1
                if not line.strip():
                    continue
                try:
                    run.add(json.loads(line))
                except json.JSONDecodeError as exc:
                    errors.append(f"line {number}: not valid JSON: {exc}")
                except RecursionError:  # the JSON parser's own limit
                    errors.append(f"line {number}: JSON nested too deeply to read")
                except DagexecError as exc:
                    errors.append(f"line {number}: {exc}")
                else:
                    progress.grow()
    return run.result


def write_json(path: str, data: Any) -> None:
    try:
        Path(path).write_text(json.dumps(data, indent=2, default=repr) + "\n")
    except OSError as exc:
        raise UsageError(f"cannot write {path!r}: {exc.strerror}") from None


def plot(path: str | None, results: Sequence[ExecutionResult]) -> None:
    """Save the runs' timelines as a picture, if asked to."""
    if path is None:
        return
    try:
        from dagexec.plot import save_timelines
    except ImportError as exc:
        raise UsageError(str(exc)) from None
    try:
        save_timelines(results, path)
    except (OSError, ValueError) as exc:
        raise UsageError(f"cannot write the picture {path!r}: {exc}") from None


def report_error(message: str) -> None:
    """One error line on stderr (markup-free: messages hold ``$OUTPUT[...]`` and such)."""
    Console(stderr=True).print(Text("error: ", style="bold red") + Text(message), highlight=False)


def status(results: Sequence[ExecutionResult]) -> int:
    return 0 if all(r.ok for r in results) else 1


# -- commands ------------------------------------------------------------------------------


def executor_options(args: argparse.Namespace) -> dict[str, Any]:
    """The executor options given as flags."""
    return {
        "max_concurrency": args.max_concurrency,
        "server_limits": dict(args.server_limit),
        "task_timeout": args.task_timeout,
        "retries": args.retries,
        "fail_fast": args.fail_fast,
    }


async def cmd_run(args: argparse.Namespace, console: Console) -> int:
    streamed = args.workflow == "-"
    if streamed and args.strategy != "eager":
        raise UsageError("a plan on standard input runs eager: layers need the whole plan up front")
    workflow = None if streamed else load_workflow(args.workflow)
    rejected: list[str] = []
    options = executor_options(args)
    if args.journal:
        options["journal"] = args.journal
    async with approval(args, console) as approver, open_servers(args.servers) as servers:
        live = not approver
        if workflow is None:
            eager = EagerExecutor(servers, **options, **approver)
            result = await stream_plan(console, rejected, eager, args.timeout, live)
        else:
            executor = EXECUTORS[args.strategy](servers, **options, **approver)
            result = await run_one(console, executor, workflow, args.timeout, live)
    for line in rejected:
        report_error(line)
    console.print(_render.results_table(result))
    console.print(_render.timeline(result))
    console.print(_render.summary(result))
    if args.json:
        write_json(args.json, result.to_dict())
    plot(args.plot, [result])
    return 2 if rejected else status([result])


async def cmd_validate(args: argparse.Namespace, console: Console) -> int:
    console.print(_render.validation_report(load_workflow(args.workflow)))
    return 0


async def compare(
    console: Console,
    workflow: Workflow,
    servers: Mapping[str, ToolServer],
    json_path: str | None,
    options: Mapping[str, Any] | None = None,
    timeout: float | None = None,
    plot_path: str | None = None,
) -> int:
    results = [
        await run_one(console, executor(servers, **(options or {})), workflow, timeout)
        for executor in (LayeredExecutor, EagerExecutor)
    ]
    console.print(_render.comparison(results))
    if json_path:
        write_json(json_path, {r.strategy: r.to_dict() for r in results})
    plot(plot_path, results)
    return status(results)


async def cmd_compare(args: argparse.Namespace, console: Console) -> int:
    workflow = load_workflow(args.workflow)
    async with open_servers(args.servers) as servers:
        return await compare(
            console, workflow, servers, args.json, executor_options(args), args.timeout, args.plot
        )


async def cmd_demo(args: argparse.Namespace, console: Console) -> int:
    workflow = Workflow.from_dict(DEMO_WORKFLOW)
    console.print(
        f"A research-assistant plan of {len(workflow.tasks)} simulated tool calls "
        f"in {len(workflow.generations)} layers, run layered, then eager:"
    )
    return await compare(console, workflow, demo_servers(args.speed), args.json, plot_path=args.plot)


async def cmd_bench(args: argparse.Namespace, console: Console) -> int:
    from dagexec.bench import PARTS, run_bench

    if args.json and not Path(args.json).parent.is_dir():  # say so now, not after minutes of running
        raise UsageError(f"cannot write {args.json!r}: no such directory")
    parts = tuple(args.part) if args.part else PARTS
    console.print(f"dagexec bench{' --quick' if args.quick else ''}: {', '.join(parts)}...")
    report = await trio.to_thread.run_sync(lambda: run_bench(quick=args.quick, parts=parts))
    console.print(_render.bench_report(report))
    if args.json:
        write_json(args.json, report)
    return 0


# -- arguments -----------------------------------------------------------------------------


def positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be > 0: {text!r}")
    return value


def whole(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0: {text!r}")
    return value


def at_least_one(text: str) -> int:
    value = whole(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1: {text!r}")
    return value


def server_limit(text: str) -> tuple[str, int]:
    name, sep, number = text.rpartition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"expected NAME=N, got {text!r}")
    return name, at_least_one(number)


def add_controls(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("scheduling controls")
    group.add_argument(
        "--max-concurrency", type=at_least_one, metavar="N", help="at most N tool calls at once"
    )
    group.add_argument(
        "--server-limit",
        type=server_limit,
        action="append",
        default=[],
        metavar="NAME=N",
        help="at most N calls at once on server NAME (repeatable)",
    )
    group.add_argument("--task-timeout", type=positive, metavar="SECONDS", help="time limit of each call")
    group.add_argument("--retries", type=whole, default=0, metavar="N", help="extra calls after a failure")
    group.add_argument("--fail-fast", action="store_true", help="stop the run at the first failure")
    group.add_argument("--timeout", type=positive, metavar="SECONDS", help="deadline of the whole run")


def add_plot(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--plot", metavar="OUT.svg", help="save the timelines as a picture (SVG, PNG, PDF; the plot extra)"
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dagexec",
        description="Run tool-call workflows as fast as their dependencies allow.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = commands.add_parser("run", help="run a workflow against MCP servers")
    run.add_argument("workflow", metavar="WORKFLOW.json", help="a workflow file, or - for JSON lines on stdin")
    run.add_argument("--servers", required=True, metavar="SERVERS.json", help="an mcpServers config")
    run.add_argument("--strategy", choices=sorted(EXECUTORS), default="eager")
    run.add_argument("--json", metavar="OUT.json", help="write the full result as JSON")
    run.add_argument("--journal", metavar="RUN.db", help="record finished tasks; reuse them when run again")
    run.add_argument(
        "--approve", action="store_true", help='ask at the terminal before each call of a task with "approval": true'
    )
    run.add_argument("--approve-all", action="store_true", help="ask before every call")
    add_controls(run)
    add_plot(run)
    run.set_defaults(handler=cmd_run)

    validate = commands.add_parser("validate", help="check a workflow without running it")
    validate.add_argument("workflow", metavar="WORKFLOW.json")
    validate.set_defaults(handler=cmd_validate)

    comp = commands.add_parser("compare", help="run a workflow layered, then eager, side by side")
    comp.add_argument("workflow", metavar="WORKFLOW.json")
    comp.add_argument("--servers", required=True, metavar="SERVERS.json", help="an mcpServers config")
    comp.add_argument("--json", metavar="OUT.json", help="write both results as JSON")
    add_controls(comp)
    add_plot(comp)
    comp.set_defaults(handler=cmd_compare)

    demo = commands.add_parser("demo", help="compare layered and eager on a built-in example")
    demo.add_argument(
        "--speed", type=positive, default=1.0, help="run the simulated tools this many times faster"
    )
    demo.add_argument("--json", metavar="OUT.json", help="write both results as JSON")
    add_plot(demo)
    demo.set_defaults(handler=cmd_demo)
    bench = commands.add_parser("bench", help="measure eager against layered and against the limits")
    bench.add_argument("--quick", action="store_true", help="a short run: fewer sizes, seeds and repeats")
    bench.add_argument(
        "--part",
        action="append",
        choices=["makespan", "overhead", "mcp", "dask"],
        help="run only this part (repeatable); all four by default",
    )
    bench.add_argument("--json", metavar="OUT.json", help="write every figure as JSON")
    bench.set_defaults(handler=cmd_bench)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return its exit status."""
    args = build_parser().parse_args(argv)
    # Wide enough for the tables when the output is a file or a pipe.
    console = Console() if sys.stdout.isatty() else Console(width=140)
    errors = Console(stderr=True)
    handler: Callable[[argparse.Namespace, Console], Any] = args.handler
    try:
        code: int = trio.run(handler, args, console)
    except BaseException as exc:
        # trio may deliver an error, or Ctrl-C, inside a nursery: it can come in a group.
        leaves = list(_leaves(exc))
        if all(isinstance(leaf, KeyboardInterrupt) for leaf in leaves):
            errors.print("interrupted: the run was stopped and its servers closed")
            return 130
        if len(leaves) == 1 and isinstance(leaves[0], DagexecError):
            report_error(str(leaves[0]))
            return 2
        if os.environ.get("DAGEXEC_DEBUG"):
            raise
        described = "; ".join(f"{type(leaf).__name__}: {leaf}" for leaf in leaves)
        errors.print(
            Text(f"internal error: {described} (set DAGEXEC_DEBUG=1 for the traceback)"), highlight=False
        )
        return 3
    return code


def _leaves(exc: BaseException) -> Iterator[BaseException]:
    if isinstance(exc, BaseExceptionGroup):
        for inner in exc.exceptions:
            yield from _leaves(inner)
    else:
        yield exc
