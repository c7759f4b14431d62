"""The files a command reads and writes: the workflow file, ``--json`` and ``--plot``, each checked before a run."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from dagexec import ExecutionResult, Workflow

from ._options import UsageError
from ._streams import STANDARD


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
    """Check ``--json``, ``--events`` and ``--plot`` (the extra installed, the format known) before any server starts.

    ``-`` (standard output) is not a file to check.
    """
    if args.json and args.json != "-":
        check_output(args.json, "the results")
    if getattr(args, "events", None) not in (None, "-"):
        check_output(args.events, "the events")
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
    """Write ``data`` as JSON to the file ``path``, or to standard output for ``-``.

    Raises:
        UsageError: The file cannot be written.
    """
    text = json.dumps(data, indent=2, default=repr) + "\n"
    if path == STANDARD:
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    try:
        Path(path).write_text(text)
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
