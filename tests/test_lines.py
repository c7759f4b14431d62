"""The byte-line reader of the gateway's stdio and the command line's stdin: linear, bounded, cancellable.

The buffer is pure, so most tests feed it bytes and count the work it did
(the bytes its search for a newline looked at, by a counting buffer), never the
time it took.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import pytest
import trio
import trio.testing

from dagexec._lines import LineBuffer, LineReader, LineTooLong


def lines_of(buffer: LineBuffer, chunks: Iterable[bytes]) -> list[bytes | LineTooLong]:
    """Every line the buffer gives for these chunks, then the end of input; a too-long line as its error."""
    got: list[bytes | LineTooLong] = []

    def drain() -> None:
        while True:
            try:
                line = buffer.next_line()
            except LineTooLong as exc:
                got.append(exc)
                continue
            if not line:
                return
            got.append(line)

    for chunk in chunks:
        buffer.feed(chunk)
        drain()
    buffer.feed(b"")
    drain()
    return got


def test_lines_split_across_chunk_borders_come_whole() -> None:
    chunks = [b"ab", b"c\nd", b"e\n\nf", b"g\r\n", b"h"]
    assert lines_of(LineBuffer(), chunks) == [b"abc\n", b"de\n", b"\n", b"fg\r\n", b"h"]


def test_the_end_of_input_without_a_newline_gives_the_last_line_then_nothing() -> None:
    buffer = LineBuffer()
    buffer.feed(b"last")
    assert buffer.next_line() is None  # more may come
    buffer.feed(b"")
    assert (buffer.next_line(), buffer.next_line()) == (b"last", b"")


class _Counting(bytearray):
    """A buffer that counts the bytes each ``find`` looks at: the work of searching for newlines."""

    searched = 0

    def find(self, sub: Any, start: Any = 0, *rest: Any) -> int:
        found = super().find(sub, start, *rest)
        self.searched += (len(self) if found < 0 else found + 1) - start
        return found


def _counted() -> tuple[LineBuffer, _Counting]:
    """A line buffer whose bytes are a counting buffer (it keeps the one it was given: it only adds and cuts)."""
    buffer, data = LineBuffer(), _Counting()
    buffer._data = data
    return buffer, data


def test_a_huge_line_in_many_chunks_has_each_byte_searched_once() -> None:
    size, chunk = 4_000_000, 1000
    buffer, counted = _counted()
    for _ in range(size // chunk):
        buffer.feed(b"x" * chunk)
        assert buffer.next_line() is None
    buffer.feed(b"\n")
    line = buffer.next_line()
    assert line is not None and len(line) == size + 1
    # The re-splitting reader searched its whole buffer at every chunk: 8e9 bytes here.
    assert counted.searched == size + 1


def test_many_short_lines_in_one_chunk_have_each_byte_searched_once() -> None:
    data = b"".join(b"%d\n" % n for n in range(10_000))
    buffer, counted = _counted()
    assert len(lines_of(buffer, [data])) == 10_000
    assert counted.searched == len(data)


def test_a_line_over_the_limit_is_an_error_with_its_size_and_reading_goes_on() -> None:
    chunks = [b"ok\n", b"y" * 3, b"y" * 4, b"\nyes\n", b"n" * 5, b"\n"]
    got = lines_of(LineBuffer(max_size=5), chunks)
    assert [g if isinstance(g, bytes) else (g.size, g.limit) for g in got] == [b"ok\n", (7, 5), b"yes\n", b"nnnnn\n"]
    assert str(got[1]) == "a line of 7 bytes is over the limit of 5 bytes"


def test_a_line_over_the_limit_is_dropped_as_it_arrives() -> None:
    buffer = LineBuffer(max_size=100)
    for _ in range(1000):
        buffer.feed(b"z" * 1000)
        assert buffer.next_line() is None
        assert len(buffer._data) <= 100 + 1000  # the limit and a chunk, never the line
    buffer.feed(b"\nnext\n")
    with pytest.raises(LineTooLong) as caught:
        buffer.next_line()
    assert caught.value.size == 1_000_000
    assert buffer.next_line() == b"next\n"


def test_a_line_over_the_limit_keeps_its_first_bytes_whether_dropped_or_whole() -> None:
    start = bytes(range(256)).replace(b"\n", b"N")  # HEAD bytes: what the error keeps
    dropped = LineBuffer(max_size=300)
    dropped.feed(start + b"a" * 100)
    assert dropped.next_line() is None  # over the limit: dropped now
    dropped.feed(b"b" * 1000 + b"\n")
    with pytest.raises(LineTooLong) as caught:
        dropped.next_line()
    assert (caught.value.size, caught.value.head) == (1356, start)
    whole = LineBuffer(max_size=10)
    whole.feed(b"x" * 20 + b"\n")  # over the limit, but in the buffer whole
    with pytest.raises(LineTooLong) as caught:
        whole.next_line()
    assert (caught.value.size, caught.value.head) == (20, b"x" * 20)


def test_a_line_over_the_limit_at_the_end_of_input_is_an_error_then_the_end() -> None:
    buffer = LineBuffer(max_size=2)
    buffer.feed(b"abc")
    buffer.feed(b"")
    with pytest.raises(LineTooLong, match=r"^a line of 3 bytes is over the limit of 2 bytes$"):
        buffer.next_line()
    assert buffer.next_line() == b""


def test_a_negative_limit_is_refused() -> None:
    with pytest.raises(ValueError, match=r"^max_size must be >= 0$"):
        LineBuffer(max_size=-1)


@contextmanager
def pipe() -> Iterator[tuple[int, int]]:
    read, write = os.pipe()
    try:
        yield read, write
    finally:
        for fd in (read, write):
            with suppress(OSError):
                os.close(fd)


async def test_the_reader_gives_a_pipes_lines_decoded_and_ends_at_its_end() -> None:
    with pipe() as (read, write):
        os.write(write, b"one\ntw\xffo\nthree")
        os.close(write)
        assert [line async for line in LineReader(read)] == ["one\n", "tw\ufffdo\n", "three"]


async def test_the_reader_reads_a_regular_file_that_cannot_be_polled(tmp_path: Path) -> None:
    path = tmp_path / "plan.jsonl"
    path.write_bytes(b"a\n" * 3)
    fd = os.open(path, os.O_RDONLY)
    try:
        assert [line async for line in LineReader(fd)] == ["a\n"] * 3
    finally:
        os.close(fd)


async def test_a_cancelled_wait_for_a_line_keeps_what_was_read(autojump_clock: trio.testing.MockClock) -> None:
    with pipe() as (read, write):
        reader = LineReader(read)
        os.write(write, b"par")
        with trio.move_on_after(1) as waited:
            await reader.readline()
        assert waited.cancelled_caught
        os.write(write, b"t\n")
        assert await reader.readline() == "part\n"


async def test_the_reader_reports_a_line_over_its_limit_and_reads_the_next() -> None:
    with pipe() as (read, write):
        os.write(write, b"x" * 50_000 + b"\nshort\n")
        os.close(write)
        reader = LineReader(read, max_size=1000)
        with pytest.raises(LineTooLong) as caught:
            await reader.readline()
        assert (caught.value.size, await reader.readline(), await reader.readline()) == (50_000, "short\n", "")
