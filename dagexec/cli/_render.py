"""Terminal output with rich: result tables, timelines (Gantt charts) and live progress.

Every piece of text that comes from outside -- a workflow's ids and tools, a
server's errors, a tool's output -- goes through :func:`printable` before it
reaches the terminal, and into a :class:`~rich.text.Text`, never into markup.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from rich.bar import Bar
from rich.console import Console, Group, RenderableType
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from dagexec import Event, ExecutionResult, Run, TaskStatus, Workflow

STATUS_STYLE = {
    TaskStatus.SUCCESS: "green",
    TaskStatus.ERROR: "red",
    TaskStatus.SKIPPED: "yellow",
    TaskStatus.CANCELLED: "magenta",
}


#: Rows a table of ``validate`` shows at most: a person reads no more, and drawing more takes time.
ROWS = 50

#: Task ids a cell shows at most (the tasks of one generation).
IDS = 20

#: Control characters: C0 (but newline), DEL and C1. A terminal acts on them (ESC starts
#: the sequences that move the cursor, clear the screen, set the title).
_CONTROLS = {c: f"\\x{c:02x}" for c in (*range(0x00, 0x0A), *range(0x0B, 0x20), 0x7F, *range(0x80, 0xA0))}


def printable(text: object) -> str:
    """``text`` with every control character but newline shown escaped (``ESC`` as ``\\x1b``).

    Every piece of text that comes from a workflow, a server or a tool passes
    through here on its way to the terminal: none of it can move the cursor,
    clear the screen or retitle the window.
    """
    return str(text).translate(_CONTROLS)


def count(n: int, noun: str, plural: str | None = None) -> str:
    """``1 task``, ``2 tasks``."""
    return f"{n} {noun if n == 1 else plural or noun + 's'}"


def _seconds(value: float | None) -> str:
    return "" if value is None else f"{value:.3f}s"


def _brief(value: object, limit: int | None = 60) -> str:
    try:
        text = json.dumps(value, default=repr)
    except (TypeError, ValueError):
        text = repr(value)
    text = printable(text)
    return text if limit is None or len(text) <= limit else text[: limit - 3] + "..."


def results_table(result: ExecutionResult, *, whole: bool = False) -> Table:
    """One row per task: status, tool, timing, and its output or its error's code and message.

    Args:
        result: The run.
        whole: Show each output whole (for output piped to a file or a
            program); else cut at 60 characters, to fit a terminal.
    """
    table = Table(title=f"{result.strategy} run: tasks", title_justify="left")
    table.add_column("task")
    table.add_column("tool")
    table.add_column("status")
    table.add_column("start", justify="right")
    table.add_column("duration", justify="right")
    table.add_column("output or error", overflow="fold")
    for r in result.results:
        error = Text()
        if r.error is not None:
            code, message = r.error.code.value, printable(r.error.message)
            error.append(code, style="bold")
            # A cancelled task's message already starts with its code: "cancelled: <reason>".
            error.append(message.removeprefix(code) if message.startswith(f"{code}: ") else f": {message}")
        else:
            error.append(_brief(r.output, None if whole else 60), style="dim")
        table.add_row(
            Text(printable(r.task_id)),
            Text(printable(r.tool)),
            Text(r.status.value + (" (reused)" if r.reused else ""), style=STATUS_STYLE[r.status]),
            _seconds(r.started_at),
            _seconds(r.duration),
            error,
        )
    return table


def timeline(result: ExecutionResult, *, scale: float | None = None, width: int = 50) -> Table:
    """A Gantt chart: one bar per task on a time axis shared by every row, labelled below.

    Args:
        result: The run to draw.
        scale: Seconds the full width stands for; the run's wall time when None
            (pass the longer of two runs to compare them on one axis).
        width: Characters of the bars.
    """
    size = scale if scale is not None else result.wall_time
    size = size if size > 0 else 1.0
    table = Table(
        title=f"{result.strategy} timeline: {result.wall_time:.3f}s wall",
        title_justify="left",
        show_edge=False,
    )
    table.add_column("task")
    table.add_column("time", width=width, no_wrap=True)
    for r in result.results:
        task = Text(printable(r.task_id))
        if r.started_at is None or r.finished_at is None:
            table.add_row(task, Text(r.status.value, style=STATUS_STYLE[r.status]))
        else:
            table.add_row(
                task,
                Bar(size, r.started_at, max(r.finished_at, r.started_at + size / width / 2),
                    width=width, color=STATUS_STYLE[r.status]),
            )  # fmt: skip
    table.add_section()
    table.add_row(Text("seconds", style="dim"), time_axis(size, width))
    return table


def time_axis(size: float, width: int) -> Text:
    """The axis under a timeline's bars: ticks at the start, the quarters and the end, with their times."""
    ticks = [round(i * (width - 1) / 4) for i in range(5)]
    line = ["─"] * width
    for at in ticks:
        line[at] = "┬"
    labels = [" "] * width
    decimals = max(0, 2 - math.floor(math.log10(size)))  # three significant digits at the end
    for i, at in enumerate(ticks):
        label = "0" if i == 0 else f"{size * i / 4:.{decimals}f}"
        start = min(max(at - len(label) // 2, 0), width - len(label))
        if all(c == " " for c in labels[max(start - 1, 0) : start + len(label) + 1]):
            labels[start : start + len(label)] = label
    return Text("".join(line) + "\n" + "".join(labels), style="dim")


#: What the speedup figure is relative to, said wherever it is shown.
SPEEDUP = "as fast as one call at a time"


def figures_line(result: ExecutionResult) -> Text:
    """A line of figures: wall time, layers (of a layered run), speedup, critical path, statuses.

    The speedup is the calls' total time over the wall time: how much faster
    than making the same calls one at a time.
    """
    text = Text(f"{result.strategy}: ", style="bold")
    if not result.results:
        return text.append("no tasks ran")
    layers = f" in {count(result.parallelization_layers, 'layer')}" if result.strategy == "layered" else ""
    text.append(
        f"{result.wall_time:.3f}s wall{layers}, {result.speedup:.2f}x {SPEEDUP} "
        f"({result.total_task_time:.3f}s of calls); critical path {result.critical_path_time:.3f}s "
        f"({' -> '.join(printable(t) for t in result.critical_path)}); "
    )
    text.append(", ".join(f"{n} {status.value}" for status, n in result.counts.items() if n))
    return text


def comparison(results: Sequence[ExecutionResult]) -> RenderableType:
    """Runs of one workflow side by side: a table of figures and timelines on one axis."""
    table = Table(title="comparison", title_justify="left")
    table.add_column("strategy")
    for heading in ("wall time", "layers", "speedup*", "critical path", "failed"):
        table.add_column(heading, justify="right")
    for r in results:
        table.add_row(
            r.strategy,
            _seconds(r.wall_time),
            str(r.parallelization_layers) if r.strategy == "layered" else "-",
            f"{r.speedup:.2f}x",
            _seconds(r.critical_path_time),
            str(len(r.errors)),
        )
    caption = [f"*speedup: how many times {SPEEDUP} (the calls' total time / the wall time)"]
    if len(results) == 2 and results[1].wall_time > 0:
        caption.insert(
            0,
            f"{results[1].strategy} is {results[0].wall_time / results[1].wall_time:.2f}x "
            f"as fast as {results[0].strategy} (wall time)",
        )
    table.caption = "\n".join(caption)
    table.caption_justify = "left"
    scale = max(r.wall_time for r in results)
    return Group(table, *(timeline(r, scale=scale) for r in results))


def _ids(ids: Sequence[str], limit: int = IDS) -> Text:
    """Task ids, joined; past ``limit``, the first ones and how many more."""
    shown = ", ".join(printable(i) for i in ids[:limit])
    return Text(shown + (f" (+{len(ids) - limit} more)" if len(ids) > limit else ""))


def _more(table: Table, shown: int, total: int, noun: str) -> None:
    if total > shown:
        table.caption = f"the first {shown} of {total} {noun}"
        table.caption_justify = "left"


def validation_report(workflow: Workflow, *, rows: int = ROWS) -> RenderableType:
    """Generations, each task's dependencies, and the longest chain of a workflow.

    A large workflow is summarized: its first ``rows`` generations and tasks,
    each cell's first task ids, and how many more there are.
    """
    tasks = workflow.tasks
    if not tasks:
        return Text("valid, but empty: the workflow has no tasks", style="yellow")
    generations = workflow.generations
    gens = Table(title="generations (layers)", title_justify="left")
    gens.add_column("#", justify="right")
    gens.add_column("tasks")
    for i, gen in enumerate(generations[:rows], 1):
        gens.add_row(str(i), _ids(gen))
    _more(gens, rows, len(generations), "layers")
    deps = Table(title="dependencies", title_justify="left")
    deps.add_column("task")
    deps.add_column("tool")
    deps.add_column("waits for")
    for task in tasks[:rows]:
        deps.add_row(Text(printable(task.id)), Text(printable(task.tool)), _ids(task.dependencies) or "-")
    _more(deps, rows, len(tasks), "tasks")
    chain = workflow.longest_chain()
    if len(chain) > 2 * IDS:
        path = " -> ".join(map(printable, chain[:IDS])) + " -> ... -> " + " -> ".join(map(printable, chain[-IDS:]))
    else:
        path = " -> ".join(map(printable, chain))
    return Group(
        Text(f"valid: {count(len(tasks), 'task')} in {count(len(generations), 'layer')}", style="green"),
        gens,
        deps,
        Text(f"longest chain ({count(len(chain), 'task')}): {path}"),
    )


class LiveProgress:
    """Tasks done of total and what is running: the run's :attr:`~dagexec.Run.progress`, read as each event comes.

    It counts nothing itself: the run's core does (:class:`~dagexec.RunProgress`),
    and the events say when to look again.
    """

    #: How many ids of running tasks the line shows; the rest are a count.
    SHOWN = 6

    def __init__(self, console: Console, total: int, label: str, *, live: bool = True) -> None:
        self._live = live
        self._run: Run | None = None
        self._progress = Progress(
            TextColumn("{task.fields[label]}", style="bold", markup=False),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("{task.fields[running]}", markup=False),  # task ids: not markup
            console=console,
            transient=True,
        )
        self._bar = self._progress.add_task("run", total=total, label=label, running="")

    def follow(self, run: Run) -> None:
        """Show ``run``'s progress from now on (events before it came while the run was being opened)."""
        self._run = run
        self.refresh()

    def on_event(self, event: Event) -> None:
        """Take one event of the run: a moment to look at its progress again."""
        if self._run is not None:
            self.refresh()

    def refresh(self) -> None:
        """Show where the run stands now (also after a task was added to a streamed run)."""
        assert self._run is not None
        now = self._run.progress
        ids = [printable(name) for name in now.first_under_way[: self.SHOWN]]
        running = ", ".join(ids) + (f" +{now.under_way - len(ids)}" if now.under_way > len(ids) else "")
        self._progress.update(
            self._bar, total=now.total, completed=now.ended, running=f"running: {running}" if ids else ""
        )

    @contextmanager
    def shown(self) -> Iterator[LiveProgress]:
        """Show the progress while the block runs (if live, and on a terminal: piped, it is only a blank line)."""
        if not (self._live and self._progress.console.is_terminal):
            yield self
            return
        with self._progress:
            yield self
