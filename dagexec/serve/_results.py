"""What the gateway's tools answer: a run, a direct call and a refused plan, rendered as MCP tool results."""

from __future__ import annotations

import json
from typing import Any

import mcp_types

from .. import DagexecError, ExecutionResult, JournalFailedError, PlanError, TaskResult
from ._outputs import REPLY_LIMIT, OutputStore


def text_block(text: str) -> mcp_types.TextContent:
    """One text content block."""
    return mcp_types.TextContent(type="text", text=text)


def json_ready(data: Any) -> Any:
    """JSON-ready data, as ``dagexec run --json`` writes it (values JSON cannot hold become their repr).

    The same as ``json.loads(json.dumps(data, default=repr))``, but the parts
    that are JSON already (dicts with text keys, lists, text, numbers, booleans,
    None: a run's data and most outputs) are kept as they are rather than copied:
    a large plan's answer is held once, not twice (issue 25). Tuples become
    lists; only a part holding anything else makes the round trip through JSON.
    """
    try:
        return _ready(data)
    except RecursionError:  # nested too deeply for a walk: the round trip says what JSON does
        return _round_trip(data)


#: The types JSON holds as they are (exact types: a subclass, an enum say, is written as JSON writes it).
_SCALARS = frozenset({str, int, float, bool, type(None)})


def _round_trip(data: Any) -> Any:
    return json.loads(json.dumps(data, default=repr))


def _ready(data: Any) -> Any:
    """:func:`json_ready` by walking ``data``: a dict or list none of whose items change is returned itself."""
    kind = type(data)
    if kind in _SCALARS:
        return data
    if kind is dict:
        if not all(type(key) is str for key in data):
            return _round_trip(data)  # JSON's keys are text: 1 becomes "1", True "true"...
        fresh: dict[str, Any] | None = None
        for key, value in data.items():
            ready = _ready(value)
            if ready is not value:
                fresh = dict(data) if fresh is None else fresh
                fresh[key] = ready
        return data if fresh is None else fresh
    if kind is list or kind is tuple:
        items: list[Any] | None = None if kind is list else list(data)
        for i, item in enumerate(data):
            ready = _ready(item)
            if ready is not item:
                items = list(data) if items is None else items
                items[i] = ready
        return data if items is None else items
    return _round_trip(data)


def summary_text(result: ExecutionResult) -> str:
    """A short text summary of a run: its counts, wall time and critical path, and each task that did not succeed."""
    lines = [
        f"{len(result.results)} tasks: "
        + ", ".join(f"{n} {s.value}" for s, n in result.counts.items() if n)
        + f"; {result.wall_time:.3f}s wall, critical path {' -> '.join(result.critical_path)} "
        f"({result.critical_path_time:.3f}s)"
    ]
    for r in result.results:
        if r.error is not None:
            lines.append(f"task {r.task_id!r} {r.status.value}: {r.error.code.value}: {r.error.message}")
    return "\n".join(lines)


def _fits(reply: mcp_types.CallToolResult) -> bool:
    """Whether ``reply``'s JSON, as the SDK sends it, is at most :data:`~dagexec.serve._outputs.REPLY_LIMIT` bytes."""
    return len(reply.model_dump_json(by_alias=True, exclude_none=True).encode()) <= REPLY_LIMIT


def run_data(result: ExecutionResult, *, journal_error: str | None = None) -> tuple[dict[str, Any], str]:
    """What ``run_workflow`` answers of a run: its JSON-ready data and its summary.

    They hold all of the answer, so that the caller can drop ``result`` (a
    large plan's records) before the reply is built (see :func:`run_reply`).

    The data is that of ``dagexec run --json`` less the plan, which the client sent.

    ``journal_error``: why the journal failed mid-run, which stopped the run;
    it is the summary's first line and the data's ``journal_error``.
    """
    data = json_ready(result.to_dict(workflow=False))
    failed = [] if journal_error is None else [journal_error]
    if journal_error is not None:
        data["journal_error"] = journal_error
    return data, "\n".join([*failed, summary_text(result)])


def run_reply(data: dict[str, Any], summary: str, outputs: OutputStore) -> mcp_types.CallToolResult:
    """``run_workflow``'s answer: the run's data (:func:`run_data`) as structured content, and as text after a summary.

    A reply over :data:`~dagexec.serve._outputs.REPLY_LIMIT` bytes carries
    the run without its outputs, once (each task's ``output`` is null, and its
    ``output_parts`` the URIs of its parts): every output is kept as
    resources in ``outputs``, linked from the content after the summary.
    """
    text = json.dumps(data)
    if len(text) <= REPLY_LIMIT:  # else the reply, which holds the text and more, cannot fit: not built
        reply = mcp_types.CallToolResult(content=[text_block(summary), text_block(text)], structured_content=data)
        if _fits(reply):
            return reply
        del reply
    del text
    links: list[mcp_types.ResourceLink] = []
    for task in data["results"]:
        if task.get("output") is not None:
            parts = outputs.put(json.dumps(task["output"]), f"the output of task {task['task_id']!r}")
            task["output"], task["output_parts"] = None, [part.uri for part in parts]
            links += parts
    note = (
        f"\nthe reply would be over {REPLY_LIMIT} bytes: the outputs are resources "
        f"({len(links)} parts, each task's output_parts), to read with resources/read"
    )
    return mcp_types.CallToolResult(content=[text_block(summary + note), *links], structured_content=data)


def call_result(result: TaskResult, outputs: OutputStore) -> mcp_types.CallToolResult:
    """A direct call's answer: the output (structured when an object; as text, a string as it is, else its JSON).

    A task that failed is ``isError``, with its error code and message. A
    reply over :data:`~dagexec.serve._outputs.REPLY_LIMIT` bytes carries the
    output as resources kept in ``outputs``, linked from the content.
    """
    if result.error is not None:
        return mcp_types.CallToolResult(
            content=[text_block(f"{result.error.code.value}: {result.error.message}")], is_error=True
        )
    output = json_ready(result.output)
    text = output if isinstance(output, str) else json.dumps(output)
    reply = mcp_types.CallToolResult(
        content=[text_block(text)], structured_content=output if isinstance(output, dict) else None
    )
    if _fits(reply):
        return reply
    parts = outputs.put(json.dumps(output), "the output")
    note = f"the reply would be over {REPLY_LIMIT} bytes: read the output's {len(parts)} parts as resources"
    return mcp_types.CallToolResult(content=[text_block(note), *parts])


def refusal_result(exc: DagexecError) -> mcp_types.CallToolResult:
    """The tool result of a plan that cannot run: ``isError``, the problems as text and as data.

    A plan's problems are the report every check writes (``invalid plan (N
    problems):`` and a line each), as :class:`~dagexec.PlanError` has it.
    """
    if isinstance(exc, PlanError):
        problems = [str(problem) for problem in exc.problems]
        text = str(exc)
    else:  # the journal
        problems = [str(exc)]
        ran = isinstance(exc, JournalFailedError)  # it failed mid-run
        text = str(exc) if ran else f"the plan cannot run now, nothing ran: {exc}"
    return mcp_types.CallToolResult(
        content=[text_block(text)], structured_content={"ok": False, "problems": problems}, is_error=True
    )
