"""What the gateway's tools answer: a run, a direct call and a refused plan, rendered as MCP tool results."""

from __future__ import annotations

import json
from array import array
from collections.abc import Iterator
from typing import Any

import mcp_types

from .. import DagexecError, ExecutionResult, JournalFailedError, PlanError, TaskError, TaskResult
from .._approval import shortened
from .._results import task_result_dict
from ._outputs import REPLY_LIMIT, OutputFile, OutputStore, part_count


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


#: Tasks that did not succeed, listed at most in a summary and in a reply that keeps the run as resources.
LISTED = 20

#: Characters of an error message shown at most in those lists (the run's resources have them whole).
MESSAGE_SHOWN = 300


def _failed(result: ExecutionResult) -> list[tuple[TaskResult, TaskError]]:
    """Each task that did not succeed, with its error, in the plan's order."""
    return [(r, r.error) for r in result.results if r.error is not None]


def summary_text(result: ExecutionResult, *, journal_error: str | None = None) -> str:
    """A short text summary of a run: its counts, wall time and critical path, and the tasks that did not succeed.

    Bounded whatever the plan: the first :data:`LISTED` tasks that did not
    succeed, each message shortened to :data:`MESSAGE_SHOWN` characters, and a
    critical path of more than :data:`LISTED` tasks shown by its ends.
    ``journal_error`` (why the journal failed mid-run) is its first line.
    """
    path = list(result.critical_path)
    if len(path) > LISTED:
        path = [*path[: LISTED // 2], f"({len(path) - LISTED} more)", *path[-LISTED // 2 :]]
    lines = [] if journal_error is None else [journal_error]
    lines.append(
        f"{len(result.results)} tasks: "
        + ", ".join(f"{n} {s.value}" for s, n in result.counts.items() if n)
        + f"; {result.wall_time:.3f}s wall, critical path {' -> '.join(path)} "
        f"({result.critical_path_time:.3f}s)"
    )
    failed = _failed(result)
    for r, error in failed[:LISTED]:
        lines.append(
            f"task {r.task_id!r} {r.status.value}: {error.code.value}: {shortened(error.message, MESSAGE_SHOWN)}"
        )
    if len(failed) > LISTED:
        lines.append(f"and {len(failed) - LISTED} more tasks that did not succeed")
    return "\n".join(lines)


def _fits(reply: mcp_types.CallToolResult) -> bool:
    """Whether ``reply``'s JSON, as the SDK sends it, is at most :data:`~dagexec.serve._outputs.REPLY_LIMIT` bytes."""
    return len(reply.model_dump_json(by_alias=True, exclude_none=True).encode()) <= REPLY_LIMIT


#: Resource links in a reply's content at most; the structured content lists every part.
LINKS_SHOWN = 100

#: Characters counted for the URI of each part of an output kept as a resource (they take fewer).
_URI_SIZE = 64


def reply_fits(result: ExecutionResult) -> tuple[bool, bool]:
    """Whether ``run_workflow``'s reply may fit whole, and whether it may with the outputs kept as resources.

    Measured from each task's JSON, and stopped as soon as neither can: a
    large plan's is known from its first tasks, and its data is never built
    whole. Both are then checked on the reply itself.
    """
    whole = kept = 0
    for r in result.results:
        task = json_ready(task_result_dict(r))
        output = task.pop("output")
        rest = len(json.dumps(task)) + 2
        size = 4 if output is None else len(json.dumps(output))
        whole += rest + size + 12
        kept += rest + 20 + (0 if output is None else _URI_SIZE * part_count(size))
        if 2 * whole > REPLY_LIMIT and kept > REPLY_LIMIT:  # whole, the reply holds the text and the data
            return False, False
    return 2 * whole <= REPLY_LIMIT, kept <= REPLY_LIMIT


def run_data(result: ExecutionResult, *, journal_error: str | None = None) -> dict[str, Any]:
    """What ``run_workflow`` answers of a run: that of ``dagexec run --json``, less the plan, which the client sent.

    ``journal_error``: why the journal failed mid-run, which stopped the run.
    """
    data: dict[str, Any] = json_ready(result.to_dict(workflow=False))
    if journal_error is not None:
        data["journal_error"] = journal_error
    return data


def run_reply(data: dict[str, Any], summary: str) -> mcp_types.CallToolResult | None:
    """``run_workflow``'s answer, whole: the run's data (:func:`run_data`) as structured content, and as text after
    a summary; None when it would be over :data:`~dagexec.serve._outputs.REPLY_LIMIT` bytes.
    """
    reply = mcp_types.CallToolResult(
        content=[text_block(summary), text_block(json.dumps(data))], structured_content=data
    )
    return reply if _fits(reply) else None


def write_outputs(data: dict[str, Any], outputs: OutputFile) -> int:
    """Write each task's output of a run's data to ``outputs``, and put in its place the URIs of its parts.

    Each task's ``output`` becomes null, and one that had an output gets
    ``output_parts``. Runs in a worker thread (see :meth:`OutputStore.put
    <dagexec.serve._outputs.OutputStore.put>`): the data is the caller's, not
    the loop's, until it is done. Returns the number of parts.
    """
    total = 0
    for n, task in enumerate(data["results"]):  # output n is task n's, none for a task without one
        output, task["output"] = task["output"], None
        parts = outputs.add([] if output is None else [json.dumps(output)])
        if parts:
            task["output_parts"] = outputs.uris(n, parts)
            total += parts
    return total


def kept_run_reply(
    data: dict[str, Any], summary: str, parts: int | OSError, outputs: OutputStore
) -> mcp_types.CallToolResult | None:
    """``run_workflow``'s answer with each output kept as resources (see :func:`write_outputs`): the run, once.

    The content is the summary and links to the first :data:`LINKS_SHOWN`
    parts. ``parts`` is the error when the outputs could not be kept (a full
    disk): the reply says so. None when even this would be over
    :data:`~dagexec.serve._outputs.REPLY_LIMIT` bytes.
    """
    if isinstance(parts, OSError):  # its file is gone: no task keeps the parts written before the error
        for task in data["results"]:
            task["output"] = None
            task.pop("output_parts", None)
        note = f"\nthe reply would be over {REPLY_LIMIT} bytes, and the outputs could not be kept: {parts}"
        return mcp_types.CallToolResult(content=[text_block(summary + note)], structured_content=data)
    links: list[mcp_types.ResourceLink] = []
    for task in data["results"]:
        if "output_parts" in task and len(links) < LINKS_SHOWN:
            named = _links(task["output_parts"], f"the output of task {task['task_id']!r}", outputs)
            links += named[: LINKS_SHOWN - len(links)]
    shown = f"; the first {len(links)} are linked here" if len(links) < parts else ""
    note = (
        f"\nthe reply would be over {REPLY_LIMIT} bytes: the outputs are resources "
        f"({parts} parts, each task's output_parts{shown}), to read with resources/read"
    )
    reply = mcp_types.CallToolResult(content=[text_block(summary + note), *links], structured_content=data)
    return reply if _fits(reply) else None


def write_run(result: ExecutionResult, outputs: OutputFile, *, journal_error: str | None = None) -> list[str]:
    """Write a run to ``outputs``: each task's output (output ``n`` is task ``n``'s), then the run's data.

    The run's data is that of :func:`run_data`, each task's ``output`` null
    and its ``output_parts`` the URIs of its output's parts (as
    :func:`write_outputs` leaves it); it is the last output, and is written a
    task at a time, never held whole. Runs in a worker thread. Returns the
    URIs of the run's data's parts.
    """
    counts = array("q")
    for r in result.results:
        counts.append(outputs.add([] if r.output is None else [json.dumps(json_ready(r.output))]))  # none: 0 parts
    figures = json_ready(result.to_dict(workflow=False, results=False))
    if journal_error is not None:
        figures["journal_error"] = journal_error
    keys = list(figures)
    before = {key: figures[key] for key in keys[: keys.index("errors")]}
    after = {key: figures[key] for key in keys[keys.index("errors") :]}

    def pieces() -> Iterator[str]:
        yield json.dumps(before)[:-1] + ', "results": ['
        for n, r in enumerate(result.results):
            task = task_result_dict(r)
            task["output"] = None  # written above, as output n
            task = json_ready(task)
            if counts[n]:
                task["output_parts"] = outputs.uris(n, counts[n])
            yield (", " if n else "") + json.dumps(task)
        yield "], " + json.dumps(after)[1:]

    return outputs.uris(len(result.results), outputs.add(pieces()))


def run_kept_reply(
    result: ExecutionResult,
    summary: str,
    parts: list[str] | OSError,
    outputs: OutputStore,
    *,
    journal_error: str | None = None,
) -> mcp_types.CallToolResult:
    """``run_workflow``'s answer when even the statuses are too many for one reply: the run kept as resources.

    The structured content holds the run's figures (``ok``, ``counts``,
    ``wall_time``, ``critical_path_time``...), ``tasks``, the first
    :data:`LISTED` tasks that did not succeed (``not_succeeded``: each one's
    id, status and error, its message shortened), and ``run_parts``: the URIs
    of the run's data's parts (see :func:`write_run`), linked from the
    content, which read and joined in order are the whole run's JSON. ``parts``
    is the error when the run could not be kept (a full disk): the reply says so.
    """
    figures = json_ready(result.to_dict(workflow=False, results=False))
    data: dict[str, Any] = {key: figures[key] for key in _KEPT_FIGURES}
    data["tasks"] = len(result.results)
    data["not_succeeded"] = [
        {
            "task_id": r.task_id,
            "status": r.status.value,
            "error": {"code": error.code.value, "message": shortened(error.message, MESSAGE_SHOWN)},
        }
        for r, error in _failed(result)[:LISTED]
    ]
    if journal_error is not None:
        data["journal_error"] = journal_error
    if isinstance(parts, OSError):
        note = f"\nthe reply would be over {REPLY_LIMIT} bytes, and the run's data could not be kept: {parts}"
        return mcp_types.CallToolResult(content=[text_block(summary + note)], structured_content=data)
    data["run_parts"] = parts
    links = _links(parts[:LINKS_SHOWN], "the run's data", outputs, of=len(parts))
    shown = f"; the first {len(links)} are linked here" if len(links) < len(parts) else ""
    note = (
        f"\nthe reply would be over {REPLY_LIMIT} bytes even without the outputs: the run's data, as dagexec run "
        f"--json writes it less the plan, is a resource ({len(parts)} parts, run_parts{shown}; each task's "
        "output_parts), to read with resources/read and join in order"
    )
    return mcp_types.CallToolResult(content=[text_block(summary + note), *links], structured_content=data)


#: The run's figures a reply that keeps the run as resources carries (those whose size does not grow with the plan).
_KEPT_FIGURES = (
    "strategy",
    "ok",
    "wall_time",
    "speedup",
    "parallelization_layers",
    "critical_path_time",
    "counts",
    "stop_reason",
)


def _links(uris: list[str], name: str, outputs: OutputStore, *, of: int | None = None) -> list[mcp_types.ResourceLink]:
    """A resource link to each part, named after ``name`` and its number (of ``of`` parts, else of ``len(uris)``)."""
    return [
        mcp_types.ResourceLink(
            type="resource_link",
            uri=uri,
            name=f"{name} (part {number} of {of or len(uris)})",
            mime_type="application/json",
            size=outputs.part_size(uri),
        )
        for number, uri in enumerate(uris, 1)
    ]


def call_reply(result: TaskResult) -> tuple[mcp_types.CallToolResult | None, Any]:
    """A direct call's answer, and its JSON-ready output: the output structured when an object; as text, a string
    as it is, else its JSON.

    A task that failed is ``isError``, with its error code and message. The
    answer is None when it would be over
    :data:`~dagexec.serve._outputs.REPLY_LIMIT` bytes (see :func:`kept_call_reply`).
    """
    if result.error is not None:
        error = f"{result.error.code.value}: {result.error.message}"
        return mcp_types.CallToolResult(content=[text_block(error)], is_error=True), None
    output = json_ready(result.output)
    text = output if isinstance(output, str) else json.dumps(output)
    reply = mcp_types.CallToolResult(
        content=[text_block(text)], structured_content=output if isinstance(output, dict) else None
    )
    return (reply if _fits(reply) else None), output


def kept_call_reply(parts: list[str] | OSError, outputs: OutputStore) -> mcp_types.CallToolResult:
    """A direct call's answer when its output is too large for one: links to the output's parts, kept in ``outputs``."""
    if isinstance(parts, OSError):
        note = f"the reply would be over {REPLY_LIMIT} bytes, and the output could not be kept: {parts}"
        return mcp_types.CallToolResult(content=[text_block(note)], is_error=True)
    note = f"the reply would be over {REPLY_LIMIT} bytes: read the output's {len(parts)} parts as resources"
    return mcp_types.CallToolResult(content=[text_block(note), *_links(parts, "the output", outputs)])


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
