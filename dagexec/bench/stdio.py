"""How a message's cost through the gateway's stdio grows with its size: ``python -m dagexec.bench.stdio``.

One JSON-RPC request of 1 MB and one of 40 MB (a ``ping`` whose params carry the
bytes) go to a :class:`~dagexec.serve.Gateway` served over two pipes, in this
process; each is timed from its first byte written to its reply read, once the
gateway serves (a small ping answered first). The
framing is linear (each byte searched for the newline once), as is reading the
JSON, so the 40 MB message costs about 40 times the 1 MB one: before the
shared line reader, 40 MB took 12.9 s (the reader re-split its whole buffer at
every 64 KiB read). Medians of a few repeats, and their ratio, in the same run.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import threading
import time

import trio

from .. import LocalTools
from ..serve import Gateway

MB = 1_000_000


async def _one_message(size: int) -> float:
    """Seconds from the first byte of a ``size``-byte request written to its reply read, once the gateway serves.

    A small ping goes first, and its reply is waited for: the gateway's start
    is not counted.
    """
    gateway = Gateway({"none": LocalTools({})})
    in_r, in_w = os.pipe()
    out_r, out_w = os.pipe()
    head = {"jsonrpc": "2.0", "id": 2, "method": "ping", "params": {"pad": ""}}
    message = json.dumps(head).encode()
    message = message.replace(b'"pad": ""', b'"pad": "' + b"x" * (size - len(message)) + b'"') + b"\n"
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


def message_costs(sizes_mb: tuple[int, ...] = (1, 40), *, repeats: int = 3) -> dict[int, float]:
    """The median seconds of one message of each size (in MB) through the gateway's stdio."""
    return {size: statistics.median(trio.run(_one_message, size * MB) for _ in range(repeats)) for size in sizes_mb}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m dagexec.bench.stdio", description=__doc__)
    parser.add_argument("--repeats", type=int, default=3, help="runs per size (the median is shown)")
    args = parser.parse_args()
    costs = message_costs(repeats=args.repeats)
    for size, seconds in costs.items():
        print(f"{size:3d} MB message: {seconds * 1000:8.1f} ms (median of {args.repeats})")
    print(f"40 MB / 1 MB: {costs[40] / costs[1]:.1f}x (linear: about 40x)")


if __name__ == "__main__":
    main()
