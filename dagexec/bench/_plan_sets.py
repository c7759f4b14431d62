"""Published planners' plans as dagexec plan graphs: the converter, and the sets vendored beside it.

A *plan graph* is a dagexec workflow reduced to its shape: task ids, tools and
dependencies, no arguments (no prompts, no user data). The converter reads three
kinds of record, and tells them apart by their keys:

- **dagexec**: ``{"tasks": [...]}``, a workflow as ``dagexec run`` takes it; its
  dependencies are ``depends_on`` and the tasks its ``$OUTPUT[...]`` references
  name.
- **NESTFUL** (IBM, arXiv:2409.03797): ``{"output": [{"name", "arguments",
  "label"}, ...]}``. A call's argument ``"$var1.skyId$"`` reads the output of the
  call labelled ``var1``: that is ``"$OUTPUT[var1].skyId"`` in dagexec, and an
  edge. A label names the latest call before the reference that has it (a few
  gold plans give two calls one label, as a program assigns a variable twice).
  The last element, ``var_result``, gathers the answer: it is no tool call, and
  is dropped.
- **TaskBench** (microsoft/JARVIS, arXiv:2311.18760): a line of its
  ``data.json``, ``{"type", "task_nodes": [{"task", ...}], "task_links":
  [{"source", "target"}]}``. A node's id is its ``task`` (TaskBench's links name
  nodes by it), and each link is an edge.

A file holds such records as a JSON list, as JSON lines, or as an object whose
``"plans"`` is the list (the vendored files' form). Its plans form one set,
named after the file; TaskBench records form one set per ``type`` (``single``,
``chain``, ``dag``). A record that is not a plan (a link to a node that is not
there, a reference to no earlier call, a cycle) is skipped, and the set says so
with the reason: published gold data has such records, and one must not make a
whole file unusable.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs

from .. import DagexecError, PlanError, Workflow

#: The sets vendored with dagexec (see ``plans/NOTICE``), in the order a report shows them.
VENDORED_SETS = ("nestful-executable", "nestful-sgd", "nestful-glaive")

PLANS_DIR = Path(__file__).parent / "plans"

#: The largest plans file read (bytes), and the most tasks a plan may have: a
#: benchmark runs each plan some twenty times, and a file is read whole.
MAX_FILE_BYTES = 64 * 1024 * 1024
MAX_TASKS = 10_000

# NESTFUL's reference: "$var1$", "$var1.skyId$", "$var_1.result$" (data v2).
_NESTFUL_REF = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)(?:\.[^$]*)?\$")


class PlansFileError(DagexecError, ValueError):
    """A plans file that cannot be read as plans.

    Attributes:
        path: The file.
        problem: What is wrong with it.
    """

    def __init__(self, path: str, problem: str) -> None:
        self.path = path
        self.problem = problem
        super().__init__(f"cannot read plans {path!r}: {problem}")


class NotAPlan(ValueError):
    """One record that is not a plan; the set skips it and keeps the reason."""


@attrs.frozen(kw_only=True)
class PlanSet:
    """A named set of plan graphs, and the records of its source that were skipped.

    Attributes:
        name: The set's name (``nestful-executable``, or a file's stem).
        plans: The plans, each ``{"id": ..., "tasks": [{"id", "tool", "depends_on"}, ...]}``.
        skipped: One line per record that is not a plan: its position and why.
    """

    name: str
    plans: tuple[Mapping[str, Any], ...] = attrs.field(converter=tuple[Mapping[str, Any], ...])
    skipped: tuple[str, ...] = attrs.field(default=(), converter=tuple[str, ...])

    def workflows(self) -> list[tuple[str, Workflow]]:
        """Each plan's id and its workflow (checked: ids, dependencies, no cycle)."""
        return [(plan["id"], Workflow.from_dict({"tasks": plan["tasks"]})) for plan in self.plans]


def _task(task_id: str, tool: str, depends_on: Sequence[str]) -> dict[str, Any]:
    return {"id": task_id, "tool": tool, "depends_on": list(dict.fromkeys(depends_on))}


def _strings(value: Any) -> Iterator[str]:
    """Every string in a JSON value, in order (iteratively: a deep value must not exhaust the stack)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            yield item
        elif isinstance(item, Mapping):
            stack.extend(reversed(list(item.values())))
        elif isinstance(item, list):
            stack.extend(reversed(item))


def from_nestful(record: Mapping[str, Any]) -> list[dict[str, Any]]:
    """A NESTFUL gold sequence's calls as plan-graph tasks (see the module's docstring)."""
    calls = record["output"]
    if not isinstance(calls, list):
        raise NotAPlan("'output' is not a list of calls")
    tasks: list[dict[str, Any]] = []
    latest: dict[str, str] = {}  # label -> the id of the latest call that has it
    for position, call in enumerate(calls):
        if not isinstance(call, Mapping) or not isinstance(call.get("name"), str):
            raise NotAPlan(f"call {position} has no name")
        if call["name"] == "var_result":  # the answer, gathered from the calls: not a call
            continue
        label = call.get("label")
        depends_on = []
        for text in _strings(call.get("arguments", {})):
            for name in _NESTFUL_REF.findall(text):
                if name not in latest:
                    raise NotAPlan(f"call {position} ({call['name']}) reads ${name}$, which no earlier call is")
                depends_on.append(latest[name])
        task_id = label if isinstance(label, str) and label and label not in latest else f"call{position}"
        tasks.append(_task(task_id, f"nestful:{call['name']}", depends_on))
        if isinstance(label, str) and label:
            latest[label] = task_id
    return tasks


def from_taskbench(record: Mapping[str, Any]) -> list[dict[str, Any]]:
    """A TaskBench sample's nodes and links as plan-graph tasks (see the module's docstring)."""
    nodes, links = record["task_nodes"], record.get("task_links", [])
    if not isinstance(nodes, list) or not isinstance(links, list):
        raise NotAPlan("'task_nodes' and 'task_links' must be lists")
    names: list[str] = []
    for position, node in enumerate(nodes):
        name = node.get("task") if isinstance(node, Mapping) else None
        if not isinstance(name, str) or not name:
            raise NotAPlan(f"node {position} has no task")
        names.append(name)
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise NotAPlan(f"nodes {', '.join(map(repr, repeated))} appear twice: links could not tell them apart")
    depends: dict[str, list[str]] = {name: [] for name in names}
    for position, link in enumerate(links):
        if not isinstance(link, Mapping):
            raise NotAPlan(f"link {position} is not an object")
        source, target = link.get("source"), link.get("target")
        for end in (source, target):
            if not isinstance(end, str) or end not in depends:
                raise NotAPlan(f"link {position} names {end!r}, which is no node")
        depends[str(target)].append(str(source))
    return [_task(name, f"taskbench:{name}", depends[name]) for name in names]


def from_workflow(record: Mapping[str, Any]) -> list[dict[str, Any]]:
    """A dagexec workflow's tasks as plan-graph tasks: their tools and every dependency."""
    try:
        workflow = Workflow.from_dict({"tasks": record["tasks"]})
    except PlanError as exc:  # every problem, on one line
        raise NotAPlan("; ".join(str(problem) for problem in exc.problems)) from None
    except DagexecError as exc:
        raise NotAPlan(str(exc).replace("\n", " ")) from None
    return [_task(t.id, t.tool, t.dependencies) for t in workflow.tasks]


def plan_graph(record: Any) -> tuple[str, list[dict[str, Any]]]:
    """One record's kind and its plan-graph tasks.

    Raises:
        NotAPlan: The record is of no known kind, or not a plan.
    """
    if not isinstance(record, Mapping):
        raise NotAPlan("not a JSON object")
    if "tasks" in record:
        kind, tasks = "dagexec", from_workflow(record)
    elif "output" in record:
        kind, tasks = "nestful", from_nestful(record)
    elif "task_nodes" in record:
        kind, tasks = f"taskbench-{record.get('type', 'unknown')}", from_taskbench(record)
    else:
        raise NotAPlan(
            "neither a dagexec workflow ('tasks'), a NESTFUL sequence ('output') nor a TaskBench sample ('task_nodes')"
        )
    if not tasks:
        raise NotAPlan("no tool call")
    if len(tasks) > MAX_TASKS:
        raise NotAPlan(f"{len(tasks)} tasks, more than {MAX_TASKS}")
    try:  # ids, dependencies and cycles, as a run checks them
        Workflow.from_dict({"tasks": tasks})
    except PlanError as exc:  # every problem, on one line
        raise NotAPlan("; ".join(str(problem) for problem in exc.problems)) from None
    except DagexecError as exc:
        raise NotAPlan(str(exc).replace("\n", " ")) from None
    return kind, tasks


def _records(path: str, text: str) -> list[Any]:
    stripped = text.lstrip()
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        if not stripped.startswith("{"):
            raise PlansFileError(path, "neither JSON nor JSON lines") from None
        data = None
    except RecursionError:
        raise PlansFileError(path, "JSON nested too deeply to read") from None
    if data is None:  # JSON lines
        records = []
        for number, line in enumerate(text.splitlines(), 1):
            if line.strip():
                try:
                    records.append(json.loads(line))
                except (json.JSONDecodeError, RecursionError) as exc:
                    raise PlansFileError(path, f"line {number} is not JSON: {exc}") from None
        return records
    if isinstance(data, Mapping) and isinstance(data.get("plans"), list):
        return list(data["plans"])
    if isinstance(data, list):
        return data
    return [data]  # one record


def read_plans(path: str | Path, *, name: str | None = None) -> list[PlanSet]:
    """Read a file of plans (dagexec, NESTFUL or TaskBench records) as plan sets.

    Args:
        path: The file: a JSON list of records, JSON lines, or ``{"plans": [...]}``.
        name: The set's name (default: the file's name without its suffix).

    Returns:
        One set, or one per TaskBench ``type``; records that are not plans are
        in each set's ``skipped``.

    Raises:
        PlansFileError: The file cannot be read, is too large, is not JSON, or
            holds no plan at all.
    """
    shown = str(path)
    file = Path(path)
    try:
        if file.stat().st_size > MAX_FILE_BYTES:
            raise PlansFileError(shown, f"larger than {MAX_FILE_BYTES // 2**20} MiB")
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise PlansFileError(shown, exc.strerror or str(exc)) from None
    except UnicodeDecodeError as exc:
        raise PlansFileError(shown, f"not UTF-8 text ({exc.reason})") from None
    base = name or file.stem
    sets: dict[str, tuple[list[dict[str, Any]], list[str]]] = {}
    skipped: list[str] = []
    for position, record in enumerate(_records(shown, text)):
        plan_id = record.get("id") if isinstance(record, Mapping) else None
        plan_id = str(plan_id) if isinstance(plan_id, (str, int)) and not isinstance(plan_id, bool) else str(position)
        try:
            kind, tasks = plan_graph(record)
        except NotAPlan as exc:
            skipped.append(f"record {position} ({plan_id}): {exc}")
            continue
        set_name = f"{base}-{kind.removeprefix('taskbench-')}" if kind.startswith("taskbench-") else base
        sets.setdefault(set_name, ([], []))[0].append({"id": plan_id, "tasks": tasks})
    if not sets:
        reason = f": {skipped[0]}" if skipped else ""
        raise PlansFileError(shown, f"no plan in it{reason}")
    found = [PlanSet(name=n, plans=plans, skipped=[]) for n, (plans, _) in sets.items()]
    # A skipped record belongs to no set: the first set reports them.
    return [attrs.evolve(found[0], skipped=skipped), *found[1:]]


def vendored_sets() -> list[PlanSet]:
    """The plan sets vendored with dagexec (NESTFUL's gold plans; see ``plans/NOTICE``)."""
    return [read_plans(PLANS_DIR / f"{name}.json", name=name)[0] for name in VENDORED_SETS]
