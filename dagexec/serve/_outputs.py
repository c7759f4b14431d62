"""Outputs too large for one reply, kept on disk as MCP resources that the client reads one by one.

The SDK's streamable HTTP client refuses a server-sent event over 1 MiB, so a
reply larger than that never arrives. Above :data:`REPLY_LIMIT` bytes, the gateway's
reply carries the statuses and a summary, and each output becomes a resource
(``dagexec://outputs/<reply>/<n>/<part>``: the ``n``-th output of one reply,
from 0, split into numbered parts of at most :data:`PART_SIZE` characters, from 1).

Each reply's outputs are one file in a temporary folder, written as the outputs'
JSON one after another; what stays in memory is where each output starts in
the file (8 bytes an output), so a reply of 100,000 outputs costs no memory
once written. The file is removed :data:`KEEP` seconds after it was written (or
when the gateway closes), or sooner, oldest first, when the files kept would
pass :data:`MAX_KEPT` bytes: clients that run many large plans cannot fill the disk.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import tempfile
from array import array
from collections import OrderedDict
from collections.abc import Callable, Iterable
from contextlib import suppress
from pathlib import Path
from typing import BinaryIO, NamedTuple, TypeVar

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

#: Bytes of outputs kept on disk at most, for every client together: past it, the oldest replies' go first.
MAX_KEPT = 1024**3

#: The MCP error code of a resource that does not exist (or no longer does).
RESOURCE_NOT_FOUND = -32002

T = TypeVar("T")

_SCHEME = "dagexec://outputs/"
_URI = re.compile(r"dagexec://outputs/([0-9a-f]{16})/(0|[1-9][0-9]{0,17})/([1-9][0-9]{0,17})\Z")


class _Kept(NamedTuple):
    """One reply's outputs on disk: when they were written, and where each starts in the file."""

    written: float
    #: Output ``n`` is the file's bytes ``starts[n]`` to ``starts[n + 1]``; none when they are equal.
    starts: array[int]

    @property
    def size(self) -> int:
        return self.starts[-1]


def part_count(size: int) -> int:
    """How many parts an output of ``size`` characters of JSON is read in."""
    return -(-size // PART_SIZE)


class OutputFile:
    """One reply's outputs as they are written, one after another, in a worker thread (see :meth:`OutputStore.put`).

    The text written is ASCII (JSON as :func:`json.dumps` writes it, every
    other character escaped): one byte a character, so each part is a run of
    bytes, found without reading what comes before it.
    """

    def __init__(self, file: BinaryIO, reply: str) -> None:
        self._file = file
        self._reply = reply
        #: Output ``n`` is the file's bytes ``starts[n]`` to ``starts[n + 1]``.
        self.starts = array("q", [0])

    def add(self, pieces: Iterable[str]) -> int:
        """Write one output, given as pieces of its JSON text; the number of parts it is read in."""
        size = 0
        for piece in pieces:
            data = piece.encode("ascii")
            self._file.write(data)
            size += len(data)
        self.starts.append(self.starts[-1] + size)
        return part_count(size)

    def uris(self, n: int, parts: int) -> list[str]:
        """The URIs of the parts of output ``n``, which is read in ``parts`` parts."""
        return [f"{_SCHEME}{self._reply}/{n}/{part}" for part in range(1, parts + 1)]


class OutputStore:
    """The outputs kept as resources: a file for each reply's, read back by URI, dropped when old.

    Args:
        keep: Seconds each reply's outputs are kept.
        max_kept: Bytes kept at most; the oldest replies' outputs are dropped
            to make room for new ones (which are kept even if they alone are larger).
    """

    def __init__(self, *, keep: float = KEEP, max_kept: int = MAX_KEPT) -> None:
        self.keep = keep
        self.max_kept = max_kept
        self._folder: Path | None = None
        # Each reply's outputs, by id, oldest first: an OrderedDict, whose first item is found in constant
        # time however many were dropped before it (a dict's is not).
        self._kept: OrderedDict[str, _Kept] = OrderedDict()
        self._bytes = 0  # of every reply's outputs in _kept

    async def put(self, write: Callable[[OutputFile], T]) -> T:
        """Keep a reply's outputs as resources: ``write`` adds each to the reply's file; what it returns.

        ``write`` runs in a worker thread, so that neither the work of writing
        JSON nor a slow or full disk holds the gateway's loop. It must touch
        nothing the loop changes.

        Raises:
            OSError: The file could not be written (the disk is full, say);
                nothing is kept.
        """
        if self._folder is None:
            self._folder = Path(tempfile.mkdtemp(prefix="dagexec-outputs-"))
        reply = secrets.token_hex(8)
        path = self._folder / reply

        def write_file() -> tuple[T, array[int]]:
            with open(path, "wb") as file:
                outputs = OutputFile(file, reply)
                return write(outputs), outputs.starts

        try:
            written, starts = await trio.to_thread.run_sync(write_file)
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        self._drop_old()
        while self._kept and self._bytes + starts[-1] > self.max_kept:  # oldest first
            self._drop(next(iter(self._kept)))
        self._kept[reply] = _Kept(trio.current_time(), starts)
        self._bytes += starts[-1]
        return written

    def read(self, uri: str) -> mcp_types.ReadResourceResult:
        """The part at ``uri``.

        Raises:
            MCPError: No such part, or it was dropped (code -32002).
        """
        self._drop_old()
        span = self._span(uri)
        if span is None or self._folder is None:
            raise MCPError(RESOURCE_NOT_FOUND, f"no output {uri!r} (outputs are kept {self.keep:g} s)")
        reply, start, size = span
        with open(self._folder / reply, "rb") as file:
            file.seek(start)
            text = file.read(size).decode("ascii")
        return mcp_types.ReadResourceResult(
            contents=[mcp_types.TextResourceContents(uri=uri, mime_type="application/json", text=text)]
        )

    def part_size(self, uri: str) -> int | None:
        """The characters of the part at ``uri``; None if there is no such part (or no longer)."""
        span = self._span(uri)
        return None if span is None else span[2]

    def _span(self, uri: str) -> tuple[str, int, int] | None:
        """Where the part at ``uri`` is: its reply's file, its first byte there and its size; None if nowhere."""
        found = _URI.match(uri)
        kept = self._kept.get(found.group(1)) if found is not None else None
        if found is None or kept is None or int(found.group(2)) >= len(kept.starts) - 1:
            return None
        n, part = int(found.group(2)), int(found.group(3))
        start = kept.starts[n] + (part - 1) * PART_SIZE
        size = min(PART_SIZE, kept.starts[n + 1] - start)
        return (found.group(1), start, size) if size > 0 else None

    def _drop_old(self) -> None:
        """Drop the replies' outputs older than :attr:`keep`: from the oldest, stopping at the first that is not."""
        now = trio.current_time()
        while self._kept:
            reply = next(iter(self._kept))
            if now - self._kept[reply].written <= self.keep:
                return
            self._drop(reply)

    def _drop(self, reply: str) -> None:
        self._bytes -= self._kept.pop(reply).size
        if self._folder is not None:
            with suppress(OSError):  # removed already: nothing to do
                os.unlink(self._folder / reply)

    def close(self) -> None:
        """Remove every output kept."""
        self._kept.clear()
        self._bytes = 0
        if self._folder is not None:
            shutil.rmtree(self._folder, ignore_errors=True)
            self._folder = None
