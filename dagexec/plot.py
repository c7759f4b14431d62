"""Pictures with matplotlib (the ``plot`` extra): timelines (Gantt charts) of runs, and plans as graphs.

Example::

    from dagexec.plot import save_plan, save_timelines

    save_timelines([layered_result, eager_result], "compare.svg")
    save_plan(workflow, "plan.svg")
"""

from __future__ import annotations

import os
from collections.abc import Sequence

try:
    import matplotlib

    matplotlib.use("Agg")  # files only: no window, no display needed
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError("dagexec.plot needs the plot extra: pip install 'dagexec[plot]'") from exc

from ._results import ExecutionResult, TaskStatus
from ._workflow import Workflow

__all__ = ["plan_figure", "save_plan", "save_timelines", "timeline_figure"]

#: Bar colours by final status.
COLORS = {
    TaskStatus.SUCCESS: "#3a923a",
    TaskStatus.ERROR: "#c03d3e",
    TaskStatus.SKIPPED: "#e1812c",
    TaskStatus.CANCELLED: "#9372b2",
}


def timeline_figure(results: Sequence[ExecutionResult], *, width: float = 8.0) -> Figure:
    """Draw runs one above the other, on a time axis that they share.

    Each task is a row; each call of its tool is a bar from its start to its end,
    coloured by the task's final status (a failed attempt that was retried is
    drawn lighter). Tasks that never ran are named in their row.

    Args:
        results: The runs, such as the layered and the eager run of one workflow.
        width: Figure width in inches.

    Returns:
        A matplotlib figure (not shown; save it with ``savefig``).
    """
    if not results:
        raise ValueError("results must not be empty")
    rows = [len(r.results) for r in results]
    figure = Figure(figsize=(width, 1.0 + 0.28 * sum(rows) + 0.5 * len(results)), layout="constrained")
    axes = figure.subplots(len(results), 1, sharex=True, squeeze=False, height_ratios=rows)[:, 0]
    end = max(r.wall_time for r in results) or 1.0
    for ax, result in zip(axes, results, strict=True):
        labels = [r.task_id for r in result.results]
        for row, task in enumerate(result.results):
            color = COLORS[task.status]
            if not task.timeline:
                if task.started_at is None:
                    ax.text(0, row, f" {task.status.value}", va="center", fontsize=8, color=color)
                continue
            for attempt in task.timeline:
                failed_retry = attempt.error is not None and attempt is not task.timeline[-1]
                ax.broken_barh(
                    [(attempt.started_at, max(attempt.finished_at - attempt.started_at, end / 400))],
                    (row - 0.35, 0.7),
                    facecolors=color,
                    alpha=0.45 if failed_retry else 1.0,
                )
        ax.set_yticks(range(len(labels)), labels, fontsize=8)
        ax.set_ylim(len(labels) - 0.5, -0.5)
        ax.axvline(result.wall_time, color="black", linewidth=0.8, linestyle="--")
        ax.set_title(_title(result), fontsize=10, loc="left")
        ax.grid(axis="x", linewidth=0.3)
    axes[-1].set_xlim(0, end * 1.02)
    axes[-1].set_xlabel("seconds since the start of the run")
    shown = {t.status for r in results for t in r.results}
    figure.legend(
        handles=[Patch(color=COLORS[s], label=s.value) for s in TaskStatus if s in shown],
        loc="outside lower center",
        ncols=4,
        fontsize=8,
        frameon=False,
    )
    return figure


def _title(result: ExecutionResult) -> str:
    """A run's picture title: its wall time, its layers if it ran in layers, and its speedup said in words.

    Example: ``layered: 0.73 s in 5 layers, 1.21x as fast as one call at a time``.
    """
    layers = result.parallelization_layers
    waited = f" in {layers} layer{'s' if layers != 1 else ''}" if result.strategy == "layered" else ""
    return f"{result.strategy}: {result.wall_time:.2f} s{waited}, {result.speedup:.2f}x as fast as one call at a time"


def save_timelines(results: Sequence[ExecutionResult], path: str | os.PathLike[str]) -> None:
    """Draw runs with :func:`timeline_figure` and save the picture (SVG, PNG, PDF: by suffix)."""
    timeline_figure(results).savefig(path)


def plan_figure(workflow: Workflow, *, width: float | None = None) -> Figure:
    """Draw a plan as a graph: a column per layer (generation), a box per task, an arrow per dependency.

    The layers are the ones a layered executor waits through, left to right;
    each box shows the task's id over its tool. The same graph as text is
    :func:`dagexec.to_mermaid` or :func:`dagexec.to_dot`.

    Args:
        workflow: The plan.
        width: Figure width in inches (default: from the number of layers).

    Returns:
        A matplotlib figure (not shown; save it with ``savefig``).
    """
    layers = workflow.generations
    tallest = max((len(layer) for layer in layers), default=1)
    figure = Figure(figsize=(width or 1.0 + 2.2 * max(1, len(layers)), 0.6 + 0.75 * tallest), layout="constrained")
    ax = figure.subplots()
    where: dict[str, tuple[float, float]] = {}
    for x, layer in enumerate(layers):
        for row, task_id in enumerate(layer):
            where[task_id] = (float(x), (tallest - len(layer)) / 2 + row)
    box = {"boxstyle": "round,pad=0.35", "facecolor": "#e8f0e8", "edgecolor": "#3a923a"}
    boxes = {
        task.id: ax.text(*where[task.id], f"{task.id}\n{task.tool}", ha="center", va="center", fontsize=8,
                         bbox=box, zorder=2)
        for task in workflow.tasks
    }  # fmt: skip
    for task in workflow.tasks:
        for dep in task.dependencies:  # from the right edge of the dependency's box to the left edge of the task's
            # An arrow over a layer or more bends, so that it does not seem to go through the boxes between.
            bend = 0.0 if where[task.id][0] - where[dep][0] <= 1 else 0.25
            ax.annotate(
                "", xy=(0.0, 0.5), xycoords=boxes[task.id], xytext=(1.0, 0.5), textcoords=boxes[dep],
                arrowprops={"arrowstyle": "->", "color": "#555555", "linewidth": 0.8, "shrinkA": 4, "shrinkB": 4,
                            "connectionstyle": f"arc3,rad={bend}"},
                zorder=1,
            )  # fmt: skip
    ax.set_xlim(-0.6, max(1, len(layers)) - 0.4)
    ax.set_ylim(tallest - 0.4, -0.6)
    ax.set_xticks(range(len(layers)), [f"layer {n + 1}" for n in range(len(layers))], fontsize=8)
    ax.tick_params(length=0)
    ax.set_yticks([])
    for side in ax.spines.values():
        side.set_visible(False)
    return figure


def save_plan(workflow: Workflow, path: str | os.PathLike[str]) -> None:
    """Draw a plan with :func:`plan_figure` and save the picture (SVG, PNG, PDF: by suffix)."""
    plan_figure(workflow).savefig(path)


def formats() -> dict[str, str]:
    """The picture formats :func:`save_timelines` can write: each file suffix (no dot) and its name."""
    return dict(Figure().canvas.get_supported_filetypes())
