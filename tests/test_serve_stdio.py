"""The gateway over stdio: its framing, a message a line, and the replies to lines it cannot read."""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Sequence
from typing import Any

import pytest
import trio

from dagexec import LocalTools
from dagexec.serve import Gateway

from .helpers import sleep


def _gateway() -> Gateway:
    return Gateway({"sim": LocalTools({"sleep": sleep})})


async def exchange(gateway: Gateway, data: bytes, replies: int, **options: Any) -> list[dict[str, Any]]:
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
            await gateway.serve_stdio(stdin=in_r, stdout=out_w, **options)
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
        b'{"jsonrpc": "2.0", "id": 10, "method": "ping", "params": {"s": "\\ud800"}}\n',  # a lone surrogate: refused
        _line({"hello": "world", "id": "h"}),  # JSON, but no JSON-RPC message
        _line(PING),
    ]
    replies = await exchange(_gateway(), b"".join(lines), 5)
    parse_error = "parse error: the message is not JSON, or is nested too deeply to read"
    assert replies == [
        {"jsonrpc": "2.0", "id": 7, "error": {"code": -32700, "message": parse_error}},
        {"jsonrpc": "2.0", "id": None, "error": {"code": -32700, "message": parse_error}},
        {"jsonrpc": "2.0", "id": 10, "error": {"code": -32700, "message": parse_error}},
        {
            "jsonrpc": "2.0",
            "id": "h",
            "error": {"code": -32600, "message": "invalid request: the message is JSON but no JSON-RPC message"},
        },
        {"jsonrpc": "2.0", "id": 9, "result": {}},
    ]


async def test_a_message_over_the_size_limit_is_answered_with_an_error_and_serving_goes_on() -> None:
    big = {"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {"name": "x", "arguments": {"a": "y" * 5000}}}
    no_id = {"jsonrpc": "2.0", "method": "notifications/x", "params": {"a": "y" * 5000}}
    size, other = len(json.dumps(big)), len(json.dumps(no_id))
    replies = await exchange(_gateway(), _line(big) + _line(no_id) + _line(PING), 3, max_message=1000)

    def over(n: int) -> str:
        return f"invalid request: the message is {n} bytes, over the gateway's limit of 1000 bytes"

    assert replies == [
        {"jsonrpc": "2.0", "id": 3, "error": {"code": -32600, "message": over(size)}},
        {"jsonrpc": "2.0", "id": None, "error": {"code": -32600, "message": over(other)}},
        {"jsonrpc": "2.0", "id": 9, "result": {}},
    ]


async def test_a_reply_written_a_few_bytes_at_a_time_reaches_the_client_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    """A partial write goes on where it stopped, within the reply and across to its newline (5 bytes a call here)."""
    writev = os.writev

    def short_writev(fd: int, buffers: Sequence[memoryview]) -> int:
        return writev(fd, [b"".join(buffers)[:5]])

    monkeypatch.setattr(os, "writev", short_writev)
    replies = await exchange(_gateway(), _line(PING) + _line({**PING, "id": "second"}), 2)
    assert replies == [{"jsonrpc": "2.0", "id": 9, "result": {}}, {"jsonrpc": "2.0", "id": "second", "result": {}}]
