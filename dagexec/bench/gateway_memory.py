"""What a large plan costs the gateway in memory: ``python -m dagexec.bench.gateway_memory [--tasks N]``.

Starts ``dagexec serve`` over stdio with the bench server (``bench:sleep`` with
0 seconds, the cheapest call a real MCP server answers), sends one plan of
``--tasks`` independent tasks, and reads the gateway process's resident memory
from Linux's ``/proc``: before the plan, its peak while the plan runs (the high
water mark, reset before the plan: exact, not sampled), and some seconds after
the answer (after a ``ping``: the SDK holds the last request it read, the plan,
until the next message arrives). The client is a bare JSON-RPC writer and
reader over the pipes, so that its own limits (the SDK's message sizes) are
not measured.

The goal (issue 25): the peak is at most 3 KB per task above the start plus the
answer's bytes, and the memory is back within 100 MB of the start once the plan
has ended. ``--tracemalloc`` runs the same plan in this process instead (the
gateway's tool called directly, without a transport) and prints what holds the
most memory at the answer and after it, by line of source.

Linux only (``/proc``); needs the ``serve`` extra.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import subprocess
import sys
import tempfile
import time
import tracemalloc
from typing import IO, Any

import trio

from dagexec.bench._measure import bench_server_config

__all__ = ["main", "measure_process", "measure_tracemalloc", "plan_of"]

#: The downstream server: dagexec's bench server over stdio.
CONFIG = bench_server_config()


def plan_of(tasks: int) -> dict[str, Any]:
    """A plan of ``tasks`` independent calls of ``bench:sleep`` for 0 seconds."""
    return {"tasks": [{"id": f"t{i}", "tool": "bench:sleep", "arguments": {"seconds": 0}} for i in range(tasks)]}


def _kb(pid: int, field: str) -> int:
    """A ``/proc/PID/status`` figure (``VmRSS``, ``VmHWM``) in bytes."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"no {field} in /proc/{pid}/status")


class _Wire:
    """JSON-RPC over the gateway's standard input and output, a message a line."""

    def __init__(self, proc: subprocess.Popen[bytes]) -> None:
        assert proc.stdin is not None and proc.stdout is not None
        self._in: IO[bytes] = proc.stdin
        self._out: IO[bytes] = proc.stdout
        self._id = 0

    def notify(self, method: str, params: dict[str, Any] | None = None) -> None:
        message = {"jsonrpc": "2.0", "method": method, **({"params": params} if params is not None else {})}
        self._in.write(json.dumps(message).encode() + b"\n")
        self._in.flush()

    def request(self, method: str, params: dict[str, Any]) -> tuple[dict[str, Any], int]:
        """Send a request; return its answer and the answer's size in bytes (notifications are skipped)."""
        self._id += 1
        self._in.write(json.dumps({"jsonrpc": "2.0", "id": self._id, "method": method, "params": params}).encode())
        self._in.write(b"\n")
        self._in.flush()
        while True:
            line = self._out.readline()
            if not line:
                raise RuntimeError("the gateway closed its output")
            message = json.loads(line)
            if message.get("id") == self._id:
                return message, len(line)


def measure_process(tasks: int, *, max_concurrency: int | None, settle: float) -> dict[str, Any]:
    """Run one plan of ``tasks`` tasks through a ``dagexec serve`` process; its memory figures, in bytes."""
    with tempfile.TemporaryDirectory() as folder:
        servers = os.path.join(folder, "servers.json")
        with open(servers, "w") as file:
            json.dump(CONFIG, file)
        limit = ["--max-concurrency", str(max_concurrency)] if max_concurrency else []
        with open(os.path.join(folder, "serve.log"), "w+") as errlog:
            proc = subprocess.Popen(
                [sys.executable, "-m", "dagexec", "serve", "--servers", servers, *limit],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=errlog,
            )
            try:
                wire = _Wire(proc)
                hello = {"name": "bench", "version": "0"}
                wire.request("initialize", {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": hello})
                wire.notify("notifications/initialized")
                wire.request("tools/call", {"name": "run_workflow", "arguments": plan_of(10)})  # warm up
                time.sleep(settle)  # the gateway collects and gives memory back on its own
                start = _kb(proc.pid, "VmRSS")
                with open(f"/proc/{proc.pid}/clear_refs", "w") as clear:
                    clear.write("5")  # the peak (VmHWM) starts again from now
                began = time.perf_counter()
                answer, size = wire.request("tools/call", {"name": "run_workflow", "arguments": plan_of(tasks)})
                took = time.perf_counter() - began
                peak = _kb(proc.pid, "VmHWM")
                del answer
                # The SDK holds the last request it read (here, the plan) until the next one arrives, as any
                # client's next message does: a ping, so that "after" is the memory of a gateway still in use.
                wire.request("ping", {})
                time.sleep(settle)  # the gateway collects and gives memory back on its own
                after = _kb(proc.pid, "VmRSS")
            except Exception:
                errlog.seek(0)
                sys.stderr.write(errlog.read())
                raise
            finally:
                proc.kill()
                proc.wait()
    return {
        "tasks": tasks,
        "max_concurrency": max_concurrency,
        "seconds": took,
        "start": start,
        "peak": peak,
        "after": after,
        "answer_bytes": size,
        "peak_per_task_beyond_answer": (peak - start - size) / tasks,
        "after_above_start": after - start,
        "met": (peak - start <= 3 * 1024 * tasks + size) and (after - start <= 100 * 2**20),
    }


def measure_tracemalloc(tasks: int, *, max_concurrency: int | None, top: int) -> dict[str, Any]:
    """Run one plan in this process, the gateway's ``run_workflow`` called directly, under tracemalloc.

    Returns the traced peak, what is allocated while the answer is held, and
    after it is dropped, each as a total and its ``top`` lines of source.
    """
    from dagexec.serve import open_gateway

    largest: list[tuple[int, tracemalloc.Snapshot]] = []

    async def watch() -> None:
        """Keep a snapshot of the largest traced size seen, looking every half second."""
        while True:
            await trio.sleep(0.5)
            current, _ = tracemalloc.get_traced_memory()
            if not largest or current > largest[0][0] * 1.05:
                largest[:] = [(current, tracemalloc.take_snapshot())]

    async def run() -> dict[str, Any]:
        async with open_gateway(CONFIG, max_concurrency=max_concurrency) as gateway:
            await gateway.call("run_workflow", plan_of(10))
            gc.collect()
            tracemalloc.start(1)
            before = tracemalloc.take_snapshot()
            async with trio.open_nursery() as nursery:
                nursery.start_soon(watch)
                answer = await gateway.call("run_workflow", plan_of(tasks))
                nursery.cancel_scope.cancel()
            gc.collect()
            _, peak = tracemalloc.get_traced_memory()
            held = tracemalloc.take_snapshot()
            del answer
            gc.collect()
            after = tracemalloc.take_snapshot()
            tracemalloc.stop()
        return {
            "tasks": tasks,
            "traced_peak": peak,
            "near_the_peak": _diff(largest[0][1], before, top) if largest else None,
            "with_answer": _diff(held, before, top),
            "after_answer": _diff(after, before, top),
        }

    return trio.run(run)


def _diff(snapshot: tracemalloc.Snapshot, before: tracemalloc.Snapshot, top: int) -> dict[str, Any]:
    stats = snapshot.compare_to(before, "lineno")
    return {
        "total": sum(stat.size_diff for stat in stats),
        "top": [f"{stat.size_diff / 2**20:8.1f} MB {stat.count_diff:+9d}  {stat.traceback[0]}" for stat in stats[:top]],
    }


def main(argv: list[str] | None = None) -> int:
    """The command: measure, print the figures as JSON."""
    parser = argparse.ArgumentParser(prog="python -m dagexec.bench.gateway_memory", description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=100_000)
    parser.add_argument("--max-concurrency", type=int, default=None, help="the gateway's --max-concurrency")
    parser.add_argument("--settle", type=float, default=5.0, help="seconds to wait before reading the memory")
    parser.add_argument("--tracemalloc", action="store_true", help="in this process, what holds the memory")
    parser.add_argument("--top", type=int, default=15)
    args = parser.parse_args(argv)
    if args.tracemalloc:
        figures = measure_tracemalloc(args.tasks, max_concurrency=args.max_concurrency, top=args.top)
    else:
        figures = measure_process(args.tasks, max_concurrency=args.max_concurrency, settle=args.settle)
    json.dump(figures, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
