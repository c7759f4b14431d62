"""The commands of the ``dagexec`` command line: run, validate, compare, demo and bench.

``tools``, ``schema``, ``journal``, ``graph`` and ``serve`` have files of their own.

Each takes its parsed arguments and a console, and returns its exit status
(see :mod:`dagexec.cli._parser`). What a workflow, a server or a tool says
reaches the terminal escaped (see :func:`~dagexec.cli._render.printable`).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import trio
from rich.console import Console

from dagexec import (
    DagexecError,
    EagerExecutor,
    EventHandler,
    ExecutionResult,
    JournalFailedError,
    LayeredExecutor,
    Task,
    ToolServer,
    Workflow,
    check_journal,
)
from dagexec._lines import LineReader
from dagexec.servers import open_servers

from .._demo import DEMO_WORKFLOW, demo_servers
from . import _render
from ._bench_report import bench_report
from ._files import check_output, check_outputs, load_workflow, plot, read_plan, write_json
from ._logs import report_error
from ._options import UsageError, executor_options
from ._prompt import approval, ask_input, gated_tasks, needs_approval
from ._render import printable
from ._streams import STANDARD, both, event_lines, plan_from_text
from ._terminal import CLOSED_OUTPUT, STDIN, Interruption, interruptible

EXECUTORS: dict[str, type[EagerExecutor] | type[LayeredExecutor]] = {
    "eager": EagerExecutor,
    "layered": LayeredExecutor,
}


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
    console.print(_render.figures_line(result))


async def run_one(
    console: Console,
    executor: EagerExecutor | LayeredExecutor,
    workflow: Workflow,
    interruption: Interruption,
    timeout: float | None = None,
    live: bool = True,
    run: Mapping[str, Any] | None = None,
    on_event: EventHandler | None = None,
) -> ExecutionResult:
    """Run, with live progress on the console (not while approval prompts may show).

    ``run`` holds more options of ``execute`` (the journal's ``run_name``);
    ``on_event`` is handed every event too (``--events``).
    """
    progress = _render.LiveProgress(console, len(workflow.tasks), executor.strategy, live=live)
    with progress.shown():
        async with interruption.open_run(
            executor, workflow, timeout=timeout, on_event=both(progress.on_event, on_event), options=run
        ) as handle:
            progress.follow(handle)
    return handle.result


async def stream_plan(
    console: Console,
    errors: list[str],
    executor: EagerExecutor,
    interruption: Interruption,
    timeout: float | None,
    live: bool,
    options: Mapping[str, Any],
    approval_flag: str | None = None,
    on_event: EventHandler | None = None,
) -> ExecutionResult:
    """Run tasks as their JSON lines arrive on standard input (a signal stops reading them too).

    ``options`` holds more of ``open_run``'s (the journal's ``run_name``);
    ``approval_flag`` is the ``--approve`` flag given, if any: without one, a
    task that needs approval is a refused line.
    """
    progress = _render.LiveProgress(console, 0, "eager (streamed plan)", live=live)
    with progress.shown():
        events = both(progress.on_event, on_event)
        async with interruption.open_run(executor, timeout=timeout, on_event=events, options=options) as run:
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
        journal_failure: JournalFailedError | None = None
        try:
            with event_lines(args.events) as on_event:
                if plan is None:
                    eager = EagerExecutor(servers, **options, **approver)
                    result = await stream_plan(
                        console, rejected, eager, interruption, args.timeout, live, run_options, flag, on_event
                    )
                else:
                    executor = EXECUTORS[args.strategy](servers, **options, **approver)
                    workflow = executor.check_plan(plan)
                    result = await run_one(
                        console, executor, workflow, interruption, args.timeout, live, run_options, on_event
                    )
        except JournalFailedError as exc:  # a row could not be written: the run stopped, every task with its status
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
    if on_event is not None and on_event.closed:
        report_error("standard output was closed by its reader: later events were not written (the run went on)")
        return CLOSED_OUTPUT
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
    if args.workflow == STANDARD:  # a whole plan, read before any server starts
        plan = plan_from_text("".join([line async for line in LineReader(STDIN)]))
    elif args.servers:
        plan = read_plan(args.workflow)
    if args.servers:
        async with open_servers(args.servers, ask=ask_input, start_timeout=args.start_timeout) as servers:
            executor = EagerExecutor(
                servers,
                approve=_never_asked,
                check_schemas=not args.no_schema_check,
                check_budget=args.check_budget,
            )
            workflow = executor.check_plan(plan)
    elif args.workflow == STANDARD:
        workflow = Workflow.from_dict(plan)
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

    if args.json and args.json != STANDARD:  # say so now, not after minutes of running
        check_output(args.json, "the results")
    parts = tuple(args.part) if args.part else ("plans",) if args.plans else PARTS
    if args.plans and "plans" not in parts:
        raise UsageError("--plans is for the plans part: add --part plans")
    # Read before anything runs: a file that holds no plan stops here.
    sets = [s for path in args.plans for s in read_plans(path)] if args.plans else None
    console.print(f"dagexec bench{' --quick' if args.quick else ''}: {', '.join(parts)}...")
    report = await trio.to_thread.run_sync(lambda: run_bench(quick=args.quick, parts=parts, plans=sets))
    console.print(bench_report(report))
    if args.json:
        write_json(args.json, report)
    return 0
