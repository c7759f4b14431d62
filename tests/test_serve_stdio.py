"""The gateway over stdio: its framing, a message a line, and the replies to lines it cannot read."""

from __future__ import annotations

import functools
import json
import os
from typing import Any

import trio

from dagexec import LocalTools
from dagexec.serve import Gateway

from .helpers import sleep


def _gateway() -> Gateway:
    return Gateway({"sim": LocalTools({"sleep": sleep})})


async def exchange(gateway: Gateway, data: bytes, replies: int) -> list[dict[str, Any]]:
    """Serve ``gateway`` over two pipes: ``data`` in, kept open until ``replies`` lines came back; those, parsed."""
    in_r, in_w = os.pipe()
    out_r, out_w = os.pipe()
    lines: list[bytes] = []

    def feed() -> None:
        with open(in_w, "wb", closefd=False) as pipe:
            pipe.write(data)

    def drain() -> None:
        with open(out_r, "rb") as pipe:
            while len(lines) < replies and (line := pipe.readline()):
                lines.append(line)
        os.close(in_w)  # the client closes its end: serving ends

    async with trio.open_nursery() as nursery:
        nursery.start_soon(functools.partial(trio.to_thread.run_sync, feed))
        nursery.start_soon(functools.partial(trio.to_thread.run_sync, drain))
        try:
            await gateway.serve_stdio(stdin=in_r, stdout=out_w)
        finally:
            os.close(in_r)
            os.close(out_w)
    return [json.loads(line) for line in lines]


def _line(message: dict[str, Any]) -> bytes:
    return json.dumps(message).encode() + b"\n"


PING = {"jsonrpc": "2.0", "id": 9, "method": "ping"}


async def test_every_line_that_cannot_be_read_gets_an_error_reply_and_serving_goes_on() -> None:
    deep = {"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": {"name": "x", "arguments": {"a": []}}}
    text = json.dumps(deep).replace("[]", "[" * 400 + "]" * 400)
    lines = [
        text.encode() + b"\n",  # JSON, nested deeper than the SDK reads: its id is known
        b'{"jsonrpc": "2.0", "id": 8, "method": \n',  # no JSON at all
        _line({"hello": "world", "id": "h"}),  # JSON, but no JSON-RPC message
        _line(PING),
    ]
    replies = await exchange(_gateway(), b"".join(lines), 4)
    parse_error = "parse error: the message is not JSON, or is nested too deeply to read"
    assert replies == [
        {"jsonrpc": "2.0", "id": 7, "error": {"code": -32700, "message": parse_error}},
        {"jsonrpc": "2.0", "id": None, "error": {"code": -32700, "message": parse_error}},
        {
            "jsonrpc": "2.0",
            "id": "h",
            "error": {"code": -32600, "message": "invalid request: the message is JSON but no JSON-RPC message"},
        },
        {"jsonrpc": "2.0", "id": 9, "result": {}},
    ]
