"""A raw JSON-RPC MCP server written for the tests: no SDK, so that it can misbehave on purpose.

Run over stdio: ``python raw.py [MARKER]``; over streamable HTTP (JSON replies,
no SSE): ``python raw.py http``, which binds a free port and prints ``listening on
URL`` on stdout once it listens; ``python raw.py http-sse``: the same, each
reply an SSE event in a stream that ends after it. ``MARKER`` only tags the command line (and that of
the processes it spawns) for the tests to find.

Its tools:

- ``echo(text)``: answers with the text.
- ``noisy(text, noise)``: answers like ``echo``, with a byte that is not UTF-8
  written ``"line"`` on a line of its own before the reply, ``"prefix"`` just
  before the reply on its line, ``"between"`` two of its tokens, ``"suffix"``
  just after it, ``"inside"`` inside the reply's text, or ``"only"`` instead of
  any reply.
- ``garbage(text)``: answers like ``echo``, after a line that is not JSON: over
  stdio a stray line before the reply; over HTTP the reply's body is then no
  JSON at all (a bad reply).
- ``refuse(code, message)``: answers with a JSON-RPC error reply.
- ``drop``: over HTTP, opens an SSE response and ends it without a reply; over
  stdio, never answers.
- ``spawn(escape)``: starts a child process that sleeps for 1000 s (in a session
  of its own if ``escape``) and answers with its pid.

It exits as soon as its stdin closes, leaving whatever it spawned behind.
"""

from __future__ import annotations

import json
import subprocess
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

MARKER = sys.argv[-1] if len(sys.argv) > 1 and sys.argv[1] not in ("http", "http-sse") else ""

TOOLS = [
    {"name": name, "inputSchema": {"type": "object"}}
    for name in ("echo", "noisy", "garbage", "refuse", "drop", "spawn")
]

BAD = b"\xff"


def reply(request_id: Any, result: Any) -> bytes:
    return json.dumps({"jsonrpc": "2.0", "id": request_id, "result": result}).encode()


def error(request_id: Any, code: int, message: str) -> bytes:
    return json.dumps({"jsonrpc": "2.0", "id": request_id, "error": {"code": code, "message": message}}).encode()


def text(value: str) -> dict[str, Any]:
    return {"content": [{"type": "text", "text": value}]}


def answer(message: dict[str, Any]) -> bytes | None:
    """The bytes of the reply to one message, without the final newline; None for no reply."""
    if "id" not in message:
        return None  # a notification
    rid, method, params = message["id"], message.get("method"), message.get("params") or {}
    if method == "initialize":
        return reply(rid, {
            "protocolVersion": params.get("protocolVersion", "2025-06-18"),
            "capabilities": {"tools": {}},
            "serverInfo": {"name": "raw", "version": "1"},
        })  # fmt: skip
    if method == "tools/list":
        return reply(rid, {"tools": TOOLS})
    if method == "ping":
        return reply(rid, {})
    if method != "tools/call":
        return error(rid, -32601, f"method not found: {method}")
    name, args = params["name"], params.get("arguments") or {}
    if name == "echo":
        return reply(rid, text(args["text"]))
    if name == "noisy":
        line = reply(rid, text(args["text"]))
        noise = args["noise"]
        if noise == "line":
            return BAD + b"\n" + line
        if noise == "prefix":
            return BAD + line
        if noise == "between":
            return line.replace(b", ", b"," + BAD + b" ", 1)
        if noise == "suffix":
            return line + BAD
        if noise == "inside":
            return reply(rid, text("@")).replace(b"@", args["text"].encode() + BAD)
        return BAD
    if name == "garbage":
        return b"this is not JSON\n" + reply(rid, text(args["text"]))
    if name == "refuse":
        return error(rid, args["code"], args["message"])
    if name == "drop":
        return b"drop"
    if name == "spawn":
        child = subprocess.Popen(
            [sys.executable, "-c", "import time; time.sleep(1000)", "spawned", MARKER],
            start_new_session=bool(args.get("escape")),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
        )
        return reply(rid, text(str(child.pid)))
    return error(rid, -32602, f"unknown tool: {name}")


def serve_stdio() -> None:
    for line in sys.stdin.buffer:
        out = answer(json.loads(line))
        if out is not None and out != b"drop":
            sys.stdout.buffer.write(out + b"\n")
            sys.stdout.buffer.flush()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    #: Each reply as an SSE event (``http-sse``), not a JSON body.
    sse = False

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        message = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        out = answer(message)
        if out is None:
            self.send_response(202)
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif out == b"drop":  # an SSE response that ends with no reply
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Content-Length", "0")
            self.end_headers()
        else:
            if self.sse:
                out = b"event: message\ndata: " + out.strip() + b"\n\n"
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream" if self.sse else "application/json")
            self.send_header("Content-Length", str(len(out)))
            self.end_headers()
            self.wfile.write(out)

    def do_GET(self) -> None:
        self.send_response(405)
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_DELETE = do_GET


if __name__ == "__main__":
    if sys.argv[1:2] in (["http"], ["http-sse"]):
        Handler.sse = sys.argv[1] == "http-sse"
        # Port 0: the system picks a free port, which the server says once it listens.
        http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        print(f"listening on http://127.0.0.1:{http.server_address[1]}/mcp", flush=True)
        http.serve_forever()
    else:
        serve_stdio()
