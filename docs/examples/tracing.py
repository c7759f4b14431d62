"""Trace a run against a real MCP server, keep its spans in memory, print them as a tree (and draw them).

Run ``python tracing.py`` to print the tree, ``python tracing.py trace.svg`` to
draw it as well (with matplotlib). The documentation's picture is drawn this way.
"""

import sys
from collections import defaultdict

import trio
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from dagexec import EagerExecutor, Workflow
from dagexec.servers import open_servers

# The application sets up the SDK, once; dagexec and the MCP SDK both trace through it.
exporter = InMemorySpanExporter()
provider = TracerProvider()
provider.add_span_processor(SimpleSpanProcessor(exporter))
trace.set_tracer_provider(provider)

# The benchmark's MCP server, over stdio: a tool that sleeps.
CONFIG = {"mcpServers": {"bench": {"command": sys.executable, "args": ["-m", "dagexec.bench.server"]}}}

workflow = Workflow.from_dict(
    {
        "tasks": [
            {"id": "search_web", "tool": "bench:sleep", "arguments": {"seconds": 0.3}},
            {"id": "search_papers", "tool": "bench:sleep", "arguments": {"seconds": 0.5}},
            {"id": "slow_source", "tool": "bench:sleep", "arguments": {"seconds": 5}, "timeout": 0.4},
            {
                "id": "summarize",
                "tool": "bench:sleep",
                "arguments": {"seconds": 0.2},
                "depends_on": ["search_web", "search_papers"],
            },
            {
                "id": "report",
                "tool": "bench:sleep",
                "arguments": {"seconds": 0.1},
                "depends_on": ["summarize", "slow_source"],
            },
        ]
    }
)


def tree(spans: list[ReadableSpan]) -> list[tuple[int, ReadableSpan]]:
    """The run's span and its descendants, depth first, each with its depth; siblings by task id, then start."""
    children = defaultdict(list)
    for span in spans:
        children[span.parent.span_id if span.parent else None].append(span)

    def key(span: ReadableSpan) -> tuple[str, int]:
        return str((span.attributes or {}).get("gen_ai.tool.call.id", "")), span.start_time or 0

    order: list[tuple[int, ReadableSpan]] = []

    def visit(span: ReadableSpan, depth: int) -> None:
        order.append((depth, span))
        for child in sorted(children[span.context.span_id], key=key):
            visit(child, depth + 1)

    for root in children[None]:
        if root.name == "dagexec run":
            visit(root, 0)
    return order


def describe(span: ReadableSpan) -> str:
    """A span's name, and the task, status and error type it carries."""
    attributes = span.attributes or {}
    found = [attributes.get(key) for key in ("gen_ai.tool.call.id", "dagexec.status", "error.type")]
    return " ".join([span.name, *(str(value) for value in found if value is not None)])


def times(span: ReadableSpan) -> tuple[int, int]:
    """A finished span's start and end, in nanoseconds."""
    assert span.start_time is not None and span.end_time is not None
    return span.start_time, span.end_time


def draw(spans: list[ReadableSpan], path: str) -> None:
    """A Gantt chart of the trace: a row per span, indented by depth, calls marked on their task's row."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    rows = tree(spans)
    start = times(rows[0][1])[0]
    figure = Figure(figsize=(8.0, 0.8 + 0.3 * len(rows)), layout="constrained")
    ax = figure.subplots()
    for row, (depth, span) in enumerate(rows):
        attributes = span.attributes or {}
        begin, end = ((t - start) / 1e9 for t in times(span))
        if span.name == "dagexec run":
            color = "#7f7f7f"
        elif span.kind is trace.SpanKind.CLIENT:
            color = "#4c72b0"  # the MCP SDK's span of the JSON-RPC request
        elif attributes.get("dagexec.status") == "error":
            color = "#c03d3e"
        elif attributes.get("dagexec.status") == "success":
            color = "#3a923a"
        else:
            color = "#e1812c"
        ax.broken_barh([(begin, max(end - begin, 0.004))], (row - 0.35, 0.7), facecolors=color)
        for event in span.events:
            ax.plot([(event.timestamp - start) / 1e9] * 2, [row - 0.45, row + 0.45], color="black", linewidth=0.8)
    labels = ["\u2003" * 2 * depth + describe(span) for depth, span in rows]  # em spaces: kept, unlike spaces
    ax.set_yticks(range(len(rows)), labels, fontsize=8, horizontalalignment="left")
    ax.tick_params(axis="y", pad=max(len(label) for label in labels) * 4.6)
    ax.set_ylim(len(rows) - 0.5, -0.5)
    ax.set_xlabel("seconds since the run started (ticks: span events, such as each call)")
    ax.grid(axis="x", linewidth=0.3)
    figure.savefig(path)


async def run() -> None:
    async with open_servers(CONFIG) as servers:
        await EagerExecutor(servers).execute(workflow)


def main(picture: str | None = None) -> None:
    trio.run(run)
    spans = list(exporter.get_finished_spans())
    for depth, span in tree(spans):
        print("  " * depth + describe(span))
    if picture:
        draw(spans, picture)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else None)
