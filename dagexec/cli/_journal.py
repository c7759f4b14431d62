"""``dagexec journal show``: each run of a journal, and each of its tasks' status, times and error."""

from __future__ import annotations

import argparse
import datetime

from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text

from dagexec import JournalRun, read_journal

from ._files import write_json
from ._render import STATUS_STYLE, count, printable
from ._streams import STANDARD


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}s"


def _when(value: float | None) -> str:
    if value is None:
        return "not recorded"
    return datetime.datetime.fromtimestamp(value, datetime.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def run_table(run: JournalRun) -> RenderableType:
    """A run's tasks as a table: status, start and end (seconds since the run started), error."""
    title = Text.assemble(
        "run ", (printable(run.name), "bold"), f": {count(len(run.tasks), 'task')}, last opened {_when(run.opened_at)}"
    )
    if not run.tasks:
        return title
    table = Table(title=title, title_justify="left")
    for heading in ("task", "tool", "status", "start", "end", "error"):
        table.add_column(heading, justify="right" if heading in ("start", "end") else "left")
    for task in run.tasks:
        error = "" if task.error is None else f"{task.error.code.value}: {task.error.message}"
        table.add_row(
            Text(printable(task.task_id)),
            Text(printable(task.tool)),
            Text(task.status.value, style=STATUS_STYLE[task.status]),
            _seconds(task.started_at),
            _seconds(task.finished_at),
            Text(printable(error)),
        )
    return table


async def cmd_journal_show(args: argparse.Namespace, console: Console) -> int:
    """Show every run of a journal; ``--json``: as JSON."""
    runs = read_journal(args.journal)
    if args.json:
        write_json(STANDARD, [run.to_dict() for run in runs])
        return 0
    if not runs:
        console.print(f"{printable(args.journal)}: no run recorded", highlight=False)
        return 0
    console.print(Group(*(run_table(run) for run in runs)))
    console.print(
        "start and end: seconds from the start of the run that wrote the row; "
        "the journal keeps the tasks whose call ended",
        style="dim",
        highlight=False,
    )
    return 0


def add_commands(
    commands: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    """Add ``journal show`` to the command line's subcommands."""
    journal = commands.add_parser("journal", help="show what a run journal holds", parents=[common])
    actions = journal.add_subparsers(dest="journal_command", required=True, metavar="ACTION")
    show = actions.add_parser(
        "show", help="each run in the journal, and each task's status, start, end and error", parents=[common]
    )
    show.add_argument("journal", metavar="RUN.db", help="a journal written by run --journal or serve --journal")
    show.add_argument("--json", action="store_true", help="print the runs as JSON")
    show.set_defaults(handler=cmd_journal_show)
