"""Each tool's schemas, and their validators: compiled once by jsonschema-rs, shared by content. No trio, no I/O.

A schema is compiled when its server lists its tools (:func:`prepare`), and
each validator is kept, in a bounded cache, by the SHA-256 of its schema's
canonical JSON text (:func:`compiled`): every run and every gateway plan shares
it. A schema that does not compile is dropped, with one
:class:`~dagexec.SchemaWarning`.
"""

from __future__ import annotations

import hashlib
import json
import warnings
from collections import OrderedDict
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import attrs

from .._errors import SchemaWarning

if TYPE_CHECKING:  # imported where the first schema is compiled: importing dagexec does not pay for it
    import jsonschema_rs

Schema = Mapping[str, Any]


@attrs.frozen
class ToolSchemas:
    """What a tool takes and gives, as JSON schemas; None where the server declares none.

    Attributes:
        input: The schema of the tool's arguments (an MCP tool's ``inputSchema``).
        output: The schema of the tool's output (an MCP tool's ``outputSchema``,
            which describes its structured content).
    """

    input: Schema | None = None
    output: Schema | None = None


#: How many compiled schemas are kept (the least recently used goes first)...
CACHE_SIZE = 1024
#: ...and how many bytes of schema text they may add up to.
CACHE_BYTES = 64_000_000


@attrs.frozen
class Compiled:
    """A schema's validator, or why the schema does not compile."""

    validator: jsonschema_rs.Validator | None
    reason: str | None = None


#: Each schema's validator, and its size, by the SHA-256 of its canonical JSON text.
_by_content: OrderedDict[bytes, tuple[Compiled, int]] = OrderedDict()
_content_bytes = 0
#: The same, by the identity of a schema object (kept alive here, so its id is not reused):
#: a server's schemas are compiled when it lists its tools, and every executor finds them
#: without writing them out again.
_by_identity: OrderedDict[int, tuple[object, Compiled, int]] = OrderedDict()
_identity_bytes = 0


def _refuse(uri: str) -> Any:
    """The validators' retriever: dagexec never fetches a schema, from the network or a file."""
    raise ValueError(f"{uri} is not fetched (dagexec reads no remote schema)")


def _compile(schema: Schema) -> Compiled:
    import jsonschema_rs

    try:
        # Formats are annotations, as for jsonschema by default: "format" asserts nothing.
        validator = jsonschema_rs.validator_for(dict(schema), retriever=_refuse, validate_formats=False)
    except (ValueError, jsonschema_rs.ReferencingError, RecursionError) as exc:
        reason = str(exc).strip().split("\n", 1)[0] or type(exc).__name__
        where = getattr(exc, "instance_path", None)  # of a schema that breaks the draft's meta-schema
        return Compiled(None, f"at /{'/'.join(map(str, where))}: {reason}" if where else reason)
    return Compiled(validator)


def compiled(schema: Schema) -> Compiled:
    """The validator of a schema: compiled on first sight, then shared by content.

    At most :data:`CACHE_SIZE` are kept, of :data:`CACHE_BYTES` of schema text
    in all. A remote ``$ref`` is never fetched: a schema that needs one does
    not compile.
    """
    global _content_bytes, _identity_bytes
    entry = _by_identity.get(id(schema))
    if entry is not None and entry[0] is schema:
        return entry[1]
    try:
        text = json.dumps(schema, sort_keys=True, separators=(",", ":"), allow_nan=False).encode()
    except (TypeError, ValueError, RecursionError) as exc:
        found, text = Compiled(None, f"not JSON: {exc}"), b""
    else:
        key = hashlib.sha256(text).digest()
        cached = _by_content.get(key)
        if cached is None:
            found = _compile(schema)
            _by_content[key] = (found, len(text))
            _content_bytes += len(text)
            while len(_by_content) > 1 and (len(_by_content) > CACHE_SIZE or _content_bytes > CACHE_BYTES):
                _content_bytes -= _by_content.popitem(last=False)[1][1]
        else:
            found = cached[0]
            _by_content.move_to_end(key)
    _by_identity[id(schema)] = (schema, found, len(text))
    _identity_bytes += len(text)
    while len(_by_identity) > 1 and (len(_by_identity) > CACHE_SIZE or _identity_bytes > CACHE_BYTES):
        _identity_bytes -= _by_identity.popitem(last=False)[1][2]
    return found


def prepare(server: str, tools: Mapping[str, ToolSchemas]) -> dict[str, ToolSchemas]:
    """Compile each schema of a server's tools; drop, with one warning each, those that do not compile.

    Called when a server lists its tools, so that no plan pays for compiling.

    Returns:
        The tools' schemas, each that does not compile replaced by None: the
        tool is treated as having no such schema.
    """
    kept: dict[str, ToolSchemas] = {}
    for name, tool in tools.items():
        given = {"input": tool.input, "output": tool.output}
        for which, schema in list(given.items()):
            if schema is None:
                continue
            found = compiled(schema)
            if found.reason is not None:
                warnings.warn(SchemaWarning(server, name, which, found.reason), stacklevel=2)
                given[which] = None
        kept[name] = tool if given == {"input": tool.input, "output": tool.output} else ToolSchemas(**given)
    return kept
