"""``dagexec graph``: a plan drawn as Mermaid or DOT text, or as a picture (the ``plot`` extra)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

from rich.console import Console

from dagexec import Workflow, to_dot, to_mermaid

from ._options import UsageError

#: The text formats, each by its name and the file suffixes that choose it.
TEXTS: dict[str, Callable[[Workflow], str]] = {"mermaid": to_mermaid, "dot": to_dot}
SUFFIXES = {"mmd": "mermaid", "mermaid": "mermaid", "dot": "dot", "gv": "dot"}


def chosen_format(fmt: str | None, output: str | None) -> str:
    """``--format`` if given; else by ``--output``'s suffix: Mermaid, DOT, or a picture; Mermaid on stdout."""
    suffix = Path(output).suffix.removeprefix(".").lower() if output else ""
    if fmt is not None:
        if fmt == "image" and not output:
            raise UsageError("--format image needs --output FILE (its suffix says which: svg, png, pdf, ...)")
        return fmt
    if not output:
        return "mermaid"
    return SUFFIXES.get(suffix, "image")


def write_graph(workflow: Workflow, fmt: str, output: str | None, console: Console) -> None:
    """Write the plan as ``fmt`` to ``output`` (stdout for text without one).

    Raises:
        UsageError: The picture needs the plot extra, its format is unknown, or the file cannot be written.
    """
    if fmt in TEXTS:
        text = TEXTS[fmt](workflow)
        if output is None:
            console.file.write(text)
            return
        try:
            Path(output).write_text(text)
        except OSError as exc:
            raise UsageError(f"cannot write the graph {output!r}: {exc.strerror}") from None
        return
    assert output is not None  # chosen_format said so
    try:
        from dagexec.plot import formats, save_plan
    except ImportError as exc:
        raise UsageError(f"cannot draw the picture {output!r}: {exc}") from None
    suffix = Path(output).suffix.removeprefix(".").lower()
    if suffix not in formats():
        raise UsageError(
            f"cannot draw the picture {output!r}: unknown format {suffix!r} "
            f"(known: mmd and dot for text; {', '.join(sorted(formats()))})"
        )
    try:
        save_plan(workflow, output)
    except (OSError, ValueError) as exc:
        raise UsageError(f"cannot write the picture {output!r}: {exc}") from None


def add_command(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    common: argparse.ArgumentParser,
    load_workflow: Callable[[str], Workflow],
) -> None:
    """Add ``graph`` to the command line's subcommands; ``load_workflow`` reads and checks the plan."""

    async def cmd_graph(args: argparse.Namespace, console: Console) -> int:
        fmt = chosen_format(args.format, args.output)
        write_graph(load_workflow(args.workflow), fmt, args.output, console)
        return 0

    graph = commands.add_parser(
        "graph", help="draw a workflow: Mermaid or DOT text, or a picture (plot extra)", parents=[common]
    )
    graph.add_argument("workflow", metavar="WORKFLOW.json")
    graph.add_argument(
        "--format",
        choices=["mermaid", "dot", "image"],
        help="mermaid (the default on stdout), dot, or image; by default, from --output's suffix "
        "(.mmd, .dot or .gv; any other is a picture: .svg, .png, .pdf)",
    )
    graph.add_argument("--output", "-o", metavar="FILE", help="write to FILE instead of stdout")
    graph.set_defaults(handler=cmd_graph)
