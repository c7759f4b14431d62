"""How a message's cost through the gateway's stdio grows with its size: ``python -m dagexec.bench.stdio``.

A JSON-RPC request of 1, 10 and 40 MB (a ``ping`` whose params carry the bytes)
goes to a :class:`~dagexec.serve.Gateway` served over two pipes, in this
process; each is timed from its first byte written to its reply read, once the
gateway serves (a small ping answered first). Medians of a few repeats, their
milliseconds per MB, and the ratios 40 MB / 1 MB and 40 MB / 10 MB, in one run.

The gateway's work is linear in a message's size: each byte is searched for
the newline once (:mod:`dagexec._lines`; before, 40 MB took 12.9 s, the reader
re-splitting its whole buffer at every read), decoded once and parsed once.
Yet a 40 MB buffer costs far more than 40 times a 1 MB one however it is
touched, so the 40 MB message cannot cost "about 40 times" the 1 MB one (with
glibc's default settings, as on Linux): a 1 MB buffer stays in the processor's
cache, in memory the allocator already holds, while glibc maps every block over
32 MiB afresh from the kernel, whose pages are faulted in and zeroed at their
first touch (a bare copy of 40 MB costs about 5 times more per MB than one of
30 MB). Two controls on the same bytes, timed in the same run, show that part:
a bare copy (``bytearray(message)``) and ``json.loads``. Read the gateway's
ratios against theirs. Run with ``MALLOC_MMAP_MAX_=0
MALLOC_TRIM_THRESHOLD_=4000000000`` (glibc then keeps every block in memory it
holds) to see the ratios without the fresh pages.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import threading
import time
from collections.abc import Callable

import trio

from .. import LocalTools
from ..serve import Gateway

MB = 1_000_000

#: The sizes timed, in MB.
SIZES = (1, 10, 40)


def ping(size: int) -> bytes:
    """A JSON-RPC ``ping`` request of ``size`` bytes and its newline, its params padded with one long string."""
    head = {"jsonrpc": "2.0", "id": 2, "method": "ping", "params": {"pad": ""}}
    message = json.dumps(head).encode()
    return message.replace(b'"pad": ""', b'"pad": "' + b"x" * (size - len(message)) + b'"') + b"\n"


async def _one_message(message: bytes) -> float:
    """Seconds from the first byte of ``message`` written to its reply read, once the gateway serves.

    A small ping goes first, and its reply is waited for: the gateway's start
    is not counted.
    """
    gateway = Gateway({"none": LocalTools({})})
    in_r, in_w = os.pipe()
    out_r, out_w = os.pipe()
    warm = threading.Event()
    times: list[float] = []
    replies: list[bytes] = []

    def send() -> None:
        with open(in_w, "wb", buffering=0, closefd=False) as pipe:
            pipe.write(b'{"jsonrpc": "2.0", "id": 1, "method": "ping"}\n')
            warm.wait()
            times.append(time.perf_counter())
            view = memoryview(message)
            while view:
                view = view[pipe.write(view) or 0 :]

    def receive() -> None:
        with open(out_r, "rb") as pipe:
            replies.append(pipe.readline())
            warm.set()
            replies.append(pipe.readline())
            times.append(time.perf_counter())
        os.close(in_w)

    async with trio.open_nursery() as nursery:
        nursery.start_soon(trio.to_thread.run_sync, send)
        nursery.start_soon(trio.to_thread.run_sync, receive)
        try:
            await gateway.serve_stdio(stdin=in_r, stdout=out_w)
        finally:
            os.close(in_r)
            os.close(out_w)
    assert json.loads(replies[1]) == {"jsonrpc": "2.0", "id": 2, "result": {}}, replies[1][:200]
    return times[1] - times[0]


def _timed(work: Callable[[bytes], object], message: bytes) -> float:
    """Seconds ``work(message)`` takes; its result is dropped after the clock stops, as the gateway's would be."""
    start = time.perf_counter()
    result = work(message)
    seconds = time.perf_counter() - start
    del result
    return seconds


#: What each size is timed with: the gateway, and the two controls on the same bytes.
MEASURES: dict[str, Callable[[bytes], float]] = {
    "gateway": lambda message: trio.run(_one_message, message),
    "copy": lambda message: _timed(bytearray, message),
    "json.loads": lambda message: _timed(json.loads, message),
}


def message_costs(sizes_mb: tuple[int, ...] = SIZES, *, repeats: int = 3) -> dict[str, dict[int, float]]:
    """The median seconds of each of :data:`MEASURES` on one message of each size (in MB), all in this run."""
    costs: dict[str, dict[int, float]] = {name: {} for name in MEASURES}
    for size in sizes_mb:
        message = ping(size * MB)
        for name, measure in MEASURES.items():
            costs[name][size] = statistics.median(measure(message) for _ in range(repeats))
    return costs


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m dagexec.bench.stdio", description=__doc__)
    parser.add_argument("--repeats", type=int, default=5, help="runs per size and measure (the median is shown)")
    args = parser.parse_args()
    costs = message_costs(repeats=args.repeats)
    print(f"medians of {args.repeats}; ms, and ms per MB in brackets")
    print(f"{'':10s}" + "".join(f"{size:>6d} MB{'':12s}" for size in SIZES) + "  40/1    40/10")
    for name, by_size in costs.items():
        cells = "".join(f"{by_size[size] * 1000:8.2f} ({by_size[size] * 1000 / size:6.3f})" for size in SIZES)
        print(f"{name:10s}{cells}  {by_size[40] / by_size[1]:5.0f}x  {by_size[40] / by_size[10]:5.1f}x")
    print("linear: flat ms per MB, but for what the machine adds to a large buffer (the controls' ratios)")


if __name__ == "__main__":
    main()
