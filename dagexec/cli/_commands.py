"""The ``dagexec`` command line: run, validate, compare and demo workflows.

Exit status: 0 when every task succeeded, 1 when some task did not, 2 for
unusable input (unreadable or invalid files, an invalid workflow, an unknown
server or tool, a server that does not start, an output file that cannot be
written), 3 for an internal error (a bug:
``DAGEXEC_DEBUG=1`` shows its traceback), 130 when stopped by SIGINT (Ctrl-C)
and 143 by SIGTERM (see :class:`Interruption`). Errors are reported in a line or
two that name the problem, never as a traceback.

What a workflow, a server or a tool says reaches the terminal escaped (see
:func:`~dagexec.cli._render.printable`); the MCP SDK's own log records are a
line each on stderr, in full with ``--verbose``.
"""

from __future__ import annotations

import argparse
import errno
import functools
import json
import logging
import os
import signal
import sys
import warnings
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any, TextIO

import trio
from rich.console import Console
from rich.text import Text

import dagexec
from dagexec import (
    DagexecError,
    EagerExecutor,
    EventHandler,
    ExecutionResult,
    JournalError,
    JournalWarning,
    LayeredExecutor,
    Run,
    SchemaWarning,
    ServerConfigError,
    SignalStop,
    Task,
    ToolServer,
    Workflow,
    check_journal,
    open_signal_stop,
    shown_arguments,
)
from dagexec.servers import InputVariable, open_servers

from . import _render
from ._demo import DEMO_WORKFLOW, demo_servers
from ._graph import add_command as add_graph_command
from ._options import (
    UsageError,
    add_controls,
    add_plot,
    add_schema_check,
    add_servers,
    executor_options,
    positive,
)
from ._otel import DEFAULT_TIMEOUT as OTEL_TIMEOUT
from ._otel import add_otel_flag, otel_tracing
from ._render import printable
from ._serve import add_commands as add_serve_commands

#: Standard input's file descriptor: plans and answers are read from it directly (see LineReader).
STDIN = 0

EXECUTORS: dict[str, type[EagerExecutor] | type[LayeredExecutor]] = {
    "eager": EagerExecutor,
    "layered": LayeredExecutor,
}


# -- helpers -------------------------------------------------------------------------------


def make_console(*, stderr: bool = False) -> Console:
    """A console on stdout (or stderr): on a terminal, its width; piped, lines as long as they are.

    Piped to a file or another program, text is not wrapped at all (rich would
    wrap at 80 columns), and a table is as wide as its widest row needs.
    """
    stream = sys.stderr if stderr else sys.stdout
    if stream.isatty():
        return Console(stderr=stderr)
    return Console(stderr=stderr, width=100_000, soft_wrap=True)


def read_plan(path: str) -> Any:
    """A workflow file's JSON data (``-`` is not accepted here); its problems are found by :func:`check_plan`."""
    try:
        text = Path(path).read_text()
    except OSError as exc:
        raise UsageError(f"cannot read workflow {path!r}: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise UsageError(f"cannot read workflow {path!r}: {exc}") from None
    try:
        return json.loads(text)
    except (json.JSONDecodeError, RecursionError):
        Workflow.from_json(text)  # raises the library's own error for text that is not JSON
        raise  # pragma: no cover (from_json cannot accept what json.loads refused)


def load_workflow(path: str) -> Workflow:
    """Read and validate a workflow file: every problem of the plan that needs no server, in one report."""
    return Workflow.from_dict(read_plan(path))


def gated_tasks(plan: Any) -> list[str]:
    """The ids of the plan's tasks that ask for approval (``"approval": true``), read from its data as it is."""
    tasks = plan.get("tasks") if isinstance(plan, dict) else None
    return [
        item["id"]
        for item in (tasks if isinstance(tasks, list) else ())
        if isinstance(item, dict) and item.get("approval") is True and isinstance(item.get("id"), str)
    ]


class Interruption:
    """What SIGINT (Ctrl-C) and SIGTERM (``kill``, ``timeout``, docker, systemd) do to a command.

    The signals are watched by :func:`dagexec.open_signal_stop`, and the run
    under way turns the first one into :meth:`Run.stop <dagexec.Run.stop>`
    (:meth:`Run.stop_on_signals <dagexec.Run.stop_on_signals>`): every unfinished
    task ends ``cancelled``, and the command still prints every task's status,
    closes its servers and exits 128 + the signal's number (130 for SIGINT, 143
    for SIGTERM). A first signal before any run started, or a second one while
    stopping, ends the command at once: its servers are still closed, but
    nothing more is printed. This class adds only what the command says.
    """

    def __init__(self, signals: SignalStop) -> None:
        self._signals = signals

    @property
    def signal(self) -> signal.Signals | None:
        """The first signal received, if any: it decides the exit status."""
        return self._signals.first

    @asynccontextmanager
    async def open_run(
        self,
        executor: EagerExecutor | LayeredExecutor,
        workflow: Workflow | None = None,
        *,
        timeout: float | None = None,
        on_event: EventHandler | None = None,
        options: Mapping[str, Any] | None = None,
    ) -> AsyncIterator[Run]:
        """``executor.open_run(...)``, stopped by a signal; the block is cancelled too, quietly.

        ``options`` holds more of ``open_run``'s (the journal's ``run_name``).
        """
        async with executor.open_run(workflow, timeout=timeout, on_event=on_event, **(options or {})) as run:
            with trio.CancelScope() as block:

                def stopped(reason: str) -> None:
                    name = self._signals.signals[0].name
                    make_console(stderr=True).print(
                        f"{name} received: stopping the run (a second signal ends at once)", highlight=False
                    )
                    block.cancel()  # a streamed plan: stop reading it

                run.stop_on_signals(self._signals, also=stopped)
                yield run

    def describe(self) -> str:
        """The line that says how the command was interrupted."""
        signals = self._signals.signals
        names = ", then ".join(s.name for s in signals)
        if len(signals) > 1:
            return f"interrupted by {names}: stopped at once, the servers closed"
        if not self._signals.ran:
            return f"interrupted by {names} before the run started"
        return f"interrupted by {names}: the run was stopped and its servers closed"


def interruptible(
    command: Callable[[argparse.Namespace, Console, Interruption], Awaitable[int]],
) -> Callable[[argparse.Namespace, Console], Awaitable[int]]:
    """Run ``command`` inside :func:`dagexec.open_signal_stop` with its :class:`Interruption`; exit 128 + the signal."""

    @functools.wraps(command)
    async def run(args: argparse.Namespace, console: Console) -> int:
        code: int | None = None
        async with open_signal_stop() as signals:
            interruption = Interruption(signals)
            code = await command(args, console, interruption)
        if interruption.signal is None:
            assert code is not None
            return code
        make_console(stderr=True).print(interruption.describe(), highlight=False)
        return 128 + interruption.signal.value

    return run


class LineReader:
    """Lines of a file descriptor, read by trio itself rather than a worker thread, so that a stop cancels the wait.

    Not :class:`trio.lowlevel.FdStream`: it puts the descriptor in non-blocking
    mode, and a terminal's standard input shares that mode with standard output,
    which rich would then fail to write (``BlockingIOError``).
    """

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self._pending = b""
        self._pollable = True

    async def readline(self) -> str:
        """The next line with its newline (the last one may lack it); ``""`` at the end of input."""
        while (end := self._pending.find(b"\n")) < 0:
            chunk = await self._read()
            if not chunk:
                line, self._pending = self._pending, b""
                return line.decode(errors="replace")
            self._pending += chunk
        line, self._pending = self._pending[: end + 1], self._pending[end + 1 :]
        return line.decode(errors="replace")

    def __aiter__(self) -> LineReader:
        return self

    async def __anext__(self) -> str:
        line = await self.readline()
        if not line:
            raise StopAsyncIteration
        return line

    async def _read(self) -> bytes:
        if self._pollable:
            try:
                await trio.lowlevel.wait_readable(self.fd)
            except OSError as exc:
                if exc.errno != errno.EPERM:
                    raise
                self._pollable = False  # a regular file or /dev/null: reading it never blocks
        if not self._pollable:
            await trio.lowlevel.checkpoint()
        return os.read(self.fd, 65536)


async def run_one(
    console: Console,
    executor: EagerExecutor | LayeredExecutor,
    workflow: Workflow,
    interruption: Interruption,
    timeout: float | None = None,
    live: bool = True,
    run: Mapping[str, Any] | None = None,
) -> ExecutionResult:
    """Run, with live progress on the console (not while approval prompts may show).

    ``run`` holds more options of ``execute`` (the journal's ``run_name``).
    """
    progress = _render.LiveProgress(console, len(workflow.tasks), executor.strategy, live=live)
    with progress.shown():
        async with interruption.open_run(
            executor, workflow, timeout=timeout, on_event=progress.on_event, options=run
        ) as handle:
            progress.follow(handle)
    return handle.result


class Prompter:
    """Asks at the terminal whether a task's call may go ahead: the ``--approve`` approver."""

    def __init__(self, console: Console, answers: LineReader) -> None:
        self._console = console
        self._answers = answers
        self._lock = trio.Lock()  # one question at a time

    async def __call__(self, task: Task, arguments: dict[str, Any]) -> bool | str:
        async with self._lock:
            shown = "\n".join(f"  {name}: {value}" for name, value in shown_arguments(arguments))
            self._console.print(
                Text.assemble(
                    "approve task ", (printable(task.id), "bold"), " calling ", (printable(task.tool), "bold"), " with:"
                ),
                Text(shown or "  no arguments"),
                sep="\n",
            )
            self._console.print("go ahead? [y/N] ", end="", markup=False)
            answer = await self._answers.readline()  # a stop of the run cancels the wait
        if not answer:
            return "no answer (end of input)"
        return True if answer.strip().lower() in ("y", "yes") else "refused at the prompt"


@contextmanager
def _echo_off(hidden: bool) -> Iterator[None]:
    """The terminal on standard input does not echo what is typed, if ``hidden`` (and it can be told)."""
    try:
        import termios
    except ImportError:  # no termios (Windows): the answer shows
        hidden = False
    if not hidden:
        yield
        return
    shown = termios.tcgetattr(STDIN)
    termios.tcsetattr(STDIN, termios.TCSADRAIN, [*shown[:3], shown[3] & ~termios.ECHO, *shown[4:]])
    try:
        yield
    finally:
        termios.tcsetattr(STDIN, termios.TCSADRAIN, shown)


async def ask_input(variable: InputVariable) -> str:
    """Ask at the terminal for the value of a servers config's input (``${input:id}``), hidden for a password.

    Raises:
        ServerConfigError: Standard input is not a terminal, or it ended.
    """
    if not os.isatty(STDIN):
        raise ServerConfigError(
            [f"input {variable.id!r} needs a value: it is asked at a terminal, and standard input is not one"]
        )
    default = f" [{variable.default}]" if variable.default is not None and not variable.password else ""
    errors = Console(stderr=True)
    with _echo_off(variable.password):  # before the prompt shows: what is typed after it is not echoed
        prompt = f"{variable.description or variable.id} ({variable.id}){default}: "
        errors.print(prompt, end="", markup=False, highlight=False)
        answer = await LineReader(STDIN).readline()  # a signal cancels the wait
    if variable.password:
        errors.print()  # the newline the terminal did not echo
    if not answer:
        raise ServerConfigError([f"input {variable.id!r} needs a value: the input ended"])
    value = answer.removesuffix("\n").removesuffix("\r")
    return variable.default if not value and variable.default is not None else value


@asynccontextmanager
async def approval(args: argparse.Namespace, console: Console) -> AsyncIterator[dict[str, Any]]:
    """The approver options of ``--approve`` and ``--approve-all``."""
    if not (args.approve or args.approve_all):
        yield {}
        return
    if args.workflow != "-":
        yield {"approve": Prompter(console, LineReader(STDIN)), "approve_all": args.approve_all}
        return
    try:  # the plan comes on standard input: ask at the terminal itself
        tty = os.open("/dev/tty", os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        raise UsageError("--approve with a plan on standard input needs a terminal (/dev/tty)") from None
    try:
        yield {"approve": Prompter(console, LineReader(tty)), "approve_all": args.approve_all}
    finally:
        trio.lowlevel.notify_closing(tty)
        os.close(tty)


async def stream_plan(
    console: Console,
    errors: list[str],
    executor: EagerExecutor,
    interruption: Interruption,
    timeout: float | None,
    live: bool,
    options: Mapping[str, Any],
    approval_flag: str | None = None,
) -> ExecutionResult:
    """Run tasks as their JSON lines arrive on standard input (a signal stops reading them too).

    ``options`` holds more of ``open_run``'s (the journal's ``run_name``);
    ``approval_flag`` is the ``--approve`` flag given, if any: without one, a
    task that needs approval is a refused line.
    """
    progress = _render.LiveProgress(console, 0, "eager (streamed plan)", live=live)
    with progress.shown():
        async with interruption.open_run(executor, timeout=timeout, on_event=progress.on_event, options=options) as run:
            progress.follow(run)
            number = 0
            async for line in LineReader(STDIN):
                number += 1
                if not line.strip():
                    continue
                try:
                    task = Task.from_dict(json.loads(line))
                    if task.approval and approval_flag is None:
                        raise UsageError(needs_approval(task.id))
                    run.add(task)
                except json.JSONDecodeError as exc:
                    errors.append(f"line {number}: not valid JSON: {exc}")
                except RecursionError:  # the JSON parser's own limit
                    errors.append(f"line {number}: JSON nested too deeply to read")
                except DagexecError as exc:
                    errors.append(f"line {number}: {exc}")
                else:
                    progress.refresh()
    return run.result


#: What a task that needs approval lacks, when neither --approve nor --approve-all is given.
APPROVAL_PROBLEM = (
    "the task needs approval before its call: pass --approve to be asked at the terminal "
    "(or --approve-all to be asked before every call)"
)


def needs_approval(task_id: str) -> str:
    return f"task {task_id!r}: approval: {APPROVAL_PROBLEM}"


def check_output(path: str, what: str) -> None:
    """Refuse a file the command could not write, before anything runs.

    ``--json`` and ``--plot`` are written after the run: a run whose tools have
    side effects should not be made only to find that its results have nowhere to go.
    """
    target = Path(path)
    folder = target.parent
    if target.is_dir():
        raise UsageError(f"cannot write {what} {path!r}: it is a directory")
    if not folder.is_dir():
        raise UsageError(f"cannot write {what} {path!r}: no such directory {str(folder)!r}")
    if not os.access(folder, os.W_OK | os.X_OK) or (target.exists() and not os.access(target, os.W_OK)):
        raise UsageError(f"cannot write {what} {path!r}: permission denied")


def check_outputs(args: argparse.Namespace) -> None:
    """Check ``--json`` and ``--plot`` (the extra installed, the format known) before any server starts."""
    if args.json:
        check_output(args.json, "the results")
    if args.plot:
        check_output(args.plot, "the picture")
        try:
            from dagexec.plot import formats
        except ImportError as exc:
            raise UsageError(f"cannot draw the picture {args.plot!r}: {exc}") from None
        suffix = Path(args.plot).suffix.removeprefix(".").lower()
        known = formats()
        if suffix not in known:
            raise UsageError(
                f"cannot draw the picture {args.plot!r}: "
                + (f"unknown format {suffix!r}" if suffix else "no suffix to tell its format")
                + f" (known: {', '.join(sorted(known))})"
            )


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
    """One error line on stderr (markup-free: messages hold ``$OUTPUT[...]`` and such), never wrapped."""
    make_console(stderr=True).print(
        Text("error: ", style="bold red") + Text(printable(message)), highlight=False, soft_wrap=True
    )


def show_warning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: TextIO | None = None,
    line: str | None = None,
) -> None:
    """One warning line on stderr for a :class:`~dagexec.JournalWarning` or :class:`~dagexec.SchemaWarning`."""
    if not issubclass(category, JournalWarning | SchemaWarning):
        (file or sys.stderr).write(warnings.formatwarning(message, category, filename, lineno, line))
        return
    make_console(stderr=True).print(
        Text("warning: ", style="bold yellow") + Text(printable(message)), highlight=False
    )


def journal_run(args: argparse.Namespace) -> dict[str, Any]:
    """The run's name in the journal (``--run-name``, or the workflow file's stem), as options of ``execute``."""
    if not args.journal:
        if args.run_name is not None:
            raise UsageError("--run-name needs --journal")
        return {}
    if args.run_name is not None:
        return {"run_name": args.run_name}
    if args.workflow == "-":
        raise UsageError(
            "--journal with a plan on standard input needs --run-name: "
            "a plan that comes on standard input has no file name to keep its journal rows apart"
        )
    return {"run_name": Path(args.workflow).stem}


def status(results: Sequence[ExecutionResult]) -> int:
    return 0 if all(r.ok for r in results) else 1


def show(console: Console, result: ExecutionResult, *, timeline: bool = True) -> None:
    """A run's table of tasks, its timeline and its figures; a line for a run of no task."""
    if not result.results:
        console.print(f"{result.strategy}: the workflow has no tasks: nothing ran", highlight=False)
        return
    # Piped (not a terminal): whole outputs, for the file or program that reads them.
    console.print(_render.results_table(result, whole=not console.is_terminal))
    if timeline:
        console.print(_render.timeline(result))
    console.print(_render.summary(result))


class OneLineLogs(logging.Formatter):
    """A log record as one line: ``warning: mcp.client.streamable_http: Error parsing JSON response (...)``.

    The MCP SDK logs what goes wrong on a connection, often with a traceback
    (twenty lines for a bad HTTP reply): the task's own result already says what
    failed, so a line each is enough. ``--verbose`` shows the records in full.
    """

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        if record.exc_info and record.exc_info[1] is not None:
            exc = record.exc_info[1]
            first = str(exc).strip().splitlines()
            message += f" ({type(exc).__name__}{': ' + first[0] if first else ''})"
        return printable(f"{record.levelname.lower()}: {record.name}: {message}".replace("\n", " "))


class FullLogs(logging.Formatter):
    """A log record in full, traceback included (``--verbose``), its control characters escaped."""

    def __init__(self) -> None:
        super().__init__("%(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        return printable(super().format(record))


@contextmanager
def logs_on_stderr(verbose: bool) -> Iterator[None]:
    """Send log records of level warning and above (the MCP SDK's, httpx's) to stderr.

    A line each, or in full (tracebacks) if ``verbose``; with ``verbose``,
    dagexec's own notes too (level info: the keys of other clients' configs
    that are ignored).
    """
    handler = logging.StreamHandler(sys.stderr)
    # A library's debug chatter stays out, whatever its logger's level.
    handler.setLevel(logging.INFO if verbose else logging.WARNING)
    handler.addFilter(lambda record: record.levelno >= logging.WARNING or record.name.startswith("dagexec"))
    handler.setFormatter(FullLogs() if verbose else OneLineLogs())
    root = logging.getLogger()
    root.addHandler(handler)
    notes = logging.getLogger("dagexec")
    level = notes.level
    if verbose:
        notes.setLevel(logging.INFO)
    try:
        yield
    finally:
        root.removeHandler(handler)
        notes.setLevel(level)


# -- commands ------------------------------------------------------------------------------


@interruptible
async def cmd_run(args: argparse.Namespace, console: Console, interruption: Interruption) -> int:
    streamed = args.workflow == "-"
    if streamed and args.strategy != "eager":
        raise UsageError("a plan on standard input runs eager: layers need the whole plan up front")
    run_options = journal_run(args)
    check_outputs(args)
    plan = None if streamed else read_plan(args.workflow)
    flag = "--approve-all" if args.approve_all else "--approve" if args.approve else None
    gated = gated_tasks(plan) if flag is None else []
    if gated:  # a flag the command line lacks: said before any server starts
        raise UsageError("\n".join(needs_approval(task_id) for task_id in gated))
    rejected: list[str] = []
    options = executor_options(args)
    if args.journal:
        options["journal"] = args.journal
        # Before any server starts: a journal that cannot be written, or is in use, stops here.
        await check_journal(args.journal, **run_options)
    async with (
        approval(args, console) as approver,
        open_servers(args.servers, ask=ask_input, start_timeout=args.start_timeout) as servers,
    ):
        live = not approver
        journal_failure: JournalError | None = None
        try:
            if plan is None:
                eager = EagerExecutor(servers, **options, **approver)
                result = await stream_plan(
                    console, rejected, eager, interruption, args.timeout, live, run_options, approval_flag=flag
                )
            else:
                executor = EXECUTORS[args.strategy](servers, **options, **approver)
                workflow = executor.check_plan(plan)
                result = await run_one(console, executor, workflow, interruption, args.timeout, live, run_options)
        except JournalError as exc:  # a row could not be written: the run stopped, every task with its status
            if exc.result is None:
                raise
            result, journal_failure = exc.result, exc
    for line in rejected:
        report_error(line)
    show(console, result)
    if args.json:
        write_json(args.json, result.to_dict())
    plot(args.plot, [result])
    if journal_failure is not None:
        report_error(str(journal_failure))
        return 1
    return 2 if rejected else status([result])


async def _never_asked(task: Task, arguments: dict[str, Any]) -> bool:
    """The approver of ``validate``'s check: nothing runs, so nobody is asked (see :func:`cmd_validate`)."""
    raise AssertionError("validate makes no call")  # pragma: no cover


@interruptible
async def cmd_validate(args: argparse.Namespace, console: Console, interruption: Interruption) -> int:
    """Check a workflow's structure; with ``--servers``, start them and check every task's tool too.

    The tools are checked by the executor's own :meth:`~dagexec.EagerExecutor.check`,
    the check a run makes before its first call. Approval is not checked:
    ``run`` asks for it with ``--approve``.
    """
    if args.servers:
        plan = read_plan(args.workflow)
        async with open_servers(args.servers, ask=ask_input, start_timeout=args.start_timeout) as servers:
            executor = EagerExecutor(
                servers,
                approve=_never_asked,
                check_schemas=not args.no_schema_check,
                check_budget=args.check_budget,
            )
            workflow = executor.check_plan(plan)
    else:
        workflow = load_workflow(args.workflow)
    console.print(_render.validation_report(workflow))
    if args.servers and workflow.tasks:
        checked = "every task's tool is listed by its server"
        if not args.no_schema_check:
            checked += ", and its arguments fit the schemas the tools publish"
        console.print(f"checked against {printable(args.servers)}: {checked}", highlight=False)
    return 0


async def compare(
    console: Console,
    workflow: Workflow,
    servers: Mapping[str, ToolServer],
    interruption: Interruption,
    json_path: str | None,
    options: Mapping[str, Any] | None = None,
    timeout: float | None = None,
    plot_path: str | None = None,
) -> int:
    """Run layered, then eager, and show both; once interrupted, show the runs made, each alone."""
    results = []
    for executor in (LayeredExecutor, EagerExecutor):
        if interruption.signal is not None:
            break  # no run starts once interrupted
        results.append(await run_one(console, executor(servers, **(options or {})), workflow, interruption, timeout))
    if not workflow.tasks:
        console.print("the workflow has no tasks: nothing ran", highlight=False)
    elif interruption.signal is None:
        console.print(_render.comparison(results))
    else:
        for result in results:
            show(console, result, timeline=False)
    if json_path:
        write_json(json_path, {r.strategy: r.to_dict() for r in results})
    plot(plot_path, results)
    return status(results)


@interruptible
async def cmd_compare(args: argparse.Namespace, console: Console, interruption: Interruption) -> int:
    check_outputs(args)
    plan = read_plan(args.workflow)
    async with open_servers(args.servers, ask=ask_input, start_timeout=args.start_timeout) as servers:
        workflow = EagerExecutor(servers, **executor_options(args)).check_plan(plan)
        return await compare(
            console, workflow, servers, interruption, args.json, executor_options(args), args.timeout, args.plot
        )


@interruptible
async def cmd_demo(args: argparse.Namespace, console: Console, interruption: Interruption) -> int:
    check_outputs(args)
    workflow = Workflow.from_dict(DEMO_WORKFLOW)
    console.print(
        f"A research-assistant plan of {len(workflow.tasks)} simulated tool calls "
        f"in {len(workflow.generations)} layers, run layered, then eager:"
    )
    return await compare(console, workflow, demo_servers(args.speed), interruption, args.json, plot_path=args.plot)


async def cmd_bench(args: argparse.Namespace, console: Console) -> int:
    from dagexec.bench import PARTS, read_plans, run_bench

    if args.json:  # say so now, not after minutes of running
        check_output(args.json, "the results")
    parts = tuple(args.part) if args.part else ("plans",) if args.plans else PARTS
    if args.plans and "plans" not in parts:
        raise UsageError("--plans is for the plans part: add --part plans")
    # Read before anything runs: a file that holds no plan stops here.
    sets = [s for path in args.plans for s in read_plans(path)] if args.plans else None
    console.print(f"dagexec bench{' --quick' if args.quick else ''}: {', '.join(parts)}...")
    report = await trio.to_thread.run_sync(lambda: run_bench(quick=args.quick, parts=parts, plans=sets))
    console.print(_render.bench_report(report))
    if args.json:
        write_json(args.json, report)
    return 0


# -- arguments -----------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
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

    run = commands.add_parser("run", help="run a workflow against MCP servers", parents=[common])
    run.add_argument("workflow", metavar="WORKFLOW.json", help="a workflow file, or - for JSON lines on stdin")
    add_servers(run)
    run.add_argument("--strategy", choices=sorted(EXECUTORS), default="eager")
    run.add_argument("--json", metavar="OUT.json", help="write the full result as JSON")
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
    run.set_defaults(handler=cmd_run)

    validate = commands.add_parser("validate", help="check a workflow without running it", parents=[common])
    validate.add_argument("workflow", metavar="WORKFLOW.json")
    add_servers(validate, required=False)
    add_schema_check(validate)
    validate.set_defaults(handler=cmd_validate)

    comp = commands.add_parser("compare", help="run a workflow layered, then eager, side by side", parents=[common])
    comp.add_argument("workflow", metavar="WORKFLOW.json")
    add_servers(comp)
    add_schema_check(comp)
    comp.add_argument("--json", metavar="OUT.json", help="write both results as JSON")
    add_controls(comp)
    add_plot(comp)
    add_otel_flag(comp)
    comp.set_defaults(handler=cmd_compare)

    demo = commands.add_parser("demo", help="compare layered and eager on a built-in example", parents=[common])
    demo.add_argument(
        "--speed", type=positive, default=1.0, help="run the simulated tools this many times faster"
    )
    demo.add_argument("--json", metavar="OUT.json", help="write both results as JSON")
    add_plot(demo)
    demo.set_defaults(handler=cmd_demo)
    bench = commands.add_parser(
        "bench", help="measure eager against layered and against the limits", parents=[common]
    )
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
    bench.add_argument("--json", metavar="OUT.json", help="write every figure as JSON")
    bench.set_defaults(handler=cmd_bench)
    add_graph_command(commands, common, load_workflow)
    add_serve_commands(commands, common)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return its exit status."""
    args = build_parser().parse_args(argv)
    console = make_console()
    errors = make_console(stderr=True)
    handler: Callable[[argparse.Namespace, Console], Any] = args.handler
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
