"""Typed plans: each call checked against its tool's JSON schemas. No trio, no I/O.

A tool server may publish each tool's input and output schema
(:class:`ToolSchemas`). Each schema is compiled once, by ``jsonschema-rs``, into
a validator that every run and every gateway plan shares (:func:`compiled`,
keyed by the schema's content), when its server lists its tools
(:func:`prepare`). Before a run, :meth:`SchemaCheck.plan_problems` checks every
task of a plan at once, within a time budget:

- its literal arguments against the tool's input schema (the draft the schema
  names; 2020-12 when it names none); where a reference stands for a whole
  value, a JSON placeholder stands in, and the errors at and under it are set
  aside;
- each ``$OUTPUT[...]`` reference against the output schema of the task it
  reads: a path that schema does not declare is a problem wherever the
  reference stands, and a whole-value reference must share a JSON type with
  what the argument it stands for accepts (a reference inside a longer string
  is a string, checked as such).

While a run goes on, :meth:`SchemaCheck.call_problems` checks a task's resolved
arguments before its call, as the JSON they become: what no output schema
could tell in advance.

One job per module:

- ``validators``: :class:`ToolSchemas`, and their validators, compiled and shared by content;
- ``arguments``: a task's arguments as the check sees them (JSON, placeholders, shapes);
- ``walk``: the types a path of a schema gives or takes;
- ``messages``: a validator's errors in dagexec's words;
- ``check``: :class:`SchemaCheck`, the check of a plan and of each call.
"""

from .arguments import to_json as to_json
from .check import SchemaCheck as SchemaCheck
from .validators import ToolSchemas as ToolSchemas
from .validators import compiled as compiled
from .validators import prepare as prepare
from .walk import MAX_BRANCHES as MAX_BRANCHES

__all__ = ["MAX_BRANCHES", "SchemaCheck", "ToolSchemas", "compiled", "prepare", "to_json"]
