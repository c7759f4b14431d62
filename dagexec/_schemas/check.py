"""The check of a plan, and of each call, against its tools' schemas: :class:`SchemaCheck`. No trio, no I/O."""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, cast

from .._errors import ArgumentProblem
from .._json_words import kinds
from .._refs import _reference
from .._workflow import Task
from .arguments import _PLAIN, Place, _shape, arguments_as_checked, as_json
from .messages import _path, _problems
from .validators import ToolSchemas, compiled, prepare
from .walk import Types, _accepted, _output_types, _placeholder, _share, _Undeclared, _union_types

if TYPE_CHECKING:
    import jsonschema_rs


def _under(path: tuple[object, ...], place: tuple[object, ...]) -> bool:
    return path[: len(place)] == place


#: Keywords that judge an object's or array's shape, not the values in it: their
#: errors hold above a reference, whatever it turns out to be (``dependentRequired``
#: is reported as ``required``).
_SHAPE = frozenset(
    {"type", "required", "additionalProperties", "propertyNames", "minProperties", "maxProperties",
     "minItems", "maxItems", "unevaluatedProperties"}
)  # fmt: skip

#: Stands for the id of the task a reference reads, in the messages kept for each path.
_ANY_TASK = "\x00"
_ANONYMOUS = f"$OUTPUT[{_ANY_TASK}]"
_UNSEEN: Any = object()


#: A problem found: where, what, and the id of the task a reference reads (None: not a reference's).
Found = tuple[tuple[object, ...], str, "str | None"]

#: How many worked-out verdicts, types and placeholders a check keeps (past it, it starts again).
MEMO_SIZE = 4096


class _Tool:
    """One tool's schemas, its shared validator, and the placeholders for references in its arguments."""

    __slots__ = ("input", "name", "output", "placeholders", "validator")

    def __init__(self, name: str, schemas: ToolSchemas, validator: jsonschema_rs.Validator | None) -> None:
        self.name = name
        self.input = schemas.input
        self.output = schemas.output
        self.validator = validator
        self.placeholders: dict[tuple[object, ...], Any] = {}

    def placeholder(self, path: tuple[object, ...]) -> Any:
        found = self.placeholders.get(path, _UNSEEN)
        if found is _UNSEEN:
            if len(self.placeholders) >= MEMO_SIZE:
                self.placeholders.clear()
            found = self.placeholders[path] = _placeholder(_accepted(self.input, path)) if self.input else None
        return found


def _input_validator(tool: ToolSchemas) -> jsonschema_rs.Validator | None:
    return compiled(tool.input).validator if tool.input is not None else None


def _no_placeholder(path: tuple[object, ...]) -> Any:
    return None


class SchemaCheck:
    """The schemas of every tool of an executor's servers, and the checks that use them.

    Args:
        schemas: Each server's tools, by name, with their :class:`ToolSchemas`.
            Each schema that does not compile is ignored, with a
            :class:`~dagexec.SchemaWarning` (see :func:`prepare`; a server that
            already prepared its schemas is not warned about twice).
    """

    def __init__(self, schemas: Mapping[str, Mapping[str, ToolSchemas]]) -> None:
        self._schemas = {
            f"{server}:{name}": tool
            for server, tools in schemas.items()
            for name, tool in prepare(server, tools).items()
            if tool.input is not None or tool.output is not None
        }
        self._tools: dict[str, _Tool] = {}
        # Each tool's input validator (None: it has none), looked up once per task of literal arguments.
        self._validators = {name: _input_validator(tool) for name, tool in self._schemas.items()}
        # What each output path gives, and each argument path takes: the same few, for many tasks.
        self._given: dict[tuple[str, str], Types | str] = {}
        self._verdicts: dict[tuple[str, str, str, tuple[object, ...], bool], str | None] = {}

    def __bool__(self) -> bool:
        """Whether any tool has a schema: without one, there is nothing to check."""
        return bool(self._schemas)

    def _tool(self, tool: str) -> _Tool | None:
        found = self._tools.get(tool)
        if found is None:
            schemas = self._schemas.get(tool)
            if schemas is None:
                return None
            found = self._tools[tool] = _Tool(tool, schemas, self._validators[tool])
        return found

    def plan_problems(
        self, tasks: Iterable[Task], producer: Callable[[str], Task | None], *, budget: float | None = None
    ) -> list[ArgumentProblem]:
        """Every problem of the tasks' arguments, task by task.

        Args:
            tasks: The tasks to check.
            producer: Gives the task of an id that a reference names (None if unknown).
            budget: Seconds the whole check may take (None: no limit). Past it,
                the check stops, and the task it reached is a problem that names
                its tool and its largest argument.
        """
        problems: list[ArgumentProblem] = []
        schemas = self._schemas
        validators = self._validators
        clock = time.perf_counter
        deadline = math.inf if budget is None else clock() + budget
        # What tasks of one shape found (the same tool, literals and reference paths, other
        # ids), for this plan only: a plan repeats a few shapes many times.
        shapes: dict[tuple[object, ...], list[tuple[tuple[object, ...], str, int | None]]] = {}
        found: Sequence[Found]
        for task in tasks:
            if not task.needs_resolving:
                if task.tool not in schemas:
                    continue  # no schema, no reference: nothing to check, at the cost of one look-up
                # Literal arguments: one is_valid, and words only where they do not fit.
                validator = validators[task.tool]
                try:
                    fits = validator is None or validator.is_valid(task.arguments)
                except ValueError:  # a type it cannot read: the general way, through its JSON
                    fits = False
                found = () if fits else self._task_problems(task, producer)
            else:
                shape = _shape(task, producer)
                if shape is None:
                    found = self._task_problems(task, producer)
                else:
                    key, ids = shape
                    known = shapes.get(key)
                    if known is None:
                        # Found with the ids' positions in place of the ids, to be read with any task's ids.
                        found = self._task_problems(task, producer)
                        known = shapes[key] = [
                            (path, problem, None if i is None else ids.index(i)) for path, problem, i in found
                        ]
                    found = [(path, problem, ids[n] if n is not None else None) for path, problem, n in known]
            if found:
                problems += (
                    ArgumentProblem(
                        task.id, _path(path), problem if ref is None else problem.replace(_ANONYMOUS, f"$OUTPUT[{ref}]")
                    )
                    for path, problem, ref in sorted(found, key=lambda item: _path(item[0]))
                )
            if clock() > deadline:
                assert budget is not None
                problems.append(_over_budget(task, budget))
                break
        return problems

    def _task_problems(self, task: Task, producer: Callable[[str], Task | None]) -> list[Found]:
        """A task's problems; each of a reference names the task it reads, and says ``_ANONYMOUS`` for it."""
        tool = self._tool(task.tool)
        refs: list[Place] = []
        instance: Any = task.arguments
        if task.needs_resolving:
            instance = arguments_as_checked(
                instance, (), refs, tool.placeholder if tool is not None else _no_placeholder
            )
        found: list[Found] = []
        if tool is not None and tool.validator is not None:
            assert tool.input is not None
            validator = tool.validator
            try:
                valid = validator.is_valid(instance)
            except ValueError:  # a type it cannot read (a mapping proxy, a local tool's object)
                instance = as_json(instance)
                valid = validator.is_valid(instance)
            if not valid:
                errors = validator.iter_errors(instance)
                said = _problems((e for e in errors if not (refs and self._hidden(e, refs))), tool.input, task.tool)
                found += ((path, problem, None) for path, problem in said)
        verdicts = self._verdicts
        for path, task_id, written, whole in refs:
            source = producer(task_id)
            if source is None:
                continue
            key = (task.tool, source.tool, written, path, whole)
            verdict = verdicts.get(key, _UNSEEN)
            if verdict is _UNSEEN:
                if len(verdicts) >= MEMO_SIZE:
                    verdicts.clear()  # bounded: a gateway's executor lives long, its plans are untrusted
                verdict = verdicts[key] = self._verdict(tool, source.tool, written, path, whole)
            if verdict is not None:
                found.append((path, verdict, task_id))
        return found

    def _verdict(
        self, tool: _Tool | None, source: str, written: str, path: tuple[object, ...], whole: bool
    ) -> str | None:
        """What is wrong with a reference (to the task ``_ANY_TASK``) at ``path``; None: nothing.

        The same for every reference of one path between the same two tools, so
        it is worked out once (a plan repeats a few patterns many times).
        """
        producer = self._tool(source)
        if producer is None or producer.output is None:
            return None
        given = self._given_types(producer, written)
        if isinstance(given, str):
            return given
        if not whole or given is None or tool is None or tool.input is None:
            return None
        accepted = _union_types(_accepted(tool.input, path))
        if accepted is None or _share(given, accepted):
            return None
        return (
            f"expected {kinds(accepted)}, and {_ANONYMOUS}{written} is {kinds(given)} "
            f"(the output schema of {producer.name!r})"
        )

    def _given_types(self, producer: _Tool, written: str) -> Types | str:
        """What a reference's path (as written) gives by its producer's output schema.

        Returns:
            Its types (None: any), or the message that says the path is
            undeclared, for a reference to the task ``_ANY_TASK``.
        """
        key = (producer.name, written)
        found = self._given.get(key, _UNSEEN)
        if found is _UNSEEN:
            assert producer.output is not None
            anonymous = _reference(_ANY_TASK, written)
            try:
                found = _output_types(anonymous, producer.output, producer.name)
            except _Undeclared as exc:
                found = f"{anonymous}: {exc}"
            if len(self._given) >= MEMO_SIZE:
                self._given.clear()
            self._given[key] = found
        return cast(Types | str, found)

    @staticmethod
    def _hidden(error: jsonschema_rs.ValidationError, refs: list[Place]) -> bool:
        """Whether an error is about a reference's placeholder, not about the plan's own values."""
        path = tuple(error.instance_path)
        keyword = error.kind.name
        for place, _, _, whole in refs:
            if _under(path, place):
                if whole or keyword != "type":
                    return True  # a reference's value, or text around one: not known yet
            elif whole and _under(place, path) and keyword not in _SHAPE:
                return True  # above a reference, a keyword that reads its value (enum, oneOf...)
        return False

    def call_problems(self, task: Task, arguments: Mapping[str, Any]) -> str | None:
        """What is wrong with a task's resolved arguments, in one line; None if they fit.

        Checked after references are resolved and before the call, where the
        output schemas could not tell in advance, as the JSON the arguments
        become (see :func:`as_json`).
        """
        validator = self._validators.get(task.tool)
        if validator is None:
            return None
        # Flat arguments of exact JSON types (the usual case) are their own JSON: no copy.
        exact = type(arguments) is dict and _PLAIN.issuperset(map(type, arguments.values()))
        instance = arguments if exact else as_json(arguments)
        if validator.is_valid(instance):
            return None
        schema = self._schemas[task.tool].input
        assert schema is not None
        found = _problems(validator.iter_errors(instance), schema, task.tool)
        if not found:
            return None  # only values with no JSON form were refused: they are not judged
        return "; ".join(f"{_path(path)}: {problem}" for path, problem in found)


def _over_budget(task: Task, budget: float) -> ArgumentProblem:
    """The problem of the task a plan's check reached when its budget ran out."""

    def size(item: tuple[str, Any]) -> int:
        return len(json.dumps(item[1], default=repr))

    largest = max(task.arguments.items(), key=size, default=None)
    where = _path((largest[0],)) if largest is not None else "arguments"
    return ArgumentProblem(
        task.id,
        where,
        f"not checked: the check of the plan passed its budget of {budget:g} s at this task "
        f"(tool {task.tool!r}); the tasks after it were not checked either",
    )
