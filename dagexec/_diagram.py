"""A workflow as diagram text: Mermaid and Graphviz DOT, with nothing extra installed.

Each task is a box with its id over its tool; each dependency an arrow from the
task that must finish first. Text from the workflow (ids, tools) is escaped for
each language, so an id with quotes, brackets or HTML cannot break the diagram
or inject markup into it. The picture of the same graph is
:func:`dagexec.plot.plan_figure` (the ``plot`` extra).
"""

from __future__ import annotations

from ._workflow import Workflow

__all__ = ["to_dot", "to_mermaid"]

# Mermaid labels are HTML-ish text between double quotes: only these characters
# go in as they are; every other one as an entity code, "#<decimal>;", which
# Mermaid turns back into the character.
_MERMAID_PLAIN = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 _-.:/,")


def _mermaid_text(text: str) -> str:
    return "".join(c if c in _MERMAID_PLAIN else f"#{ord(c)};" for c in text)


def to_mermaid(workflow: Workflow, *, direction: str = "LR") -> str:
    """The workflow as a Mermaid flowchart (paste it into Markdown, GitHub, or mermaid.live).

    Nodes are named ``t0``, ``t1``, ... in workflow order (task ids may hold
    characters Mermaid's node names cannot); each shows its task's id and tool.

    Args:
        workflow: The plan.
        direction: ``"LR"`` (left to right, the default), ``"TB"``, ``"RL"`` or ``"BT"``.

    Returns:
        The flowchart's text, ending in a newline.

    Raises:
        ValueError: An unknown ``direction``.
    """
    if direction not in ("LR", "TB", "RL", "BT"):
        raise ValueError(f"direction must be 'LR', 'TB', 'RL' or 'BT', not {direction!r}")
    names = {task.id: f"t{n}" for n, task in enumerate(workflow.tasks)}
    lines = [f"flowchart {direction}"]
    for task in workflow.tasks:
        lines.append(f'    {names[task.id]}["{_mermaid_text(task.id)}<br/>{_mermaid_text(task.tool)}"]')
    for task in workflow.tasks:
        lines.extend(f"    {names[dep]} --> {names[task.id]}" for dep in task.dependencies)
    return "\n".join(lines) + "\n"


def _dot_string(text: str) -> str:
    """A DOT quoted string: backslashes and quotes escaped; control characters as ``\\xNN`` text."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return '"' + "".join(c if c.isprintable() else f"\\\\x{ord(c):02x}" for c in escaped) + '"'


def to_dot(workflow: Workflow, *, name: str = "plan") -> str:
    """The workflow as a Graphviz DOT digraph (``dot -Tsvg plan.dot > plan.svg``).

    Args:
        workflow: The plan.
        name: The graph's name.

    Returns:
        The digraph's text, ending in a newline.
    """
    lines = [f"digraph {_dot_string(name)} {{", "    rankdir=LR;", "    node [shape=box];"]
    for task in workflow.tasks:
        label = _dot_string(task.id)[:-1] + "\\n" + _dot_string(task.tool)[1:]
        lines.append(f"    {_dot_string(task.id)} [label={label}];")
    for task in workflow.tasks:
        lines.extend(f"    {_dot_string(dep)} -> {_dot_string(task.id)};" for dep in task.dependencies)
    lines.append("}")
    return "\n".join(lines) + "\n"
