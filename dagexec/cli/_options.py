"""The options that several commands share, and the error of input a command cannot use.

``serve`` (:mod:`dagexec.cli._serve`) and the other commands
(:mod:`dagexec.cli._commands`) both build on these, so neither imports the other
for them.
"""

from __future__ import annotations

import argparse
from typing import Any

from dagexec import DagexecError


class UsageError(DagexecError):
    """Input the command cannot use: reported in a line, exit status 2."""


#: Seconds the schema check of one plan may take, unless ``--check-budget`` says (the executor's default).
CHECK_BUDGET = 2.0

#: Seconds a server has to start, initialize and list its tools, unless ``--start-timeout`` says.
START_TIMEOUT = 30.0


def executor_options(args: argparse.Namespace) -> dict[str, Any]:
    """The executor options given as flags."""
    return {
        "max_concurrency": args.max_concurrency,
        "server_limits": dict(args.server_limit),
        "task_timeout": args.task_timeout,
        "retries": args.retries,
        "fail_fast": args.fail_fast,
        "check_schemas": not args.no_schema_check,
        "check_budget": args.check_budget,
    }


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
    group.add_argument("--max-concurrency", type=at_least_one, metavar="N", help="at most N tool calls at once")
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


def add_servers(
    parser: argparse.ArgumentParser,
    *,
    required: bool = True,
    about: str = "start its servers and check each task's tool",
) -> None:
    """``--servers`` (``about``: what an optional one is for) and ``--start-timeout``."""
    parser.add_argument(
        "--servers",
        required=required,
        metavar="SERVERS.json",
        help="an mcpServers config" + ("" if required else f": {about}"),
    )
    parser.add_argument(
        "--start-timeout",
        type=positive,
        default=START_TIMEOUT,
        metavar="SECONDS",
        help=f"time each server has to start and list its tools (default {START_TIMEOUT:g})",
    )


def add_schema_check(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--no-schema-check",
        action="store_true",
        help="do not check the plan against the schemas its tools publish (for servers that accept more)",
    )
    parser.add_argument(
        "--check-budget",
        type=positive,
        default=CHECK_BUDGET,
        metavar="SECONDS",
        help=f"time the schema check of a plan may take; a plan whose check takes longer is refused "
        f"(default {CHECK_BUDGET:g})",
    )


def add_plot(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--plot", metavar="OUT.svg", help="save the timelines as a picture (SVG, PNG, PDF; the plot extra)"
    )
