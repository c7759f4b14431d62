"""Timeline pictures (Gantt charts) of runs, with matplotlib (the ``plot`` extra).

Example::

    from dagexec.plot import save_timelines

    save_timelines([layered_result, eager_result], "compare.svg")
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

__all__ = ["save_timelines", "timeline_figure"]

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


def formats() -> dict[str, str]:
    """The picture formats :func:`save_timelines` can write: each file suffix (no dot) and its name."""
    return dict(Figure().canvas.get_supported_filetypes())
