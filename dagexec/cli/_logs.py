"""What a command writes on stderr besides its output: error lines, warnings and log records, a line each."""

from __future__ import annotations

import logging
import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

from rich.text import Text

from dagexec import JournalWarning, SchemaWarning

from ._render import printable
from ._terminal import make_console


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
