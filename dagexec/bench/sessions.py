"""What a flood of unused sessions costs the HTTP gateway, and whether a new client still gets in.

Run as ``python -m dagexec.bench.sessions [--sessions N] [--python PYTHON] [-- SERVE FLAGS]``:
it starts ``dagexec serve --http`` (with ``PYTHON``, so that the same script
measures another checkout), in front of the bench server, opens ``N`` sessions
(an ``initialize`` each, never used again) from this process, and prints as
JSON the gateway's RSS before and after, the time the flood took, and the HTTP
status a new client then gets. Needs the ``serve`` extra and psutil.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx2
import psutil
import trio

from dagexec.bench._measure import bench_server_config

PROTOCOL = "2025-06-18"
INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {"protocolVersion": PROTOCOL, "capabilities": {}, "clientInfo": {"name": "flood", "version": "1"}},
}
HEADERS = {"accept": "application/json, text/event-stream", "content-type": "application/json"}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def _flood(url: str, sessions: int, concurrency: int) -> tuple[float, int]:
    """Open ``sessions`` sessions, ``concurrency`` at a time; the seconds it took, and a new client's status."""
    limiter = trio.CapacityLimiter(concurrency)
    body = json.dumps(INITIALIZE)
    async with httpx2.AsyncClient(timeout=60, limits=httpx2.Limits(max_connections=concurrency)) as http:

        async def one() -> None:
            async with limiter:
                (await http.post(url, content=body, headers=HEADERS)).raise_for_status()

        start = time.perf_counter()
        async with trio.open_nursery() as nursery:
            for _ in range(sessions):
                nursery.start_soon(one)
        took = time.perf_counter() - start
        status = (await http.post(url, content=body, headers=HEADERS)).status_code
    return took, status


def measure(python: str, sessions: int, concurrency: int, flags: list[str]) -> dict[str, Any]:
    """Start a gateway, flood it, and give its figures."""
    port = _free_port()
    with tempfile.TemporaryDirectory() as folder:
        config = os.path.join(folder, "servers.json")
        with open(config, "w") as file:
            json.dump(bench_server_config(python), file)
        command = [python, "-m", "dagexec", "serve", "--servers", config, "--http", f"127.0.0.1:{port}", *flags]
        log = open(os.path.join(folder, "serve.log"), "w+")  # noqa: SIM115 - closed with the folder below
        gateway = subprocess.Popen(command, stderr=log, text=True)
        try:
            deadline = time.monotonic() + 60
            while "serving MCP at" not in (text := Path(log.name).read_text()):
                if gateway.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the gateway did not start: {text}")
                time.sleep(0.1)
            process = psutil.Process(gateway.pid)
            before = process.memory_info().rss
            took, status = trio.run(_flood, f"http://127.0.0.1:{port}/mcp", sessions, concurrency)
            after = process.memory_info().rss
        finally:
            gateway.terminate()
            try:
                gateway.wait(30)
            except subprocess.TimeoutExpired:  # the SDK's defaults: 10,000 sessions to close take long
                gateway.kill()
                gateway.wait()
            log.close()
    return {
        "python": python,
        "flags": flags,
        "sessions": sessions,
        "seconds": round(took, 1),
        "rss_before_mb": round(before / 2**20),
        "rss_after_mb": round(after / 2**20),
        "new_client_status": status,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--sessions", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--python", default=sys.executable, help="the Python whose dagexec serves")
    parser.add_argument("flags", nargs="*", help="more flags of dagexec serve (after --)")
    args = parser.parse_args()
    print(json.dumps(measure(args.python, args.sessions, args.concurrency, args.flags)))


if __name__ == "__main__":
    main()
