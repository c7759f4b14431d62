"""The HTTP gateway's sessions, in virtual time: bounded, fair to a new client, and ended when idle.

The gateway's ASGI app is driven in this process through httpx2's ASGI transport,
with its lifespan run by hand, so that the SDK's idle timeouts run on trio's
mock clock.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx2
import trio
import trio.testing

from dagexec import LocalTools
from dagexec.serve import Gateway

from .helpers import sleep

HOST = "127.0.0.1"
PORT = 8000
PROTOCOL = "2025-06-18"


@asynccontextmanager
async def lifespan(app: Any) -> AsyncIterator[None]:
    """Run an ASGI app's lifespan (the SDK's session manager lives in it) around the block."""
    to_app, app_receives = trio.open_memory_channel[dict[str, Any]](1)
    app_sends, from_app = trio.open_memory_channel[dict[str, Any]](1)
    async with trio.open_nursery() as nursery:
        scope = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}
        nursery.start_soon(app, scope, app_receives.receive, app_sends.send)
        await to_app.send({"type": "lifespan.startup"})
        assert (await from_app.receive())["type"] == "lifespan.startup.complete"
        yield
        await to_app.send({"type": "lifespan.shutdown"})
        assert (await from_app.receive())["type"] == "lifespan.shutdown.complete"


class Clients:
    """Raw MCP-over-HTTP requests to the gateway's app: sessions opened, used, and asked about."""

    def __init__(self, http: httpx2.AsyncClient) -> None:
        self.http = http

    async def post(self, message: dict[str, Any], session: str | None = None) -> httpx2.Response:
        headers = {"accept": "application/json, text/event-stream", "content-type": "application/json"}
        if session is not None:
            headers |= {"mcp-session-id": session, "mcp-protocol-version": PROTOCOL}
        return await self.http.post("/mcp", content=json.dumps(message), headers=headers)

    async def open(self) -> str:
        """A new session, initialized, as a client that then does nothing with it."""
        info = {"name": "flood", "version": "1"}
        params = {"protocolVersion": PROTOCOL, "capabilities": {}, "clientInfo": info}
        response = await self.post({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": params})
        assert response.status_code == 200, response.text
        session = response.headers["mcp-session-id"]
        done = await self.post({"jsonrpc": "2.0", "method": "notifications/initialized"}, session)
        assert done.status_code == 202, done.text
        return session

    async def ping(self, session: str) -> int:
        """The HTTP status of a ping in ``session``: 200 while it lives, 404 once it ended."""
        return (await self.post({"jsonrpc": "2.0", "id": 2, "method": "ping"}, session)).status_code


@asynccontextmanager
async def clients(gateway: Gateway, **options: Any) -> AsyncIterator[Clients]:
    app = gateway.http_app(HOST, PORT, **options)
    transport = httpx2.ASGITransport(app=app)
    async with lifespan(app), httpx2.AsyncClient(transport=transport, base_url=f"http://{HOST}:{PORT}") as http:
        yield Clients(http)


def _gateway() -> Gateway:
    return Gateway({"sim": LocalTools({"sleep": sleep})})


async def test_a_full_table_closes_the_longest_idle_session_for_a_new_client(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with clients(_gateway(), max_sessions=3) as c:
        first = await c.open()
        await trio.sleep(1)
        second = await c.open()
        await trio.sleep(1)
        third = await c.open()
        await trio.sleep(1)
        assert await c.ping(first) == 200  # now the second has been idle longest
        fourth = await c.open()
        assert [await c.ping(s) for s in (first, second, third, fourth)] == [200, 404, 200, 200]
        # A flood of unused sessions never locks a new client out: each new one closes an old one.
        flood = [await c.open() for _ in range(20)]
        assert [await c.ping(s) for s in flood[-3:]] == [200, 200, 200]
        assert await c.ping(flood[0]) == 404


async def test_a_session_with_a_request_under_way_is_never_the_one_closed(
    autojump_clock: trio.testing.MockClock,
) -> None:
    plan = {"tasks": [{"id": "long", "tool": "sim:sleep", "arguments": {"seconds": 100, "value": "kept"}}]}
    call = {"name": "run_workflow", "arguments": plan}
    async with clients(_gateway(), max_sessions=2) as c:
        busy = await c.open()
        answers: list[httpx2.Response] = []

        async def long_call() -> None:
            answers.append(await c.post({"jsonrpc": "2.0", "id": 5, "method": "tools/call", "params": call}, busy))

        async with trio.open_nursery() as nursery:
            nursery.start_soon(long_call)
            await trio.sleep(10)  # the busy session is now the oldest, and it waits for its call
            others = [await c.open() for _ in range(5)]
        assert trio.current_time() == 100
        assert answers[0].status_code == 200 and '\\"value\\": \\"kept\\"' in answers[0].text, answers[0].text
        assert await c.ping(busy) == 200
        assert [await c.ping(s) for s in others] == [404, 404, 404, 404, 200]


async def test_an_idle_session_ends_after_the_idle_time(autojump_clock: trio.testing.MockClock) -> None:
    async with clients(_gateway(), session_idle=60) as c:
        kept, dropped = await c.open(), await c.open()
        await trio.sleep(59)
        assert await c.ping(kept) == 200
        await trio.sleep(59)  # kept was used 59 s ago; dropped has been idle for 118 s
        assert [await c.ping(kept), await c.ping(dropped)] == [200, 404]


async def test_the_default_idle_time_is_five_minutes(autojump_clock: trio.testing.MockClock) -> None:
    async with clients(_gateway()) as c:
        session = await c.open()
        await trio.sleep(299)
        assert await c.ping(session) == 200
        await trio.sleep(301)
        assert await c.ping(session) == 404
