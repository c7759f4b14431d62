"""How a line's cost grows with its size in the byte-line reader: ``python -m dagexec.bench.lines``.

One line of 1 MB and one of 40 MB go through :class:`~dagexec._lines.LineReader`
from a pipe, as the gateway reads a stdio message, in 64 KiB reads: each byte
is searched once (the reader that re-split its whole buffer at every read took
12.9 s for 40 MB: quadratic). The ratio of the two is more than 40 on a
machine whose C library maps a block over 32 MiB afresh, as glibc does: its
pages are faulted in and zeroed at first touch, where a 1 MB block reuses
memory already held (see ``python -m dagexec.bench.stdio``'s controls).
Medians of a few repeats, and their ratio, measured in the same run.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import trio

from .._lines import LineReader

MB = 1_000_000


async def _read_one_line(size: int) -> float:
    """Seconds to read one line of ``size`` bytes from a pipe, written by a thread as the reader takes it."""
    read, write = os.pipe()
    data = b"x" * size + b"\n"

    def send() -> None:
        with open(write, "wb", buffering=0) as pipe:
            view = memoryview(data)
            while view:
                view = view[pipe.write(view) or 0 :]

    try:
        async with trio.open_nursery() as nursery:
            start = time.perf_counter()
            nursery.start_soon(trio.to_thread.run_sync, send)
            line = await LineReader(read).readline()
            seconds = time.perf_counter() - start
        assert len(line) == size + 1
        return seconds
    finally:
        os.close(read)


def line_costs(sizes_mb: tuple[int, ...] = (1, 40), *, repeats: int = 5) -> dict[int, float]:
    """The median seconds to read one line of each size (in MB)."""
    return {size: statistics.median(trio.run(_read_one_line, size * MB) for _ in range(repeats)) for size in sizes_mb}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m dagexec.bench.lines", description=__doc__)
    parser.add_argument("--repeats", type=int, default=5, help="runs per size (the median is shown)")
    args = parser.parse_args()
    costs = line_costs(repeats=args.repeats)
    for size, seconds in costs.items():
        print(f"{size:3d} MB line: {seconds * 1000:8.1f} ms (median of {args.repeats})")
    print(f"40 MB / 1 MB: {costs[40] / costs[1]:.1f}x (each byte searched once; see the docstring)")


if __name__ == "__main__":
    main()
