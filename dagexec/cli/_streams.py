"""Runs a program can read: ``--json -``, ``--events FILE|-`` and a plan on standard input for ``validate -``.

Standard output carries what a program reads (the result's JSON, the events'
JSON lines), so everything for people (tables, progress, errors) goes to
standard error when it does.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TextIO

from dagexec import Event, EventHandler

from ._options import UsageError
from ._terminal import close_stream

#: The file name that means standard input or standard output.
STANDARD = "-"


def to_stdout(args: argparse.Namespace) -> bool:
    """Whether the command writes what a program reads to standard output (``--json -``, ``--events -``).

    Raises:
        UsageError: Both ask for it: one stream cannot hold both.
    """
    result = getattr(args, "json", None) == STANDARD
    events = getattr(args, "events", None) == STANDARD
    if result and events:
        raise UsageError("--json - and --events - cannot both write to standard output: give one of them a file")
    return result or events


class EventLines:
    """Where ``--events`` writes: each event a JSON line, flushed at once, so a program that follows sees it happen.

    On standard output, the reader may go away before the run ends (``|
    head``): the lines after are not written, and the run goes on to its end,
    every task with its final status; :attr:`closed` then says so.
    """

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        #: Whether the reader went away, and lines were not written.
        self.closed = False

    def __call__(self, event: Event) -> None:
        if self.closed:
            return
        try:
            self._stream.write(json.dumps(event.to_dict(), default=repr) + "\n")
            self._stream.flush()
        except BrokenPipeError:
            self.closed = True
            close_stream(self._stream)


@contextmanager
def event_lines(path: str | None) -> Iterator[EventLines | None]:
    """Where ``--events`` writes: ``path``, or standard output for ``-`` (see :class:`EventLines`).

    Yields None without a path. The file is opened (and emptied) before the
    run, so a path that cannot be written stops the command first.

    Raises:
        UsageError: The file cannot be opened for writing.
    """
    if path is None:
        yield None
        return
    if path == STANDARD:
        yield EventLines(sys.stdout)
        return
    try:
        stream = open(path, "w", encoding="utf-8")  # noqa: SIM115 (closed below, after the run)
    except OSError as exc:
        raise UsageError(f"cannot write the events {path!r}: {exc.strerror}") from None
    with stream:
        yield EventLines(stream)


def both(first: EventHandler, second: EventHandler | None) -> EventHandler:
    """One ``on_event`` that hands each event to ``first``, then to ``second`` (if any)."""
    if second is None:
        return first

    def handle(event: Event) -> None:
        first(event)
        second(event)

    return handle


def plan_from_text(text: str) -> Any:
    """A plan on standard input, for ``validate -``: one JSON document, or JSON lines of tasks (as ``run -`` reads).

    Raises:
        UsageError: It is neither.
    """
    try:
        return json.loads(text)
    except RecursionError:
        raise UsageError("cannot read the workflow on standard input: JSON nested too deeply to read") from None
    except json.JSONDecodeError as whole:
        lines = [line for line in text.splitlines() if line.strip()]
        if len(lines) < 2:
            raise UsageError(f"cannot read the workflow on standard input: not valid JSON: {whole}") from None
        tasks = []
        for number, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                tasks.append(json.loads(line))
            except (json.JSONDecodeError, RecursionError) as exc:
                raise UsageError(
                    "cannot read the workflow on standard input: neither one JSON document "
                    f"({whole}) nor JSON lines (line {number}: {exc})"
                ) from None
        return {"tasks": tasks}
