"""Lines of bytes from a file descriptor, in linear time and bounded memory: the gateway's stdio and the CLI's stdin.

Two layers, as h11 splits its ``ReceiveBuffer`` from the socket loop:
:class:`LineBuffer` is pure (bytes in, lines out, no I/O), and :class:`LineReader`
feeds it from a descriptor, waiting in trio so that a cancellation ends the wait.

Written by hand because neither trio nor the standard library offers it: trio's
streams have no line reader, ``trio.lowlevel.FdStream`` puts the descriptor in
non-blocking mode (see :class:`LineReader`), and ``asyncio.StreamReader`` is
asyncio's.
"""

from __future__ import annotations

import errno
import os

import trio

#: How many bytes one read asks for.
CHUNK = 65536

#: How many of a line's first bytes a :class:`LineTooLong` keeps (enough for a JSON-RPC message's ``id``).
HEAD = 256


class LineTooLong(ValueError):
    """A line was longer than the reader's ``max_size``: its bytes were dropped, and reading goes on after it.

    Attributes:
        size: The line's length in bytes, without its newline.
        limit: The reader's ``max_size``.
        head: The line's first :data:`HEAD` bytes (at most), kept so that the
            reader can say which message it was.
    """

    def __init__(self, size: int, limit: int, head: bytes = b"") -> None:
        super().__init__(f"a line of {size} bytes is over the limit of {limit} bytes")
        self.size = size
        self.limit = limit
        self.head = head


class LineBuffer:
    """Bytes in, lines out: each byte is searched for a newline once, and a line longer than ``max_size`` is not kept.

    The bytes not yet returned are kept in one :class:`bytearray`, and the search
    for the next newline starts where the last one stopped, so a line that arrives
    in many chunks costs its length, not its length times the number of chunks.
    Taking a line off the front of a bytearray is cheap in CPython (it moves a
    start offset), which is what h11's ``ReceiveBuffer`` relies on too.

    Args:
        max_size: The longest line kept, in bytes without its newline; ``None``
            for no limit. A longer line is dropped as its bytes arrive (memory
            stays within ``max_size`` plus a chunk) and reported by
            :class:`LineTooLong` once its end is reached.
    """

    def __init__(self, *, max_size: int | None = None) -> None:
        if max_size is not None and max_size < 0:
            raise ValueError("max_size must be >= 0")
        self.max_size = max_size
        self._data = bytearray()
        self._searched = 0  # the bytes of _data already known to hold no newline
        self._dropped: int | None = None  # the bytes of a line too long, already thrown away
        self._head = b""  # the first bytes of that line
        self._ended = False

    def feed(self, data: bytes) -> None:
        """Add bytes read; ``b""`` means the input ended."""
        if data:
            self._data += data
        else:
            self._ended = True

    def next_line(self) -> bytes | None:
        """The next line with its newline (the last may lack it); ``b""`` once input ended; ``None``: feed more.

        Raises:
            LineTooLong: The next line was over ``max_size``; the following call
                goes on with the line after it.
        """
        end = self._data.find(b"\n", self._searched)
        if end >= 0:
            with memoryview(self._data) as data:  # one copy: a slice of the bytearray would be a second
                line = bytes(data[: end + 1])
            del self._data[: end + 1]
            self._searched = 0
            self._check(end, line)
            return line
        self._searched = len(self._data)
        if self.max_size is not None and len(self._data) > self.max_size:
            if self._dropped is None:
                self._head = bytes(self._data[:HEAD])
            self._dropped = (self._dropped or 0) + len(self._data)
            self._data.clear()
            self._searched = 0
        if not self._ended:
            return None
        line = bytes(self._data)
        self._data.clear()
        self._searched = 0
        self._check(len(line), line)
        return line

    def _check(self, size: int, line: bytes) -> None:
        """Raise for a line of ``size`` bytes (after any dropped ones) over the limit; forget the dropped bytes."""
        dropped, self._dropped = self._dropped, None
        if dropped is not None or (self.max_size is not None and size > self.max_size):
            assert self.max_size is not None
            raise LineTooLong(
                (dropped or 0) + size, self.max_size, self._head if dropped is not None else line[: min(size, HEAD)]
            )


class LineReader:
    """Lines of a file descriptor, read by trio itself rather than a worker thread, so that a stop cancels the wait.

    Not :class:`trio.lowlevel.FdStream`: it puts the descriptor in non-blocking
    mode, and a terminal's standard input shares that mode with standard output,
    which rich would then fail to write (``BlockingIOError``). Lines are decoded
    as UTF-8, a byte that is not replaced by U+FFFD.

    Args:
        fd: The descriptor, left open (its owner closes it).
        max_size: The longest line, in bytes; see :class:`LineBuffer`.
    """

    def __init__(self, fd: int, *, max_size: int | None = None) -> None:
        self.fd = fd
        self.buffer = LineBuffer(max_size=max_size)
        self._pollable = True

    async def readline(self) -> str:
        """The next line with its newline (the last one may lack it); ``""`` at the end of input.

        Raises:
            LineTooLong: The line was over ``max_size``; the next call reads the one after it.
        """
        while (line := self.buffer.next_line()) is None:
            self.buffer.feed(await self._read())
        return line.decode(errors="replace")

    def __aiter__(self) -> LineReader:
        return self

    async def __anext__(self) -> str:
        line = await self.readline()
        if not line:
            raise StopAsyncIteration
        return line

    async def _read(self) -> bytes:
        if self._pollable:
            try:
                await trio.lowlevel.wait_readable(self.fd)
            except OSError as exc:
                if exc.errno != errno.EPERM:
                    raise
                self._pollable = False  # a regular file or /dev/null: reading it never blocks
        if not self._pollable:
            await trio.lowlevel.checkpoint()
        return os.read(self.fd, CHUNK)
