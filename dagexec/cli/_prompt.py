"""Questions asked at the terminal: may a task's call go ahead (``--approve``), and a config's inputs."""

from __future__ import annotations

import argparse
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import trio
from rich.console import Console
from rich.text import Text

from dagexec import ServerConfigError, Task, shown_arguments
from dagexec._lines import LineReader
from dagexec.servers import InputVariable

from ._options import UsageError
from ._render import printable
from ._terminal import STDIN, echo_off

#: What a task that needs approval lacks, when neither --approve nor --approve-all is given.
APPROVAL_PROBLEM = (
    "the task needs approval before its call: pass --approve to be asked at the terminal "
    "(or --approve-all to be asked before every call)"
)


def needs_approval(task_id: str) -> str:
    """The error line of a task that needs approval, run without ``--approve`` or ``--approve-all``."""
    return f"task {task_id!r}: approval: {APPROVAL_PROBLEM}"


def gated_tasks(plan: Any) -> list[str]:
    """The ids of the plan's tasks that ask for approval (``"approval": true``), read from its data as it is."""
    tasks = plan.get("tasks") if isinstance(plan, dict) else None
    return [
        item["id"]
        for item in (tasks if isinstance(tasks, list) else ())
        if isinstance(item, dict) and item.get("approval") is True and isinstance(item.get("id"), str)
    ]


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
    with echo_off(variable.password):  # before the prompt shows: what is typed after it is not echoed
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
