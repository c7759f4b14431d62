"""Outputs too large for one reply, kept on disk as MCP resources that the client reads one by one.

The SDK's streamable HTTP client refuses a server-sent event over 1 MiB, so a
reply larger than that never arrives. Above :data:`REPLY_LIMIT` bytes, the gateway's
reply carries the statuses and a summary, and each output becomes a resource
(``dagexec://outputs/<id>/<part>``), split into numbered parts of at most
:data:`PART_SIZE` characters, linked from the reply. The parts are files in a
temporary folder, so they cost no memory, and are removed :data:`KEEP` seconds
after they were written (or when the gateway closes), or sooner, oldest first,
when the parts kept would pass :data:`MAX_KEPT` bytes: clients that run many
large plans cannot fill the disk.
"""

from __future__ import annotations

import secrets
import shutil
import tempfile
from collections import OrderedDict
from pathlib import Path

import mcp_types
import trio
from mcp import MCPError

#: The largest reply sent whole, in bytes of its JSON: half the SDK client's 1 MiB event limit,
#: leaving room for the JSON-RPC envelope and the event's framing.
REPLY_LIMIT = 512 * 1024

#: The largest part of an output, in characters: even if every character had to be escaped
#: (``\u0001``: 6 bytes), one ``resources/read`` of it stays under the SDK client's limit.
PART_SIZE = 128 * 1024

#: Seconds an output's parts are kept for the client to read.
KEEP = 3600.0

#: Bytes of parts kept on disk at most, for every client together: past it, the oldest outputs go first.
MAX_KEPT = 1024**3

#: The MCP error code of a resource that does not exist (or no longer does).
RESOURCE_NOT_FOUND = -32002

_SCHEME = "dagexec://outputs/"


class OutputStore:
    """The outputs kept as resources: written in parts to a temporary folder, read back by URI, dropped when old.

    Args:
        keep: Seconds each output is kept.
        max_kept: Bytes of parts kept at most; the oldest outputs are dropped to
            make room for a new one (which is kept even if it alone is larger).
    """

    def __init__(self, *, keep: float = KEEP, max_kept: int = MAX_KEPT) -> None:
        self.keep = keep
        self.max_kept = max_kept
        self._folder: Path | None = None
        # Each output's id: when it was written, its bytes; oldest first. An OrderedDict, whose first
        # item is found in constant time however many were dropped before it (a dict's is not):
        # a reply of 100,000 outputs drops and puts in linear time.
        self._written: OrderedDict[str, tuple[float, int]] = OrderedDict()
        self._kept = 0  # bytes of every output in _written

    def put(self, text: str, name: str) -> list[mcp_types.ResourceLink]:
        """Keep ``text`` (an output's JSON) in parts; a link to each, named after ``name`` and its number."""
        self._drop_old()
        size = len(text.encode())
        while self._written and self._kept + size > self.max_kept:  # oldest first
            self._drop(next(iter(self._written)))
        if self._folder is None:
            self._folder = Path(tempfile.mkdtemp(prefix="dagexec-outputs-"))
        output = secrets.token_hex(8)
        folder = self._folder / output
        folder.mkdir()
        parts = [text[start : start + PART_SIZE] for start in range(0, len(text), PART_SIZE)] or [""]
        links = []
        for number, part in enumerate(parts, 1):
            (folder / str(number)).write_text(part, encoding="utf-8")
            links.append(
                mcp_types.ResourceLink(
                    type="resource_link",
                    uri=f"{_SCHEME}{output}/{number}",
                    name=f"{name} (part {number} of {len(parts)})",
                    mime_type="application/json",
                    size=len(part.encode()),
                )
            )
        self._written[output] = (trio.current_time(), size)
        self._kept += size
        return links

    def read(self, uri: str) -> mcp_types.ReadResourceResult:
        """The part at ``uri``.

        Raises:
            MCPError: No such part, or it was dropped (code -32002).
        """
        self._drop_old()
        output, _, number = uri.removeprefix(_SCHEME).partition("/")
        found = (
            uri.startswith(_SCHEME)
            and output in self._written
            and number.isdigit()
            and self._folder is not None
            and (self._folder / output / number).is_file()
        )
        if not found:
            raise MCPError(RESOURCE_NOT_FOUND, f"no output {uri!r} (outputs are kept {self.keep:g} s)")
        assert self._folder is not None
        text = (self._folder / output / number).read_text(encoding="utf-8")
        return mcp_types.ReadResourceResult(
            contents=[mcp_types.TextResourceContents(uri=uri, mime_type="application/json", text=text)]
        )

    def _drop_old(self) -> None:
        """Drop the outputs older than :attr:`keep`: from the oldest, stopping at the first that is not."""
        now = trio.current_time()
        while self._written:
            output = next(iter(self._written))
            if now - self._written[output][0] <= self.keep:
                return
            self._drop(output)

    def _drop(self, output: str) -> None:
        _, size = self._written.pop(output)
        self._kept -= size
        if self._folder is not None:
            shutil.rmtree(self._folder / output, ignore_errors=True)

    def close(self) -> None:
        """Remove every part kept."""
        self._written.clear()
        self._kept = 0
        if self._folder is not None:
            shutil.rmtree(self._folder, ignore_errors=True)
            self._folder = None
